import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CommandType, DeviceId, DeviceKind } from '@ccm/contracts';
import type { Role } from '@ccm/db';
import { audit } from '../audit/audit';
import { currentUser } from '../auth/plugin';
import type { FeatureDeps } from '../context';
import { notFound } from '../errors';
import { encodeCursor, iso, isoOrNull, page, PageQuery } from '../http';
import { JURISDICTION_CODE_PATTERN } from '../jurisdictions/shared';
import {
  getDevice,
  listCommands,
  listDevices,
  registerDevice,
  rotateDeviceSecret,
  sendCommand,
  updateDevice,
  type CommandRow,
  type DeviceRow,
} from './service';

const READ_ROLES: readonly Role[] = ['admin', 'bureau', 'officer', 'auditor'];
const WRITE_ROLES: readonly Role[] = ['admin', 'bureau', 'officer'];

const Status = z
  .enum(['active', 'inactive', 'retired'])
  .describe('active 在用, inactive 停用, retired 报废 (final)');
const CommandStatus = z.enum(['pending', 'sent', 'done', 'failed', 'rejected', 'expired']);
const JurisdictionCode = z
  .string()
  .regex(JURISDICTION_CODE_PATTERN, '辖区代码为 6 位或 9 位数字 / 6 or 9 digits');
const Vendor = z.string().trim().max(100);
const DeviceParams = z.object({ id: DeviceId });

export const DeviceView = z.object({
  id: z.string(),
  kind: DeviceKind,
  status: Status,
  jurisdictionCode: z.string(),
  vendor: z.string(),
  model: z.string(),
  secretRotatedAt: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  state: z
    .object({
      lastSeenAt: z.string().nullable(),
      battery: z.number().nullable().describe('percent'),
      charging: z.boolean().nullable(),
      rssi: z.number().nullable(),
      firmware: z.string().nullable(),
      online: z.boolean(),
      lastFixAt: z.string().nullable().describe('time of the last fix (its position is not here)'),
    })
    .describe('last known device state; positions only through the positions API'),
});

const DeviceWithSecret = DeviceView.extend({
  secret: z.string().describe('MQTT password: shown this once, store it in the device now'),
});

export const CommandView = z.object({
  id: z.string(),
  deviceId: z.string(),
  type: CommandType,
  params: z.unknown(),
  status: CommandStatus,
  expiresAt: z.string(),
  createdBy: z.string().nullable().describe('null: raised by the rules engine'),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
  resultAt: z.string().nullable(),
});

const view = (d: DeviceRow): z.infer<typeof DeviceView> => ({
  id: d.id,
  kind: d.kind,
  status: d.status,
  jurisdictionCode: d.jurisdiction_code,
  vendor: d.vendor,
  model: d.model,
  secretRotatedAt: iso(d.secret_rotated_at),
  createdAt: iso(d.created_at),
  updatedAt: iso(d.updated_at),
  state: {
    lastSeenAt: isoOrNull(d.last_seen_at),
    battery: d.battery,
    charging: d.charging,
    rssi: d.rssi,
    firmware: d.firmware,
    online: d.online ?? false,
    lastFixAt: isoOrNull(d.last_fix_t),
  },
});

const commandView = (c: CommandRow): z.infer<typeof CommandView> => ({
  id: c.id,
  deviceId: c.device_id,
  type: c.type,
  params: c.params,
  status: c.status,
  expiresAt: iso(c.expires_at),
  createdBy: c.created_by,
  createdAt: iso(c.created_at),
  sentAt: isoOrNull(c.sent_at),
  resultAt: isoOrNull(c.result_at),
});

const deviceNotFound = () => notFound('DEVICE_NOT_FOUND', '设备 / device');

/**
 * `/devices`: registration (secret shown once), secret rotation, status, and downlink
 * commands. Every write is audited; no secret ever reaches the audit trail or a log.
 */
export function registerDeviceRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/v1/devices',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: '设备列表 / devices in your scope, with their last state (by id)',
        tags: ['devices'],
        querystring: PageQuery.extend({
          kind: DeviceKind.optional(),
          status: Status.optional(),
          jurisdictionCode: JurisdictionCode.optional().describe('this node and below'),
          q: z.string().trim().min(1).max(64).optional().describe('part of id, vendor or model'),
        }),
        response: { 200: page(DeviceView) },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await listDevices(deps.db, currentUser(request), q);
      const items = rows.slice(0, q.limit);
      const last = items.at(-1);
      return {
        items: items.map(view),
        nextCursor: rows.length > q.limit && last ? encodeCursor(last.id, last.id) : null,
      };
    },
  );

  r.get(
    '/api/v1/devices/:id',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: '设备详情 / one device',
        tags: ['devices'],
        params: DeviceParams,
        response: { 200: DeviceView },
      },
    },
    async (request) => {
      const row = await getDevice(deps.db, currentUser(request), request.params.id);
      if (!row) throw deviceNotFound();
      return view(row);
    },
  );

  r.post(
    '/api/v1/devices',
    {
      config: { roles: WRITE_ROLES },
      schema: {
        summary: '登记设备 / register a device; the answer carries its MQTT secret, once',
        tags: ['devices'],
        body: z.object({
          id: DeviceId.describe('MQTT client id and username'),
          kind: DeviceKind,
          jurisdictionCode: JurisdictionCode,
          vendor: Vendor.optional(),
          model: Vendor.optional(),
        }),
        response: { 201: DeviceWithSecret },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const { device, secret } = await deps.db.transaction().execute(async (trx) => {
        const result = await registerDevice(trx, user, request.body);
        await audit(trx, {
          actor: user,
          action: 'device.register',
          resourceType: 'device',
          resourceId: result.device.id,
          jurisdictionCode: result.device.jurisdiction_code,
          detail: {
            kind: result.device.kind,
            vendor: result.device.vendor,
            model: result.device.model,
          },
          ip: request.ip,
        });
        return result;
      });
      return reply.status(201).send({ ...view(device), secret });
    },
  );

  r.post(
    '/api/v1/devices/:id/rotate-secret',
    {
      config: { roles: WRITE_ROLES },
      schema: {
        summary: '更换设备密钥 / issue a new MQTT secret (shown once); the old one stops working',
        tags: ['devices'],
        params: DeviceParams,
        response: { 200: DeviceWithSecret },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const { device, secret } = await deps.db.transaction().execute(async (trx) => {
        const result = await rotateDeviceSecret(trx, user, request.params.id);
        if (!result) throw deviceNotFound();
        await audit(trx, {
          actor: user,
          action: 'device.rotate_secret',
          resourceType: 'device',
          resourceId: result.device.id,
          jurisdictionCode: result.device.jurisdiction_code,
          ip: request.ip,
        });
        return result;
      });
      return { ...view(device), secret };
    },
  );

  r.patch(
    '/api/v1/devices/:id',
    {
      config: { roles: WRITE_ROLES },
      schema: {
        summary:
          '修改设备 / change status (active, inactive, retired), jurisdiction, vendor, model',
        tags: ['devices'],
        params: DeviceParams,
        body: z
          .object({
            status: Status.optional(),
            jurisdictionCode: JurisdictionCode.optional(),
            vendor: Vendor.optional(),
            model: Vendor.optional(),
          })
          .refine((b) => Object.values(b).some((v) => v !== undefined), {
            message: '至少修改一项 / give at least one field',
          }),
        response: { 200: DeviceView },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const updated = await deps.db.transaction().execute(async (trx) => {
        const result = await updateDevice(trx, user, request.params.id, request.body);
        if (!result) throw deviceNotFound();
        if (Object.keys(result.diff).length > 0) {
          await audit(trx, {
            actor: user,
            action: 'device.update',
            resourceType: 'device',
            resourceId: result.after.id,
            jurisdictionCode: result.after.jurisdiction_code,
            detail: { changes: result.diff },
            ip: request.ip,
          });
        }
        return result.after;
      });
      return view(updated);
    },
  );

  r.post(
    '/api/v1/devices/:id/commands',
    {
      config: { roles: WRITE_ROLES },
      schema: {
        summary: '下发设备指令 / queue a command (warn, locate, set_interval, checkin_request)',
        tags: ['devices'],
        params: DeviceParams,
        body: z.object({
          type: CommandType,
          params: z
            .record(z.string(), z.unknown())
            .default({})
            .describe(
              'per type: warn {text, vibrate?}; locate {}; set_interval {seconds}; checkin_request {method, deadline}',
            ),
          ttlSeconds: z
            .number()
            .int()
            .min(10)
            .max(86_400)
            .default(300)
            .describe('the device ignores the command after this long'),
        }),
        response: { 201: CommandView },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const command = await deps.db.transaction().execute(async (trx) => {
        const result = await sendCommand(trx, user, request.params.id, request.body);
        if (!result) throw deviceNotFound();
        await audit(trx, {
          actor: user,
          action: 'device.command',
          resourceType: 'device',
          resourceId: result.device.id,
          jurisdictionCode: result.device.jurisdiction_code,
          detail: {
            commandId: result.command.id,
            type: result.command.type,
            params: result.command.params,
            expiresAt: iso(result.command.expires_at),
          },
          ip: request.ip,
        });
        return result.command;
      });
      return reply.status(201).send(commandView(command));
    },
  );

  r.get(
    '/api/v1/devices/:id/commands',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: '设备指令记录 / a device’s commands and their status (newest first)',
        tags: ['devices'],
        params: DeviceParams,
        querystring: PageQuery.extend({ status: CommandStatus.optional() }),
        response: { 200: page(CommandView) },
      },
    },
    async (request) => {
      const device = await getDevice(deps.db, currentUser(request), request.params.id);
      if (!device) throw deviceNotFound();
      const q = request.query;
      const rows = await listCommands(deps.db, device.id, q);
      const items = rows.slice(0, q.limit);
      const last = items.at(-1);
      return {
        items: items.map(commandView),
        nextCursor:
          rows.length > q.limit && last ? encodeCursor(String(last.created_us), last.id) : null,
      };
    },
  );
}

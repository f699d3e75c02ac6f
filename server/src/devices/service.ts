import { sql } from 'kysely';
import type { CommandType, DeviceKind } from '@ccm/contracts';
import { generateDeviceSecret, hashDeviceSecret, queueCommand } from '@ccm/device-gateway';
import { pathWithin } from '../auth/scope';
import type { AuthUser } from '../auth/types';
import { AppError } from '../errors';
import { decodeCursor } from '../http';
import {
  containsPattern,
  invalidField,
  isUniqueViolation,
  requireJurisdictionField,
  type Db,
} from '../jurisdictions/shared';

/**
 * Devices (wristbands, check-in terminals, phones): registration with a one-time MQTT secret,
 * secret rotation, status, and downlink commands. The last position in `device_state` is never
 * read here: positions are shown only through the positions API, inside monitoring orders.
 */

/**
 * Ids a device may not take: the platform's own MQTT account on the broker (compared without
 * case, so no look-alike can be registered either).
 */
export const RESERVED_DEVICE_IDS: readonly string[] = ['ccm-platform'];

export type DeviceStatus = 'active' | 'inactive' | 'retired';

const COLUMNS = [
  'd.id',
  'd.no',
  'd.kind',
  'd.status',
  'd.jurisdiction_code',
  'd.vendor',
  'd.model',
  'd.secret_rotated_at',
  'd.created_at',
  'd.updated_at',
  'ds.last_seen_at',
  'ds.battery',
  'ds.charging',
  'ds.rssi',
  'ds.firmware',
  'ds.online',
  'ds.last_fix_t',
] as const;

const selectDevices = (db: Db, actor: AuthUser) =>
  db
    .selectFrom('devices as d')
    .innerJoin('jurisdictions as j', 'j.code', 'd.jurisdiction_code')
    .leftJoin('device_state as ds', 'ds.device_no', 'd.no')
    .select(COLUMNS)
    .where(pathWithin(actor.jurisdictionPath, 'j.path'));

export type DeviceRow = NonNullable<Awaited<ReturnType<typeof getDevice>>>;

export async function getDevice(db: Db, actor: AuthUser, id: string) {
  return selectDevices(db, actor).where('d.id', '=', id).executeTakeFirst();
}

export interface DeviceListQuery {
  limit: number;
  cursor?: string | undefined;
  kind?: DeviceKind | undefined;
  status?: DeviceStatus | undefined;
  jurisdictionCode?: string | undefined;
  q?: string | undefined;
}

/** Devices in scope ordered by id (keyset). */
export async function listDevices(db: Db, actor: AuthUser, q: DeviceListQuery) {
  let query = selectDevices(db, actor)
    .orderBy('d.id')
    .limit(q.limit + 1);
  if (q.jurisdictionCode) {
    const node = await requireJurisdictionField(
      db,
      actor,
      q.jurisdictionCode,
      'jurisdictionCode',
      'querystring',
    );
    query = query.where(pathWithin(node.path, 'j.path'));
  }
  if (q.kind) query = query.where('d.kind', '=', q.kind);
  if (q.status) query = query.where('d.status', '=', q.status);
  if (q.q) {
    const pattern = containsPattern(q.q);
    query = query.where((eb) =>
      eb.or([
        eb('d.id', 'ilike', pattern),
        eb('d.vendor', 'ilike', pattern),
        eb('d.model', 'ilike', pattern),
      ]),
    );
  }
  if (q.cursor) query = query.where('d.id', '>', String(decodeCursor(q.cursor).value));
  return query.execute();
}

export interface NewDevice {
  id: string;
  kind: DeviceKind;
  jurisdictionCode: string;
  vendor?: string | undefined;
  model?: string | undefined;
}

/** Registers a device; the secret is returned here once and only its hash is stored. */
export async function registerDevice(db: Db, actor: AuthUser, input: NewDevice) {
  if (RESERVED_DEVICE_IDS.includes(input.id.toLowerCase())) {
    throw new AppError(
      409,
      'DEVICE_ID_RESERVED',
      `设备编号 ${input.id} 为平台保留 / device id ${input.id} is reserved by the platform`,
    );
  }
  const node = await requireJurisdictionField(
    db,
    actor,
    input.jurisdictionCode,
    'jurisdictionCode',
  );
  const secret = generateDeviceSecret();
  try {
    await db
      .insertInto('devices')
      .values({
        id: input.id,
        kind: input.kind,
        secret_hash: hashDeviceSecret(secret),
        jurisdiction_code: node.code,
        vendor: input.vendor ?? '',
        model: input.model ?? '',
      })
      .execute();
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new AppError(
        409,
        'DEVICE_EXISTS',
        `设备 ${input.id} 已登记 / device ${input.id} is already registered`,
      );
    }
    throw err;
  }
  return { device: (await getDevice(db, actor, input.id))!, secret };
}

const retired = (id: string) =>
  new AppError(409, 'DEVICE_RETIRED', `设备 ${id} 已报废 / device ${id} is retired`);

/** A new secret for a device in scope; the old one stops working at the next connect. */
export async function rotateDeviceSecret(db: Db, actor: AuthUser, id: string) {
  const device = await getDevice(db, actor, id);
  if (!device) return undefined;
  if (device.status === 'retired') throw retired(id);
  const secret = generateDeviceSecret();
  await db
    .updateTable('devices')
    .set({
      secret_hash: hashDeviceSecret(secret),
      secret_rotated_at: sql<Date>`now()`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', id)
    .execute();
  return { device: (await getDevice(db, actor, id))!, secret };
}

/** True while an order that is neither ended nor expired tracks the device. */
async function inActiveOrder(db: Db, deviceId: string): Promise<boolean> {
  const row = await db
    .selectFrom('monitoring_orders')
    .select('id')
    .where('device_id', '=', deviceId)
    .where('ended_at', 'is', null)
    .where('ends_at', '>', new Date())
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export interface DeviceChanges {
  status?: DeviceStatus | undefined;
  jurisdictionCode?: string | undefined;
  vendor?: string | undefined;
  model?: string | undefined;
}

/**
 * Changes a device in scope. Retirement is final, and a device an active monitoring order
 * tracks cannot be taken out of service (end or move the order first).
 */
export async function updateDevice(db: Db, actor: AuthUser, id: string, changes: DeviceChanges) {
  const before = await getDevice(db, actor, id);
  if (!before) return undefined;
  if (before.status === 'retired') throw retired(id);
  const diff: Record<string, { from: string; to: string }> = {};
  const set: {
    status?: DeviceStatus;
    jurisdiction_code?: string;
    vendor?: string;
    model?: string;
  } = {};
  if (changes.status !== undefined && changes.status !== before.status) {
    if (changes.status !== 'active' && (await inActiveOrder(db, id))) {
      throw new AppError(
        409,
        'DEVICE_IN_USE',
        `设备 ${id} 正用于生效中的电子定位决定 / device ${id} is tracked by an active monitoring order`,
      );
    }
    set.status = changes.status;
    diff.status = { from: before.status, to: changes.status };
  }
  if (
    changes.jurisdictionCode !== undefined &&
    changes.jurisdictionCode !== before.jurisdiction_code
  ) {
    const node = await requireJurisdictionField(
      db,
      actor,
      changes.jurisdictionCode,
      'jurisdictionCode',
    );
    set.jurisdiction_code = node.code;
    diff.jurisdictionCode = { from: before.jurisdiction_code, to: node.code };
  }
  if (changes.vendor !== undefined && changes.vendor !== before.vendor) {
    set.vendor = changes.vendor;
    diff.vendor = { from: before.vendor, to: changes.vendor };
  }
  if (changes.model !== undefined && changes.model !== before.model) {
    set.model = changes.model;
    diff.model = { from: before.model, to: changes.model };
  }
  if (Object.keys(set).length > 0) {
    await db
      .updateTable('devices')
      .set({ ...set, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .execute();
  }
  const after = (await getDevice(db, actor, id)) ?? before;
  return { before, after, diff };
}

const COMMAND_COLUMNS = [
  'id',
  'device_id',
  'type',
  'params',
  'status',
  'expires_at',
  'created_by',
  'created_at',
  'sent_at',
  'result_at',
] as const;

export type CommandStatus = 'pending' | 'sent' | 'done' | 'failed' | 'rejected' | 'expired';

export type CommandRow = Awaited<ReturnType<typeof listCommands>>[number];

/**
 * Queues a command for an active device in scope (validated per type by `queueCommand`;
 * invalid params answer 400 naming the field). Undefined when the device is not in scope.
 */
export async function sendCommand(
  db: Db,
  actor: AuthUser,
  deviceId: string,
  input: { type: CommandType; params: unknown; ttlSeconds: number },
) {
  const device = await getDevice(db, actor, deviceId);
  if (!device) return undefined;
  if (device.status !== 'active') {
    throw new AppError(
      409,
      'DEVICE_NOT_ACTIVE',
      `设备 ${deviceId} 未启用 / device ${deviceId} is ${device.status}`,
    );
  }
  let id: string;
  try {
    // queueCommand takes the Kysely type; a transaction is one.
    id = await queueCommand(db, {
      deviceId,
      type: input.type,
      params: input.params,
      ttlMs: input.ttlSeconds * 1000,
      createdBy: actor.id,
    });
  } catch (err) {
    const issue = zodIssue(err);
    if (issue) {
      const field = ['params', ...issue.path.map(String)].join('.');
      throw invalidField(field, issue.message);
    }
    throw err;
  }
  const command = await db
    .selectFrom('device_commands')
    .select(COMMAND_COLUMNS)
    .select(sql<string>`(extract(epoch from created_at) * 1000000)::bigint`.as('created_us'))
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return { device, command };
}

/** The first issue of a ZodError (duck-typed: the contracts package may carry its own zod). */
function zodIssue(err: unknown): { path: PropertyKey[]; message: string } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { name?: unknown; issues?: unknown };
  if (e.name !== 'ZodError' || !Array.isArray(e.issues)) return undefined;
  const first = e.issues[0] as { path?: PropertyKey[]; message?: string } | undefined;
  return { path: first?.path ?? [], message: first?.message ?? 'invalid' };
}

/**
 * A device's commands, newest first. The keyset is (created_at in whole microseconds, id):
 * a JavaScript Date would drop the microseconds and skip or repeat rows at page edges.
 */
export async function listCommands(
  db: Db,
  deviceId: string,
  q: { limit: number; cursor?: string | undefined; status?: CommandStatus | undefined },
) {
  const createdUs = sql<string>`(extract(epoch from created_at) * 1000000)::bigint`;
  let query = db
    .selectFrom('device_commands')
    .select(COMMAND_COLUMNS)
    .select(createdUs.as('created_us'))
    .where('device_id', '=', deviceId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(q.limit + 1);
  if (q.status) {
    query = query.where('status', '=', q.status);
  }
  if (q.cursor) {
    const { value, id } = decodeCursor(q.cursor);
    if (!/^\d{1,20}$/.test(String(value)) || !/^[0-9a-f-]{36}$/i.test(id)) {
      throw new AppError(400, 'BAD_CURSOR', '分页游标无效 / invalid cursor');
    }
    const at = sql<Date>`timestamptz 'epoch' + ${String(value)}::bigint * interval '1 microsecond'`;
    query = query.where(sql<boolean>`(created_at, id) < (${at}, ${id}::uuid)`);
  }
  return query.execute();
}

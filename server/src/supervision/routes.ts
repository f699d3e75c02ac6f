import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { z } from 'zod';
import { audit } from '../audit/audit';
import { currentUser } from '../auth/plugin';
import { inScope } from '../auth/scope';
import type { AuthUser } from '../auth/types';
import type { FeatureDeps } from '../context';
import { AppError, notFound } from '../errors';
import { IdParams, IsoTime, iso, isoOrNull } from '../http';
import { errorResponses } from '../orders/schemas';
import { requestCheckin } from './checkins';
import {
  CheckinSettings,
  loadSettings,
  saveSettings,
  SeparationSettings,
  type SettingsKey,
} from './settings';

/**
 * 信息化核查 over HTTP: a subject's check-ins with the platform's review, what they owe and
 * whether they met it, an officer's request for a check-in now, the subject's check-in
 * device, and the rules (bureau). Check-in locations are positions: reading them is audited.
 */
const READ = ['admin', 'bureau', 'officer', 'auditor'] as const;
const WRITE = ['admin', 'bureau', 'officer'] as const;
const RULES = ['admin', 'bureau'] as const;
const TAGS = ['check-ins'];
const DAY_MS = 86_400_000;

const Method = z.enum(['fingerprint', 'voiceprint', 'face']);

const Window = z.object({
  from: IsoTime.optional(),
  to: IsoTime.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

function windowOf(q: { from?: string | undefined; to?: string | undefined }, now: Date) {
  const to = q.to ? new Date(q.to) : now;
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - 90 * DAY_MS);
  if (from >= to) {
    throw new AppError(400, 'BAD_WINDOW', 'from 须早于 to / from must be before to', {
      field: 'from',
    });
  }
  return { from, to };
}

const CheckinView = z.object({
  deviceId: z.string(),
  t: z.string(),
  receivedAt: z.string(),
  method: Method,
  result: z.enum(['match', 'no_match', 'spoof_suspected']),
  score: z.number(),
  liveness: z.boolean().nullable(),
  lat: z.number().nullable(),
  lon: z.number().nullable(),
  review: z
    .object({
      outcome: z
        .enum(['ok', 'failed', 'separation', 'unknown_subject'])
        .describe('ok 正常; failed 核验失败; separation 人机分离; unknown_subject 对象未知'),
      requestId: z.string().nullable(),
      distanceM: z.number().nullable(),
      alertId: z.string().nullable(),
      reviewedAt: z.string(),
    })
    .nullable()
    .describe('null until the platform has reviewed it (seconds)'),
});

const RequestView = z.object({
  id: z.string(),
  kind: z
    .enum(['scheduled', 'random', 'manual'])
    .describe('scheduled 定期; random 随机抽查; manual 民警/工作人员发起'),
  method: Method.nullable(),
  windowStart: z.string(),
  dueAt: z.string(),
  status: z.enum(['pending', 'met', 'missed', 'cancelled']),
  deviceId: z.string().nullable(),
  commandId: z.string().nullable(),
  metAt: z.string().nullable(),
  alertId: z.string().nullable(),
  requestedBy: z.string().nullable(),
  note: z.string(),
});

const StatsView = z.object({
  from: z.string(),
  to: z.string(),
  requests: z.object({
    owed: z.number().describe('met + missed: requests whose deadline has passed'),
    met: z.number(),
    missed: z.number(),
    pending: z.number(),
    cancelled: z.number(),
    rate: z.number().nullable().describe('met / owed; null when nothing was owed'),
  }),
  checkins: z.object({
    total: z.number(),
    match: z.number(),
    noMatch: z.number(),
    spoofSuspected: z.number(),
    separations: z.number(),
  }),
});

const RequestBody = z
  .object({
    method: Method.optional(),
    deadlineMinutes: z.number().int().min(5).max(4320).optional(),
    note: z.string().trim().max(500).optional(),
  })
  .strict();

const CancelBody = z.object({ reason: z.string().trim().min(1).max(500) }).strict();
const CheckinDeviceBody = z.object({ deviceId: z.string().min(3).max(64).nullable() }).strict();

async function subjectInScope(deps: FeatureDeps, user: AuthUser, id: string) {
  const subject = await deps.db
    .selectFrom('subjects')
    .select(['id', 'no', 'jurisdiction_code', 'checkin_device_id', 'status'])
    .where('id', '=', id)
    .where(inScope(user, 'subjects.jurisdiction_code'))
    .executeTakeFirst();
  if (!subject) throw notFound('SUBJECT_NOT_FOUND', '矫正对象 / subject');
  return subject;
}

export function registerCheckinRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/v1/subjects/:id/checkins',
    {
      config: { roles: READ },
      schema: {
        summary: '核查记录及平台审查结果 / check-ins of a subject with the platform’s review',
        tags: TAGS,
        params: IdParams,
        querystring: Window,
        response: {
          200: z.object({ items: z.array(CheckinView) }),
          ...errorResponses(400, 403, 404),
        },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const subject = await subjectInScope(deps, user, request.params.id);
      const w = windowOf(request.query, new Date());
      const rows = await deps.db
        .selectFrom('checkins as c')
        .innerJoin('devices as d', 'd.no', 'c.device_no')
        .leftJoin('checkin_reviews as v', (j) =>
          j.onRef('v.device_no', '=', 'c.device_no').onRef('v.t', '=', 'c.t'),
        )
        .select([
          'd.id as device_id',
          'c.t',
          'c.received_at',
          'c.method',
          'c.result',
          'c.score',
          'c.liveness',
          'c.lat_e6',
          'c.lon_e6',
          'v.outcome',
          'v.request_id',
          'v.distance_m',
          'v.alert_id',
          'v.reviewed_at',
        ])
        .where('c.subject_no', '=', subject.no)
        .where('c.t', '>=', w.from)
        .where('c.t', '<', w.to)
        .orderBy('c.t', 'desc')
        .limit(request.query.limit)
        .execute();
      await audit(deps.db, {
        actor: user,
        action: 'checkins.read',
        resourceType: 'subject',
        resourceId: subject.id,
        jurisdictionCode: subject.jurisdiction_code,
        detail: { from: iso(w.from), to: iso(w.to), count: rows.length },
        ip: request.ip,
      });
      return {
        items: rows.map((c) => ({
          deviceId: c.device_id,
          t: iso(c.t),
          receivedAt: iso(c.received_at),
          method: c.method,
          result: c.result,
          score: c.score,
          liveness: c.liveness,
          lat: c.lat_e6 === null ? null : c.lat_e6 / 1e6,
          lon: c.lon_e6 === null ? null : c.lon_e6 / 1e6,
          review:
            c.outcome && c.reviewed_at
              ? {
                  outcome: c.outcome,
                  requestId: c.request_id,
                  distanceM: c.distance_m === null ? null : Math.round(c.distance_m),
                  alertId: c.alert_id,
                  reviewedAt: iso(c.reviewed_at),
                }
              : null,
        })),
      };
    },
  );

  r.get(
    '/api/v1/subjects/:id/checkin-requests',
    {
      config: { roles: READ },
      schema: {
        summary: '应核查事项 / check-ins the subject owes or owed',
        tags: TAGS,
        params: IdParams,
        querystring: Window.extend({
          status: z.enum(['pending', 'met', 'missed', 'cancelled']).optional(),
        }),
        response: {
          200: z.object({ items: z.array(RequestView) }),
          ...errorResponses(400, 403, 404),
        },
      },
    },
    async (request) => {
      const subject = await subjectInScope(deps, currentUser(request), request.params.id);
      const w = windowOf(request.query, new Date(Date.now() + 30 * DAY_MS));
      let query = deps.db
        .selectFrom('checkin_requests')
        .selectAll()
        .where('subject_id', '=', subject.id)
        .where('window_start', '>=', w.from)
        .where('window_start', '<', w.to);
      if (request.query.status) query = query.where('status', '=', request.query.status);
      const rows = await query.orderBy('window_start', 'desc').limit(request.query.limit).execute();
      return { items: rows.map(requestView) };
    },
  );

  r.post(
    '/api/v1/subjects/:id/checkin-requests',
    {
      config: { roles: WRITE },
      schema: {
        summary:
          '要求对象立即核查（发送 checkin_request 指令）/ ask the subject to check in now (sends checkin_request)',
        tags: TAGS,
        params: IdParams,
        body: RequestBody,
        response: { 201: RequestView, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const subject = await subjectInScope(deps, user, request.params.id);
      if (subject.status !== 'active') {
        throw new AppError(
          409,
          'SUBJECT_NOT_ACTIVE',
          '对象不在矫正期内 / the subject is not under active supervision',
        );
      }
      const settings = await loadSettings(deps.db, 'checkins');
      const id = await deps.db.transaction().execute(async (trx) => {
        const requestId = await requestCheckin(trx, settings, subject.id, Date.now(), {
          kind: 'manual',
          requestedBy: user.id,
          ...(request.body.method ? { method: request.body.method } : {}),
          ...(request.body.deadlineMinutes
            ? { deadlineMinutes: request.body.deadlineMinutes }
            : {}),
          ...(request.body.note ? { note: request.body.note } : {}),
        });
        await audit(trx, {
          actor: user,
          action: 'checkin_request.create',
          resourceType: 'checkin_request',
          resourceId: requestId,
          jurisdictionCode: subject.jurisdiction_code,
          detail: { subjectId: subject.id, ...request.body },
          ip: request.ip,
        });
        return requestId;
      });
      const row = await deps.db
        .selectFrom('checkin_requests')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      return reply.status(201).send(requestView(row));
    },
  );

  r.post(
    '/api/v1/checkin-requests/:id/cancel',
    {
      config: { roles: WRITE },
      schema: {
        summary: '撤销应核查事项（须说明理由）/ cancel a pending check-in request, with a reason',
        tags: TAGS,
        params: IdParams,
        body: CancelBody,
        response: { 200: RequestView, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const row = await deps.db.transaction().execute(async (trx) => {
        const found = await trx
          .selectFrom('checkin_requests as r')
          .innerJoin('subjects as s', 's.id', 'r.subject_id')
          .select(['r.id', 'r.status', 's.jurisdiction_code'])
          .where('r.id', '=', request.params.id)
          .where(inScope(user, 's.jurisdiction_code'))
          .forUpdate('r')
          .executeTakeFirst();
        if (!found) throw notFound('CHECKIN_REQUEST_NOT_FOUND', '核查事项 / check-in request');
        if (found.status !== 'pending') {
          throw new AppError(
            409,
            'CHECKIN_REQUEST_CLOSED',
            `该事项已${found.status} / the request is already ${found.status}`,
          );
        }
        const updated = await trx
          .updateTable('checkin_requests')
          .set({ status: 'cancelled', note: request.body.reason, updated_at: new Date() })
          .where('id', '=', found.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        await audit(trx, {
          actor: user,
          action: 'checkin_request.cancel',
          resourceType: 'checkin_request',
          resourceId: found.id,
          jurisdictionCode: found.jurisdiction_code,
          detail: { reason: request.body.reason },
          ip: request.ip,
        });
        return updated;
      });
      return requestView(row);
    },
  );

  r.get(
    '/api/v1/subjects/:id/checkin-stats',
    {
      config: { roles: READ },
      schema: {
        summary: '核查率与结果统计 / check-in rate and results of a subject',
        tags: TAGS,
        params: IdParams,
        querystring: Window.omit({ limit: true }),
        response: { 200: StatsView, ...errorResponses(400, 403, 404) },
      },
    },
    async (request) => {
      const subject = await subjectInScope(deps, currentUser(request), request.params.id);
      const w = windowOf(request.query, new Date());
      const requests = await deps.db
        .selectFrom('checkin_requests')
        .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('subject_id', '=', subject.id)
        .where('due_at', '>=', w.from)
        .where('window_start', '<', w.to)
        .groupBy('status')
        .execute();
      const count = (s: string) => Number(requests.find((x) => x.status === s)?.n ?? 0);
      const checkins = await sql<{ result: string; outcome: string | null; n: number }>`
        SELECT c.result, v.outcome, count(*)::int AS n
        FROM checkins c LEFT JOIN checkin_reviews v ON v.device_no = c.device_no AND v.t = c.t
        WHERE c.subject_no = ${subject.no} AND c.t >= ${w.from} AND c.t < ${w.to}
        GROUP BY c.result, v.outcome`.execute(deps.db);
      const sum = (f: (row: { result: string; outcome: string | null }) => boolean) =>
        checkins.rows.filter(f).reduce((a, row) => a + Number(row.n), 0);
      const met = count('met');
      const missed = count('missed');
      return {
        from: iso(w.from),
        to: iso(w.to),
        requests: {
          owed: met + missed,
          met,
          missed,
          pending: count('pending'),
          cancelled: count('cancelled'),
          rate: met + missed === 0 ? null : Math.round((met / (met + missed)) * 1000) / 1000,
        },
        checkins: {
          total: sum(() => true),
          match: sum((x) => x.result === 'match'),
          noMatch: sum((x) => x.result === 'no_match'),
          spoofSuspected: sum((x) => x.result === 'spoof_suspected'),
          separations: sum((x) => x.outcome === 'separation'),
        },
      };
    },
  );

  r.put(
    '/api/v1/subjects/:id/checkin-device',
    {
      config: { roles: WRITE },
      schema: {
        summary:
          '设置对象的核查设备（办公终端或手机）/ set where the subject checks in (office terminal or phone)',
        tags: TAGS,
        params: IdParams,
        body: CheckinDeviceBody,
        response: {
          200: z.object({ subjectId: z.string(), checkinDeviceId: z.string().nullable() }),
          ...errorResponses(400, 403, 404),
        },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const subject = await subjectInScope(deps, user, request.params.id);
      const deviceId = request.body.deviceId;
      if (deviceId !== null) {
        const device = await deps.db
          .selectFrom('devices')
          .select(['id', 'kind', 'status'])
          .where('id', '=', deviceId)
          .where(inScope(user, 'devices.jurisdiction_code'))
          .executeTakeFirst();
        if (!device) throw notFound('DEVICE_NOT_FOUND', '设备 / device');
        if (device.kind === 'wristband' || device.status !== 'active') {
          throw new AppError(
            400,
            'NOT_A_CHECKIN_DEVICE',
            '核查设备须为在用的核查终端或手机 / a check-in device is an active terminal or phone',
            { field: 'deviceId' },
          );
        }
      }
      await deps.db.transaction().execute(async (trx) => {
        await trx
          .updateTable('subjects')
          .set({ checkin_device_id: deviceId, updated_at: new Date() })
          .where('id', '=', subject.id)
          .execute();
        await audit(trx, {
          actor: user,
          action: 'subject.checkin_device',
          resourceType: 'subject',
          resourceId: subject.id,
          jurisdictionCode: subject.jurisdiction_code,
          detail: { from: subject.checkin_device_id, to: deviceId },
          ip: request.ip,
        });
      });
      return { subjectId: subject.id, checkinDeviceId: deviceId };
    },
  );

  registerSettingsRoute(app, deps, 'checkins', CheckinSettings, '核查规则 / check-in rules');
  registerSettingsRoute(
    app,
    deps,
    'separation',
    SeparationSettings,
    '人机分离规则 / person–device separation rules',
  );
}

function requestView(row: {
  id: string;
  kind: 'scheduled' | 'random' | 'manual';
  method: 'fingerprint' | 'voiceprint' | 'face' | null;
  window_start: Date;
  due_at: Date;
  status: 'pending' | 'met' | 'missed' | 'cancelled';
  device_id: string | null;
  command_id: string | null;
  met_at: Date | null;
  alert_id: string | null;
  requested_by: string | null;
  note: string;
}) {
  return {
    id: row.id,
    kind: row.kind,
    method: row.method,
    windowStart: iso(row.window_start),
    dueAt: iso(row.due_at),
    status: row.status,
    deviceId: row.device_id,
    commandId: row.command_id,
    metAt: isoOrNull(row.met_at),
    alertId: row.alert_id,
    requestedBy: row.requested_by,
    note: row.note,
  };
}

function registerSettingsRoute<K extends SettingsKey>(
  app: FastifyInstance,
  deps: FeatureDeps,
  key: K,
  schema: z.ZodType,
  title: string,
) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    `/api/v1/settings/${key}`,
    {
      config: { roles: READ },
      schema: {
        summary: title,
        tags: ['settings'],
        response: { 200: schema, ...errorResponses(403) },
      },
    },
    async () => loadSettings(deps.db, key),
  );
  r.put(
    `/api/v1/settings/${key}`,
    {
      config: { roles: RULES },
      schema: {
        summary: `修改${title.split(' / ')[0]} / change ${title.split(' / ')[1]}`,
        tags: ['settings'],
        body: schema,
        response: { 200: schema, ...errorResponses(400, 403) },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const value = request.body as Parameters<typeof saveSettings<K>>[2];
      await deps.db.transaction().execute(async (trx) => {
        await saveSettings(trx, key, value, user.id);
        await audit(trx, {
          actor: user,
          action: `settings.${key}`,
          resourceType: 'settings',
          resourceId: key,
          jurisdictionCode: user.jurisdictionCode,
          detail: { value },
          ip: request.ip,
        });
      });
      return loadSettings(deps.db, key);
    },
  );
}

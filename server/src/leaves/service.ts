import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { z } from 'zod';
import { ZoneGeometry } from '@ccm/contracts';
import type { DB, LeaveRequestsTable } from '@ccm/db';
import { audit } from '../audit/audit';
import { inScope } from '../auth/scope';
import type { AuthUser } from '../auth/types';
import { AppError, notFound } from '../errors';
import { IsoTime, iso, isoOrNull } from '../http';
import { notify, recipientsFor } from '../notifications/notify';
import { assertValidGeometry, geometryBbox } from '../zones/service';

/**
 * 外出审批 (approved leave). Who approves depends on the length: up to 7 days the township
 * office, longer the county bureau, at most 30 days per approval (domain.md). Approval adds
 * the destination as a temporary inclusion zone (from arrival to departure: `travelHours`
 * after the start and before the end) and suspends the subject's county zones for the whole
 * window — the gateway reads approved leaves and the engine judges each fix at its own time.
 * After the end the county zone applies again: a subject not back raises `zone_exit`, which
 * the return check links to the leave.
 */
type Db = Kysely<DB> | Transaction<DB>;
type LeaveRow = Selectable<LeaveRequestsTable>;

const DAY_MS = 86_400_000;
const TOWNSHIP_MAX_DAYS = 7;
const MAX_DAYS = 30;
/** A leave may be recorded shortly after it started (the office was closed), not later. */
const BACKDATE_MS = 24 * 3_600_000;

export const CreateLeaveBody = z
  .object({
    destination: z.string().trim().min(1).max(200),
    destinationGeometry: ZoneGeometry,
    reason: z.string().trim().min(1).max(2000),
    startsAt: IsoTime,
    endsAt: IsoTime,
    travelHours: z.number().int().min(0).max(72).default(12),
  })
  .strict();
export type CreateLeaveBody = z.infer<typeof CreateLeaveBody>;

export const DecisionBody = z.object({ note: z.string().trim().max(2000).optional() }).strict();
export const RejectBody = z.object({ note: z.string().trim().min(1).max(2000) }).strict();

export const LeaveStatus = z.enum(['pending', 'approved', 'rejected', 'cancelled']);

export const LeaveView = z.object({
  id: z.string(),
  subjectId: z.string(),
  subjectName: z.string(),
  jurisdictionCode: z.string(),
  destination: z.string(),
  destinationGeometry: z.unknown(),
  reason: z.string(),
  startsAt: z.string(),
  endsAt: z.string(),
  days: z.number(),
  travelHours: z.number(),
  approvalLevel: z.enum(['township', 'county']).describe('township 司法所; county 县级司法局'),
  status: LeaveStatus,
  requestedBy: z.string().nullable(),
  requestedAt: z.string(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  decisionNote: z.string().nullable(),
  zoneId: z.string().nullable(),
  returnStatus: z.enum(['returned', 'not_returned']).nullable(),
  returnCheckedAt: z.string().nullable(),
  returnAlertId: z.string().nullable(),
});
export type LeaveView = z.infer<typeof LeaveView>;

export const leaveNotFound = () => notFound('LEAVE_NOT_FOUND', '外出申请 / leave request');

const badInput = (code: string, field: string, message: string) =>
  new AppError(400, code, message, { field });

function toView(row: LeaveRow & { subject_name: string }): LeaveView {
  return {
    id: row.id,
    subjectId: row.subject_id,
    subjectName: row.subject_name,
    jurisdictionCode: row.jurisdiction_code,
    destination: row.destination,
    destinationGeometry: row.destination_geometry,
    reason: row.reason,
    startsAt: iso(row.starts_at),
    endsAt: iso(row.ends_at),
    days: Math.round(((row.ends_at.getTime() - row.starts_at.getTime()) / DAY_MS) * 10) / 10,
    travelHours: row.travel_hours,
    approvalLevel: row.approval_level,
    status: row.status,
    requestedBy: row.requested_by,
    requestedAt: iso(row.requested_at),
    decidedBy: row.decided_by,
    decidedAt: isoOrNull(row.decided_at),
    decisionNote: row.decision_note,
    zoneId: row.zone_id,
    returnStatus: row.return_status,
    returnCheckedAt: isoOrNull(row.return_checked_at),
    returnAlertId: row.return_alert_id,
  };
}

function selectLeaves(db: Db, user: AuthUser) {
  return db
    .selectFrom('leave_requests as l')
    .innerJoin('subjects as s', 's.id', 'l.subject_id')
    .selectAll('l')
    .select('s.name as subject_name')
    .where(inScope(user, 'l.jurisdiction_code'));
}

export async function getLeave(db: Db, user: AuthUser, id: string): Promise<LeaveView> {
  const row = await selectLeaves(db, user).where('l.id', '=', id).executeTakeFirst();
  if (!row) throw leaveNotFound();
  return toView(row);
}

export async function listLeaves(
  db: Db,
  user: AuthUser,
  q: { subjectId?: string; status?: LeaveView['status']; limit: number },
): Promise<LeaveView[]> {
  let query = selectLeaves(db, user);
  if (q.subjectId) query = query.where('l.subject_id', '=', q.subjectId);
  if (q.status) query = query.where('l.status', '=', q.status);
  const rows = await query.orderBy('l.starts_at', 'desc').orderBy('l.id').limit(q.limit).execute();
  return rows.map(toView);
}

export async function createLeave(
  db: Kysely<DB>,
  user: AuthUser,
  subjectId: string,
  body: CreateLeaveBody,
  ctx: { ip: string; now: Date },
): Promise<LeaveView> {
  const startsAt = new Date(body.startsAt);
  const endsAt = new Date(body.endsAt);
  const durationMs = endsAt.getTime() - startsAt.getTime();
  if (durationMs <= 0) {
    throw badInput(
      'LEAVE_INVALID_WINDOW',
      'endsAt',
      '返回时间须晚于出发时间 / endsAt must be after startsAt',
    );
  }
  if (durationMs > MAX_DAYS * DAY_MS) {
    throw badInput(
      'LEAVE_TOO_LONG',
      'endsAt',
      `每次外出审批不超过 ${MAX_DAYS} 天 / a leave is at most ${MAX_DAYS} days per approval`,
    );
  }
  if (startsAt.getTime() < ctx.now.getTime() - BACKDATE_MS) {
    throw badInput(
      'LEAVE_IN_PAST',
      'startsAt',
      '不能补录已开始超过一天的外出 / a leave that started more than a day ago cannot be recorded',
    );
  }
  if (2 * body.travelHours * 3_600_000 >= durationMs) {
    throw badInput(
      'LEAVE_TRAVEL_TOO_LONG',
      'travelHours',
      '往返路途时间须短于外出期限 / travel time both ways must be shorter than the leave',
    );
  }
  assertValidGeometry(body.destinationGeometry, 'destinationGeometry');
  const level = durationMs <= TOWNSHIP_MAX_DAYS * DAY_MS ? 'township' : 'county';
  const id = await db.transaction().execute(async (trx) => {
    const subject = await trx
      .selectFrom('subjects')
      .select(['id', 'jurisdiction_code', 'status'])
      .where('id', '=', subjectId)
      .where(inScope(user, 'subjects.jurisdiction_code'))
      .executeTakeFirst();
    if (!subject) throw notFound('SUBJECT_NOT_FOUND', '矫正对象 / subject');
    if (subject.status !== 'active') {
      throw new AppError(
        409,
        'SUBJECT_NOT_ACTIVE',
        '对象不在矫正期内，无需外出审批 / the subject is not under active supervision',
      );
    }
    const row = await trx
      .insertInto('leave_requests')
      .values({
        subject_id: subject.id,
        jurisdiction_code: subject.jurisdiction_code,
        destination: body.destination,
        destination_geometry: JSON.stringify(body.destinationGeometry),
        reason: body.reason,
        starts_at: startsAt,
        ends_at: endsAt,
        travel_hours: body.travelHours,
        approval_level: level,
        requested_by: user.id,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await audit(trx, {
      actor: user,
      action: 'leave.request',
      resourceType: 'leave_request',
      resourceId: row.id,
      jurisdictionCode: subject.jurisdiction_code,
      detail: {
        subjectId,
        destination: body.destination,
        startsAt: iso(startsAt),
        endsAt: iso(endsAt),
        level,
      },
      ip: ctx.ip,
    });
    await notify(trx, await recipientsFor(trx, subject.id, { bureau: level === 'county' }), {
      kind: 'leave_pending',
      title: `外出申请待审批：${body.destination} / leave request to decide: ${body.destination}`,
      body: `${iso(startsAt)} – ${iso(endsAt)}`,
      subjectId: subject.id,
      refId: row.id,
      dedupeKey: `leave_pending:${row.id}`,
    });
    return row.id;
  });
  return getLeave(db, user, id);
}

/** Locks the leave for a decision; 404 out of scope, 409 when it is no longer pending. */
async function lockPending(trx: Transaction<DB>, user: AuthUser, id: string) {
  const row = await trx
    .selectFrom('leave_requests')
    .selectAll()
    .where('id', '=', id)
    .where(inScope(user, 'leave_requests.jurisdiction_code'))
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw leaveNotFound();
  return row;
}

/** Township-level leaves: the office (or above); county-level: the bureau only. */
function assertMayDecide(user: AuthUser, level: 'township' | 'county') {
  const allowed = level === 'township' ? ['officer', 'bureau', 'admin'] : ['bureau', 'admin'];
  if (!allowed.includes(user.role)) {
    throw new AppError(
      403,
      'LEAVE_NEEDS_BUREAU',
      '超过七天的外出须由县级司法局审批 / a leave longer than 7 days is approved by the county bureau',
    );
  }
}

export async function approveLeave(
  db: Kysely<DB>,
  user: AuthUser,
  id: string,
  note: string | undefined,
  ctx: { ip: string; now: Date },
): Promise<LeaveView> {
  await db.transaction().execute(async (trx) => {
    const leave = await lockPending(trx, user, id);
    if (leave.status !== 'pending') throw notPending(leave.status);
    assertMayDecide(user, leave.approval_level);
    if (leave.ends_at <= ctx.now) {
      throw new AppError(409, 'LEAVE_OVER', '外出期限已过 / the leave window is already over');
    }
    // Two approved leaves of one subject never overlap: the suspension would be ambiguous.
    await sql`SELECT pg_advisory_xact_lock(hashtext(${`leave:${leave.subject_id}`}))`.execute(trx);
    const overlap = await trx
      .selectFrom('leave_requests')
      .select('id')
      .where('subject_id', '=', leave.subject_id)
      .where('status', '=', 'approved')
      .where('starts_at', '<', leave.ends_at)
      .where('ends_at', '>', leave.starts_at)
      .executeTakeFirst();
    if (overlap) {
      throw new AppError(
        409,
        'LEAVE_OVERLAPS',
        '与已批准的外出时间重叠 / overlaps an approved leave of the same subject',
        { leaveId: overlap.id },
      );
    }
    const geometry = ZoneGeometry.parse(leave.destination_geometry);
    const [minLon, minLat, maxLon, maxLat] = geometryBbox(geometry);
    const travelMs = leave.travel_hours * 3_600_000;
    const zone = await trx
      .insertInto('zones')
      .values({
        name: `外出目的地 / leave destination: ${leave.destination}`.slice(0, 200),
        kind: 'inclusion',
        purpose: 'leave',
        geometry: JSON.stringify(geometry),
        min_lon: minLon,
        min_lat: minLat,
        max_lon: maxLon,
        max_lat: maxLat,
        buffer_m: 500,
        jurisdiction_code: leave.jurisdiction_code,
        created_by: user.id,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('zone_assignments')
      .values({
        subject_id: leave.subject_id,
        zone_id: zone.id,
        valid_from: new Date(leave.starts_at.getTime() + travelMs),
        valid_to: new Date(leave.ends_at.getTime() - travelMs),
        created_by: user.id,
      })
      .execute();
    await trx
      .updateTable('leave_requests')
      .set({
        status: 'approved',
        decided_by: user.id,
        decided_at: ctx.now,
        decision_note: note ?? null,
        zone_id: zone.id,
        updated_at: ctx.now,
      })
      .where('id', '=', id)
      .execute();
    const excused = await excuseCountyExits(trx, user, leave);
    await audit(trx, {
      actor: user,
      action: 'leave.approve',
      resourceType: 'leave_request',
      resourceId: id,
      jurisdictionCode: leave.jurisdiction_code,
      detail: {
        subjectId: leave.subject_id,
        zoneId: zone.id,
        level: leave.approval_level,
        excusedAlerts: excused,
      },
      ip: ctx.ip,
    });
    await notifyDecision(trx, leave, '已批准 / approved');
  });
  return getLeave(db, user, id);
}

export async function rejectLeave(
  db: Kysely<DB>,
  user: AuthUser,
  id: string,
  note: string,
  ctx: { ip: string; now: Date },
): Promise<LeaveView> {
  await db.transaction().execute(async (trx) => {
    const leave = await lockPending(trx, user, id);
    if (leave.status !== 'pending') throw notPending(leave.status);
    assertMayDecide(user, leave.approval_level);
    await trx
      .updateTable('leave_requests')
      .set({
        status: 'rejected',
        decided_by: user.id,
        decided_at: ctx.now,
        decision_note: note,
        updated_at: ctx.now,
      })
      .where('id', '=', id)
      .execute();
    await audit(trx, {
      actor: user,
      action: 'leave.reject',
      resourceType: 'leave_request',
      resourceId: id,
      jurisdictionCode: leave.jurisdiction_code,
      detail: { subjectId: leave.subject_id, note },
      ip: ctx.ip,
    });
    await notifyDecision(trx, leave, '未批准 / rejected');
  });
  return getLeave(db, user, id);
}

/**
 * Withdraws a request, or cuts an approved leave short (the subject came back early or the
 * trip was called off): from now on the county zone applies again and the destination
 * zone no longer does.
 */
export async function cancelLeave(
  db: Kysely<DB>,
  user: AuthUser,
  id: string,
  note: string,
  ctx: { ip: string; now: Date },
): Promise<LeaveView> {
  await db.transaction().execute(async (trx) => {
    const leave = await lockPending(trx, user, id);
    if (leave.status === 'rejected' || leave.status === 'cancelled') throw notPending(leave.status);
    if (leave.status === 'approved') {
      if (leave.ends_at <= ctx.now) {
        throw new AppError(409, 'LEAVE_OVER', '外出期限已过 / the leave window is already over');
      }
      assertMayDecide(user, leave.approval_level);
      // Keep the past as it was judged: the leave ends now instead of being erased.
      const endsAt = new Date(Math.max(ctx.now.getTime(), leave.starts_at.getTime() + 1));
      await trx
        .updateTable('leave_requests')
        .set({ ends_at: endsAt })
        .where('id', '=', id)
        .execute();
      if (leave.zone_id) {
        // The destination applied from arrival; before arrival there is nothing left of it.
        await trx
          .updateTable('zone_assignments')
          .set({ valid_to: endsAt })
          .where('zone_id', '=', leave.zone_id)
          .where('subject_id', '=', leave.subject_id)
          .where('valid_from', '<', endsAt)
          .execute();
        await trx
          .deleteFrom('zone_assignments')
          .where('zone_id', '=', leave.zone_id)
          .where('subject_id', '=', leave.subject_id)
          .where('valid_from', '>=', endsAt)
          .execute();
      }
    }
    await trx
      .updateTable('leave_requests')
      .set({
        status: leave.status === 'approved' ? 'approved' : 'cancelled',
        decision_note: leave.status === 'approved' ? `提前结束 / ended early: ${note}` : note,
        updated_at: ctx.now,
      })
      .where('id', '=', id)
      .execute();
    await audit(trx, {
      actor: user,
      action: leave.status === 'approved' ? 'leave.end_early' : 'leave.cancel',
      resourceType: 'leave_request',
      resourceId: id,
      jurisdictionCode: leave.jurisdiction_code,
      detail: { subjectId: leave.subject_id, note },
      ip: ctx.ip,
    });
  });
  return getLeave(db, user, id);
}

/**
 * A leave recorded after the trip began (up to a day late) may find the county exit already
 * raised. Those alerts are closed as `authorised` with the leave's reason on them, so the
 * record says why; nothing is deleted. From the next fix the engine applies the suspension.
 */
async function excuseCountyExits(
  trx: Transaction<DB>,
  user: AuthUser,
  leave: LeaveRow,
): Promise<string[]> {
  const alerts = await trx
    .selectFrom('alerts as a')
    .innerJoin('zones as z', 'z.id', 'a.zone_id')
    .select(['a.id'])
    .where('a.subject_id', '=', leave.subject_id)
    .where('a.type', '=', 'zone_exit')
    .where('z.purpose', '=', 'county')
    .where('a.status', '!=', 'resolved')
    .where('a.started_at', '>=', leave.starts_at)
    .where('a.started_at', '<', leave.ends_at)
    .execute();
  const note =
    `外出已批准（${leave.destination}，${iso(leave.starts_at)} – ${iso(leave.ends_at)}）：${leave.reason} / ` +
    `covered by an approved leave to ${leave.destination}: ${leave.reason}`;
  const now = new Date();
  for (const a of alerts) {
    await trx
      .updateTable('alerts')
      .set({
        status: 'resolved',
        resolution: 'authorised',
        resolved_at: now,
        resolved_by: user.id,
        updated_at: now,
      })
      .where('id', '=', a.id)
      .execute();
    await trx
      .insertInto('alert_events')
      .values({
        alert_id: a.id,
        action: 'resolved',
        actor_id: user.id,
        note,
        data: JSON.stringify({ resolution: 'authorised', leaveId: leave.id }),
      })
      .execute();
    await trx
      .insertInto('outbox')
      .values({
        topic: 'alert_update',
        payload: JSON.stringify({
          alertId: a.id,
          action: 'update',
          jurisdictionCode: leave.jurisdiction_code,
          subjectId: leave.subject_id,
        }),
      })
      .execute();
  }
  if (alerts.length > 0) await sql`SELECT pg_notify('ccm_outbox', '1')`.execute(trx);
  return alerts.map((a) => a.id);
}

const notPending = (status: string) =>
  new AppError(
    409,
    'LEAVE_NOT_PENDING',
    `该申请已${status === 'approved' ? '批准' : status === 'rejected' ? '驳回' : '撤销'} / the request is already ${status}`,
  );

async function notifyDecision(trx: Transaction<DB>, leave: LeaveRow, outcome: string) {
  const to = new Set(await recipientsFor(trx, leave.subject_id));
  if (leave.requested_by) to.add(leave.requested_by);
  await notify(trx, [...to], {
    kind: 'leave_decided',
    title: `外出申请${outcome}：${leave.destination} / leave ${outcome.split(' / ')[1]}: ${leave.destination}`,
    subjectId: leave.subject_id,
    refId: leave.id,
    dedupeKey: `leave_decided:${leave.id}`,
  });
}

/**
 * The return check, once per approved leave, `graceMs` after its end: a county `zone_exit`
 * that the engine opened after the end means the subject was not back (linked here, and the
 * officer told); fixes after the end with no such alert mean back. Without any data yet it
 * waits, up to a day, then records not returned (the silence rules speak for the device).
 * The destination zone is retired once the leave is over.
 */
export async function checkLeaveReturns(
  db: Kysely<DB>,
  nowMs: number,
  graceMs = 30 * 60_000,
): Promise<number> {
  const due = await db
    .selectFrom('leave_requests as l')
    .innerJoin('subjects as s', 's.id', 'l.subject_id')
    .select([
      'l.id',
      'l.subject_id',
      'l.ends_at',
      'l.zone_id',
      'l.destination',
      's.no as subject_no',
    ])
    .where('l.status', '=', 'approved')
    .where('l.return_checked_at', 'is', null)
    .where('l.ends_at', '<=', new Date(nowMs - graceMs))
    .execute();
  let checked = 0;
  for (const l of due) {
    const exit = await db
      .selectFrom('alerts as a')
      .innerJoin('zones as z', 'z.id', 'a.zone_id')
      .select(['a.id'])
      .where('a.subject_id', '=', l.subject_id)
      .where('a.type', '=', 'zone_exit')
      .where('z.purpose', '=', 'county')
      .where('a.started_at', '>=', l.ends_at)
      .where((eb) =>
        eb.or([
          eb('a.resolution', 'is', null),
          eb('a.resolution', 'not in', ['withdrawn', 'authorised']),
        ]),
      )
      .orderBy('a.started_at')
      .executeTakeFirst();
    const after = await db
      .selectFrom('fixes')
      .select('t')
      .where('subject_no', '=', l.subject_no)
      .where('t', '>', l.ends_at)
      .limit(1)
      .executeTakeFirst();
    const waitedLong = nowMs - l.ends_at.getTime() > DAY_MS;
    if (!exit && !after && !waitedLong) continue;
    const status = exit || !after ? 'not_returned' : 'returned';
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('leave_requests')
        .set({
          return_status: status,
          return_checked_at: new Date(nowMs),
          return_alert_id: exit?.id ?? null,
          updated_at: new Date(nowMs),
        })
        .where('id', '=', l.id)
        .where('return_checked_at', 'is', null)
        .execute();
      if (l.zone_id) {
        await trx
          .updateTable('zones')
          .set({ active: false, updated_at: new Date(nowMs) })
          .where('id', '=', l.zone_id)
          .execute();
      }
      if (status === 'not_returned') {
        await notify(trx, await recipientsFor(trx, l.subject_id, { bureau: true }), {
          kind: 'leave_not_returned',
          title: `外出期满未按时返回：${l.destination} / not back from leave: ${l.destination}`,
          body: `应于 ${iso(l.ends_at)} 前返回 / due back by ${iso(l.ends_at)}`,
          subjectId: l.subject_id,
          refId: l.id,
          dedupeKey: `leave_not_returned:${l.id}`,
        });
      }
    });
    checked++;
  }
  return checked;
}

import { sql, type Kysely, type Transaction } from 'kysely';
import type { Alert, DB } from '@ccm/db';
import { inScope } from '../auth/scope';
import type { AuthUser } from '../auth/types';
import { AppError } from '../errors';
import { decodeCursor, encodeCursor } from '../http';
import type { AlertHistoryEntry, AlertNoteView } from './view';

type Db = Kysely<DB> | Transaction<DB>;

/** critical → 0 … low → 3: the default order puts the most severe first. */
const severityRank = sql<number>`(CASE alerts.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END)`;
/**
 * raised_at at full (microsecond) precision for cursors: a JS Date keeps milliseconds only,
 * and a cursor that rounds would repeat or skip rows on the page boundary.
 */
const raisedAtText = sql<string>`to_char(alerts.raised_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const badCursor = () => new AppError(400, 'BAD_CURSOR', '分页游标无效 / invalid cursor');

export type AlertSort = 'severity' | 'raisedAt';

export interface AlertFilters {
  status?: Alert['status'] | undefined;
  type?: string | undefined;
  severity?: Alert['severity'] | undefined;
  subjectId?: string | undefined;
  assignedTo?: string | undefined;
  late?: boolean | undefined;
  /** raised_at ≥ from */
  from?: Date | undefined;
  /** raised_at < to */
  to?: Date | undefined;
  sort: AlertSort;
  limit: number;
  cursor?: string | undefined;
}

/**
 * One page of the alerts in the user's scope. Default order: severity (critical first), then
 * age (oldest first) — the triage queue; `sort: 'raisedAt'` is newest first.
 */
export async function listAlerts(db: Db, user: AuthUser, f: AlertFilters) {
  let q = db
    .selectFrom('alerts')
    .selectAll('alerts')
    .select([severityRank.as('sort_rank'), raisedAtText.as('sort_ts')])
    .where(inScope(user, 'alerts.jurisdiction_code'));
  if (f.status) q = q.where('alerts.status', '=', f.status);
  if (f.type) q = q.where('alerts.type', '=', f.type);
  if (f.severity) q = q.where('alerts.severity', '=', f.severity);
  if (f.subjectId) q = q.where('alerts.subject_id', '=', f.subjectId);
  if (f.assignedTo) q = q.where('alerts.assigned_to', '=', f.assignedTo);
  if (f.late !== undefined) q = q.where('alerts.late', '=', f.late);
  if (f.from) q = q.where('alerts.raised_at', '>=', f.from);
  if (f.to) q = q.where('alerts.raised_at', '<', f.to);

  if (f.sort === 'severity') {
    if (f.cursor) {
      const c = decodeCursor(f.cursor);
      const m = /^s\|([0-3])\|(.+)$/.exec(String(c.value));
      if (!m || !TS_RE.test(m[2]!) || !UUID_RE.test(c.id)) throw badCursor();
      q = q.where(
        sql<boolean>`(${severityRank}, alerts.raised_at, alerts.id) > (${Number(m[1])}, ${m[2]}::timestamptz, ${c.id}::uuid)`,
      );
    }
    q = q.orderBy(severityRank).orderBy('alerts.raised_at').orderBy('alerts.id');
  } else {
    if (f.cursor) {
      const c = decodeCursor(f.cursor);
      const m = /^r\|(.+)$/.exec(String(c.value));
      if (!m || !TS_RE.test(m[1]!) || !UUID_RE.test(c.id)) throw badCursor();
      q = q.where(
        sql<boolean>`(alerts.raised_at, alerts.id) < (${m[1]}::timestamptz, ${c.id}::uuid)`,
      );
    }
    q = q.orderBy('alerts.raised_at', 'desc').orderBy('alerts.id', 'desc');
  }
  const rows = await q.limit(f.limit + 1).execute();
  const items = rows.slice(0, f.limit);
  const last = items.at(-1);
  const nextCursor =
    rows.length > f.limit && last
      ? encodeCursor(
          f.sort === 'severity' ? `s|${last.sort_rank}|${last.sort_ts}` : `r|${last.sort_ts}`,
          last.id,
        )
      : null;
  return { rows: items.map(({ sort_rank: _r, sort_ts: _t, ...alert }) => alert), nextCursor };
}

/** The alert when it exists and is in the user's scope; `forUpdate` locks it for a change. */
export async function findAlertInScope(
  db: Db,
  user: AuthUser,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<Alert | undefined> {
  let q = db
    .selectFrom('alerts')
    .selectAll()
    .where('id', '=', id)
    .where(inScope(user, 'alerts.jurisdiction_code'));
  if (options.forUpdate) q = q.forUpdate();
  return q.executeTakeFirst();
}

/**
 * The written trail of each alert, oldest first: every history row that carries text (notes,
 * the resolution note, the platform's withdrawal note).
 */
export async function notesFor(
  db: Db,
  alertIds: readonly string[],
): Promise<Map<string, AlertNoteView[]>> {
  const byAlert = new Map<string, AlertNoteView[]>();
  if (alertIds.length === 0) return byAlert;
  const rows = await db
    .selectFrom('alert_events as e')
    .leftJoin('users as u', 'u.id', 'e.actor_id')
    .select(['e.id', 'e.alert_id', 'e.at', 'e.action', 'e.actor_id', 'e.note', 'u.display_name'])
    .where('e.alert_id', 'in', [...alertIds])
    .where('e.note', 'is not', null)
    .orderBy('e.id')
    .execute();
  for (const r of rows) {
    const list = byAlert.get(r.alert_id) ?? [];
    list.push({
      id: String(r.id),
      at: r.at.toISOString(),
      action: r.action,
      authorId: r.actor_id,
      authorName: r.display_name,
      text: r.note ?? '',
    });
    byAlert.set(r.alert_id, list);
  }
  return byAlert;
}

/** Every event of one alert in the order it happened. */
export async function historyOf(db: Db, alertId: string): Promise<AlertHistoryEntry[]> {
  const rows = await db
    .selectFrom('alert_events as e')
    .leftJoin('users as u', 'u.id', 'e.actor_id')
    .select(['e.id', 'e.at', 'e.action', 'e.actor_id', 'e.note', 'e.data', 'u.display_name'])
    .where('e.alert_id', '=', alertId)
    .orderBy('e.id')
    .execute();
  return rows.map((r) => ({
    id: String(r.id),
    at: r.at.toISOString(),
    action: r.action,
    actorId: r.actor_id,
    actorName: r.display_name,
    note: r.note,
    data: r.data,
  }));
}

export interface AlertChange {
  alertId: string;
  action: 'acknowledged' | 'assigned' | 'note' | 'resolved' | 'escalated';
  jurisdictionCode: string;
  subjectId: string | null;
  /** null = the platform. */
  actorId: string | null;
  at: Date;
  note?: string | null;
  data?: Record<string, unknown>;
}

/**
 * The history row, the outbox row ('alert_update', the same payload the gateway writes) and
 * the wake-up for the outbox relay: all in the caller's transaction, so a change is never
 * visible without its delivery, nor delivered without being committed.
 */
export async function recordAlertChanges(
  trx: Transaction<DB>,
  changes: readonly AlertChange[],
): Promise<void> {
  if (changes.length === 0) return;
  await trx
    .insertInto('alert_events')
    .values(
      changes.map((c) => ({
        alert_id: c.alertId,
        at: c.at,
        actor_id: c.actorId,
        action: c.action,
        note: c.note ?? null,
        data: JSON.stringify(c.data ?? {}),
      })),
    )
    .execute();
  await trx
    .insertInto('outbox')
    .values(
      changes.map((c) => ({
        topic: 'alert_update',
        payload: JSON.stringify({
          alertId: c.alertId,
          action: c.action,
          jurisdictionCode: c.jurisdictionCode,
          subjectId: c.subjectId,
        }),
      })),
    )
    .execute();
  await sql`SELECT pg_notify('ccm_outbox', ${String(changes.length)})`.execute(trx);
}

/**
 * A user who may take the alert: an active officer or bureau user whose jurisdiction is the
 * alert's or above it.
 */
export async function findAssignee(db: Db, userId: string, alertJurisdictionCode: string) {
  return db
    .selectFrom('users as u')
    .innerJoin('jurisdictions as uj', 'uj.code', 'u.jurisdiction_code')
    .innerJoin('jurisdictions as aj', (join) => join.on('aj.code', '=', alertJurisdictionCode))
    .select(['u.id', 'u.username', 'u.display_name', 'u.role', 'u.jurisdiction_code'])
    .where('u.id', '=', userId)
    .where('u.disabled', '=', false)
    .where('u.role', 'in', ['officer', 'bureau'])
    .where(sql<boolean>`(aj.path = uj.path OR aj.path LIKE uj.path || '.%')`)
    .executeTakeFirst();
}

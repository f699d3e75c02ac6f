import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { DB } from '@ccm/db';
import { inScope } from '../auth/scope';
import type { AuthUser } from '../auth/types';
import type { FixRow } from './track';

type Db = Kysely<DB> | Transaction<DB>;

/**
 * Reads of stored positions. The law allows a position to be shown only when its fix time is
 * inside [starts_at, min(ends_at, ended_at)) of one of the subject's monitoring orders
 * (LEAST ignores a NULL ended_at); every query here applies that rule itself rather than
 * trusting the gateway to have stored only such fixes.
 */
export interface TimeWindow {
  from: Date;
  to: Date;
}

export interface SubjectRef {
  id: string;
  no: number;
  name: string;
  jurisdiction_code: string;
}

export function findSubjectInScope(
  db: Db,
  user: AuthUser,
  id: string,
): Promise<SubjectRef | undefined> {
  return db
    .selectFrom('subjects')
    .select(['id', 'no', 'name', 'jurisdiction_code'])
    .where('id', '=', id)
    .where(inScope(user, 'subjects.jurisdiction_code'))
    .executeTakeFirst();
}

/** The subject's order windows that overlap `w`, clipped to it, in time order. */
export async function orderWindowsIn(
  db: Db,
  subjectId: string,
  w: TimeWindow,
): Promise<{ startsAt: Date; endsAt: Date }[]> {
  const rows = await db
    .selectFrom('monitoring_orders as o')
    .select([
      sql<Date>`greatest(o.starts_at, ${w.from}::timestamptz)`.as('starts_at'),
      sql<Date>`least(o.ends_at, o.ended_at, ${w.to}::timestamptz)`.as('ends_at'),
    ])
    .where('o.subject_id', '=', subjectId)
    .where('o.starts_at', '<', w.to)
    .where(sql<boolean>`least(o.ends_at, o.ended_at) > ${w.from}::timestamptz`)
    .orderBy('o.starts_at')
    .execute();
  return rows.map((r) => ({ startsAt: r.starts_at, endsAt: r.ends_at }));
}

/**
 * round(a / b) for a ≥ 0, b > 0, halves up, in int8: (2a + b) div 2b. As exact as numeric's
 * round and a third of the cost: numeric arithmetic on every fix of a week's track (10,080
 * rows) was 5 of the query's 18 ms.
 */
const roundDiv = (a: RawBuilder<unknown>, b: RawBuilder<unknown>) =>
  sql`((2 * (${a}) + (${b})) / (2 * (${b})))`;

/**
 * The subject's fixes in `w` that fall inside one of their orders, in time order, with the
 * total count. With `maxPoints` and more fixes than that, only evenly spaced ones come back:
 * index i of n is kept when it is round(k·(n−1)/(m−1)) for some k in 0…m−1, which keeps the
 * first and the last (integer arithmetic, so no float drift decides a point).
 */
export async function readTrack(
  db: Db,
  subject: Pick<SubjectRef, 'id' | 'no'>,
  w: TimeWindow,
  options: { maxPoints: number | null },
): Promise<{ rows: FixRow[]; total: number }> {
  const m = options.maxPoints;
  let sample = sql``;
  if (m !== null) {
    // i is kept when i = round(round(i·(m−1)/(n−1))·(n−1)/(m−1)): the k whose point is
    // nearest i, and whether that point is i.
    const steps = sql`${m - 1}::int8`;
    const k = roundDiv(sql`i * ${steps}`, sql`n - 1`);
    sample = sql`WHERE n <= ${m} OR i = ${roundDiv(sql`${k} * (n - 1)`, steps)}`;
  }
  const result = await sql<FixRow & { n: number }>`
    WITH track AS (
      SELECT f.t, f.lat_e6, f.lon_e6, f.acc_dm, f.src, f.spd_cms, f.flags,
             row_number() OVER (ORDER BY f.t, f.device_no) - 1 AS i,
             count(*) OVER () AS n
      FROM fixes f
      WHERE f.subject_no = ${subject.no}
        AND f.t >= ${w.from}::timestamptz AND f.t < ${w.to}::timestamptz
        AND EXISTS (
          SELECT 1 FROM monitoring_orders o
          WHERE o.subject_id = ${subject.id}
            AND f.t >= o.starts_at AND f.t < least(o.ends_at, o.ended_at))
    )
    SELECT t, lat_e6, lon_e6, acc_dm, src, spd_cms, flags, n FROM track
    ${sample}
    ORDER BY i`.execute(db);
  return {
    rows: result.rows.map(({ n: _n, ...fix }) => fix),
    total: Number(result.rows[0]?.n ?? 0),
  };
}

export interface LatestRow {
  subject_id: string;
  subject_name: string;
  device_id: string;
  last_fix_t: Date;
  last_lat_e6: number;
  last_lon_e6: number;
  last_acc_dm: number | null;
  last_src: number | null;
  battery: number | null;
  online: boolean;
}

/**
 * The latest fix of every subject in scope with an order active at `now`, taken from
 * device_state and shown only when that fix lies inside the active order's window. One row per
 * subject (the most recent of their ordered devices), keyset-paged by subject id.
 *
 * Subjects are walked in id order from the cursor and each is looked up on its own
 * (`LATERAL … LIMIT 1` through the order, device and state indexes), so a page costs about
 * `limit` lookups however wide the scope: a county bureau's first page of 1,000 of 50,000
 * subjects no longer joins and sorts all 50,000 before the LIMIT.
 */
export async function latestPositions(
  db: Db,
  user: AuthUser,
  options: { now: Date; limit: number; afterSubjectId?: string | undefined },
): Promise<LatestRow[]> {
  const now = options.now;
  let q = db
    .selectFrom('subjects as s')
    .innerJoinLateral(
      (eb) =>
        eb
          .selectFrom('monitoring_orders as o')
          .innerJoin('devices as d', 'd.id', 'o.device_id')
          .innerJoin('device_state as ds', 'ds.device_no', 'd.no')
          .whereRef('o.subject_id', '=', 's.id')
          .where('o.starts_at', '<=', now)
          .where(sql<boolean>`least(o.ends_at, o.ended_at) > ${now}::timestamptz`)
          .where('ds.last_fix_t', 'is not', null)
          .where('ds.last_lat_e6', 'is not', null)
          .where('ds.last_lon_e6', 'is not', null)
          .where(sql<boolean>`ds.last_fix_t >= o.starts_at`)
          .where(sql<boolean>`ds.last_fix_t < least(o.ends_at, o.ended_at)`)
          .select([
            'd.id as device_id',
            'ds.last_fix_t',
            'ds.last_lat_e6',
            'ds.last_lon_e6',
            'ds.last_acc_dm',
            'ds.last_src',
            'ds.battery',
            'ds.online',
          ])
          .orderBy('ds.last_fix_t', 'desc')
          .orderBy('d.id')
          .limit(1)
          .as('p'),
      (join) => join.onTrue(),
    )
    .where(inScope(user, 's.jurisdiction_code'))
    .select([
      's.id as subject_id',
      's.name as subject_name',
      'p.device_id',
      'p.last_fix_t',
      'p.last_lat_e6',
      'p.last_lon_e6',
      'p.last_acc_dm',
      'p.last_src',
      'p.battery',
      'p.online',
    ])
    .orderBy('s.id')
    .limit(options.limit);
  if (options.afterSubjectId) q = q.where('s.id', '>', options.afterSubjectId);
  const rows = await q.execute();
  return rows.map((r) => ({
    ...r,
    last_fix_t: r.last_fix_t!,
    last_lat_e6: r.last_lat_e6!,
    last_lon_e6: r.last_lon_e6!,
  }));
}

/** Unresolved (open or acknowledged) alerts per subject, for the given subjects in scope. */
export async function unresolvedAlertCounts(
  db: Db,
  user: AuthUser,
  subjectIds: readonly string[],
): Promise<Map<string, number>> {
  if (subjectIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('alerts')
    .select(['subject_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('subject_id', 'in', [...subjectIds])
    .where('status', '<>', 'resolved')
    .where(inScope(user, 'alerts.jurisdiction_code'))
    .groupBy('subject_id')
    .execute();
  return new Map(rows.map((r) => [r.subject_id!, Number(r.n)]));
}

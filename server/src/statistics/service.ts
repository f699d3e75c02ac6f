import { sql, type Kysely } from 'kysely';
import type { DB } from '@ccm/db';
import { pathWithin } from '../auth/scope';
import type { AuthUser } from '../auth/types';

type Db = Kysely<DB>;

export interface Window {
  from: Date;
  to: Date;
  /** IANA zone that days are counted in (a bureau's monthly report counts China days). */
  timeZone: string;
}

/**
 * 决策分析: the figures a bureau head puts in a monthly report, over alerts raised in the
 * window and in the caller's scope (their node and below). Every figure is one grouped query.
 */
export async function alertStatistics(db: Db, user: AuthUser, w: Window) {
  const scoped = () =>
    db
      .selectFrom('alerts as a')
      .innerJoin('jurisdictions as j', 'j.code', 'a.jurisdiction_code')
      .where(pathWithin(user.jurisdictionPath, 'j.path'))
      .where('a.raised_at', '>=', w.from)
      .where('a.raised_at', '<', w.to);

  const byType = await scoped()
    .select(['a.type', 'a.severity', sql<string>`count(*)`.as('n')])
    .groupBy(['a.type', 'a.severity'])
    .execute();

  const dayExpr = sql<string>`to_char(a.raised_at AT TIME ZONE ${w.timeZone}, 'YYYY-MM-DD')`;
  const byDayRows = await scoped()
    .select([dayExpr.as('day'), sql<string>`count(*)`.as('n')])
    .groupBy(sql`1`) // the same parameterised expression, by position
    .execute();

  // The child of the caller's node that each alert lies under (or the caller's node itself):
  // a city bureau sees its counties, a county bureau its offices.
  const childExpr = sql<string>`CASE WHEN j.path = ${user.jurisdictionPath} THEN j.code
    ELSE split_part(substr(j.path, ${user.jurisdictionPath.length + 2}), '.', 1) END`;
  const byChild = await scoped()
    .select([childExpr.as('code'), sql<string>`count(*)`.as('n')])
    .groupBy(sql`1`)
    .execute();
  const names = byChild.length
    ? await db
        .selectFrom('jurisdictions')
        .select(['code', 'name_zh', 'name_en'])
        .where(
          'code',
          'in',
          byChild.map((r) => r.code),
        )
        .execute()
    : [];
  const nameOf = new Map(names.map((n) => [n.code, n]));

  const resolutions = await scoped()
    .where('a.status', '=', 'resolved')
    .select([
      sql<string>`coalesce(a.resolution, 'other')`.as('resolution'),
      sql<string>`count(*)`.as('n'),
    ])
    .groupBy(sql`coalesce(a.resolution, 'other')`)
    .execute();
  const resolvedTotal = resolutions.reduce((s, r) => s + Number(r.n), 0);
  const falseAlarms = Number(resolutions.find((r) => r.resolution === 'false_alarm')?.n ?? 0);

  const ackSeconds = sql<number>`extract(epoch from (a.acknowledged_at - a.raised_at))`;
  const ack = await scoped()
    .where('a.acknowledged_at', 'is not', null)
    .select([
      'a.severity',
      sql<string>`count(*)`.as('n'),
      sql<number | null>`avg(${ackSeconds})`.as('mean'),
      sql<number | null>`percentile_cont(0.5) WITHIN GROUP (ORDER BY ${ackSeconds})`.as('p50'),
      sql<number | null>`percentile_cont(0.9) WITHIN GROUP (ORDER BY ${ackSeconds})`.as('p90'),
    ])
    .groupBy('a.severity')
    .execute();
  const ackAll = await scoped()
    .where('a.acknowledged_at', 'is not', null)
    .select([
      sql<string>`count(*)`.as('n'),
      sql<number | null>`avg(${ackSeconds})`.as('mean'),
      sql<number | null>`percentile_cont(0.5) WITHIN GROUP (ORDER BY ${ackSeconds})`.as('p50'),
      sql<number | null>`percentile_cont(0.9) WITHIN GROUP (ORDER BY ${ackSeconds})`.as('p90'),
    ])
    .executeTakeFirst();
  const unacknowledged = await scoped()
    .where('a.acknowledged_at', 'is', null)
    .where('a.status', '=', 'open')
    .select(sql<string>`count(*)`.as('n'))
    .executeTakeFirst();

  const levels = await db
    .selectFrom('subjects as s')
    .innerJoin('jurisdictions as j', 'j.code', 's.jurisdiction_code')
    .where(pathWithin(user.jurisdictionPath, 'j.path'))
    .where('s.status', '=', 'active')
    .select(['s.management_level as level', sql<string>`count(*)`.as('n')])
    .groupBy('s.management_level')
    .execute();

  const byDayMap = new Map(byDayRows.map((r) => [r.day, Number(r.n)]));
  const seconds = (v: number | string | null | undefined) =>
    v === null || v === undefined ? null : Math.round(Number(v));
  const total = byType.reduce((s, r) => s + Number(r.n), 0);
  return {
    from: w.from.toISOString(),
    to: w.to.toISOString(),
    timeZone: w.timeZone,
    total,
    byType: byType
      .map((r) => ({ type: r.type, severity: r.severity, count: Number(r.n) }))
      .sort((a, b) => b.count - a.count || a.type.localeCompare(b.type)),
    byDay: daysBetween(w).map((day) => ({ day, count: byDayMap.get(day) ?? 0 })),
    byJurisdiction: byChild
      .map((r) => ({
        code: r.code,
        nameZh: nameOf.get(r.code)?.name_zh ?? r.code,
        nameEn: nameOf.get(r.code)?.name_en ?? r.code,
        count: Number(r.n),
      }))
      .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
    resolutions: resolutions
      .map((r) => ({ resolution: r.resolution, count: Number(r.n) }))
      .sort((a, b) => b.count - a.count),
    resolved: resolvedTotal,
    falseAlarms,
    falseAlarmShare: resolvedTotal ? falseAlarms / resolvedTotal : null,
    timeToAcknowledge: {
      count: Number(ackAll?.n ?? 0),
      meanS: seconds(ackAll?.mean),
      medianS: seconds(ackAll?.p50),
      p90S: seconds(ackAll?.p90),
      openUnacknowledged: Number(unacknowledged?.n ?? 0),
      bySeverity: ack
        .map((r) => ({
          severity: r.severity,
          count: Number(r.n),
          meanS: seconds(r.mean),
          medianS: seconds(r.p50),
          p90S: seconds(r.p90),
        }))
        .sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity)),
    },
    subjectsByLevel: LEVELS.map((level) => ({
      level,
      count: Number(levels.find((l) => l.level === level)?.n ?? 0),
    })),
  };
}

const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low'];
const LEVELS = ['strict', 'normal', 'lenient'] as const;

/** Every calendar day (in the window's zone) from `from` to just before `to`, as YYYY-MM-DD. */
export function daysBetween(w: Window): string[] {
  const fmt = new Intl.DateTimeFormat('en-CA', {
    timeZone: w.timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  });
  const first = fmt.format(w.from);
  const last = fmt.format(new Date(w.to.getTime() - 1));
  const days: string[] = [];
  // Walk by calendar dates (UTC noon keeps DST and offsets out of the arithmetic).
  for (
    let d = new Date(`${first}T12:00:00Z`);
    days.length < 400;
    d = new Date(d.getTime() + 86_400_000)
  ) {
    const day = d.toISOString().slice(0, 10);
    days.push(day);
    if (day >= last) break;
  }
  return days;
}

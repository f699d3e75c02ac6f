import { sql, type Kysely, type RawBuilder } from 'kysely';
import { z } from 'zod';
import { ALERT_TYPES, type AlertType } from '@ccm/contracts';
import type { DB } from '@ccm/db';
import { pathWithin } from '../auth/scope';
import type { MonthRange } from '../assessments/month';
import { REPORT_RESOLUTIONS } from './labels';

/**
 * The monthly report a bureau sends up (月度统计报表): for a jurisdiction node, one row per
 * child node (each covering its whole subtree) and a total. Everything "in the month" is in
 * China time; subjects are those on the register in the month, counted by their level and
 * status now (the register keeps no history of either).
 */
const LEVELS = ['strict', 'normal', 'lenient'] as const;
const STATUSES = ['active', 'absconded', 'suspended', 'ended'] as const;
const int = z.number().int();
const counts = <K extends string>(keys: readonly K[]) =>
  z.object(Object.fromEntries(keys.map((k) => [k, int])) as Record<K, typeof int>);

const AlertCounts = z.object({
  total: int,
  open: int,
  acknowledged: int,
  resolved: int,
  /** Resolved alerts by resolution (withdrawn = the engine's own). */
  byResolution: z.record(z.string(), int),
});
export type AlertCounts = z.infer<typeof AlertCounts>;

export const ReportMetrics = z.object({
  subjects: z.object({ total: int, byLevel: counts(LEVELS), byStatus: counts(STATUSES) }),
  /** Alerts that started in the month, by their outcome now. */
  alerts: AlertCounts.extend({ byType: z.record(z.string(), AlertCounts) }),
  /** Check-in requests due in the month. */
  checkins: z.object({
    met: int,
    missed: int,
    cancelled: int,
    pending: int,
    /** met / (met + missed); null when none fell due. */
    rate: z.number().nullable(),
  }),
  orders: z.object({
    started: int,
    /** Extensions approved in the month. */
    extended: int,
    /** Ended early (解除) in the month. */
    ended: int,
    /** Reached their end in the month. */
    expired: int,
  }),
  sanctions: z.object({ total: int, admonition: int, warning: int, revocation_request: int }),
  leave: z.object({
    /** Approved in the month. */
    approved: int,
    /** Return checks in the month. */
    returned: int,
    notReturned: int,
  }),
});
export type ReportMetrics = z.infer<typeof ReportMetrics>;

const JurisdictionRef = z.object({ code: z.string(), nameZh: z.string(), nameEn: z.string() });

export const MonthlyReport = z.object({
  month: z.string(),
  jurisdiction: JurisdictionRef.extend({ level: z.string() }),
  period: z.object({ from: z.string(), to: z.string() }),
  generatedAt: z.string(),
  /** One per child node; the node itself when it has none (or holds rows of its own). */
  rows: z.array(JurisdictionRef.extend({ metrics: ReportMetrics })),
  total: ReportMetrics,
});
export type MonthlyReport = z.infer<typeof MonthlyReport>;

const alertCounts = (): AlertCounts => ({
  total: 0,
  open: 0,
  acknowledged: 0,
  resolved: 0,
  byResolution: Object.fromEntries(REPORT_RESOLUTIONS.map((r) => [r, 0])),
});

export function emptyMetrics(): ReportMetrics {
  return {
    subjects: {
      total: 0,
      byLevel: { strict: 0, normal: 0, lenient: 0 },
      byStatus: { active: 0, absconded: 0, suspended: 0, ended: 0 },
    },
    alerts: {
      ...alertCounts(),
      byType: Object.fromEntries(ALERT_TYPES.map((t) => [t, alertCounts()])),
    },
    checkins: { met: 0, missed: 0, cancelled: 0, pending: 0, rate: null },
    orders: { started: 0, extended: 0, ended: 0, expired: 0 },
    sanctions: { total: 0, admonition: 0, warning: 0, revocation_request: 0 },
    leave: { approved: 0, returned: 0, notReturned: 0 },
  };
}

function addAlerts(into: AlertCounts, status: string, resolution: string | null, n: number) {
  into.total += n;
  if (status === 'open') into.open += n;
  else if (status === 'acknowledged') into.acknowledged += n;
  else {
    into.resolved += n;
    const key = resolution && resolution in into.byResolution ? resolution : 'other';
    into.byResolution[key] = (into.byResolution[key] ?? 0) + n;
  }
}

/** Adds `b` into `a` (for the total row). */
function addMetrics(a: ReportMetrics, b: ReportMetrics) {
  a.subjects.total += b.subjects.total;
  for (const l of LEVELS) a.subjects.byLevel[l] += b.subjects.byLevel[l];
  for (const s of STATUSES) a.subjects.byStatus[s] += b.subjects.byStatus[s];
  const addCounts = (x: AlertCounts, y: AlertCounts) => {
    x.total += y.total;
    x.open += y.open;
    x.acknowledged += y.acknowledged;
    x.resolved += y.resolved;
    for (const [k, v] of Object.entries(y.byResolution))
      x.byResolution[k] = (x.byResolution[k] ?? 0) + v;
  };
  addCounts(a.alerts, b.alerts);
  for (const t of ALERT_TYPES) addCounts(a.alerts.byType[t]!, b.alerts.byType[t]!);
  for (const k of ['met', 'missed', 'cancelled', 'pending'] as const)
    a.checkins[k] += b.checkins[k];
  for (const k of ['started', 'extended', 'ended', 'expired'] as const) a.orders[k] += b.orders[k];
  for (const k of ['total', 'admonition', 'warning', 'revocation_request'] as const)
    a.sanctions[k] += b.sanctions[k];
  for (const k of ['approved', 'returned', 'notReturned'] as const) a.leave[k] += b.leave[k];
}

const finish = (m: ReportMetrics) => {
  const owed = m.checkins.met + m.checkins.missed;
  m.checkins.rate = owed === 0 ? null : Math.round((m.checkins.met / owed) * 10_000) / 10_000;
  return m;
};

export interface ReportNode {
  code: string;
  name_zh: string;
  name_en: string;
  level: string;
  path: string;
}

/**
 * The code of the child of `node` that a row at `pathColumn` belongs to ('' = the node
 * itself): the first segment of the path below the node's.
 */
const childOf = (node: ReportNode, pathColumn: string): RawBuilder<string> =>
  sql<string>`split_part(substr(${sql.ref(pathColumn)}, ${node.path.length + 2}), '.', 1)`;

const n = (v: string | number | bigint) => Number(v);

export async function monthlyReport(
  db: Kysely<DB>,
  node: ReportNode,
  range: MonthRange,
  now: Date,
): Promise<MonthlyReport> {
  const within = pathWithin(node.path, 'j.path');
  const child = childOf(node, 'j.path');
  const { from, to } = range;
  const expiredUntil = new Date(Math.min(to.getTime(), now.getTime()));

  const [children, subjects, alerts, checkins, orders, extensions, sanctions, leave] =
    await Promise.all([
      db
        .selectFrom('jurisdictions')
        .select(['code', 'name_zh', 'name_en'])
        .where('parent_code', '=', node.code)
        .orderBy('code')
        .execute(),
      db
        .selectFrom('subjects as s')
        .innerJoin('jurisdictions as j', 'j.code', 's.jurisdiction_code')
        .select([child.as('child'), 's.management_level', 's.status'])
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where(within)
        .where('s.term_start', '<=', range.lastDay)
        .where('s.term_end', '>=', range.firstDay)
        .where('s.created_at', '<', to)
        .groupBy(['child', 's.management_level', 's.status'])
        .execute(),
      db
        .selectFrom('alerts as a')
        .innerJoin('jurisdictions as j', 'j.code', 'a.jurisdiction_code')
        .select([child.as('child'), 'a.type', 'a.status', 'a.resolution'])
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where(within)
        .where('a.started_at', '>=', from)
        .where('a.started_at', '<', to)
        .groupBy(['child', 'a.type', 'a.status', 'a.resolution'])
        .execute(),
      db
        .selectFrom('checkin_requests as c')
        .innerJoin('subjects as s', 's.id', 'c.subject_id')
        .innerJoin('jurisdictions as j', 'j.code', 's.jurisdiction_code')
        .select([child.as('child'), 'c.status'])
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where(within)
        .where('c.due_at', '>=', from)
        .where('c.due_at', '<', to)
        .groupBy(['child', 'c.status'])
        .execute(),
      db
        .selectFrom('monitoring_orders as o')
        .innerJoin('subjects as s', 's.id', 'o.subject_id')
        .innerJoin('jurisdictions as j', 'j.code', 's.jurisdiction_code')
        .select(child.as('child'))
        // Started: a start in the month (an order cancelled before its start never started).
        .select(
          sql<string>`count(*) filter (where o.starts_at >= ${from} and o.starts_at < ${to}
            and coalesce(o.ended_at, o.ends_at) > o.starts_at)`.as('started'),
        )
        // Ended early (解除) in the month, after it had started.
        .select(
          sql<string>`count(*) filter (where o.ended_at >= ${from} and o.ended_at < ${to}
            and o.ended_at < o.ends_at and o.ended_at > o.starts_at)`.as('ended'),
        )
        // Reached its end in the month (up to now), not ended before it.
        .select(
          sql<string>`count(*) filter (where o.ends_at >= ${from} and o.ends_at < ${expiredUntil}
            and (o.ended_at is null or o.ended_at >= o.ends_at))`.as('expired'),
        )
        .where(within)
        .groupBy('child')
        .execute(),
      db
        .selectFrom('monitoring_order_extensions as e')
        .innerJoin('monitoring_orders as o', 'o.id', 'e.order_id')
        .innerJoin('subjects as s', 's.id', 'o.subject_id')
        .innerJoin('jurisdictions as j', 'j.code', 's.jurisdiction_code')
        .select(child.as('child'))
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where(within)
        .where('e.status', '=', 'approved')
        .where('e.decided_at', '>=', from)
        .where('e.decided_at', '<', to)
        .groupBy('child')
        .execute(),
      db
        .selectFrom('sanctions as x')
        .innerJoin('subjects as s', 's.id', 'x.subject_id')
        .innerJoin('jurisdictions as j', 'j.code', 's.jurisdiction_code')
        .select([child.as('child'), 'x.kind'])
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where(within)
        .where('x.decided_at', '>=', from)
        .where('x.decided_at', '<', to)
        .groupBy(['child', 'x.kind'])
        .execute(),
      db
        .selectFrom('leave_requests as l')
        .innerJoin('jurisdictions as j', 'j.code', 'l.jurisdiction_code')
        .select(child.as('child'))
        .select(
          sql<string>`count(*) filter (where l.status = 'approved'
            and l.decided_at >= ${from} and l.decided_at < ${to})`.as('approved'),
        )
        .select(
          sql<string>`count(*) filter (where l.return_status = 'returned'
            and l.return_checked_at >= ${from} and l.return_checked_at < ${to})`.as('returned'),
        )
        .select(
          sql<string>`count(*) filter (where l.return_status = 'not_returned'
            and l.return_checked_at >= ${from} and l.return_checked_at < ${to})`.as('not_returned'),
        )
        .where(within)
        .groupBy('child')
        .execute(),
    ]);

  const byChild = new Map<string, ReportMetrics>();
  const row = (code: string) => {
    let m = byChild.get(code);
    if (!m) byChild.set(code, (m = emptyMetrics()));
    return m;
  };
  for (const c of children) row(c.code);
  for (const s of subjects) {
    const m = row(s.child);
    m.subjects.total += n(s.n);
    m.subjects.byLevel[s.management_level] += n(s.n);
    m.subjects.byStatus[s.status] += n(s.n);
  }
  for (const a of alerts) {
    const m = row(a.child);
    addAlerts(m.alerts, a.status, a.resolution, n(a.n));
    const t = m.alerts.byType[a.type as AlertType];
    if (t) addAlerts(t, a.status, a.resolution, n(a.n));
  }
  for (const c of checkins) row(c.child).checkins[c.status] += n(c.n);
  for (const o of orders) {
    const m = row(o.child);
    m.orders.started += n(o.started);
    m.orders.ended += n(o.ended);
    m.orders.expired += n(o.expired);
  }
  for (const e of extensions) row(e.child).orders.extended += n(e.n);
  for (const x of sanctions) {
    const m = row(x.child);
    m.sanctions[x.kind] += n(x.n);
    m.sanctions.total += n(x.n);
  }
  for (const l of leave) {
    const m = row(l.child);
    m.leave.approved += n(l.approved);
    m.leave.returned += n(l.returned);
    m.leave.notReturned += n(l.not_returned);
  }

  const names = new Map(children.map((c) => [c.code, c]));
  const total = emptyMetrics();
  const rows: MonthlyReport['rows'] = [];
  // Children in code order, then rows held by the node itself ('' = the node).
  const codes = [...byChild.keys()].sort((a, b) =>
    a === '' ? 1 : b === '' ? -1 : a.localeCompare(b),
  );
  const own = children.length > 0;
  for (const code of codes) {
    const metrics = finish(byChild.get(code)!);
    addMetrics(total, metrics);
    const named = names.get(code);
    rows.push({
      code: code || node.code,
      nameZh:
        named?.name_zh ?? (code !== '' ? code : own ? `${node.name_zh}（本级）` : node.name_zh),
      nameEn: named?.name_en ?? (code !== '' ? code : own ? `${node.name_en} (own)` : node.name_en),
      metrics,
    });
  }
  if (rows.length === 0) {
    rows.push({
      code: node.code,
      nameZh: node.name_zh,
      nameEn: node.name_en,
      metrics: emptyMetrics(),
    });
  }
  return {
    month: range.month,
    jurisdiction: {
      code: node.code,
      nameZh: node.name_zh,
      nameEn: node.name_en,
      level: node.level,
    },
    period: { from: from.toISOString(), to: to.toISOString() },
    generatedAt: now.toISOString(),
    rows,
    total: finish(total),
  };
}

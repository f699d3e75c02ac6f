import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { AlertSeverity, AlertType } from '@ccm/contracts';
import type { AssessmentsTable, DB, ManagementLevel } from '@ccm/db';
import { inScope, pathWithin } from '../auth/scope';
import type { AuthUser } from '../auth/types';
import type { AssessmentInput } from './evaluate';
import type { MonthRange } from './month';

/**
 * Queries of the monthly assessment: the subjects a month assesses, their facts in a few
 * set-based queries per batch of subjects, and scoped reads of assessments and sanctions.
 */
type Db = Kysely<DB> | Transaction<DB>;

export type AssessmentRow = Selectable<AssessmentsTable>;

export interface SubjectToAssess {
  id: string;
  name: string;
  jurisdiction_code: string;
  management_level: ManagementLevel;
  officer_id: string | null;
}

/**
 * Subjects on the register in the month: active or absconded (an absconded subject is the one
 * the ladder matters most for), term overlapping the month, recorded before its end. `within`
 * narrows to a jurisdiction path (the caller's scope or a chosen node).
 */
export async function subjectsToAssess(
  db: Db,
  range: MonthRange,
  filter: { withinPaths?: string[]; subjectIds?: string[] } = {},
): Promise<SubjectToAssess[]> {
  let query = db
    .selectFrom('subjects as s')
    .innerJoin('jurisdictions as j', 'j.code', 's.jurisdiction_code')
    .select(['s.id', 's.name', 's.jurisdiction_code', 's.management_level', 's.officer_id'])
    .where('s.status', 'in', ['active', 'absconded'])
    .where('s.term_start', '<=', range.lastDay)
    .where('s.term_end', '>=', range.firstDay)
    .where('s.created_at', '<', range.to)
    .orderBy('s.no');
  for (const path of filter.withinPaths ?? []) query = query.where(pathWithin(path, 'j.path'));
  if (filter.subjectIds) {
    if (filter.subjectIds.length === 0) return [];
    query = query.where('s.id', 'in', filter.subjectIds);
  }
  return query.execute();
}

type Facts = Omit<
  AssessmentInput,
  'month' | 'periodStartMs' | 'periodEndMs' | 'partial' | 'currentLevel'
>;

const emptyFacts = (): Facts => ({
  alerts: [],
  noSignal: [],
  checkinRequests: [],
  hours: { education: 0, communityService: 0 },
  priorSanctions: { admonition: 0, warning: 0, revocation_request: 0 },
});

/**
 * Each subject's month: alerts started in [from, periodEnd) grouped by type, severity, status
 * and resolution; no_signal alerts overlapping the period; check-in requests due in the month;
 * activity hours on the month's days; and sanctions before this month's assessment (decided
 * before the month ended, or from an assessment of an earlier month).
 */
export async function monthFacts(
  db: Db,
  subjectIds: string[],
  range: MonthRange,
  periodEnd: Date,
): Promise<Map<string, Facts>> {
  const facts = new Map<string, Facts>(subjectIds.map((id) => [id, emptyFacts()]));
  if (subjectIds.length === 0) return facts;
  const of = (id: string | null) => facts.get(id ?? '');

  const [alerts, noSignal, requests, hours, sanctions] = await Promise.all([
    db
      .selectFrom('alerts')
      .select(['subject_id', 'type', 'severity', 'status', 'resolution'])
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('subject_id', 'in', subjectIds)
      .where('started_at', '>=', range.from)
      .where('started_at', '<', periodEnd)
      .groupBy(['subject_id', 'type', 'severity', 'status', 'resolution'])
      .execute(),
    db
      .selectFrom('alerts')
      .select(['subject_id', 'started_at', 'ended_at', 'resolution'])
      .where('subject_id', 'in', subjectIds)
      .where('type', '=', 'no_signal')
      .where('started_at', '<', periodEnd)
      .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>', range.from)]))
      .execute(),
    db
      .selectFrom('checkin_requests')
      .select(['subject_id', 'window_start', 'due_at', 'status'])
      .where('subject_id', 'in', subjectIds)
      .where('due_at', '>=', range.from)
      .where('due_at', '<', range.to)
      .execute(),
    db
      .selectFrom('activity_records')
      .select(['subject_id', 'kind'])
      .select(sql<string>`sum(hours)`.as('hours'))
      .where('subject_id', 'in', subjectIds)
      .where('occurred_on', '>=', range.firstDay)
      .where('occurred_on', '<', range.nextFirstDay)
      .where('voided_at', 'is', null)
      .groupBy(['subject_id', 'kind'])
      .execute(),
    db
      .selectFrom('sanctions as x')
      .leftJoin('assessments as a', 'a.id', 'x.assessment_id')
      .select(['x.subject_id', 'x.kind'])
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('x.subject_id', 'in', subjectIds)
      .where((eb) =>
        eb.or([
          eb('a.month', '<', range.firstDay),
          eb.and([eb('x.assessment_id', 'is', null), eb('x.decided_at', '<', range.to)]),
        ]),
      )
      .groupBy(['x.subject_id', 'x.kind'])
      .execute(),
  ]);

  for (const a of alerts) {
    of(a.subject_id)?.alerts.push({
      type: a.type as AlertType,
      severity: a.severity as AlertSeverity,
      status: a.status,
      resolution: a.resolution,
      count: Number(a.n),
    });
  }
  for (const a of noSignal) {
    of(a.subject_id)?.noSignal.push({
      startMs: a.started_at.getTime(),
      endMs: a.ended_at ? a.ended_at.getTime() : null,
      resolution: a.resolution,
    });
  }
  for (const r of requests) {
    of(r.subject_id)?.checkinRequests.push({
      windowStartMs: r.window_start.getTime(),
      dueAtMs: r.due_at.getTime(),
      status: r.status,
    });
  }
  for (const h of hours) {
    const f = of(h.subject_id);
    if (!f) continue;
    if (h.kind === 'education') f.hours.education = Number(h.hours);
    else f.hours.communityService = Number(h.hours);
  }
  for (const s of sanctions) {
    const f = of(s.subject_id);
    if (f) f.priorSanctions[s.kind] = Number(s.n);
  }
  return facts;
}

/** An assessment whose subject the user may see, with the subject's jurisdiction. */
export async function findAssessmentInScope(
  db: Db,
  user: AuthUser,
  id: string,
  options: { forUpdate?: boolean } = {},
) {
  let query = db
    .selectFrom('assessments as a')
    .innerJoin('subjects as s', 's.id', 'a.subject_id')
    .selectAll('a')
    .select(['s.jurisdiction_code', 's.name as subject_name', 's.management_level'])
    .where('a.id', '=', id)
    .where(inScope(user, 's.jurisdiction_code'));
  if (options.forUpdate) query = query.forUpdate('a');
  return query.executeTakeFirst();
}

export type ScopedAssessment = NonNullable<Awaited<ReturnType<typeof findAssessmentInScope>>>;

/** Assessments of one month under a jurisdiction path, by subject number (keyset). */
export async function listAssessments(
  db: Db,
  within: string,
  q: {
    firstDay: string;
    status?: AssessmentRow['status'] | undefined;
    sanction?: 'any' | AssessmentRow['recommended_sanction'] | undefined;
    limit: number;
    afterNo?: number | undefined;
  },
) {
  let query = db
    .selectFrom('assessments as a')
    .innerJoin('subjects as s', 's.id', 'a.subject_id')
    .innerJoin('jurisdictions as j', 'j.code', 's.jurisdiction_code')
    .selectAll('a')
    .select(['s.jurisdiction_code', 's.name as subject_name', 's.management_level', 's.no'])
    .where('a.month', '=', q.firstDay)
    .where(pathWithin(within, 'j.path'))
    .orderBy('s.no')
    .limit(q.limit + 1);
  if (q.status) query = query.where('a.status', '=', q.status);
  if (q.sanction === 'any') query = query.where('a.recommended_sanction', '<>', 'none');
  else if (q.sanction) query = query.where('a.recommended_sanction', '=', q.sanction);
  if (q.afterNo !== undefined) query = query.where('s.no', '>', q.afterNo);
  return query.execute();
}

/** One subject's assessments, newest month first. */
export async function assessmentsOfSubject(db: Db, subjectId: string, limit: number) {
  return db
    .selectFrom('assessments as a')
    .innerJoin('subjects as s', 's.id', 'a.subject_id')
    .selectAll('a')
    .select(['s.jurisdiction_code', 's.name as subject_name', 's.management_level'])
    .where('a.subject_id', '=', subjectId)
    .orderBy('a.month', 'desc')
    .limit(limit)
    .execute();
}

export async function eventsOf(db: Db, assessmentIds: string[]) {
  if (assessmentIds.length === 0) return [];
  return db
    .selectFrom('assessment_events as e')
    .leftJoin('users as u', 'u.id', 'e.actor_id')
    .select(['e.id', 'e.assessment_id', 'e.at', 'e.actor_id', 'e.action', 'e.data'])
    .select('u.display_name as actor_name')
    .where('e.assessment_id', 'in', assessmentIds)
    .orderBy('e.id')
    .execute();
}

export async function sanctionsOfSubject(db: Db, subjectId: string) {
  return db
    .selectFrom('sanctions as x')
    .leftJoin('assessments as a', 'a.id', 'x.assessment_id')
    .leftJoin('users as u', 'u.id', 'x.decided_by')
    .select([
      'x.id',
      'x.subject_id',
      'x.kind',
      'x.decided_at',
      'x.decided_by',
      'x.assessment_id',
      'x.reason',
      'a.month',
      'u.display_name as decided_by_name',
    ])
    .where('x.subject_id', '=', subjectId)
    .orderBy('x.decided_at', 'desc')
    .orderBy('x.id', 'desc')
    .execute();
}

/** A subject the user may see (absent and out of scope both read as undefined). */
export async function findSubjectInScope(db: Db, user: AuthUser, subjectId: string) {
  return db
    .selectFrom('subjects')
    .select(['id', 'name', 'jurisdiction_code', 'term_start', 'status', 'management_level'])
    .where('id', '=', subjectId)
    .where(inScope(user, 'subjects.jurisdiction_code'))
    .executeTakeFirst();
}

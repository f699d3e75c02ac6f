import type { Kysely, Transaction } from 'kysely';
import type { DB } from '@ccm/db';
import { audit, canonicalJson } from '../audit/audit';
import type { AuthUser } from '../auth/types';
import { AppError } from '../errors';
import { evaluateAssessment, type AssessmentFacts, type AssessmentResult } from './evaluate';
import { Month, monthOf, monthRange, previousMonth, type MonthRange } from './month';
import {
  findAssessmentInScope,
  monthFacts,
  subjectsToAssess,
  type SubjectToAssess,
} from './repository';
import {
  LEVEL_LABELS,
  SANCTION_LABELS,
  type AssessmentRules,
  type ManagementLevel,
  type Sanction,
} from './rules';
import { loadAssessmentRules } from './settings';

/**
 * The monthly assessment (动态考核): the platform recommends a score, a management level
 * (严管/普管/宽管) and a sanction (训诫/警告/提请撤销) per subject and month; an officer or
 * the bureau confirms it or overrides it with a reason. Recomputing a month is idempotent:
 * recommendations are brought up to date, decided assessments are never touched, and every
 * step leaves an `assessment_events` row.
 */

export interface RunOptions {
  /** 'YYYY-MM'; default the month before `nowMs` (China time). */
  month?: string;
  nowMs: number;
  /** Only subjects under all of these jurisdiction paths (a caller's scope, a chosen node). */
  withinPaths?: string[];
  /** Only these subjects. */
  subjectIds?: string[];
  /** Subjects whose facts are read in one go. */
  batchSize?: number;
}

export interface RunSummary {
  month: string;
  /** The month is not over yet at `nowMs`: counted up to now. */
  partial: boolean;
  subjects: number;
  /** First computed now. */
  computed: number;
  /** A recommendation brought up to date. */
  recomputed: number;
  /** A recommendation whose facts did not change. */
  unchanged: number;
  /** Confirmed or overridden already: left as decided. */
  decided: number;
}

export const assessmentNotFound = () =>
  new AppError(404, 'ASSESSMENT_NOT_FOUND', '未找到考核记录 / assessment not found');

/** A month the platform can assess at `nowMs`: from 2020-01 to the current month. */
export function checkMonth(month: string, nowMs: number): MonthRange {
  if (!Month.safeParse(month).success) {
    throw new AppError(400, 'VALIDATION_FAILED', `月份格式无效 / invalid month ${month}`, [
      { in: 'body', field: 'month', message: 'YYYY-MM' },
    ]);
  }
  const range = monthRange(month);
  if (range.from.getTime() > nowMs) {
    throw new AppError(
      400,
      'MONTH_IN_FUTURE',
      `${month} 尚未开始，不能考核 / ${month} has not begun: it cannot be assessed yet`,
    );
  }
  return range;
}

/** The facts without the part that moves with the clock (a partial month's end). */
const digest = (facts: AssessmentFacts) => canonicalJson({ ...facts, period: undefined });

type WriteOutcome = 'computed' | 'recomputed' | 'unchanged' | 'decided';

async function writeAssessment(
  trx: Transaction<DB>,
  subject: SubjectToAssess,
  range: MonthRange,
  result: AssessmentResult,
  now: Date,
): Promise<WriteOutcome> {
  const values = {
    score: result.score,
    facts: JSON.stringify(result.facts),
    recommended_level: result.recommendedLevel,
    recommended_sanction: result.recommendedSanction,
    computed_at: now,
  };
  const summary = {
    score: result.score,
    recommendedLevel: result.recommendedLevel,
    recommendedSanction: result.recommendedSanction,
  };
  const inserted = await trx
    .insertInto('assessments')
    .values({ subject_id: subject.id, month: range.firstDay, ...values })
    .onConflict((oc) => oc.columns(['subject_id', 'month']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted) {
    await trx
      .insertInto('assessment_events')
      .values({
        assessment_id: inserted.id,
        at: now,
        action: 'computed',
        data: JSON.stringify(summary),
      })
      .execute();
    if (subject.officer_id) {
      await trx
        .insertInto('notifications')
        .values({
          user_id: subject.officer_id,
          kind: 'assessment_ready',
          title: `${subject.name}：${range.month} 月度考核待确认 / monthly assessment ${range.month} ready to confirm`,
          body:
            `得分 ${result.score}，建议${LEVEL_LABELS[result.recommendedLevel].zh}` +
            (result.recommendedSanction === 'none'
              ? ''
              : `，建议${SANCTION_LABELS[result.recommendedSanction].zh}`) +
            ` / score ${result.score}, recommended ${LEVEL_LABELS[result.recommendedLevel].en}` +
            (result.recommendedSanction === 'none'
              ? ''
              : `, ${SANCTION_LABELS[result.recommendedSanction].en}`),
          subject_id: subject.id,
          ref_id: inserted.id,
          dedupe_key: `assessment_ready:${inserted.id}`,
          created_at: now,
        })
        .onConflict((oc) => oc.column('dedupe_key').doNothing())
        .execute();
    }
    return 'computed';
  }
  const existing = await trx
    .selectFrom('assessments')
    .select(['id', 'status', 'score', 'facts', 'recommended_level', 'recommended_sanction'])
    .where('subject_id', '=', subject.id)
    .where('month', '=', range.firstDay)
    .forUpdate()
    .executeTakeFirstOrThrow();
  if (existing.status !== 'recommended') return 'decided';
  if (digest(existing.facts as AssessmentFacts) === digest(result.facts)) return 'unchanged';
  await trx.updateTable('assessments').set(values).where('id', '=', existing.id).execute();
  await trx
    .insertInto('assessment_events')
    .values({
      assessment_id: existing.id,
      at: now,
      action: 'recomputed',
      data: JSON.stringify({
        ...summary,
        previous: {
          score: existing.score,
          recommendedLevel: existing.recommended_level,
          recommendedSanction: existing.recommended_sanction,
        },
      }),
    })
    .execute();
  return 'recomputed';
}

/**
 * Computes (or recomputes) one month's assessments. The supervision worker calls it in the
 * first days of each month for the month before; `POST /assessments/compute` calls it for the
 * caller's scope. Safe to run any number of times and from several processes at once (one row
 * per subject and month; decided rows are locked and left alone).
 */
export async function runMonthlyAssessments(
  db: Kysely<DB>,
  options: RunOptions,
): Promise<RunSummary> {
  const month = options.month ?? previousMonth(monthOf(options.nowMs));
  const range = checkMonth(month, options.nowMs);
  const periodEndMs = Math.min(range.to.getTime(), options.nowMs);
  const partial = options.nowMs < range.to.getTime();
  const now = new Date(options.nowMs);
  const { rules } = await loadAssessmentRules(db);
  const subjects = await subjectsToAssess(db, range, {
    ...(options.withinPaths ? { withinPaths: options.withinPaths } : {}),
    ...(options.subjectIds ? { subjectIds: options.subjectIds } : {}),
  });
  const summary: RunSummary = {
    month,
    partial,
    subjects: subjects.length,
    computed: 0,
    recomputed: 0,
    unchanged: 0,
    decided: 0,
  };
  const batchSize = options.batchSize ?? 500;
  for (let i = 0; i < subjects.length; i += batchSize) {
    const batch = subjects.slice(i, i + batchSize);
    const facts = await monthFacts(
      db,
      batch.map((s) => s.id),
      range,
      new Date(periodEndMs),
    );
    for (const subject of batch) {
      const f = facts.get(subject.id);
      if (!f) continue;
      const result = evaluateAssessment(
        {
          ...f,
          month,
          periodStartMs: range.from.getTime(),
          periodEndMs,
          partial,
          currentLevel: subject.management_level,
        },
        rules,
      );
      const outcome = await db
        .transaction()
        .execute((trx) => writeAssessment(trx, subject, range, result, now));
      summary[outcome]++;
    }
  }
  return summary;
}

export interface RequestContext {
  ip: string;
  now: Date;
}

export type Decision =
  | { kind: 'confirm'; note?: string | undefined }
  | { kind: 'override'; level: ManagementLevel; sanction: Sanction; reason: string };

/** The sanction's reason when the recommendation is confirmed: its grounds, zh / en. */
function groundsText(facts: AssessmentFacts): string {
  const grounds = new Set(facts.sanction.grounds);
  const reasons = facts.reasons.filter((r) => grounds.has(r.code));
  return `${facts.month} 月度考核：${reasons.map((r) => r.zh).join('；')} / monthly assessment ${facts.month}: ${reasons.map((r) => r.en).join('; ')}`.slice(
    0,
    2000,
  );
}

function refuseOfficerSanction(user: AuthUser, sanction: Sanction, rules: AssessmentRules) {
  if (user.role !== 'officer' || sanction === 'none') return;
  if ((rules.sanctions.officerMayDecide as readonly string[]).includes(sanction)) return;
  throw new AppError(
    403,
    'SANCTION_NEEDS_BUREAU',
    `${SANCTION_LABELS[sanction].zh}须由县级社区矫正机构决定 / a ${SANCTION_LABELS[sanction].en} is decided by the county bureau, not the township office`,
  );
}

/**
 * Confirms or overrides an assessment: the subject's management level becomes the final
 * level, a final sanction other than 'none' is recorded in `sanctions` (the ladder's memory),
 * and the decision is kept in `assessment_events` and the audit trail.
 */
export async function decideAssessment(
  db: Kysely<DB>,
  user: AuthUser,
  id: string,
  decision: Decision,
  ctx: RequestContext,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const a = await findAssessmentInScope(trx, user, id, { forUpdate: true });
    if (!a) throw assessmentNotFound();
    if (a.status !== 'recommended') {
      throw new AppError(
        409,
        'ASSESSMENT_DECIDED',
        `该考核已${a.status === 'confirmed' ? '确认' : '调整'} / the assessment was already ${a.status}`,
      );
    }
    const range = monthRange(a.month.slice(0, 7));
    if (ctx.now < range.to) {
      throw new AppError(
        409,
        'MONTH_NOT_OVER',
        `${range.month} 尚未结束，月末后再确认 / ${range.month} is not over yet: decide after the month ends`,
      );
    }
    const later = await trx
      .selectFrom('assessments')
      .select('month')
      .where('subject_id', '=', a.subject_id)
      .where('month', '>', a.month)
      .where('status', '<>', 'recommended')
      .executeTakeFirst();
    if (later) {
      throw new AppError(
        409,
        'ASSESSMENT_SUPERSEDED',
        `${later.month.slice(0, 7)} 的考核已确认，不能再确认更早的月份 / the assessment of ${later.month.slice(0, 7)} is already decided: an earlier month can no longer be`,
      );
    }
    const facts = a.facts as AssessmentFacts;
    const finalLevel = decision.kind === 'override' ? decision.level : a.recommended_level;
    const finalSanction = decision.kind === 'override' ? decision.sanction : a.recommended_sanction;
    const { rules } = await loadAssessmentRules(trx);
    refuseOfficerSanction(user, finalSanction, rules);

    const status = decision.kind === 'override' ? 'overridden' : 'confirmed';
    const reason = decision.kind === 'override' ? decision.reason : (decision.note ?? null);
    await trx
      .updateTable('assessments')
      .set({
        status,
        final_level: finalLevel,
        final_sanction: finalSanction,
        decided_by: user.id,
        decided_at: ctx.now,
        decision_reason: reason,
      })
      .where('id', '=', a.id)
      .execute();
    await trx
      .updateTable('subjects')
      .set({ management_level: finalLevel, updated_at: ctx.now })
      .where('id', '=', a.subject_id)
      .execute();
    let sanctionId: string | null = null;
    if (finalSanction !== 'none') {
      const row = await trx
        .insertInto('sanctions')
        .values({
          subject_id: a.subject_id,
          kind: finalSanction,
          decided_at: ctx.now,
          decided_by: user.id,
          assessment_id: a.id,
          reason: decision.kind === 'override' ? decision.reason : groundsText(facts),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      sanctionId = row.id;
    }
    const data = {
      previousLevel: a.management_level,
      finalLevel,
      finalSanction,
      recommendedLevel: a.recommended_level,
      recommendedSanction: a.recommended_sanction,
      ...(reason ? { reason } : {}),
      ...(sanctionId ? { sanctionId } : {}),
    };
    await trx
      .insertInto('assessment_events')
      .values({
        assessment_id: a.id,
        at: ctx.now,
        actor_id: user.id,
        action: status,
        data: JSON.stringify(data),
      })
      .execute();
    await audit(trx, {
      actor: user,
      action: decision.kind === 'override' ? 'assessment.override' : 'assessment.confirm',
      resourceType: 'assessment',
      resourceId: a.id,
      jurisdictionCode: a.jurisdiction_code,
      detail: { subjectId: a.subject_id, month: range.month, score: a.score, ...data },
      ip: ctx.ip,
    });
  });
}

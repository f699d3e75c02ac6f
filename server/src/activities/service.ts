import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '@ccm/db';
import { audit } from '../audit/audit';
import { inScope } from '../auth/scope';
import type { AuthUser } from '../auth/types';
import { chinaDate, monthRange } from '../assessments/month';
import { AppError } from '../errors';
import { invalidField } from '../jurisdictions/shared';

/**
 * 教育学习 / 公益活动: hours an officer records for a subject. They count in the monthly
 * assessment of the month they happened in (China calendar days).
 */
export type ActivityKind = 'education' | 'community_service';

export interface ActivityInput {
  kind: ActivityKind;
  occurredOn: string;
  hours: number;
  note?: string | undefined;
}

export const subjectNotFound = () =>
  new AppError(404, 'SUBJECT_NOT_FOUND', '未找到矫正对象 / subject not found');

const findSubject = (db: Kysely<DB> | Transaction<DB>, user: AuthUser, id: string) =>
  db
    .selectFrom('subjects')
    .select(['id', 'jurisdiction_code', 'term_start', 'term_end'])
    .where('id', '=', id)
    .where(inScope(user, 'subjects.jurisdiction_code'))
    .executeTakeFirst();

export async function recordActivity(
  db: Kysely<DB>,
  user: AuthUser,
  subjectId: string,
  input: ActivityInput,
  ctx: { ip: string; now: Date },
) {
  return db.transaction().execute(async (trx) => {
    const subject = await findSubject(trx, user, subjectId);
    if (!subject) throw subjectNotFound();
    const today = chinaDate(ctx.now.getTime());
    if (input.occurredOn > today) {
      throw invalidField(
        'occurredOn',
        `不能晚于今天 ${today} / must not be after today (${today}, China time)`,
      );
    }
    if (input.occurredOn < subject.term_start) {
      throw invalidField(
        'occurredOn',
        `不能早于矫正期开始 ${subject.term_start} / must not be before the term began (${subject.term_start})`,
      );
    }
    // One subject's day has 24 hours, however many records it is split into.
    await sql`select pg_advisory_xact_lock(7402602, hashtext(${subject.id}))`.execute(trx);
    const day = await trx
      .selectFrom('activity_records')
      .select(sql<string>`coalesce(sum(hours), 0)`.as('hours'))
      .where('subject_id', '=', subject.id)
      .where('occurred_on', '=', input.occurredOn)
      .where('voided_at', 'is', null)
      .executeTakeFirstOrThrow();
    if (Number(day.hours) + input.hours > 24) {
      throw invalidField(
        'hours',
        `${input.occurredOn} 已记录 ${Number(day.hours)} 小时，一天合计不能超过 24 小时 / ${Number(day.hours)} h already recorded on ${input.occurredOn}: a day holds at most 24`,
      );
    }
    const row = await trx
      .insertInto('activity_records')
      .values({
        subject_id: subject.id,
        kind: input.kind,
        occurred_on: input.occurredOn,
        hours: input.hours,
        note: input.note ?? '',
        recorded_by: user.id,
        created_at: ctx.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(trx, {
      actor: user,
      action: 'activity.create',
      resourceType: 'activity_record',
      resourceId: row.id,
      jurisdictionCode: subject.jurisdiction_code,
      detail: {
        subjectId: subject.id,
        kind: input.kind,
        occurredOn: input.occurredOn,
        hours: input.hours,
      },
      ip: ctx.ip,
    });
    return row;
  });
}

/** A subject's records, newest day first; `month` narrows to one China calendar month. */
export async function listActivities(
  db: Kysely<DB>,
  user: AuthUser,
  subjectId: string,
  q: { month?: string | undefined; limit: number; after?: { occurredOn: string; id: string } },
) {
  const subject = await findSubject(db, user, subjectId);
  if (!subject) throw subjectNotFound();
  let query = db
    .selectFrom('activity_records')
    .selectAll()
    .where('subject_id', '=', subject.id)
    .orderBy('occurred_on', 'desc')
    .orderBy('id', 'desc')
    .limit(q.limit + 1);
  if (q.month) {
    const range = monthRange(q.month);
    query = query
      .where('occurred_on', '>=', range.firstDay)
      .where('occurred_on', '<', range.nextFirstDay);
  }
  const after = q.after;
  if (after) {
    query = query.where((eb) =>
      eb(eb.refTuple('occurred_on', 'id'), '<', eb.tuple(after.occurredOn, after.id)),
    );
  }
  return query.execute();
}

/**
 * Voids a record entered wrongly: it stays on record with who voided it and why, and no
 * longer counts (day total, assessment); the right one is recorded anew. Refused once the
 * month's assessment of the subject is confirmed or overridden: its facts are then settled.
 */
export async function voidActivity(
  db: Kysely<DB>,
  user: AuthUser,
  id: string,
  reason: string,
  ctx: { ip: string; now: Date },
) {
  return db.transaction().execute(async (trx) => {
    const record = await trx
      .selectFrom('activity_records as a')
      .innerJoin('subjects', 'subjects.id', 'a.subject_id')
      .selectAll('a')
      .select('subjects.jurisdiction_code')
      .where('a.id', '=', id)
      .where(inScope(user, 'subjects.jurisdiction_code'))
      .forUpdate('a')
      .executeTakeFirst();
    if (!record) {
      throw new AppError(404, 'ACTIVITY_NOT_FOUND', '未找到该记录 / activity record not found');
    }
    if (record.voided_at !== null) {
      throw new AppError(409, 'ACTIVITY_VOIDED', '该记录已作废 / the record is already void');
    }
    const { month, firstDay } = monthRange(record.occurred_on.slice(0, 7));
    const settled = await trx
      .selectFrom('assessments')
      .select('status')
      .where('subject_id', '=', record.subject_id)
      .where('month', '=', firstDay)
      .where('status', '!=', 'recommended')
      .executeTakeFirst();
    if (settled) {
      throw new AppError(
        409,
        'ASSESSMENT_SETTLED',
        `${month} 的考核已确认，记录不能再作废 / the assessment of ${month} is settled: its records can no longer be voided`,
      );
    }
    const row = await trx
      .updateTable('activity_records')
      .set({ voided_at: ctx.now, voided_by: user.id, void_reason: reason })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(trx, {
      actor: user,
      action: 'activity.void',
      resourceType: 'activity_record',
      resourceId: id,
      jurisdictionCode: record.jurisdiction_code,
      detail: {
        subjectId: record.subject_id,
        kind: record.kind,
        occurredOn: record.occurred_on,
        hours: record.hours,
        reason,
      },
      ip: ctx.ip,
    });
    return row;
  });
}

import { sql, type Kysely } from 'kysely';
import type { DB } from '@ccm/db';
import { audit } from '../audit/audit';
import { inScope, maskIdCard } from '../auth/scope';
import type { AuthUser } from '../auth/types';
import { AppError, notFound } from '../errors';
import { Uuid, decodeCursor, encodeCursor, iso } from '../http';
import { findSubjectInScope, orderWindowsIn, readTrack } from '../positions/repository';
import { trackPoint, type TrackPoint } from '../positions/track';

/**
 * 公安协查: a police partner asks for a subject's positions in a window, stating the legal
 * basis and the case number. Location data may be used only for community-correction work
 * (domain.md), so a query is answered only for a subject in the partner's jurisdiction and
 * only with fixes inside the subject's monitoring orders. Every query, answered or refused,
 * leaves a police_queries row and an audit entry.
 */

export interface PositionQueryInput {
  subjectId: string;
  from: Date;
  to: Date;
  legalBasis: string;
  caseNumber: string;
}

export interface PositionQueryAnswer {
  id: string;
  subjectId: string;
  from: string;
  to: string;
  outcome: 'answered';
  fixesReturned: number;
  points: TrackPoint[];
}

type RefusalCode = 'SUBJECT_NOT_FOUND' | 'NO_MONITORING_ORDER';

export async function runPositionQuery(
  db: Kysely<DB>,
  actor: { user: AuthUser; ip?: string | undefined },
  input: PositionQueryInput,
): Promise<PositionQueryAnswer> {
  const { user } = actor;
  const subject = await findSubjectInScope(db, user, input.subjectId);

  const record = (
    trx: Kysely<DB>,
    outcome: { fixesReturned: number; refusal: RefusalCode | null },
  ) =>
    trx
      .insertInto('police_queries')
      .values({
        user_id: user.id,
        // An unknown or out-of-scope subject is not named in the partner's own list, so the
        // list cannot tell the two apart; the audit entry keeps the id that was asked for.
        subject_id: subject?.id ?? null,
        from_at: input.from,
        to_at: input.to,
        legal_basis: input.legalBasis,
        case_number: input.caseNumber,
        fixes_returned: outcome.fixesReturned,
        outcome: outcome.refusal ? 'refused' : 'answered',
        refusal_reason: outcome.refusal,
      })
      .returning('id')
      .executeTakeFirstOrThrow();

  const auditQuery = (
    trx: Kysely<DB>,
    queryId: string,
    outcome: { fixesReturned: number; refusal: RefusalCode | null },
  ) =>
    audit(trx, {
      actor: user,
      action: 'police.position_query',
      resourceType: 'subject',
      resourceId: input.subjectId,
      jurisdictionCode: subject?.jurisdiction_code ?? user.jurisdictionCode,
      detail: {
        queryId,
        subjectId: input.subjectId,
        from: iso(input.from),
        to: iso(input.to),
        legalBasis: input.legalBasis,
        caseNumber: input.caseNumber,
        outcome: outcome.refusal ? 'refused' : 'answered',
        refusalReason: outcome.refusal,
        fixesReturned: outcome.fixesReturned,
      },
      ip: actor.ip ?? null,
    });

  const refuse = async (refusal: RefusalCode) => {
    await db.transaction().execute(async (trx) => {
      const row = await record(trx, { fixesReturned: 0, refusal });
      await auditQuery(trx, row.id, { fixesReturned: 0, refusal });
    });
  };

  if (!subject) {
    await refuse('SUBJECT_NOT_FOUND');
    throw notFound('SUBJECT_NOT_FOUND', '矫正对象 / subject');
  }
  const w = { from: input.from, to: input.to };
  const windows = await orderWindowsIn(db, subject.id, w);
  if (windows.length === 0) {
    await refuse('NO_MONITORING_ORDER');
    throw new AppError(
      403,
      'NO_MONITORING_ORDER',
      '该时间段内对象未处于电子定位监管期，依法不予提供位置 / the window lies outside every monitoring order of the subject: no positions may be given',
    );
  }
  return db.transaction().execute(async (trx) => {
    const track = await readTrack(trx, subject, w, { maxPoints: null });
    const outcome = { fixesReturned: track.rows.length, refusal: null };
    const row = await record(trx, outcome);
    await auditQuery(trx, row.id, outcome);
    return {
      id: row.id,
      subjectId: subject.id,
      from: iso(input.from),
      to: iso(input.to),
      outcome: 'answered' as const,
      fixesReturned: track.rows.length,
      points: track.rows.map(trackPoint),
    };
  });
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const badCursor = () => new AppError(400, 'BAD_CURSOR', '分页游标无效 / invalid cursor');

/**
 * Police see their own queries; bureaus and auditors see the queries about subjects in their
 * scope and those made by police users in their scope. Newest first.
 */
export async function listPositionQueries(
  db: Kysely<DB>,
  user: AuthUser,
  options: {
    limit: number;
    cursor?: string | undefined;
    subjectId?: string | undefined;
    outcome?: 'answered' | 'refused' | undefined;
  },
) {
  const createdText = sql<string>`to_char(q.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
  let q = db
    .selectFrom('police_queries as q')
    .innerJoin('users as u', 'u.id', 'q.user_id')
    .leftJoin('subjects as s', 's.id', 'q.subject_id')
    .selectAll('q')
    .select(['u.username', 'u.display_name', 's.name as subject_name', createdText.as('sort_ts')]);
  if (user.role === 'police') q = q.where('q.user_id', '=', user.id);
  else
    q = q.where((eb) =>
      eb.or([inScope(user, 's.jurisdiction_code'), inScope(user, 'u.jurisdiction_code')]),
    );
  if (options.subjectId) q = q.where('q.subject_id', '=', options.subjectId);
  if (options.outcome) q = q.where('q.outcome', '=', options.outcome);
  if (options.cursor) {
    const c = decodeCursor(options.cursor);
    if (typeof c.value !== 'string' || !TS_RE.test(c.value) || !UUID_RE.test(c.id))
      throw badCursor();
    q = q.where(sql<boolean>`(q.created_at, q.id) < (${c.value}::timestamptz, ${c.id}::uuid)`);
  }
  const rows = await q
    .orderBy('q.created_at', 'desc')
    .orderBy('q.id', 'desc')
    .limit(options.limit + 1)
    .execute();
  const items = rows.slice(0, options.limit);
  const last = items.at(-1);
  return {
    items: items.map((r) => ({
      id: r.id,
      userId: r.user_id,
      username: r.username,
      userName: r.display_name,
      subjectId: r.subject_id,
      subjectName: r.subject_name,
      from: iso(r.from_at),
      to: iso(r.to_at),
      legalBasis: r.legal_basis,
      caseNumber: r.case_number,
      fixesReturned: r.fixes_returned,
      outcome: r.outcome,
      refusalReason: r.refusal_reason,
      createdAt: iso(r.created_at),
    })),
    nextCursor: rows.length > options.limit && last ? encodeCursor(last.sort_ts, last.id) : null,
  };
}

/**
 * The query form's subject lookup: subjects in the partner's scope with an order active now,
 * by name fragment or full ID-card number. Minimal fields; the ID number always masked.
 */
export async function searchQueryableSubjects(
  db: Kysely<DB>,
  actor: { user: AuthUser; ip?: string | undefined },
  options: { q: string; limit: number; cursor?: string | undefined; now: Date },
) {
  const { user } = actor;
  const pattern = `%${options.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  let q = db
    .selectFrom('subjects as s')
    .innerJoin('jurisdictions as j', 'j.code', 's.jurisdiction_code')
    .select(['s.id', 's.name', 's.id_card_no', 's.jurisdiction_code', 'j.name_zh'])
    .where(inScope(user, 's.jurisdiction_code'))
    .where((eb) =>
      eb.or([eb('s.name', 'ilike', pattern), eb('s.id_card_no', '=', options.q.toUpperCase())]),
    )
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('monitoring_orders as o')
          .select(sql`1`.as('one'))
          .whereRef('o.subject_id', '=', 's.id')
          .where('o.starts_at', '<=', options.now)
          .where(sql<boolean>`least(o.ends_at, o.ended_at) > ${options.now}::timestamptz`),
      ),
    );
  if (options.cursor) {
    const c = decodeCursor(options.cursor);
    if (typeof c.value !== 'string' || !Uuid.safeParse(c.id).success) throw badCursor();
    q = q.where(sql<boolean>`(s.name, s.id) > (${c.value}, ${c.id}::uuid)`);
  }
  const rows = await q
    .orderBy('s.name')
    .orderBy('s.id')
    .limit(options.limit + 1)
    .execute();
  const items = rows.slice(0, options.limit);
  const last = items.at(-1);
  await audit(db, {
    actor: user,
    action: 'police.subject_search',
    resourceType: 'subject',
    jurisdictionCode: user.jurisdictionCode,
    detail: { q: options.q, count: items.length },
    ip: actor.ip ?? null,
  });
  return {
    items: items.map((r) => ({
      id: r.id,
      name: r.name,
      // Always masked here, whatever the role may otherwise see: the form needs no more.
      idCardNoMasked: maskIdCard(r.id_card_no, user, []),
      jurisdictionCode: r.jurisdiction_code,
      jurisdictionName: r.name_zh,
    })),
    nextCursor: rows.length > options.limit && last ? encodeCursor(last.name, last.id) : null,
  };
}

import type { CorrectionType, ManagementLevel, SubjectStatus } from '@ccm/db';
import { isPathWithin, pathInScope, pathWithin } from '../auth/scope';
import type { AuthUser } from '../auth/types';
import { AppError } from '../errors';
import { decodeCursor } from '../http';
import {
  containsPattern,
  invalidField,
  isUniqueViolation,
  requireJurisdictionField,
  type Db,
  type JurisdictionRef,
} from '../jurisdictions/shared';

/**
 * 社区矫正对象: criminal-record data. Every read is scoped to the caller's jurisdiction; the
 * routes mask ID-card numbers for roles that do not need them.
 */
const COLUMNS = [
  's.id',
  's.name',
  's.id_card_no',
  's.gender',
  's.birth_date',
  's.correction_type',
  's.term_start',
  's.term_end',
  's.jurisdiction_code',
  's.management_level',
  's.status',
  's.officer_id',
  's.home_address',
  's.phone',
  's.report_interval_s',
  's.no',
  's.created_at',
  's.updated_at',
  'j.path',
] as const;

const selectSubjects = (db: Db, actor: AuthUser) =>
  db
    .selectFrom('subjects as s')
    .innerJoin('jurisdictions as j', 'j.code', 's.jurisdiction_code')
    .select(COLUMNS)
    .where(pathWithin(actor.jurisdictionPath, 'j.path'));

export type SubjectRow = NonNullable<Awaited<ReturnType<typeof getSubject>>>;

export async function getSubject(db: Db, actor: AuthUser, id: string) {
  return selectSubjects(db, actor).where('s.id', '=', id).executeTakeFirst();
}

export interface SubjectListQuery {
  limit: number;
  cursor?: string | undefined;
  status?: SubjectStatus | undefined;
  managementLevel?: ManagementLevel | undefined;
  correctionType?: CorrectionType | undefined;
  jurisdictionCode?: string | undefined;
  officerId?: string | undefined;
  q?: string | undefined;
}

/** Subjects in scope, newest first (keyset on the subject's number). */
export async function listSubjects(db: Db, actor: AuthUser, q: SubjectListQuery) {
  let query = selectSubjects(db, actor)
    .orderBy('s.no', 'desc')
    .limit(q.limit + 1);
  if (q.jurisdictionCode) {
    const node = await requireJurisdictionField(
      db,
      actor,
      q.jurisdictionCode,
      'jurisdictionCode',
      'querystring',
    );
    query = query.where(pathWithin(node.path, 'j.path'));
  }
  if (q.status) query = query.where('s.status', '=', q.status);
  if (q.managementLevel) query = query.where('s.management_level', '=', q.managementLevel);
  if (q.correctionType) query = query.where('s.correction_type', '=', q.correctionType);
  if (q.officerId) query = query.where('s.officer_id', '=', q.officerId);
  if (q.q) query = query.where('s.name', 'ilike', containsPattern(q.q));
  if (q.cursor) {
    const { value } = decodeCursor(q.cursor);
    if (typeof value !== 'number')
      throw new AppError(400, 'BAD_CURSOR', '分页游标无效 / invalid cursor');
    query = query.where('s.no', '<', value);
  }
  return query.execute();
}

/** A subject's jurisdiction: a township office (司法所) in the caller's scope. */
async function requireOffice(db: Db, actor: AuthUser, code: string): Promise<JurisdictionRef> {
  const node = await requireJurisdictionField(db, actor, code, 'jurisdictionCode');
  if (node.level !== 'township') {
    throw invalidField(
      'jurisdictionCode',
      '矫正对象须归属司法所 / a subject belongs to a township office (9-digit code)',
    );
  }
  return node;
}

/**
 * The responsible officer: an enabled `officer` account whose node is the subject's office or
 * above it. An account unknown or outside the caller's scope is not found (404).
 */
async function requireOfficer(db: Db, actor: AuthUser, officerId: string, office: JurisdictionRef) {
  const row = await db
    .selectFrom('users as u')
    .innerJoin('jurisdictions as j', 'j.code', 'u.jurisdiction_code')
    .select(['u.role', 'u.disabled', 'j.path'])
    .where('u.id', '=', officerId)
    .executeTakeFirst();
  if (!row || !pathInScope(actor, row.path)) {
    throw new AppError(
      404,
      'OFFICER_NOT_FOUND',
      '未找到负责人（officerId）/ officer (officerId) not found in your scope',
      [{ in: 'body', field: 'officerId' }],
    );
  }
  if (row.role !== 'officer' || row.disabled || !isPathWithin(row.path, office.path)) {
    throw invalidField(
      'officerId',
      '须为负责该司法所的在职矫正工作人员 / must be an enabled officer of the subject’s office',
    );
  }
}

const subjectExists = () =>
  new AppError(
    409,
    'SUBJECT_EXISTS',
    '该身份证号已登记为矫正对象 / a subject with this ID-card number is already registered',
  );

async function insertOrUpdate<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isUniqueViolation(err, 'subjects_id_card_no_key')) throw subjectExists();
    throw err;
  }
}

export interface SubjectInput {
  name: string;
  idCardNo: string;
  gender?: 'male' | 'female' | null | undefined;
  birthDate?: string | null | undefined;
  correctionType: CorrectionType;
  termStart: string;
  termEnd: string;
  jurisdictionCode: string;
  managementLevel?: ManagementLevel | undefined;
  status?: SubjectStatus | undefined;
  officerId?: string | null | undefined;
  homeAddress?: string | undefined;
  phone?: string | undefined;
  reportIntervalS?: number | undefined;
}

/** Registers a subject; an officer who names no responsible officer becomes it. */
export async function createSubject(db: Db, actor: AuthUser, input: SubjectInput) {
  const office = await requireOffice(db, actor, input.jurisdictionCode);
  const officerId =
    input.officerId !== undefined ? input.officerId : actor.role === 'officer' ? actor.id : null;
  if (officerId) await requireOfficer(db, actor, officerId, office);
  const { id } = await insertOrUpdate(() =>
    db
      .insertInto('subjects')
      .values({
        name: input.name,
        id_card_no: input.idCardNo,
        gender: input.gender ?? null,
        birth_date: input.birthDate ?? null,
        correction_type: input.correctionType,
        term_start: input.termStart,
        term_end: input.termEnd,
        jurisdiction_code: office.code,
        management_level: input.managementLevel ?? 'strict',
        status: input.status ?? 'active',
        officer_id: officerId,
        home_address: input.homeAddress ?? '',
        phone: input.phone ?? '',
        report_interval_s: input.reportIntervalS ?? 60,
      })
      .returning('id')
      .executeTakeFirstOrThrow(),
  );
  return (await getSubject(db, actor, id))!;
}

export type SubjectChanges = Partial<SubjectInput>;

/** Fields whose values stay out of the audit trail (it is readable by auditors). */
const PERSONAL = new Set(['name', 'idCardNo', 'homeAddress', 'phone', 'birthDate', 'gender']);

/**
 * Applies `changes` to a subject in scope (undefined when there is none) and describes the
 * change for the audit trail: values for case fields, names only for personal data.
 */
export async function updateSubject(db: Db, actor: AuthUser, id: string, changes: SubjectChanges) {
  const before = await getSubject(db, actor, id);
  if (!before) return undefined;
  const termStart = changes.termStart ?? before.term_start;
  const termEnd = changes.termEnd ?? before.term_end;
  if (termEnd < termStart) {
    throw invalidField(
      changes.termEnd !== undefined ? 'termEnd' : 'termStart',
      '矫正期满日不得早于开始日 / termEnd must not be before termStart',
    );
  }
  let office: JurisdictionRef = {
    code: before.jurisdiction_code,
    level: 'township',
    path: before.path,
  };
  if (
    changes.jurisdictionCode !== undefined &&
    changes.jurisdictionCode !== before.jurisdiction_code
  ) {
    office = await requireOffice(db, actor, changes.jurisdictionCode);
  }
  const officerId = changes.officerId !== undefined ? changes.officerId : before.officer_id;
  if (officerId && (officerId !== before.officer_id || office.code !== before.jurisdiction_code)) {
    await requireOfficer(db, actor, officerId, office);
  }

  const next = {
    name: changes.name ?? before.name,
    id_card_no: changes.idCardNo ?? before.id_card_no,
    gender: changes.gender !== undefined ? changes.gender : before.gender,
    birth_date: changes.birthDate !== undefined ? changes.birthDate : before.birth_date,
    correction_type: changes.correctionType ?? before.correction_type,
    term_start: termStart,
    term_end: termEnd,
    jurisdiction_code: office.code,
    management_level: changes.managementLevel ?? before.management_level,
    status: changes.status ?? before.status,
    officer_id: officerId,
    home_address: changes.homeAddress ?? before.home_address,
    phone: changes.phone ?? before.phone,
    report_interval_s: changes.reportIntervalS ?? before.report_interval_s,
  };
  const camel: Record<keyof typeof next, string> = {
    name: 'name',
    id_card_no: 'idCardNo',
    gender: 'gender',
    birth_date: 'birthDate',
    correction_type: 'correctionType',
    term_start: 'termStart',
    term_end: 'termEnd',
    jurisdiction_code: 'jurisdictionCode',
    management_level: 'managementLevel',
    status: 'status',
    officer_id: 'officerId',
    home_address: 'homeAddress',
    phone: 'phone',
    report_interval_s: 'reportIntervalS',
  };
  const diff: Record<string, unknown> = {};
  for (const key of Object.keys(next) as (keyof typeof next)[]) {
    if (next[key] === before[key]) continue;
    const field = camel[key];
    diff[field] = PERSONAL.has(field) ? { changed: true } : { from: before[key], to: next[key] };
  }
  if (Object.keys(diff).length > 0) {
    await insertOrUpdate(() =>
      db
        .updateTable('subjects')
        .set({ ...next, updated_at: new Date() })
        .where('id', '=', before.id)
        .execute(),
    );
  }
  const after = (await getSubject(db, actor, before.id)) ?? before;
  return { before, after, diff };
}

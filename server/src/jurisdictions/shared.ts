import type { Kysely, Transaction } from 'kysely';
import type { DB, JurisdictionLevel } from '@ccm/db';
import { pathInScope } from '../auth/scope';
import type { AuthUser } from '../auth/types';
import { AppError } from '../errors';

/**
 * Helpers the people-and-devices feature folders (jurisdictions/, users/, subjects/,
 * devices/) share: jurisdiction look-ups in the user's scope, field errors shaped like the
 * schema validator's, and PostgreSQL error recognition.
 */
export type Db = Kysely<DB> | Transaction<DB>;

/** GB/T 2260 six digits for administrative areas; nine for township offices (司法所). */
export const JURISDICTION_CODE_PATTERN = /^[0-9]{6}([0-9]{3})?$/;

export interface JurisdictionRef {
  code: string;
  level: JurisdictionLevel;
  path: string;
}

/**
 * The node `code` when it exists and lies in the user's scope; undefined otherwise (the two
 * cases are indistinguishable on purpose: a caller cannot probe other jurisdictions).
 */
export async function jurisdictionInScope(
  db: Db,
  user: AuthUser,
  code: string,
): Promise<JurisdictionRef | undefined> {
  const row = await db
    .selectFrom('jurisdictions')
    .select(['code', 'level', 'path'])
    .where('code', '=', code)
    .executeTakeFirst();
  return row && pathInScope(user, row.path) ? row : undefined;
}

/** A 400 naming the field that failed, in the same shape as schema validation errors. */
export function invalidField(
  field: string,
  message: string,
  where: 'body' | 'querystring' | 'params' = 'body',
): AppError {
  return new AppError(
    400,
    'VALIDATION_FAILED',
    `请求参数无效 / invalid ${where} at ${field}: ${message}`,
    [{ in: where, field, message }],
  );
}

/**
 * The node a field (`jurisdictionCode`, `parentCode`) names. Unknown and out-of-scope codes
 * get the same 404 as any id outside the caller's scope, naming the field.
 */
export async function requireJurisdictionField(
  db: Db,
  user: AuthUser,
  code: string,
  field: string,
  where: 'body' | 'querystring' = 'body',
): Promise<JurisdictionRef> {
  const node = await jurisdictionInScope(db, user, code);
  if (!node) {
    throw new AppError(
      404,
      'JURISDICTION_NOT_FOUND',
      `未找到辖区 ${code}（${field}）/ jurisdiction ${code} (${field}) not found in your scope`,
      [{ in: where, field }],
    );
  }
  return node;
}

/** True for PostgreSQL's unique_violation (optionally of one constraint). */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; constraint?: unknown };
  return e.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

/** A `LIKE` pattern matching `text` anywhere, with the wildcards in `text` escaped. */
export const containsPattern = (text: string): string =>
  `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

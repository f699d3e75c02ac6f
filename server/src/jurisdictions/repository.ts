import type { JurisdictionLevel } from '@ccm/db';
import { pathInScope } from '../auth/scope';
import type { AuthUser } from '../auth/types';
import { AppError } from '../errors';
import { decodeCursor } from '../http';
import { invalidField, isUniqueViolation, requireJurisdictionField, type Db } from './shared';

/** The level below each level; a township office (司法所) is a leaf. */
export const CHILD_LEVEL: Record<JurisdictionLevel, JurisdictionLevel | null> = {
  province: 'city',
  city: 'county',
  county: 'township',
  township: null,
};

const COLUMNS = [
  'code',
  'parent_code',
  'level',
  'name_zh',
  'name_en',
  'path',
  'created_at',
] as const;

/** Nodes at or below the user's node, in tree order (by path), one keyset page. */
export async function listJurisdictions(
  db: Db,
  user: AuthUser,
  q: { limit: number; cursor?: string; parentCode?: string; level?: JurisdictionLevel },
) {
  let query = db
    .selectFrom('jurisdictions')
    .select(COLUMNS)
    .where((eb) =>
      eb.or([
        eb('path', '=', user.jurisdictionPath),
        eb('path', 'like', `${user.jurisdictionPath}.%`),
      ]),
    )
    .orderBy('path')
    .limit(q.limit + 1);
  if (q.parentCode) query = query.where('parent_code', '=', q.parentCode);
  if (q.level) query = query.where('level', '=', q.level);
  if (q.cursor) query = query.where('path', '>', String(decodeCursor(q.cursor).value));
  return query.execute();
}

export async function getJurisdiction(db: Db, user: AuthUser, code: string) {
  const row = await db
    .selectFrom('jurisdictions')
    .select(COLUMNS)
    .where('code', '=', code)
    .executeTakeFirst();
  return row && pathInScope(user, row.path) ? row : undefined;
}

export interface NewJurisdiction {
  code: string;
  parentCode: string;
  level?: JurisdictionLevel | undefined;
  nameZh: string;
  nameEn?: string | undefined;
}

/**
 * Checks a new node against its parent (exists, in scope, one level up, code structure) and
 * returns what to insert. GB/T 2260: a city or county keeps its province's first two digits;
 * a township office's nine-digit code is its county's code plus three digits.
 */
export async function planJurisdiction(db: Db, user: AuthUser, input: NewJurisdiction) {
  const parent = await requireJurisdictionField(db, user, input.parentCode, 'parentCode');
  const level = CHILD_LEVEL[parent.level];
  if (!level) {
    throw invalidField('parentCode', '司法所下不能再设下级 / a township office has no children');
  }
  if (input.level && input.level !== level) {
    throw invalidField(
      'level',
      `上级为 ${parent.level}，下级必须是 ${level} / the child of a ${parent.level} is a ${level}`,
    );
  }
  if (level === 'township') {
    if (!/^[0-9]{9}$/.test(input.code) || !input.code.startsWith(parent.code)) {
      throw invalidField(
        'code',
        `司法所代码为上级区县代码加三位数字 / a township office code is ${parent.code} followed by three digits`,
      );
    }
  } else if (!/^[0-9]{6}$/.test(input.code) || input.code.slice(0, 2) !== parent.code.slice(0, 2)) {
    throw invalidField(
      'code',
      `行政区划代码为六位且与上级同省 / an area code has six digits starting with ${parent.code.slice(0, 2)}`,
    );
  }
  return {
    code: input.code,
    parent_code: parent.code,
    level,
    name_zh: input.nameZh,
    name_en: input.nameEn ?? '',
    path: `${parent.path}.${input.code}`,
  };
}

export async function insertJurisdiction(
  db: Db,
  row: Awaited<ReturnType<typeof planJurisdiction>>,
) {
  try {
    return await db
      .insertInto('jurisdictions')
      .values(row)
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new AppError(
        409,
        'JURISDICTION_EXISTS',
        `辖区代码 ${row.code} 已存在 / jurisdiction ${row.code} already exists`,
      );
    }
    throw err;
  }
}

export async function renameJurisdiction(
  db: Db,
  code: string,
  names: { nameZh?: string | undefined; nameEn?: string | undefined },
) {
  return db
    .updateTable('jurisdictions')
    .set({
      ...(names.nameZh !== undefined ? { name_zh: names.nameZh } : {}),
      ...(names.nameEn !== undefined ? { name_en: names.nameEn } : {}),
    })
    .where('code', '=', code)
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
}

import type { Role } from '@ccm/db';
import { hashPassword } from '../auth/password';
import { forbidden, pathInScope, pathWithin } from '../auth/scope';
import type { AuthUser } from '../auth/types';
import { AppError } from '../errors';
import { decodeCursor } from '../http';
import {
  containsPattern,
  isUniqueViolation,
  requireJurisdictionField,
  type Db,
} from '../jurisdictions/shared';

/**
 * Platform accounts. Who may manage whom: an admin, anyone in its scope; a bureau (司法局),
 * officer, police and auditor accounts at or below its node, and bureau accounts strictly
 * below it (never its peers, its superiors or admins). The same rule holds for the account
 * before and after an update, so a bureau can neither reach nor create an account it could
 * not have created.
 */
export function mayManage(actor: AuthUser, role: Role, path: string): boolean {
  if (!pathInScope(actor, path)) return false;
  switch (actor.role) {
    case 'admin':
      return true;
    case 'bureau':
      if (role === 'officer' || role === 'police' || role === 'auditor') return true;
      return role === 'bureau' && path !== actor.jurisdictionPath;
    default:
      return false;
  }
}

const COLUMNS = [
  'u.id',
  'u.username',
  'u.display_name',
  'u.role',
  'u.jurisdiction_code',
  'u.disabled',
  'u.locked_until',
  'u.totp_enabled',
  'u.password_changed_at',
  'u.created_at',
  'u.updated_at',
  'j.path',
] as const;

const selectUsers = (db: Db, actor: AuthUser) =>
  db
    .selectFrom('users as u')
    .innerJoin('jurisdictions as j', 'j.code', 'u.jurisdiction_code')
    .select(COLUMNS)
    .where(pathWithin(actor.jurisdictionPath, 'j.path'));

export type UserRow = NonNullable<Awaited<ReturnType<typeof getUser>>>;

/** A user in the actor's scope, or undefined (unknown and out of scope look the same). */
export async function getUser(db: Db, actor: AuthUser, id: string) {
  return selectUsers(db, actor).where('u.id', '=', id).executeTakeFirst();
}

export interface UserListQuery {
  limit: number;
  cursor?: string | undefined;
  role?: Role | undefined;
  jurisdictionCode?: string | undefined;
  disabled?: 'true' | 'false' | undefined;
  q?: string | undefined;
}

/** Users in scope ordered by username; `jurisdictionCode` narrows to that node and below. */
export async function listUsers(db: Db, actor: AuthUser, q: UserListQuery) {
  let query = selectUsers(db, actor)
    .orderBy('u.username')
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
  if (q.role) query = query.where('u.role', '=', q.role);
  if (q.disabled) query = query.where('u.disabled', '=', q.disabled === 'true');
  if (q.q) {
    const pattern = containsPattern(q.q);
    query = query.where((eb) =>
      eb.or([eb('u.username', 'ilike', pattern), eb('u.display_name', 'ilike', pattern)]),
    );
  }
  if (q.cursor) query = query.where('u.username', '>', String(decodeCursor(q.cursor).value));
  return query.execute();
}

const usernameTaken = (username: string) =>
  new AppError(
    409,
    'USERNAME_TAKEN',
    `用户名 ${username} 已被使用 / username ${username} is taken`,
  );

export interface NewUser {
  username: string;
  displayName: string;
  role: Role;
  jurisdictionCode: string;
  password: string;
}

export async function createUser(db: Db, actor: AuthUser, input: NewUser): Promise<UserRow> {
  const node = await requireJurisdictionField(
    db,
    actor,
    input.jurisdictionCode,
    'jurisdictionCode',
  );
  if (!mayManage(actor, input.role, node.path)) {
    throw forbidden(
      `您不能在该辖区创建 ${input.role} 账户 / you may not create a ${input.role} account there`,
    );
  }
  const passwordHash = await hashPassword(input.password);
  let id: string;
  try {
    ({ id } = await db
      .insertInto('users')
      .values({
        username: input.username,
        display_name: input.displayName,
        role: input.role,
        jurisdiction_code: node.code,
        password_hash: passwordHash,
        totp_secret: null,
        locked_until: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow());
  } catch (err) {
    if (isUniqueViolation(err)) throw usernameTaken(input.username);
    throw err;
  }
  return (await getUser(db, actor, id))!;
}

export interface UserChanges {
  displayName?: string | undefined;
  role?: Role | undefined;
  jurisdictionCode?: string | undefined;
  disabled?: boolean | undefined;
  unlock?: true | undefined;
  password?: string | undefined;
}

/**
 * Applies `changes` to a user in scope (undefined when there is none). Disabling a user or
 * resetting their password revokes their sessions. Returns the user after the change and a
 * description of it for the audit trail (never a password).
 */
export async function updateUser(db: Db, actor: AuthUser, id: string, changes: UserChanges) {
  const before = await getUser(db, actor, id);
  if (!before) return undefined;
  if (!mayManage(actor, before.role, before.path)) {
    throw forbidden('您不能修改该账户 / you may not change this account');
  }
  if (
    before.id === actor.id &&
    ((changes.role !== undefined && changes.role !== before.role) ||
      (changes.jurisdictionCode !== undefined &&
        changes.jurisdictionCode !== before.jurisdiction_code) ||
      changes.disabled === true ||
      changes.password !== undefined)
  ) {
    // Your own password changes through /auth/password, which asks for the current one.
    throw forbidden(
      '不能停用自己、重置自己的密码或修改自己的角色与辖区 / you may not disable yourself, reset your own password or change your own role or jurisdiction',
    );
  }
  const role = changes.role ?? before.role;
  let code = before.jurisdiction_code;
  let path = before.path;
  if (changes.jurisdictionCode !== undefined) {
    const node = await requireJurisdictionField(
      db,
      actor,
      changes.jurisdictionCode,
      'jurisdictionCode',
    );
    code = node.code;
    path = node.path;
  }
  if (!mayManage(actor, role, path)) {
    throw forbidden(
      `您不能在该辖区设置 ${role} 账户 / you may not make this a ${role} account there`,
    );
  }

  const diff: Record<string, unknown> = {};
  const set: {
    display_name?: string;
    role?: Role;
    jurisdiction_code?: string;
    disabled?: boolean;
    locked_until?: null;
    password_hash?: string;
    password_changed_at?: Date;
  } = {};
  if (changes.displayName !== undefined && changes.displayName !== before.display_name) {
    set.display_name = changes.displayName;
    diff.displayName = { from: before.display_name, to: changes.displayName };
  }
  if (role !== before.role) {
    set.role = role;
    diff.role = { from: before.role, to: role };
  }
  if (code !== before.jurisdiction_code) {
    set.jurisdiction_code = code;
    diff.jurisdictionCode = { from: before.jurisdiction_code, to: code };
  }
  if (changes.disabled !== undefined && changes.disabled !== before.disabled) {
    set.disabled = changes.disabled;
    diff.disabled = { from: before.disabled, to: changes.disabled };
  }
  if (changes.unlock && before.locked_until) {
    set.locked_until = null;
    diff.unlocked = { lockedUntil: before.locked_until.toISOString() };
  }
  if (changes.password !== undefined) {
    set.password_hash = await hashPassword(changes.password);
    set.password_changed_at = new Date();
    diff.passwordReset = true;
  }

  let sessionsRevoked = 0;
  if (Object.keys(set).length > 0) {
    await db
      .updateTable('users')
      .set({ ...set, updated_at: new Date() })
      .where('id', '=', before.id)
      .execute();
    if (diff.unlocked) {
      // Failures before an unlock no longer count toward the next lockout.
      await db
        .insertInto('login_attempts')
        .values({
          username: before.username,
          user_id: before.id,
          success: true,
          reason: 'unlocked',
        })
        .execute();
    }
    if (set.disabled === true || set.password_hash !== undefined) {
      const revoked = await db
        .updateTable('sessions')
        .set({ revoked_at: new Date() })
        .where('user_id', '=', before.id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      sessionsRevoked = Number(revoked.numUpdatedRows);
    }
  }
  const after = (await getUser(db, actor, before.id)) ?? before;
  return { before, after, diff, sessionsRevoked };
}

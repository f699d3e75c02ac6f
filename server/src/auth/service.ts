import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { Secret, TOTP } from 'otpauth';
import type { DB, Role } from '@ccm/db';
import { audit } from '../audit/audit';
import { AppError } from '../errors';
import { hashPassword, verifyPassword } from './password';
import type { AuthUser } from './types';

export interface AuthSettings {
  sessionTtlHours: number;
  maxFailures: number;
  failureWindowMinutes: number;
  lockoutMinutes: number;
  /** Roles that must have a second factor (TOTP) to get a full session. */
  totpRequiredRoles: readonly Role[];
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

// Verifying against this when the username is unknown keeps the answer time the same.
const DUMMY_HASH = hashPassword('ccm-dummy-password-for-timing');

export function totpFor(secret: string, username: string) {
  return new TOTP({
    issuer: 'CCM 社区矫正监管平台',
    label: username,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    secret: Secret.fromBase32(secret),
  });
}

export interface LoginResult {
  token: string;
  expiresAt: Date;
  user: AuthUser;
}

const invalid = () =>
  new AppError(401, 'INVALID_CREDENTIALS', '用户名或密码错误 / wrong username or password');

/**
 * Username + password (+ TOTP when enrolled). Failures are recorded; `maxFailures` within
 * `failureWindowMinutes` lock the account for `lockoutMinutes` (audited).
 */
export async function login(
  db: Kysely<DB>,
  settings: AuthSettings,
  input: {
    username: string;
    password: string;
    totp?: string | undefined;
    ip: string;
    userAgent?: string;
  },
): Promise<LoginResult> {
  const user = await db
    .selectFrom('users as u')
    .innerJoin('jurisdictions as j', 'j.code', 'u.jurisdiction_code')
    .select([
      'u.id',
      'u.username',
      'u.display_name',
      'u.role',
      'u.jurisdiction_code',
      'u.password_hash',
      'u.totp_secret',
      'u.totp_enabled',
      'u.disabled',
      'u.locked_until',
      'j.path',
    ])
    .where('u.username', '=', input.username)
    .executeTakeFirst();
  const now = new Date();
  const fail = async (reason: string, error: AppError = invalid()) => {
    await db
      .insertInto('login_attempts')
      .values({
        username: input.username,
        user_id: user?.id ?? null,
        success: false,
        reason,
        ip: input.ip,
      })
      .execute();
    await audit(db, {
      actor: user ? { id: user.id, username: user.username, role: user.role } : null,
      action: 'auth.login_failed',
      resourceType: 'user',
      resourceId: user?.id ?? null,
      detail: { username: input.username, reason },
      ip: input.ip,
    });
    if (user && reason !== 'locked') {
      const since = new Date(now.getTime() - settings.failureWindowMinutes * 60_000);
      const { n } = await db
        .selectFrom('login_attempts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', user.id)
        .where('success', '=', false)
        .where('reason', '!=', 'locked')
        .where('at', '>=', since)
        // Only failures after the last success (a sign-in, or an admin's unlock) count.
        .where(({ eb, selectFrom }) =>
          eb(
            'at',
            '>',
            selectFrom('login_attempts')
              .select(sql<Date>`coalesce(max(at), '-infinity'::timestamptz)`.as('t'))
              .where('user_id', '=', user.id)
              .where('success', '=', true),
          ),
        )
        .executeTakeFirstOrThrow();
      if (n >= settings.maxFailures) {
        const until = new Date(now.getTime() + settings.lockoutMinutes * 60_000);
        await db
          .updateTable('users')
          .set({ locked_until: until })
          .where('id', '=', user.id)
          .execute();
        await audit(db, {
          actor: null,
          action: 'auth.account_locked',
          resourceType: 'user',
          resourceId: user.id,
          jurisdictionCode: user.jurisdiction_code,
          detail: { username: user.username, failures: n, until: until.toISOString() },
          ip: input.ip,
        });
      }
    }
    throw error;
  };

  if (!user) {
    await verifyPassword(await DUMMY_HASH, input.password);
    return fail('unknown_user');
  }
  if (user.locked_until && user.locked_until > now) {
    return fail(
      'locked',
      new AppError(
        423,
        'ACCOUNT_LOCKED',
        `账户已锁定至 ${user.locked_until.toISOString()} / account locked until ${user.locked_until.toISOString()}`,
      ),
    );
  }
  if (!(await verifyPassword(user.password_hash, input.password))) return fail('bad_password');
  if (user.disabled)
    return fail('disabled', new AppError(403, 'ACCOUNT_DISABLED', '账户已停用 / account disabled'));
  if (user.totp_enabled && user.totp_secret) {
    if (!input.totp) {
      return fail(
        'totp_missing',
        new AppError(401, 'TOTP_REQUIRED', '请输入动态验证码 / one-time code required'),
      );
    }
    if (
      totpFor(user.totp_secret, user.username).validate({ token: input.totp, window: 1 }) === null
    ) {
      return fail(
        'totp_invalid',
        new AppError(401, 'TOTP_INVALID', '动态验证码错误 / wrong one-time code'),
      );
    }
  }
  const scope =
    settings.totpRequiredRoles.includes(user.role) && !user.totp_enabled ? 'totp_enroll' : 'full';
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + settings.sessionTtlHours * 3_600_000);
  const session = await db
    .insertInto('sessions')
    .values({
      token_hash: hashToken(token),
      user_id: user.id,
      scope,
      expires_at: expiresAt,
      ip: input.ip,
      user_agent: input.userAgent?.slice(0, 300) ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('login_attempts')
    .values({
      username: user.username,
      user_id: user.id,
      success: true,
      reason: null,
      ip: input.ip,
    })
    .execute();
  const authUser: AuthUser = {
    id: user.id,
    username: user.username,
    displayName: user.display_name,
    role: user.role,
    jurisdictionCode: user.jurisdiction_code,
    jurisdictionPath: user.path,
    sessionId: session.id,
    sessionScope: scope,
  };
  await audit(db, {
    actor: authUser,
    action: 'auth.login',
    resourceType: 'user',
    resourceId: user.id,
    jurisdictionCode: user.jurisdiction_code,
    detail: { scope },
    ip: input.ip,
  });
  return { token, expiresAt, user: authUser };
}

/** The user of a bearer token, or undefined when it is unknown, expired, revoked or disabled. */
export async function userForToken(db: Kysely<DB>, token: string): Promise<AuthUser | undefined> {
  const row = await db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .innerJoin('jurisdictions as j', 'j.code', 'u.jurisdiction_code')
    .select([
      's.id as session_id',
      's.scope',
      's.last_seen_at',
      'u.id',
      'u.username',
      'u.display_name',
      'u.role',
      'u.jurisdiction_code',
      'j.path',
    ])
    .where('s.token_hash', '=', hashToken(token))
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', new Date())
    .where('u.disabled', '=', false)
    .executeTakeFirst();
  if (!row) return undefined;
  if (!row.last_seen_at || Date.now() - row.last_seen_at.getTime() > 60_000) {
    await db
      .updateTable('sessions')
      .set({ last_seen_at: sql`now()` })
      .where('id', '=', row.session_id)
      .execute();
  }
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    jurisdictionCode: row.jurisdiction_code,
    jurisdictionPath: row.path,
    sessionId: row.session_id,
    sessionScope: row.scope,
  };
}

import type { Kysely } from 'kysely';
import type { DB } from '@ccm/db';
import { hashPassword } from './auth/password';

export interface FirstAdmin {
  username: string;
  password: string;
  rootCode: string;
  rootName: string;
}

/**
 * Creates the first admin from CCM_ADMIN_USERNAME/CCM_ADMIN_PASSWORD when no admin exists
 * (never a built-in password), together with the root of the jurisdiction tree it belongs to.
 * Returns true when it created one.
 */
export async function ensureFirstAdmin(db: Kysely<DB>, admin: FirstAdmin): Promise<boolean> {
  const passwordHash = await hashPassword(admin.password);
  return db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('users')
      .select('id')
      .where('role', '=', 'admin')
      .limit(1)
      .executeTakeFirst();
    if (existing) return false;
    await trx
      .insertInto('jurisdictions')
      .values({
        code: admin.rootCode,
        parent_code: null,
        level: 'province',
        name_zh: admin.rootName,
        path: admin.rootCode,
      })
      .onConflict((oc) => oc.column('code').doNothing())
      .execute();
    await trx
      .insertInto('users')
      .values({
        username: admin.username,
        display_name: '系统管理员 / Administrator',
        role: 'admin',
        jurisdiction_code: admin.rootCode,
        password_hash: passwordHash,
        totp_secret: null,
        locked_until: null,
      })
      .execute();
    return true;
  });
}

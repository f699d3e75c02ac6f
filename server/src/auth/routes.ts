import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Secret } from 'otpauth';
import { z } from 'zod';
import { audit } from '../audit/audit';
import type { FeatureDeps } from '../context';
import { AppError } from '../errors';
import { hashPassword, verifyPassword } from './password';
import { currentUser } from './plugin';
import { login, totpFor } from './service';

export const UserView = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  role: z.enum(['admin', 'bureau', 'officer', 'police', 'auditor']),
  jurisdictionCode: z.string(),
});

const Password = z.string().min(12, '密码至少 12 位 / at least 12 characters').max(256);

export function registerAuthRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const view = (u: ReturnType<typeof currentUser>) => ({
    id: u.id,
    username: u.username,
    displayName: u.displayName,
    role: u.role,
    jurisdictionCode: u.jurisdictionCode,
  });

  r.post(
    '/api/v1/auth/login',
    {
      config: { public: true },
      schema: {
        summary: '登录 / sign in',
        tags: ['auth'],
        body: z.object({
          username: z.string().min(1).max(64),
          password: z.string().min(1).max(256),
          totp: z
            .string()
            .regex(/^\d{6}$/)
            .optional(),
        }),
        response: {
          200: z.object({
            token: z.string(),
            expiresAt: z.string(),
            totpEnrolmentRequired: z.boolean(),
            user: UserView,
          }),
        },
      },
    },
    async (request) => {
      const result = await login(deps.db, deps.settings.auth, {
        ...request.body,
        ip: request.ip,
        ...(request.headers['user-agent'] ? { userAgent: request.headers['user-agent'] } : {}),
      });
      return {
        token: result.token,
        expiresAt: result.expiresAt.toISOString(),
        totpEnrolmentRequired: result.user.sessionScope === 'totp_enroll',
        user: view(result.user),
      };
    },
  );

  r.post(
    '/api/v1/auth/logout',
    {
      config: { allowDuringTotpEnrolment: true },
      schema: { summary: '退出登录 / sign out', tags: ['auth'], response: { 204: z.null() } },
    },
    async (request, reply) => {
      const user = currentUser(request);
      await deps.db
        .updateTable('sessions')
        .set({ revoked_at: new Date() })
        .where('id', '=', user.sessionId)
        .execute();
      await audit(deps.db, {
        actor: user,
        action: 'auth.logout',
        resourceType: 'user',
        resourceId: user.id,
        ip: request.ip,
      });
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/api/v1/auth/me',
    {
      config: { allowDuringTotpEnrolment: true },
      schema: {
        summary: '当前用户 / the signed-in user',
        tags: ['auth'],
        response: { 200: UserView },
      },
    },
    async (request) => view(currentUser(request)),
  );

  r.post(
    '/api/v1/auth/password',
    {
      config: { allowDuringTotpEnrolment: true },
      schema: {
        summary: '修改密码 / change password (signs out other sessions)',
        tags: ['auth'],
        body: z.object({ currentPassword: z.string().min(1).max(256), newPassword: Password }),
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const row = await deps.db
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow();
      if (!(await verifyPassword(row.password_hash, request.body.currentPassword))) {
        throw new AppError(400, 'WRONG_PASSWORD', '当前密码错误 / current password is wrong');
      }
      const hash = await hashPassword(request.body.newPassword);
      await deps.db.transaction().execute(async (trx) => {
        await trx
          .updateTable('users')
          .set({ password_hash: hash, password_changed_at: new Date(), updated_at: new Date() })
          .where('id', '=', user.id)
          .execute();
        await trx
          .updateTable('sessions')
          .set({ revoked_at: new Date() })
          .where('user_id', '=', user.id)
          .where('id', '!=', user.sessionId)
          .where('revoked_at', 'is', null)
          .execute();
        await audit(trx, {
          actor: user,
          action: 'auth.password_changed',
          resourceType: 'user',
          resourceId: user.id,
          ip: request.ip,
        });
      });
      return reply.status(204).send(null);
    },
  );

  r.post(
    '/api/v1/auth/totp/setup',
    {
      config: { allowDuringTotpEnrolment: true },
      schema: {
        summary: '设置动态验证码（第一步）/ start setting up a TOTP authenticator',
        tags: ['auth'],
        response: { 200: z.object({ secret: z.string(), otpauthUrl: z.string() }) },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const secret = new Secret({ size: 20 }).base32;
      await deps.db
        .updateTable('users')
        .set({ totp_secret: secret, totp_enabled: false, updated_at: new Date() })
        .where('id', '=', user.id)
        .execute();
      return { secret, otpauthUrl: totpFor(secret, user.username).toString() };
    },
  );

  r.post(
    '/api/v1/auth/totp/enable',
    {
      config: { allowDuringTotpEnrolment: true },
      schema: {
        summary: '启用动态验证码（第二步）/ confirm a code to enable the authenticator',
        tags: ['auth'],
        body: z.object({ code: z.string().regex(/^\d{6}$/) }),
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const row = await deps.db
        .selectFrom('users')
        .select('totp_secret')
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow();
      if (!row.totp_secret)
        throw new AppError(
          409,
          'TOTP_NOT_SET_UP',
          '请先调用 /auth/totp/setup / call /auth/totp/setup first',
        );
      if (
        totpFor(row.totp_secret, user.username).validate({
          token: request.body.code,
          window: 1,
        }) === null
      ) {
        throw new AppError(400, 'TOTP_INVALID', '动态验证码错误 / wrong one-time code');
      }
      await deps.db.transaction().execute(async (trx) => {
        await trx
          .updateTable('users')
          .set({ totp_enabled: true, updated_at: new Date() })
          .where('id', '=', user.id)
          .execute();
        await trx
          .updateTable('sessions')
          .set({ scope: 'full' })
          .where('id', '=', user.sessionId)
          .execute();
        await audit(trx, {
          actor: user,
          action: 'auth.totp_enabled',
          resourceType: 'user',
          resourceId: user.id,
          ip: request.ip,
        });
      });
      return reply.status(204).send(null);
    },
  );
}

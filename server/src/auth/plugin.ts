import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { DB } from '@ccm/db';
import { AppError } from '../errors';
import { userForToken } from './service';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The bearer token of a request; the WebSocket stream may also pass it as `?token=`. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim() || undefined;
  return undefined;
}

/**
 * Every /api/v1 route needs a signed-in user unless its config says `public: true`; the
 * route's `roles` narrow it further. The procuratorate's `auditor` role reads and never
 * writes, enforced here once for every route (its own sign-out and password are the only
 * writes it may make).
 */
export function registerAuth(app: FastifyInstance, db: Kysely<DB>) {
  app.decorateRequest('user', undefined);
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/api/v1/')) return;
    const config = request.routeOptions.config;
    if (config?.public) return;
    let token = bearerToken(request);
    if (!token && request.headers.upgrade?.toLowerCase() === 'websocket') {
      const q = request.query as { token?: unknown };
      if (typeof q?.token === 'string') token = q.token;
    }
    if (!token) throw new AppError(401, 'UNAUTHENTICATED', '请先登录 / sign-in required');
    const user = await userForToken(db, token);
    if (!user)
      throw new AppError(401, 'UNAUTHENTICATED', '登录已失效 / session expired or unknown');
    request.user = user;
    if (user.sessionScope === 'totp_enroll' && !config?.allowDuringTotpEnrolment) {
      throw new AppError(
        403,
        'TOTP_ENROLMENT_REQUIRED',
        '您的角色须先设置动态验证码 / your role requires a one-time-code authenticator: set it up first',
      );
    }
    if (config?.roles && !config.roles.includes(user.role)) {
      throw new AppError(403, 'FORBIDDEN', '无权执行此操作 / not allowed for your role');
    }
    if (
      user.role === 'auditor' &&
      !READ_METHODS.has(request.method) &&
      !config?.allowDuringTotpEnrolment
    ) {
      throw new AppError(403, 'READ_ONLY_ROLE', '检察监督角色只读 / the auditor role is read-only');
    }
  });
}

/** The signed-in user of a route that is not public (set by the hook above). */
export function currentUser(request: FastifyRequest) {
  if (!request.user) throw new AppError(401, 'UNAUTHENTICATED', '请先登录 / sign-in required');
  return request.user;
}

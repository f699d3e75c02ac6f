import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { BrokerAuthorizer } from '@ccm/device-gateway';
import { AppError } from '../errors';

/**
 * HTTP authentication and ACL for an external broker (EMQX 5 `http` authenticator and
 * authorizer; see deploy/emqx). EMQX sends the token configured as MQTT_AUTH_HOOK_TOKEN;
 * without it these routes answer 401. Same rules as the in-process broker.
 */
const AuthBody = z.object({
  clientid: z.string().max(256),
  username: z.string().max(256).optional(),
  password: z.string().max(512).optional(),
  peerhost: z.string().max(64).optional(),
});
const AclBody = z.object({
  clientid: z.string().max(256),
  username: z.string().max(256).optional(),
  topic: z.string().min(1).max(1024),
  action: z.enum(['publish', 'subscribe']),
});
const Result = z.object({
  result: z.enum(['allow', 'deny']),
  is_superuser: z.boolean().optional(),
});

export function registerMqttHooks(
  app: FastifyInstance,
  deps: { token: string; auth: BrokerAuthorizer; platformUsername: string },
) {
  const expected = Buffer.from(`Bearer ${deps.token}`);
  const checkToken = (header: string | undefined) => {
    const given = Buffer.from(header ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new AppError(401, 'UNAUTHENTICATED', '需要代理令牌 / broker hook token required');
    }
  };
  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.post(
    '/api/v1/mqtt/auth',
    {
      config: { public: true }, // EMQX authenticates with the hook token, checked below
      schema: {
        summary: 'MQTT 连接认证（EMQX HTTP 认证）/ broker authentication hook',
        tags: ['mqtt'],
        body: AuthBody,
        response: { 200: Result },
      },
    },
    async (request) => {
      checkToken(request.headers.authorization);
      const { clientid, username, password } = request.body;
      const result = await deps.auth.authenticate(clientid, username, password);
      return { result: result.ok ? 'allow' : 'deny', is_superuser: false } as const;
    },
  );
  typed.post(
    '/api/v1/mqtt/acl',
    {
      config: { public: true },
      schema: {
        summary: 'MQTT 主题授权（EMQX HTTP 授权）/ broker topic authorisation hook',
        tags: ['mqtt'],
        body: AclBody,
        response: { 200: Result },
      },
    },
    async (request) => {
      checkToken(request.headers.authorization);
      const { clientid, username, topic, action } = request.body;
      // EMQX calls this only for clients it authenticated through /auth above.
      const identity =
        username === deps.platformUsername
          ? ({ kind: 'platform' } as const)
          : ({ kind: 'device', deviceId: clientid } as const);
      const ok =
        action === 'publish'
          ? deps.auth.mayPublish(identity, topic)
          : deps.auth.maySubscribe(identity, topic);
      return { result: ok ? 'allow' : 'deny' } as const;
    },
  );
}

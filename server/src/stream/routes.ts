import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { audit } from '../audit/audit';
import { bearerToken } from '../auth/plugin';
import { userForToken } from '../auth/service';
import type { AuthUser } from '../auth/types';
import type { FeatureDeps } from '../context';
import { POSITION_ROLES, type StreamHub } from './hub';

const FirstMessage = z.object({ type: z.literal('auth'), token: z.string().min(1).max(200) });
const AUTH_TIMEOUT_MS = 5000;

/**
 * `GET /api/v1/stream` (WebSocket). The token comes as `?token=`, an Authorization header, or
 * as the first message `{"type":"auth","token":"…"}` within 5 s. The server then pushes
 * `{"type":"position",…}`, `{"type":"alert","alert":{…}}` and `{"type":"alert_update",…}` for
 * the user's scope only; the client sends nothing else (anything else closes the socket).
 */
export async function registerStreamRoutes(
  app: FastifyInstance,
  deps: FeatureDeps,
  hub: StreamHub,
) {
  await app.register(websocket, { options: { maxPayload: 4096 } });
  app.get(
    '/api/v1/stream',
    {
      websocket: true,
      config: { public: true }, // authenticated here: the token may arrive as the first message
      schema: {
        summary: '实时推送（WebSocket）/ live positions and alerts (WebSocket)',
        tags: ['stream'],
      },
    },
    (socket, request: FastifyRequest) => {
      let detach: (() => void) | undefined;
      const fail = (code: number, reason: string) => socket.close(code, reason);
      const attach = async (user: AuthUser) => {
        if (user.sessionScope !== 'full' || user.role === 'police') {
          return fail(4403, 'not allowed / 无权订阅');
        }
        if (POSITION_ROLES.includes(user.role)) {
          await audit(deps.db, {
            actor: user,
            action: 'positions.stream',
            jurisdictionCode: user.jurisdictionCode,
            detail: { scope: user.jurisdictionPath },
            ip: request.ip,
          });
        }
        detach = hub.add({
          user,
          send: (text) => socket.send(text),
          bufferedBytes: () => socket.bufferedAmount,
          close: (code, reason) => socket.close(code, reason),
        });
        socket.send(JSON.stringify({ type: 'ready', user: { id: user.id, role: user.role } }));
      };
      socket.on('close', () => detach?.());
      socket.on('error', () => detach?.());

      const q = request.query as { token?: unknown };
      const token = bearerToken(request) ?? (typeof q?.token === 'string' ? q.token : undefined);
      if (token) {
        void userForToken(deps.db, token).then((user) =>
          user ? attach(user) : fail(4401, 'unauthenticated / 登录已失效'),
        );
        socket.on('message', () => fail(4400, 'the stream takes no messages'));
        return;
      }
      const timer = setTimeout(() => fail(4401, 'auth timeout / 未登录'), AUTH_TIMEOUT_MS);
      socket.once('message', (data) => {
        clearTimeout(timer);
        const parsed = FirstMessage.safeParse(
          (() => {
            try {
              return JSON.parse(String(data));
            } catch {
              return undefined;
            }
          })(),
        );
        if (!parsed.success) return fail(4400, 'first message must be {"type":"auth","token":…}');
        void userForToken(deps.db, parsed.data.token).then((user) =>
          user ? attach(user) : fail(4401, 'unauthenticated / 登录已失效'),
        );
        socket.on('message', () => fail(4400, 'the stream takes no messages'));
      });
    },
  );
}

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { currentUser } from '../auth/plugin';
import type { FeatureDeps } from '../context';
import { notFound } from '../errors';
import { IdParams, iso, isoOrNull } from '../http';
import { errorResponses } from '../orders/schemas';

/** Each user's own notices (order reminders, leave decisions …); nobody reads another's. */
const NotificationView = z.object({
  id: z.string(),
  kind: z.string(),
  title: z.string(),
  body: z.string(),
  subjectId: z.string().nullable(),
  refId: z.string().nullable(),
  createdAt: z.string(),
  readAt: z.string().nullable(),
});

export function registerNotificationRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/v1/notifications',
    {
      schema: {
        summary: '我的提醒 / my notifications (newest first)',
        tags: ['notifications'],
        querystring: z.object({
          unread: z
            .enum(['true', 'false'])
            .optional()
            .transform((v) => v === 'true'),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
        response: {
          200: z.object({ items: z.array(NotificationView), unread: z.number() }),
          ...errorResponses(400),
        },
      },
    },
    async (request) => {
      const user = currentUser(request);
      let query = deps.db.selectFrom('notifications').selectAll().where('user_id', '=', user.id);
      if (request.query.unread) query = query.where('read_at', 'is', null);
      const rows = await query
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(request.query.limit)
        .execute();
      const unread = await deps.db
        .selectFrom('notifications')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', user.id)
        .where('read_at', 'is', null)
        .executeTakeFirstOrThrow();
      return {
        items: rows.map((n) => ({
          id: n.id,
          kind: n.kind,
          title: n.title,
          body: n.body,
          subjectId: n.subject_id,
          refId: n.ref_id,
          createdAt: iso(n.created_at),
          readAt: isoOrNull(n.read_at),
        })),
        unread: Number(unread.n),
      };
    },
  );

  r.post(
    '/api/v1/notifications/:id/read',
    {
      schema: {
        summary: '标为已读 / mark as read',
        tags: ['notifications'],
        params: IdParams,
        response: { 204: z.null(), ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const row = await deps.db
        .updateTable('notifications')
        .set((eb) => ({ read_at: eb.fn.coalesce('read_at', eb.val(new Date())) }))
        .where('id', '=', request.params.id)
        .where('user_id', '=', user.id)
        .returning('id')
        .executeTakeFirst();
      if (!row) throw notFound('NOTIFICATION_NOT_FOUND', '提醒 / notification');
      return reply.status(204).send(null);
    },
  );

  r.post(
    '/api/v1/notifications/read-all',
    {
      schema: {
        summary: '全部标为已读 / mark all as read',
        tags: ['notifications'],
        response: { 200: z.object({ marked: z.number() }) },
      },
    },
    async (request) => {
      const rows = await deps.db
        .updateTable('notifications')
        .set({ read_at: new Date() })
        .where('user_id', '=', currentUser(request).id)
        .where('read_at', 'is', null)
        .returning('id')
        .execute();
      return { marked: rows.length };
    },
  );
}

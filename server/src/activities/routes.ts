import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Role } from '@ccm/db';
import { Month } from '../assessments/month';
import { currentUser } from '../auth/plugin';
import type { FeatureDeps } from '../context';
import { AppError } from '../errors';
import { decodeCursor, IdParams, iso, page, toPage, Uuid } from '../http';
import { errorResponses } from '../orders/schemas';
import { listActivities, recordActivity, voidActivity } from './service';

/** Officers, bureaus and admins record hours in their scope; the procuratorate reads. */
const READ: readonly Role[] = ['admin', 'bureau', 'officer', 'auditor'];
const WRITE: readonly Role[] = ['admin', 'bureau', 'officer'];
const TAGS = ['activities'];

const ActivityKind = z
  .enum(['education', 'community_service'])
  .describe('education 教育学习, community_service 公益活动');

const ActivityBody = z.object({
  kind: ActivityKind,
  /** China calendar day, not in the future and not before the subject's term. */
  occurredOn: z.iso.date('须为 YYYY-MM-DD 日期 / must be a YYYY-MM-DD date'),
  hours: z
    .number()
    .gt(0, '须大于 0 / must be more than 0')
    .max(24, '不能超过 24 小时 / at most 24'),
  note: z.string().trim().max(1000).optional(),
});

const ActivityView = z.object({
  id: z.string(),
  subjectId: z.string(),
  kind: ActivityKind,
  occurredOn: z.string(),
  hours: z.number(),
  note: z.string(),
  recordedBy: z.string().nullable(),
  createdAt: z.string(),
  voided: z
    .object({ at: z.string(), by: z.string().nullable(), reason: z.string() })
    .nullable()
    .describe('作废：录入有误，保留但不再计入考核 / voided: kept, no longer counted'),
});

type Row = Awaited<ReturnType<typeof recordActivity>>;
const view = (a: Row): z.infer<typeof ActivityView> => ({
  id: a.id,
  subjectId: a.subject_id,
  kind: a.kind,
  occurredOn: a.occurred_on,
  hours: a.hours,
  note: a.note,
  recordedBy: a.recorded_by,
  createdAt: iso(a.created_at),
  voided:
    a.voided_at === null
      ? null
      : { at: iso(a.voided_at), by: a.voided_by, reason: a.void_reason ?? '' },
});

export function registerActivityRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/api/v1/subjects/:id/activities',
    {
      config: { roles: WRITE },
      schema: {
        summary: '登记教育学习或公益活动 / record education or community-service hours',
        tags: TAGS,
        params: IdParams,
        body: ActivityBody,
        response: { 201: ActivityView, ...errorResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const row = await recordActivity(
        deps.db,
        currentUser(request),
        request.params.id,
        request.body,
        { ip: request.ip, now: new Date() },
      );
      return reply.status(201).send(view(row));
    },
  );

  r.post(
    '/api/v1/activities/:id/void',
    {
      config: { roles: WRITE },
      schema: {
        summary:
          '作废录入有误的记录（保留，不再计入考核）/ void a record entered wrongly (kept, no longer counted)',
        tags: TAGS,
        params: IdParams,
        body: z.object({
          reason: z
            .string()
            .trim()
            .min(2, '请说明作废原因 / give the reason')
            .max(500, '不超过 500 字 / at most 500 characters'),
        }),
        response: { 200: ActivityView, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request) =>
      view(
        await voidActivity(deps.db, currentUser(request), request.params.id, request.body.reason, {
          ip: request.ip,
          now: new Date(),
        }),
      ),
  );

  r.get(
    '/api/v1/subjects/:id/activities',
    {
      config: { roles: READ },
      schema: {
        summary:
          '教育学习与公益活动记录 / a subject’s education and community-service records (newest day first)',
        tags: TAGS,
        params: IdParams,
        querystring: z.object({
          month: Month.optional().describe('YYYY-MM, China time'),
          limit: z.coerce.number().int().min(1).max(500).default(50),
          cursor: z.string().max(200).optional(),
        }),
        response: { 200: page(ActivityView), ...errorResponses(400, 403, 404) },
      },
    },
    async (request) => {
      const q = request.query;
      let after: { occurredOn: string; id: string } | undefined;
      if (q.cursor) {
        const { value, id } = decodeCursor(q.cursor);
        if (
          typeof value !== 'string' ||
          !z.iso.date().safeParse(value).success ||
          !Uuid.safeParse(id).success
        )
          throw new AppError(400, 'BAD_CURSOR', '分页游标无效 / invalid cursor');
        after = { occurredOn: value, id };
      }
      const rows = await listActivities(deps.db, currentUser(request), request.params.id, {
        month: q.month,
        limit: q.limit,
        ...(after ? { after } : {}),
      });
      return toPage(rows, q.limit, view, (a) => [a.occurred_on, a.id]);
    },
  );
}

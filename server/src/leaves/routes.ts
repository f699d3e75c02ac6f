import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { currentUser } from '../auth/plugin';
import type { FeatureDeps } from '../context';
import { IdParams, Uuid } from '../http';
import { errorResponses } from '../orders/schemas';
import {
  approveLeave,
  cancelLeave,
  createLeave,
  CreateLeaveBody,
  DecisionBody,
  getLeave,
  LeaveStatus,
  LeaveView,
  listLeaves,
  rejectLeave,
  RejectBody,
} from './service';

/**
 * 外出审批 routes. Offices and bureaus record requests; the office approves up to 7 days, the
 * bureau longer (checked in the service); the procuratorate reads; police have no access.
 */
const READ = ['admin', 'bureau', 'officer', 'auditor'] as const;
const WRITE = ['admin', 'bureau', 'officer'] as const;
const TAGS = ['leave'];

export function registerLeaveRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const ctx = (ip: string) => ({ ip, now: new Date() });

  r.post(
    '/api/v1/subjects/:id/leaves',
    {
      config: { roles: WRITE },
      schema: {
        summary:
          '登记外出申请（≤7天司法所审批，更长由司法局审批，每次≤30天）/ record a leave request (≤ 7 days: office; longer: bureau; ≤ 30 days)',
        tags: TAGS,
        params: IdParams,
        body: CreateLeaveBody,
        response: { 201: LeaveView, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const view = await createLeave(
        deps.db,
        currentUser(request),
        request.params.id,
        request.body,
        ctx(request.ip),
      );
      return reply.status(201).send(view);
    },
  );

  r.get(
    '/api/v1/leaves',
    {
      config: { roles: READ },
      schema: {
        summary: '外出申请 / leave requests in scope (newest start first)',
        tags: TAGS,
        querystring: z.object({
          subjectId: Uuid.optional(),
          status: LeaveStatus.optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
        response: { 200: z.object({ items: z.array(LeaveView) }), ...errorResponses(400, 403) },
      },
    },
    async (request) => {
      const q = request.query;
      return {
        items: await listLeaves(deps.db, currentUser(request), {
          limit: q.limit,
          ...(q.subjectId ? { subjectId: q.subjectId } : {}),
          ...(q.status ? { status: q.status } : {}),
        }),
      };
    },
  );

  r.get(
    '/api/v1/leaves/:id',
    {
      config: { roles: READ },
      schema: {
        summary: '外出申请 / a leave request',
        tags: TAGS,
        params: IdParams,
        response: { 200: LeaveView, ...errorResponses(403, 404) },
      },
    },
    async (request) => getLeave(deps.db, currentUser(request), request.params.id),
  );

  r.post(
    '/api/v1/leaves/:id/approve',
    {
      config: { roles: WRITE },
      schema: {
        summary:
          '批准外出：增加目的地围栏并暂停县域越界规则 / approve: adds the destination zone and suspends the county exit rule',
        tags: TAGS,
        params: IdParams,
        body: DecisionBody,
        response: { 200: LeaveView, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request) =>
      approveLeave(
        deps.db,
        currentUser(request),
        request.params.id,
        request.body.note,
        ctx(request.ip),
      ),
  );

  r.post(
    '/api/v1/leaves/:id/reject',
    {
      config: { roles: WRITE },
      schema: {
        summary: '不予批准（须说明理由）/ reject, with a reason',
        tags: TAGS,
        params: IdParams,
        body: RejectBody,
        response: { 200: LeaveView, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request) =>
      rejectLeave(
        deps.db,
        currentUser(request),
        request.params.id,
        request.body.note,
        ctx(request.ip),
      ),
  );

  r.post(
    '/api/v1/leaves/:id/cancel',
    {
      config: { roles: WRITE },
      schema: {
        summary:
          '撤回申请，或提前结束已批准的外出 / withdraw a request, or end an approved leave early',
        tags: TAGS,
        params: IdParams,
        body: RejectBody,
        response: { 200: LeaveView, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request) =>
      cancelLeave(
        deps.db,
        currentUser(request),
        request.params.id,
        request.body.note,
        ctx(request.ip),
      ),
  );
}

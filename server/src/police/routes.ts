import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { currentUser } from '../auth/plugin';
import type { FeatureDeps } from '../context';
import { Uuid } from '../http';
import { TrackPoint, WindowFields, checkWindow } from '../positions/track';
import { listPositionQueries, runPositionQuery, searchQueryableSubjects } from './service';

const PositionQueryBody = z
  .object({
    subjectId: Uuid,
    ...WindowFields,
    legalBasis: z
      .string()
      .trim()
      .min(4, '须写明法律依据（至少 4 字）/ state the legal basis (at least 4 characters)')
      .max(2000),
    caseNumber: z.string().trim().min(2, '须填写案件编号 / the case number is required').max(100),
  })
  .superRefine(checkWindow);

const PositionQueryAnswer = z.object({
  id: z.string(),
  subjectId: z.string(),
  from: z.string(),
  to: z.string(),
  outcome: z.literal('answered'),
  fixesReturned: z.number(),
  points: z.array(TrackPoint),
});

const PositionQueryRecord = z.object({
  id: z.string(),
  userId: z.string(),
  username: z.string(),
  userName: z.string(),
  /** null when the subject asked for was unknown or outside the partner's jurisdiction. */
  subjectId: z.string().nullable(),
  subjectName: z.string().nullable(),
  from: z.string(),
  to: z.string(),
  legalBasis: z.string(),
  caseNumber: z.string(),
  fixesReturned: z.number(),
  outcome: z.enum(['answered', 'refused']),
  refusalReason: z.string().nullable(),
  createdAt: z.string(),
});

const QueryableSubject = z.object({
  id: z.string(),
  name: z.string(),
  idCardNoMasked: z.string(),
  jurisdictionCode: z.string(),
  jurisdictionName: z.string(),
});

/** 公安协查 routes: the police partner's position query, its log, and the subject lookup. */
export function registerPoliceRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/api/v1/police/position-queries',
    {
      config: { roles: ['police'] },
      schema: {
        summary:
          '公安协查位置 / police position query: legal basis and case number required; answered only inside monitoring orders; every query logged',
        tags: ['police'],
        body: PositionQueryBody,
        response: { 201: PositionQueryAnswer },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const answer = await runPositionQuery(
        deps.db,
        { user: currentUser(request), ip: request.ip },
        {
          subjectId: b.subjectId,
          from: new Date(b.from),
          to: new Date(b.to),
          legalBasis: b.legalBasis,
          caseNumber: b.caseNumber,
        },
      );
      return reply.status(201).send(answer);
    },
  );

  r.get(
    '/api/v1/police/position-queries',
    {
      config: { roles: ['police', 'bureau', 'auditor'] },
      schema: {
        summary:
          '协查记录 / police queries: police see their own, bureau and auditor all in scope (newest first)',
        tags: ['police'],
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(500).default(50),
          cursor: z.string().max(200).optional(),
          subjectId: Uuid.optional(),
          outcome: z.enum(['answered', 'refused']).optional(),
        }),
        response: {
          200: z.object({
            items: z.array(PositionQueryRecord),
            nextCursor: z.string().nullable(),
          }),
        },
      },
    },
    async (request) => listPositionQueries(deps.db, currentUser(request), request.query),
  );

  r.get(
    '/api/v1/police/subjects',
    {
      config: { roles: ['police'] },
      schema: {
        summary:
          '协查对象查找 / subjects in scope with an active order, by name fragment or full ID-card number',
        tags: ['police'],
        querystring: z.object({
          q: z
            .string()
            .trim()
            .min(1, '请输入姓名或身份证号 / enter a name or an ID number')
            .max(50),
          limit: z.coerce.number().int().min(1).max(100).default(20),
          cursor: z.string().max(300).optional(),
        }),
        response: {
          200: z.object({ items: z.array(QueryableSubject), nextCursor: z.string().nullable() }),
        },
      },
    },
    async (request) =>
      searchQueryableSubjects(
        deps.db,
        { user: currentUser(request), ip: request.ip },
        { ...request.query, now: new Date() },
      ),
  );
}

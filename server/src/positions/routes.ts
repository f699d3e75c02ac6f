import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Role } from '@ccm/db';
import { FIX_SOURCES } from '@ccm/contracts';
import { currentUser } from '../auth/plugin';
import type { FeatureDeps } from '../context';
import { IdParams } from '../http';
import { DEFAULT_MAX_POINTS, latestInScope, subjectTrack } from './service';
import { OrderWindow, TrackPoint, WindowFields, checkWindow } from './track';

/**
 * Positions are for community-correction work: officers, bureaus and the procuratorate read
 * them in their scope. Platform admins do not read locations; police use the audited partner
 * query (/police/position-queries).
 */
const READERS: readonly Role[] = ['officer', 'bureau', 'auditor'];

const TrackQuery = z
  .object({
    ...WindowFields,
    raw: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true')
      .describe('true: every fix, never downsampled'),
    maxPoints: z.coerce
      .number()
      .int()
      .min(2)
      .max(100_000)
      .default(DEFAULT_MAX_POINTS)
      .describe('more fixes than this are downsampled (first, last and evenly spaced kept)'),
  })
  .superRefine(checkWindow);

const TrackView = z.object({
  subjectId: z.string(),
  from: z.string(),
  to: z.string(),
  total: z.number(),
  downsampled: z.boolean(),
  orderWindows: z.array(OrderWindow),
  points: z.array(TrackPoint),
});

const LatestView = z.object({
  subjectId: z.string(),
  subjectName: z.string(),
  deviceId: z.string(),
  t: z.string(),
  lat: z.number(),
  lon: z.number(),
  accuracyM: z.number().nullable(),
  source: z.enum(FIX_SOURCES).nullable(),
  battery: z.number().nullable(),
  online: z.boolean(),
  /** Unresolved (open or acknowledged) alerts of the subject. */
  openAlerts: z.number(),
});

export function registerPositionRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/v1/subjects/:id/positions',
    {
      config: { roles: READERS },
      schema: {
        summary:
          '轨迹 / a subject’s track in a window (≤ 31 days), only inside monitoring orders; audited',
        tags: ['positions'],
        params: IdParams,
        querystring: TrackQuery,
        response: { 200: TrackView },
      },
    },
    async (request) => {
      const q = request.query;
      return subjectTrack(
        deps.db,
        { user: currentUser(request), ip: request.ip },
        request.params.id,
        { from: new Date(q.from), to: new Date(q.to) },
        { raw: q.raw, maxPoints: q.maxPoints },
      );
    },
  );

  r.get(
    '/api/v1/positions/latest',
    {
      config: { roles: READERS },
      schema: {
        summary:
          '最新位置 / latest position of every subject in scope with an active monitoring order; audited',
        tags: ['positions'],
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(5000).default(1000),
          cursor: z.string().max(200).optional(),
        }),
        response: {
          200: z.object({ items: z.array(LatestView), nextCursor: z.string().nullable() }),
        },
      },
    },
    async (request) =>
      latestInScope(
        deps.db,
        { user: currentUser(request), ip: request.ip },
        { now: new Date(), limit: request.query.limit, cursor: request.query.cursor },
      ),
  );
}

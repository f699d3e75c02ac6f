import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { currentUser } from '../auth/plugin';
import type { FeatureDeps } from '../context';
import { AppError } from '../errors';
import { decodeCursor, IdParams, page, PageQuery, toPage } from '../http';
import { errorResponses } from '../orders/schemas';
import { deleteAssignment, putAssignment, subjectZones } from './assignments';
import { dryRunZone } from './dry-run';
import { findZoneInScope, listZones } from './repository';
import {
  AssignmentBody,
  CreateZoneBody,
  DryRunBody,
  DryRunResult,
  PatchZoneBody,
  SubjectZoneParams,
  SubjectZoneView,
  ZoneListQuery,
  ZoneView,
} from './schemas';
import { createZone, deleteZone, patchZone, toZoneView, zoneNotFound } from './service';

/**
 * Zones: township offices and bureaus draw and assign them; the procuratorate reads them;
 * police partners have no access. The dry run reads positions, so it is for those who
 * supervise (officer, bureau, admin) and is audited.
 */
const READ = ['admin', 'bureau', 'officer', 'auditor'] as const;
const WRITE = ['admin', 'bureau', 'officer'] as const;
const TAGS = ['zones'];

/** A keyset cursor over (name, id). */
function nameCursor(cursor: string | undefined): { name: string; id: string } | undefined {
  if (!cursor) return undefined;
  const { value, id } = decodeCursor(cursor);
  if (typeof value !== 'string') {
    throw new AppError(400, 'BAD_CURSOR', '分页游标无效 / invalid cursor');
  }
  return { name: value, id };
}

export function registerZoneRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const ctx = (ip: string) => ({ ip, now: new Date() });

  r.get(
    '/api/v1/zones',
    {
      config: { roles: READ },
      schema: {
        summary: '电子围栏列表 / zones in scope (by name)',
        tags: TAGS,
        querystring: ZoneListQuery,
        response: { 200: page(ZoneView), ...errorResponses(400, 403) },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await listZones(
        deps.db,
        currentUser(request),
        {
          kind: q.kind,
          purpose: q.purpose,
          subjectId: q.subjectId,
          bbox: q.bbox,
          includeInactive: q.includeInactive,
        },
        { limit: q.limit, after: nameCursor(q.cursor) },
      );
      return toPage(rows, q.limit, toZoneView, (z) => [z.name, z.id]);
    },
  );

  r.get(
    '/api/v1/zones/:id',
    {
      config: { roles: READ },
      schema: {
        summary: '电子围栏 / a zone',
        tags: TAGS,
        params: IdParams,
        response: { 200: ZoneView, ...errorResponses(403, 404) },
      },
    },
    async (request) => {
      const zone = await findZoneInScope(deps.db, currentUser(request), request.params.id);
      if (!zone) throw zoneNotFound();
      return toZoneView(zone);
    },
  );

  r.post(
    '/api/v1/zones',
    {
      config: { roles: WRITE },
      schema: {
        summary: '新建电子围栏 / create a zone (GeoJSON [lon, lat], WGS-84, or a circle)',
        tags: TAGS,
        body: CreateZoneBody,
        response: { 201: ZoneView, ...errorResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const view = await createZone(deps.db, currentUser(request), request.body, ctx(request.ip));
      return reply.status(201).send(view);
    },
  );

  r.patch(
    '/api/v1/zones/:id',
    {
      config: { roles: WRITE },
      schema: {
        summary: '修改电子围栏 / change a zone (bumps its version)',
        tags: TAGS,
        params: IdParams,
        body: PatchZoneBody,
        response: { 200: ZoneView, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request) =>
      patchZone(deps.db, currentUser(request), request.params.id, request.body, ctx(request.ip)),
  );

  r.delete(
    '/api/v1/zones/:id',
    {
      config: { roles: WRITE },
      schema: {
        summary: '删除电子围栏 / delete a zone (soft: it stops applying, alerts keep it)',
        tags: TAGS,
        params: IdParams,
        response: { 204: z.null(), ...errorResponses(403, 404) },
      },
    },
    async (request, reply) => {
      await deleteZone(deps.db, currentUser(request), request.params.id, ctx(request.ip));
      return reply.status(204).send(null);
    },
  );

  r.post(
    '/api/v1/zones/dry-run',
    {
      config: { roles: WRITE },
      schema: {
        summary:
          '围栏试运行 / replay a subject’s recent track against a proposed zone: the alerts it would raise',
        tags: TAGS,
        body: DryRunBody,
        response: { 200: DryRunResult, ...errorResponses(400, 403, 404) },
      },
    },
    async (request) => dryRunZone(deps.db, currentUser(request), request.body, ctx(request.ip)),
  );

  r.get(
    '/api/v1/subjects/:id/zones',
    {
      config: { roles: READ },
      schema: {
        summary: '对象适用的围栏 / zones that apply to a subject, with schedule overrides',
        tags: TAGS,
        params: IdParams,
        querystring: PageQuery,
        response: { 200: page(SubjectZoneView), ...errorResponses(400, 403, 404) },
      },
    },
    async (request) =>
      subjectZones(deps.db, currentUser(request), request.params.id, {
        limit: request.query.limit,
        after: nameCursor(request.query.cursor),
      }),
  );

  r.put(
    '/api/v1/subjects/:id/zones/:zoneId',
    {
      config: { roles: WRITE },
      schema: {
        summary: '为对象分配围栏 / assign a zone to a subject (or replace the assignment)',
        tags: TAGS,
        params: SubjectZoneParams,
        body: AssignmentBody,
        response: {
          200: SubjectZoneView,
          201: SubjectZoneView,
          ...errorResponses(400, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const { created, view } = await putAssignment(
        deps.db,
        currentUser(request),
        { subjectId: request.params.id, zoneId: request.params.zoneId },
        request.body,
        ctx(request.ip),
      );
      return reply.status(created ? 201 : 200).send(view);
    },
  );

  r.delete(
    '/api/v1/subjects/:id/zones/:zoneId',
    {
      config: { roles: WRITE },
      schema: {
        summary: '取消分配 / remove a zone from a subject',
        tags: TAGS,
        params: SubjectZoneParams,
        response: { 204: z.null(), ...errorResponses(403, 404) },
      },
    },
    async (request, reply) => {
      await deleteAssignment(
        deps.db,
        currentUser(request),
        { subjectId: request.params.id, zoneId: request.params.zoneId },
        ctx(request.ip),
      );
      return reply.status(204).send(null);
    },
  );
}

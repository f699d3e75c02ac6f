import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { currentUser } from '../auth/plugin';
import { inScope } from '../auth/scope';
import type { FeatureDeps } from '../context';
import { audit, verifyAuditChain } from './audit';

const AuditEntryView = z.object({
  id: z.string(),
  at: z.string(),
  actorId: z.string().nullable(),
  actorUsername: z.string().nullable(),
  actorRole: z.string().nullable(),
  action: z.string(),
  resourceType: z.string().nullable(),
  resourceId: z.string().nullable(),
  jurisdictionCode: z.string().nullable(),
  detail: z.unknown(),
  ip: z.string().nullable(),
  hash: z.string(),
});

/** `/audit` (list, scoped) and `/audit/verify` (the whole chain) for admin, bureau, auditor. */
export function registerAuditRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/api/v1/audit',
    {
      config: { roles: ['admin', 'bureau', 'auditor'] },
      schema: {
        summary: '审计日志 / audit log (newest first)',
        tags: ['audit'],
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(500).default(100),
          cursor: z.string().regex(/^\d+$/).optional(),
          action: z.string().max(64).optional(),
          actorId: z.string().uuid().optional(),
          resourceId: z.string().max(128).optional(),
        }),
        response: {
          200: z.object({ items: z.array(AuditEntryView), nextCursor: z.string().nullable() }),
        },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const q = request.query;
      let query = deps.db
        .selectFrom('audit_log')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(q.limit + 1);
      // Admins see the whole trail; others the entries of their jurisdiction and below.
      if (user.role !== 'admin') query = query.where(inScope(user, 'audit_log.jurisdiction_code'));
      if (q.cursor) query = query.where('id', '<', Number(q.cursor));
      if (q.action) query = query.where('action', '=', q.action);
      if (q.actorId) query = query.where('actor_id', '=', q.actorId);
      if (q.resourceId) query = query.where('resource_id', '=', q.resourceId);
      const rows = await query.execute();
      const page = rows.slice(0, q.limit);
      return {
        items: page.map((e) => ({
          id: String(e.id),
          at: e.at.toISOString(),
          actorId: e.actor_id,
          actorUsername: e.actor_username,
          actorRole: e.actor_role,
          action: e.action,
          resourceType: e.resource_type,
          resourceId: e.resource_id,
          jurisdictionCode: e.jurisdiction_code,
          detail: e.detail,
          ip: e.ip,
          hash: e.hash,
        })),
        nextCursor: rows.length > q.limit ? String(page.at(-1)!.id) : null,
      };
    },
  );

  r.get(
    '/api/v1/audit/verify',
    {
      config: { roles: ['admin', 'bureau', 'auditor'] },
      schema: {
        summary: '校验审计链 / verify the hash chain and say where it breaks',
        tags: ['audit'],
        response: {
          200: z.object({
            ok: z.boolean(),
            entries: z.number(),
            brokenAt: z
              .object({ id: z.string(), reason: z.enum(['hash_mismatch', 'prev_hash_mismatch']) })
              .optional(),
          }),
        },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const report = await verifyAuditChain(deps.db);
      await audit(deps.db, {
        actor: user,
        action: 'audit.verify',
        detail: { ok: report.ok, entries: report.entries },
        ip: request.ip,
      });
      return {
        ok: report.ok,
        entries: report.entries,
        ...(report.brokenAt
          ? { brokenAt: { id: String(report.brokenAt.id), reason: report.brokenAt.reason } }
          : {}),
      };
    },
  );
}

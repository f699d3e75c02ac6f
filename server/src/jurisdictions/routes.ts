import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Role } from '@ccm/db';
import { audit } from '../audit/audit';
import { currentUser } from '../auth/plugin';
import type { FeatureDeps } from '../context';
import { notFound } from '../errors';
import { iso, page, PageQuery, toPage } from '../http';
import {
  getJurisdiction,
  insertJurisdiction,
  listJurisdictions,
  planJurisdiction,
  renameJurisdiction,
} from './repository';
import { JURISDICTION_CODE_PATTERN } from './shared';

/** Everyone but the police partner, who sees only its query page. */
const READ_ROLES: readonly Role[] = ['admin', 'bureau', 'officer', 'auditor'];
const WRITE_ROLES: readonly Role[] = ['admin'];

const Level = z
  .enum(['province', 'city', 'county', 'township'])
  .describe('省 province → 市 city → 县/区 county → 司法所 township office');
const JurisdictionCode = z
  .string()
  .regex(
    JURISDICTION_CODE_PATTERN,
    '辖区代码为 6 位或 9 位数字 / a jurisdiction code has 6 or 9 digits',
  );
const NameZh = z.string().trim().min(1).max(100);
const NameEn = z.string().trim().max(100);

export const JurisdictionView = z.object({
  code: z.string(),
  parentCode: z.string().nullable(),
  level: Level,
  nameZh: z.string(),
  nameEn: z.string(),
  path: z.string().describe('dotted codes from the root, e.g. 450000.450100.450103'),
  createdAt: z.string(),
});

type Row = NonNullable<Awaited<ReturnType<typeof getJurisdiction>>>;
const view = (j: Row): z.infer<typeof JurisdictionView> => ({
  code: j.code,
  parentCode: j.parent_code,
  level: j.level,
  nameZh: j.name_zh,
  nameEn: j.name_en,
  path: j.path,
  createdAt: iso(j.created_at),
});

const CodeParams = z.object({ code: JurisdictionCode });
const jurisdictionNotFound = () => notFound('JURISDICTION_NOT_FOUND', '辖区 / jurisdiction');

/** `/jurisdictions`: the tree at and below the user's node; admins add and rename nodes. */
export function registerJurisdictionRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/v1/jurisdictions',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: '辖区列表 / jurisdictions at and below your node (tree order)',
        tags: ['jurisdictions'],
        querystring: PageQuery.extend({
          parentCode: JurisdictionCode.optional(),
          level: Level.optional(),
        }),
        response: { 200: page(JurisdictionView) },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const q = request.query;
      const rows = await listJurisdictions(deps.db, user, q);
      return toPage(rows, q.limit, view, (j) => [j.path, j.code]);
    },
  );

  r.get(
    '/api/v1/jurisdictions/:code',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: '辖区详情 / one jurisdiction node',
        tags: ['jurisdictions'],
        params: CodeParams,
        response: { 200: JurisdictionView },
      },
    },
    async (request) => {
      const row = await getJurisdiction(deps.db, currentUser(request), request.params.code);
      if (!row) throw jurisdictionNotFound();
      return view(row);
    },
  );

  r.post(
    '/api/v1/jurisdictions',
    {
      config: { roles: WRITE_ROLES },
      schema: {
        summary: '新增辖区 / add a node under a parent in your scope (admin)',
        tags: ['jurisdictions'],
        body: z.object({
          code: JurisdictionCode.describe(
            'GB/T 2260: six digits for an area, nine (county code + 3) for a township office',
          ),
          parentCode: JurisdictionCode,
          level: Level.optional().describe('optional: must be the level below the parent'),
          nameZh: NameZh,
          nameEn: NameEn.optional(),
        }),
        response: { 201: JurisdictionView },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const created = await deps.db.transaction().execute(async (trx) => {
        const row = await insertJurisdiction(trx, await planJurisdiction(trx, user, request.body));
        await audit(trx, {
          actor: user,
          action: 'jurisdiction.create',
          resourceType: 'jurisdiction',
          resourceId: row.code,
          jurisdictionCode: row.code,
          detail: { parentCode: row.parent_code, level: row.level, nameZh: row.name_zh },
          ip: request.ip,
        });
        return row;
      });
      return reply.status(201).send(view(created));
    },
  );

  r.patch(
    '/api/v1/jurisdictions/:code',
    {
      config: { roles: WRITE_ROLES },
      schema: {
        summary: '修改辖区名称 / rename a node (admin)',
        tags: ['jurisdictions'],
        params: CodeParams,
        body: z
          .object({ nameZh: NameZh.optional(), nameEn: NameEn.optional() })
          .refine((b) => b.nameZh !== undefined || b.nameEn !== undefined, {
            message: '至少修改一项 / give nameZh or nameEn',
          }),
        response: { 200: JurisdictionView },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const updated = await deps.db.transaction().execute(async (trx) => {
        const before = await getJurisdiction(trx, user, request.params.code);
        if (!before) throw jurisdictionNotFound();
        const row = await renameJurisdiction(trx, before.code, request.body);
        await audit(trx, {
          actor: user,
          action: 'jurisdiction.update',
          resourceType: 'jurisdiction',
          resourceId: row.code,
          jurisdictionCode: row.code,
          detail: {
            before: { nameZh: before.name_zh, nameEn: before.name_en },
            after: { nameZh: row.name_zh, nameEn: row.name_en },
          },
          ip: request.ip,
        });
        return row;
      });
      return view(updated);
    },
  );
}

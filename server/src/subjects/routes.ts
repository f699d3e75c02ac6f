import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Role } from '@ccm/db';
import { audit } from '../audit/audit';
import { currentUser } from '../auth/plugin';
import { maskIdCard } from '../auth/scope';
import type { AuthUser } from '../auth/types';
import type { FeatureDeps } from '../context';
import { notFound } from '../errors';
import { IdParams, iso, page, PageQuery, toPage, Uuid } from '../http';
import { JURISDICTION_CODE_PATTERN } from '../jurisdictions/shared';
import { createSubject, getSubject, listSubjects, updateSubject, type SubjectRow } from './service';

const READ_ROLES: readonly Role[] = ['admin', 'bureau', 'officer', 'auditor'];
const WRITE_ROLES: readonly Role[] = ['admin', 'bureau', 'officer'];

const CorrectionType = z
  .enum(['control', 'probation', 'parole', 'temporary_outside'])
  .describe('control 管制, probation 缓刑, parole 假释, temporary_outside 暂予监外执行');
const ManagementLevel = z
  .enum(['strict', 'normal', 'lenient'])
  .describe('strict 严管, normal 普管, lenient 宽管');
const Status = z
  .enum(['active', 'absconded', 'suspended', 'ended'])
  .describe('active 在矫, absconded 脱管, suspended 中止, ended 解矫');
const Gender = z.enum(['male', 'female']);
const DateOnly = z.iso.date('须为 YYYY-MM-DD 日期 / must be a YYYY-MM-DD date');
const IdCardNo = z
  .string()
  .trim()
  .toUpperCase()
  .regex(
    /^[0-9]{17}[0-9X]$/,
    '身份证号为 18 位，末位可为 X / an ID-card number has 17 digits and a digit or X',
  );
const Name = z.string().trim().min(1).max(100);
const JurisdictionCode = z
  .string()
  .regex(JURISDICTION_CODE_PATTERN, '辖区代码为 6 位或 9 位数字 / 6 or 9 digits');
const Phone = z
  .string()
  .trim()
  .max(32)
  .regex(/^[0-9+\- ]*$/, '电话号码只含数字、+、- 和空格 / digits, +, - and spaces only');
const HomeAddress = z.string().trim().max(500);
const ReportIntervalS = z
  .number()
  .int()
  .min(5)
  .max(3600)
  .describe('reporting interval the subject’s devices are asked to keep, seconds');

export const SubjectView = z.object({
  id: z.string(),
  name: z.string(),
  idCardNo: z.string().describe('masked (4…4 with stars) unless your role needs the full number'),
  idCardMasked: z.boolean(),
  gender: Gender.nullable(),
  birthDate: z.string().nullable(),
  correctionType: CorrectionType,
  termStart: z.string(),
  termEnd: z.string(),
  jurisdictionCode: z.string(),
  managementLevel: ManagementLevel,
  status: Status,
  officerId: z.string().nullable(),
  homeAddress: z.string(),
  phone: z.string(),
  reportIntervalS: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const subjectNotFound = () => notFound('SUBJECT_NOT_FOUND', '矫正对象 / subject');

/**
 * `/subjects`: people under community correction in the caller's scope. ID-card numbers are
 * masked except for the roles in `idCardFullRoles`; reads that return them in full, and every
 * change, are audited.
 */
export function registerSubjectRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const fullId = (user: AuthUser) => deps.settings.idCardFullRoles.includes(user.role);
  const view = (s: SubjectRow, user: AuthUser): z.infer<typeof SubjectView> => ({
    id: s.id,
    name: s.name,
    idCardNo: maskIdCard(s.id_card_no, user, deps.settings.idCardFullRoles),
    idCardMasked: !fullId(user),
    gender: s.gender,
    birthDate: s.birth_date,
    correctionType: s.correction_type,
    termStart: s.term_start,
    termEnd: s.term_end,
    jurisdictionCode: s.jurisdiction_code,
    managementLevel: s.management_level,
    status: s.status,
    officerId: s.officer_id,
    homeAddress: s.home_address,
    phone: s.phone,
    reportIntervalS: s.report_interval_s,
    createdAt: iso(s.created_at),
    updatedAt: iso(s.updated_at),
  });

  r.get(
    '/api/v1/subjects',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: '矫正对象列表 / subjects in your scope (newest first)',
        tags: ['subjects'],
        querystring: PageQuery.extend({
          status: Status.optional(),
          managementLevel: ManagementLevel.optional(),
          correctionType: CorrectionType.optional(),
          jurisdictionCode: JurisdictionCode.optional().describe(
            'this node and below; must be in your scope',
          ),
          officerId: Uuid.optional(),
          q: z.string().trim().min(1).max(100).optional().describe('part of the name'),
        }),
        response: { 200: page(SubjectView) },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const q = request.query;
      const rows = await listSubjects(deps.db, user, q);
      const result = toPage(
        rows,
        q.limit,
        (s) => view(s, user),
        (s) => [s.no, s.id],
      );
      if (fullId(user) && result.items.length > 0) {
        await audit(deps.db, {
          actor: user,
          action: 'subject.read_id',
          resourceType: 'subject',
          jurisdictionCode: user.jurisdictionCode,
          detail: { subjectIds: result.items.map((s) => s.id) },
          ip: request.ip,
        });
      }
      return result;
    },
  );

  r.get(
    '/api/v1/subjects/:id',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: '矫正对象详情 / one subject',
        tags: ['subjects'],
        params: IdParams,
        response: { 200: SubjectView },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const row = await getSubject(deps.db, user, request.params.id);
      if (!row) throw subjectNotFound();
      if (fullId(user)) {
        await audit(deps.db, {
          actor: user,
          action: 'subject.read_id',
          resourceType: 'subject',
          resourceId: row.id,
          jurisdictionCode: row.jurisdiction_code,
          ip: request.ip,
        });
      }
      return view(row, user);
    },
  );

  r.post(
    '/api/v1/subjects',
    {
      config: { roles: WRITE_ROLES },
      schema: {
        summary: '登记矫正对象 / register a subject at a township office in your scope',
        tags: ['subjects'],
        body: z
          .object({
            name: Name,
            idCardNo: IdCardNo,
            gender: Gender.nullable().optional(),
            birthDate: DateOnly.nullable().optional(),
            correctionType: CorrectionType,
            termStart: DateOnly,
            termEnd: DateOnly,
            jurisdictionCode: JurisdictionCode.describe('a township office (司法所), 9 digits'),
            managementLevel: ManagementLevel.default('strict'),
            status: Status.optional(),
            officerId: Uuid.nullable()
              .optional()
              .describe('responsible officer; defaults to you when you are an officer'),
            homeAddress: HomeAddress.optional(),
            phone: Phone.optional(),
            reportIntervalS: ReportIntervalS.optional(),
          })
          .refine((b) => b.termEnd >= b.termStart, {
            path: ['termEnd'],
            message: '矫正期满日不得早于开始日 / termEnd must not be before termStart',
          }),
        response: { 201: SubjectView },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const created = await deps.db.transaction().execute(async (trx) => {
        const row = await createSubject(trx, user, request.body);
        await audit(trx, {
          actor: user,
          action: 'subject.create',
          resourceType: 'subject',
          resourceId: row.id,
          jurisdictionCode: row.jurisdiction_code,
          detail: {
            correctionType: row.correction_type,
            managementLevel: row.management_level,
            officerId: row.officer_id,
          },
          ip: request.ip,
        });
        return row;
      });
      return reply.status(201).send(view(created, user));
    },
  );

  r.patch(
    '/api/v1/subjects/:id',
    {
      config: { roles: WRITE_ROLES },
      schema: {
        summary: '修改矫正对象 / change a subject',
        tags: ['subjects'],
        params: IdParams,
        body: z
          .object({
            name: Name.optional(),
            idCardNo: IdCardNo.optional(),
            gender: Gender.nullable().optional(),
            birthDate: DateOnly.nullable().optional(),
            correctionType: CorrectionType.optional(),
            termStart: DateOnly.optional(),
            termEnd: DateOnly.optional(),
            jurisdictionCode: JurisdictionCode.optional(),
            managementLevel: ManagementLevel.optional(),
            status: Status.optional(),
            officerId: Uuid.nullable().optional(),
            homeAddress: HomeAddress.optional(),
            phone: Phone.optional(),
            reportIntervalS: ReportIntervalS.optional(),
          })
          .refine((b) => Object.values(b).some((v) => v !== undefined), {
            message: '至少修改一项 / give at least one field',
          }),
        response: { 200: SubjectView },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const updated = await deps.db.transaction().execute(async (trx) => {
        const result = await updateSubject(trx, user, request.params.id, request.body);
        if (!result) throw subjectNotFound();
        if (Object.keys(result.diff).length > 0) {
          await audit(trx, {
            actor: user,
            action: 'subject.update',
            resourceType: 'subject',
            resourceId: result.after.id,
            jurisdictionCode: result.after.jurisdiction_code,
            detail: { changes: result.diff },
            ip: request.ip,
          });
        }
        return result.after;
      });
      return view(updated, user);
    },
  );
}

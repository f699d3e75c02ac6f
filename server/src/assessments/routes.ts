import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Role } from '@ccm/db';
import { audit } from '../audit/audit';
import { currentUser } from '../auth/plugin';
import { forbidden } from '../auth/scope';
import type { FeatureDeps } from '../context';
import { AppError } from '../errors';
import { decodeCursor, encodeCursor, IdParams, isoOrNull } from '../http';
import { JURISDICTION_CODE_PATTERN, requireJurisdictionField } from '../jurisdictions/shared';
import { errorResponses } from '../orders/schemas';
import { Month, monthRange } from './month';
import {
  assessmentsOfSubject,
  eventsOf,
  findAssessmentInScope,
  findSubjectInScope,
  listAssessments,
  sanctionsOfSubject,
} from './repository';
import { AssessmentRules, DEFAULT_ASSESSMENT_RULES, ManagementLevel, Sanction } from './rules';
import { assessmentNotFound, decideAssessment, runMonthlyAssessments } from './service';
import { loadAssessmentRules, storeAssessmentRules } from './settings';
import {
  AssessmentStatus,
  AssessmentView,
  SanctionView,
  toAssessmentView,
  toSanctionView,
} from './view';

/**
 * Who may do what: officers, bureaus and admins compute and decide assessments of subjects in
 * their scope (warnings and revocation requests need the bureau, see the rules); the
 * procuratorate reads; police partners see nothing of this. The rules apply to the whole
 * platform (one province), so only the admin or a province-level bureau may change them.
 */
const READ: readonly Role[] = ['admin', 'bureau', 'officer', 'auditor'];
const WRITE: readonly Role[] = ['admin', 'bureau', 'officer'];
const RULES_WRITE: readonly Role[] = ['admin', 'bureau'];
const TAGS = ['assessments'];

const Text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, '不能为空 / must not be empty')
    .max(max, `最多 ${max} 字 / at most ${max} characters`);
const JurisdictionCode = z
  .string()
  .regex(JURISDICTION_CODE_PATTERN, '辖区代码为 6 位或 9 位数字 / 6 or 9 digits');

const RulesView = z.object({
  /** The rules in force. */
  rules: AssessmentRules,
  /** The built-in rules (what every key falls back to). */
  defaults: AssessmentRules,
  /** A stored value exists. */
  customised: z.boolean(),
  updatedBy: z.string().nullable(),
  updatedAt: z.string().nullable(),
  /** Why the stored value was ignored (it no longer parses), when it was. */
  invalid: z.string().optional(),
});

const ComputeBody = z.object({
  month: Month,
  jurisdiction: JurisdictionCode.optional().describe('this node and below; default your own'),
});
const RunSummaryView = z.object({
  month: z.string(),
  partial: z.boolean(),
  subjects: z.number().int(),
  computed: z.number().int(),
  recomputed: z.number().int(),
  unchanged: z.number().int(),
  decided: z.number().int(),
});

const ListQuery = z.object({
  month: Month,
  jurisdiction: JurisdictionCode.optional().describe('this node and below; default your own'),
  status: AssessmentStatus.optional(),
  sanction: z
    .enum(['any', 'admonition', 'warning', 'revocation_request', 'none'])
    .optional()
    .describe('recommended sanction; any = every one but none'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});

const ConfirmBody = z.object({ note: Text(2000).optional() });
const OverrideBody = z.object({
  level: ManagementLevel,
  sanction: Sanction,
  /** Why the recommendation is not followed: required. */
  reason: Text(2000),
});

export function registerAssessmentRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const db = deps.db;

  const views = async (rows: Parameters<typeof toAssessmentView>[0][]) => {
    const events = await eventsOf(
      db,
      rows.map((a) => a.id),
    );
    return rows.map((a) => toAssessmentView(a, events));
  };
  const reload = async (user: ReturnType<typeof currentUser>, id: string) => {
    const row = await findAssessmentInScope(db, user, id);
    if (!row) throw assessmentNotFound();
    return (await views([row]))[0]!;
  };
  const rulesView = async () => {
    const stored = await loadAssessmentRules(db);
    return {
      rules: stored.rules,
      defaults: DEFAULT_ASSESSMENT_RULES,
      customised: stored.customised,
      updatedBy: stored.updatedBy,
      updatedAt: isoOrNull(stored.updatedAt),
      ...(stored.invalid ? { invalid: stored.invalid } : {}),
    };
  };

  r.get(
    '/api/v1/settings/assessment',
    {
      config: { roles: READ },
      schema: {
        summary: '动态考核规则 / the monthly assessment rules in force, with the defaults',
        tags: TAGS,
        response: { 200: RulesView },
      },
    },
    async () => rulesView(),
  );

  r.put(
    '/api/v1/settings/assessment',
    {
      config: { roles: RULES_WRITE },
      schema: {
        summary:
          '修改动态考核规则 / set the assessment rules (keys left out take the defaults; admin or a province-level bureau)',
        tags: TAGS,
        body: AssessmentRules,
        response: { 200: RulesView, ...errorResponses(400, 403) },
      },
    },
    async (request) => {
      const user = currentUser(request);
      if (user.role !== 'admin' && user.jurisdictionPath.includes('.')) {
        throw forbidden(
          '考核规则全区（省）统一，仅限自治区（省）级修改 / the assessment rules apply to the whole province: only the admin or a province-level bureau may change them',
        );
      }
      const before = await loadAssessmentRules(db);
      const now = new Date();
      await db.transaction().execute(async (trx) => {
        await storeAssessmentRules(trx, request.body, user.id, now);
        await audit(trx, {
          actor: user,
          action: 'settings.assessment.update',
          resourceType: 'supervision_settings',
          resourceId: 'assessment',
          jurisdictionCode: user.jurisdictionCode,
          detail: { previous: before.customised ? before.rules : null, rules: request.body },
          ip: request.ip,
        });
      });
      return rulesView();
    },
  );

  r.post(
    '/api/v1/assessments/compute',
    {
      config: { roles: WRITE },
      schema: {
        summary:
          '计算月度考核 / compute (or bring up to date) a month’s assessments in your scope; decided ones are kept',
        tags: TAGS,
        body: ComputeBody,
        response: { 200: RunSummaryView, ...errorResponses(400, 403, 404) },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const withinPaths = [user.jurisdictionPath];
      if (request.body.jurisdiction) {
        const node = await requireJurisdictionField(
          db,
          user,
          request.body.jurisdiction,
          'jurisdiction',
        );
        withinPaths.push(node.path);
      }
      const summary = await runMonthlyAssessments(db, {
        month: request.body.month,
        nowMs: Date.now(),
        withinPaths,
      });
      await audit(db, {
        actor: user,
        action: 'assessment.compute',
        resourceType: 'assessment',
        jurisdictionCode: request.body.jurisdiction ?? user.jurisdictionCode,
        detail: { ...summary },
        ip: request.ip,
      });
      return summary;
    },
  );

  r.get(
    '/api/v1/assessments',
    {
      config: { roles: READ },
      schema: {
        summary: '月度考核列表 / a month’s assessments in your scope (by subject number)',
        tags: TAGS,
        querystring: ListQuery,
        response: {
          200: z.object({ items: z.array(AssessmentView), nextCursor: z.string().nullable() }),
          ...errorResponses(400, 403, 404),
        },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const q = request.query;
      let within = user.jurisdictionPath;
      if (q.jurisdiction) {
        within = (
          await requireJurisdictionField(db, user, q.jurisdiction, 'jurisdiction', 'querystring')
        ).path;
      }
      let afterNo: number | undefined;
      if (q.cursor) {
        const { value } = decodeCursor(q.cursor);
        if (typeof value !== 'number')
          throw new AppError(400, 'BAD_CURSOR', '分页游标无效 / invalid cursor');
        afterNo = value;
      }
      const rows = await listAssessments(db, within, {
        firstDay: monthRange(q.month).firstDay,
        status: q.status,
        sanction: q.sanction,
        limit: q.limit,
        afterNo,
      });
      const items = rows.slice(0, q.limit);
      const last = items.at(-1);
      return {
        items: await views(items),
        nextCursor: rows.length > q.limit && last ? encodeCursor(last.no, last.id) : null,
      };
    },
  );

  r.get(
    '/api/v1/assessments/:id',
    {
      config: { roles: READ },
      schema: {
        summary: '考核详情 / one assessment with its facts and history',
        tags: TAGS,
        params: IdParams,
        response: { 200: AssessmentView, ...errorResponses(403, 404) },
      },
    },
    async (request) => reload(currentUser(request), request.params.id),
  );

  r.get(
    '/api/v1/subjects/:id/assessments',
    {
      config: { roles: READ },
      schema: {
        summary:
          '对象的考核记录 / a subject’s monthly assessments with their history (newest month first)',
        tags: TAGS,
        params: IdParams,
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(120).default(24) }),
        response: {
          200: z.object({ items: z.array(AssessmentView) }),
          ...errorResponses(403, 404),
        },
      },
    },
    async (request) => {
      const subject = await findSubjectInScope(db, currentUser(request), request.params.id);
      if (!subject)
        throw new AppError(404, 'SUBJECT_NOT_FOUND', '未找到矫正对象 / subject not found');
      return {
        items: await views(await assessmentsOfSubject(db, subject.id, request.query.limit)),
      };
    },
  );

  r.post(
    '/api/v1/assessments/:id/confirm',
    {
      config: { roles: WRITE },
      schema: {
        summary: '确认考核 / confirm the recommendation: the level applies, a sanction is recorded',
        tags: TAGS,
        params: IdParams,
        body: ConfirmBody.nullish().describe('optional: a note'),
        response: { 200: AssessmentView, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request) => {
      const user = currentUser(request);
      await decideAssessment(
        db,
        user,
        request.params.id,
        { kind: 'confirm', note: request.body?.note },
        { ip: request.ip, now: new Date() },
      );
      return reload(user, request.params.id);
    },
  );

  r.post(
    '/api/v1/assessments/:id/override',
    {
      config: { roles: WRITE },
      schema: {
        summary:
          '调整考核结果 / override the recommendation with another level and sanction (reason required)',
        tags: TAGS,
        params: IdParams,
        body: OverrideBody,
        response: { 200: AssessmentView, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request) => {
      const user = currentUser(request);
      await decideAssessment(
        db,
        user,
        request.params.id,
        { kind: 'override', ...request.body },
        { ip: request.ip, now: new Date() },
      );
      return reload(user, request.params.id);
    },
  );

  r.get(
    '/api/v1/subjects/:id/sanctions',
    {
      config: { roles: READ },
      schema: {
        summary: '对象的奖惩记录 / sanctions decided for a subject (newest first)',
        tags: TAGS,
        params: IdParams,
        response: { 200: z.object({ items: z.array(SanctionView) }), ...errorResponses(403, 404) },
      },
    },
    async (request) => {
      const subject = await findSubjectInScope(db, currentUser(request), request.params.id);
      if (!subject)
        throw new AppError(404, 'SUBJECT_NOT_FOUND', '未找到矫正对象 / subject not found');
      return { items: (await sanctionsOfSubject(db, subject.id)).map(toSanctionView) };
    },
  );
}

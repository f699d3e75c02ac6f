import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Role } from '@ccm/db';
import { Month, monthRange } from '../assessments/month';
import { audit } from '../audit/audit';
import { currentUser } from '../auth/plugin';
import type { AuthUser } from '../auth/types';
import type { FeatureDeps } from '../context';
import {
  JURISDICTION_CODE_PATTERN,
  invalidField,
  requireJurisdictionField,
} from '../jurisdictions/shared';
import { errorResponses } from '../orders/schemas';
import { MonthlyReport, monthlyReport, type ReportNode } from './monthly';
import { monitoringOrderReport, ORDER_COLUMNS, OrderReport } from './orders';
import { monthlyCsv, monthlyHtml, toCsv } from './render';

/**
 * Reports a bureau sends up (月度统计报表) and the monitoring-order register. They hold
 * personal data, so every read is scoped by the caller's jurisdiction and audited. The
 * procuratorate reads them; police partners do not.
 */
const READ: readonly Role[] = ['admin', 'bureau', 'officer', 'auditor'];
const TAGS = ['reports'];

const JurisdictionCode = z
  .string()
  .regex(JURISDICTION_CODE_PATTERN, '辖区代码为 6 位或 9 位数字 / 6 or 9 digits');
const Day = z.iso.date('须为 YYYY-MM-DD 日期 / must be a YYYY-MM-DD date');

const MonthlyQuery = z.object({
  month: Month.describe('YYYY-MM, China time'),
  jurisdiction: JurisdictionCode.optional().describe('the node reported on; default your own'),
  format: z
    .enum(['json', 'csv', 'html'])
    .default('json')
    .describe('csv: UTF-8 with BOM for Excel; html: a printable page'),
});

const OrdersQuery = z.object({
  from: Day.describe('first China calendar day'),
  to: Day.describe('last China calendar day (included)'),
  jurisdiction: JurisdictionCode.optional().describe('this node and below; default your own'),
  format: z.enum(['json', 'csv']).default('json'),
});

async function nodeFor(deps: FeatureDeps, user: AuthUser, code: string | undefined) {
  const ref = await requireJurisdictionField(
    deps.db,
    user,
    code ?? user.jurisdictionCode,
    'jurisdiction',
    'querystring',
  );
  const row = await deps.db
    .selectFrom('jurisdictions')
    .select(['code', 'name_zh', 'name_en', 'level', 'path'])
    .where('code', '=', ref.code)
    .executeTakeFirstOrThrow();
  return row satisfies ReportNode;
}

function sendFile(reply: FastifyReply, type: 'csv' | 'html', name: string, body: string) {
  if (type === 'csv') {
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${name}.csv"`)
      .send(body);
  }
  return reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
    .header('x-content-type-options', 'nosniff')
    .send(body);
}

export function registerReportRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/v1/reports/monthly',
    {
      config: { roles: READ },
      schema: {
        summary:
          '月度统计报表 / the monthly report: subjects, alerts, check-ins, orders, sanctions and leave, per child jurisdiction with a total (json, csv or printable html)',
        tags: TAGS,
        querystring: MonthlyQuery,
        response: { 200: MonthlyReport, ...errorResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const q = request.query;
      const range = monthRange(q.month);
      const now = new Date();
      if (range.from > now) {
        throw invalidField('month', '月份尚未开始 / the month has not begun', 'querystring');
      }
      const node = await nodeFor(deps, user, q.jurisdiction);
      const report = await monthlyReport(deps.db, node, range, now);
      await audit(deps.db, {
        actor: user,
        action: 'report.monthly',
        resourceType: 'report',
        resourceId: `monthly:${node.code}:${q.month}`,
        jurisdictionCode: node.code,
        detail: { month: q.month, format: q.format, rows: report.rows.length },
        ip: request.ip,
      });
      if (q.format === 'json') return report;
      const name = `ccm-monthly-${node.code}-${q.month}`;
      return q.format === 'csv'
        ? sendFile(reply, 'csv', name, monthlyCsv(report))
        : sendFile(reply, 'html', name, monthlyHtml(report));
    },
  );

  r.get(
    '/api/v1/reports/monitoring-orders',
    {
      config: { roles: READ },
      schema: {
        summary:
          '电子定位决定台账 / every monitoring order overlapping the days: ground, approver, extensions, end, days used (json or csv)',
        tags: TAGS,
        querystring: OrdersQuery,
        response: { 200: OrderReport, ...errorResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const q = request.query;
      if (q.to < q.from) {
        throw invalidField('to', 'to 不得早于 from / to must not be before from', 'querystring');
      }
      const node = await nodeFor(deps, user, q.jurisdiction);
      const now = new Date();
      const report = await monitoringOrderReport(
        deps.db,
        user,
        node,
        { from: q.from, to: q.to },
        deps.settings.idCardFullRoles,
        now,
      );
      await audit(deps.db, {
        actor: user,
        action: 'report.monitoring_orders',
        resourceType: 'report',
        resourceId: `monitoring-orders:${node.code}:${q.from}:${q.to}`,
        jurisdictionCode: node.code,
        detail: {
          from: q.from,
          to: q.to,
          format: q.format,
          orders: report.items.length,
          idCardMasked: report.idCardMasked,
        },
        ip: request.ip,
      });
      if (q.format === 'json') return report;
      return sendFile(
        reply,
        'csv',
        `ccm-monitoring-orders-${node.code}-${q.from}-${q.to}`,
        toCsv(ORDER_COLUMNS, report.items),
      );
    },
  );
}

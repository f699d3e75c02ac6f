import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import type { DB } from '@ccm/db';
import { CHINA_OFFSET_MS, chinaDateTime } from '../assessments/month';
import { maskIdCard, pathWithin } from '../auth/scope';
import type { AuthUser } from '../auth/types';
import { iso, isoOrNull } from '../http';
import { extensionsOf } from '../orders/repository';
import { toOrderView } from '../orders/service';
import { LEGAL_GROUND_LABELS, ORDER_STATUS_LABELS } from './labels';
import type { Column } from './render';
import type { ReportNode } from './monthly';

/**
 * The report of monitoring orders (Art. 29) a bureau answers for: every order whose time
 * overlaps the chosen days, with its subject (ID number masked for roles that need no more),
 * legal ground, decision number, approver, start, end, approved extensions, whether it ended
 * early or expired, and the days used. The status and days are the order API's own.
 */
const Label = z.object({ zh: z.string(), en: z.string() });

export const OrderReportRow = z.object({
  orderId: z.string(),
  subjectId: z.string(),
  subjectName: z.string(),
  idCardNo: z.string(),
  jurisdictionCode: z.string(),
  jurisdictionName: z.string(),
  deviceId: z.string(),
  legalGround: z.string(),
  legalGroundLabel: Label,
  decisionNo: z.string(),
  approverName: z.string(),
  approvedAt: z.string(),
  startsAt: z.string(),
  initialEndsAt: z.string(),
  endsAt: z.string(),
  /** Approved extensions, oldest first. */
  extensions: z.array(
    z.object({
      previousEndsAt: z.string(),
      newEndsAt: z.string(),
      decidedAt: z.string().nullable(),
    }),
  ),
  status: z.enum(['pending', 'active', 'ended', 'expired']),
  statusLabel: Label,
  endedAt: z.string().nullable(),
  endReason: z.string().nullable(),
  daysUsed: z.number().int(),
});
export type OrderReportRow = z.infer<typeof OrderReportRow>;

export const OrderReport = z.object({
  jurisdiction: z.object({ code: z.string(), nameZh: z.string(), nameEn: z.string() }),
  /** China calendar days, both included. */
  from: z.string(),
  to: z.string(),
  generatedAt: z.string(),
  idCardMasked: z.boolean(),
  items: z.array(OrderReportRow),
});
export type OrderReport = z.infer<typeof OrderReport>;

/** 00:00 China time of a 'YYYY-MM-DD' day. */
const chinaMidnight = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) - CHINA_OFFSET_MS);

export async function monitoringOrderReport(
  db: Kysely<DB>,
  user: AuthUser,
  node: ReportNode,
  days: { from: string; to: string },
  idCardFullRoles: readonly string[],
  now: Date,
): Promise<OrderReport> {
  const from = chinaMidnight(days.from);
  const to = new Date(chinaMidnight(days.to).getTime() + 86_400_000);
  const orders = await db
    .selectFrom('monitoring_orders as o')
    .innerJoin('subjects as s', 's.id', 'o.subject_id')
    .innerJoin('jurisdictions as j', 'j.code', 's.jurisdiction_code')
    .selectAll('o')
    .select([
      's.jurisdiction_code',
      's.name as subject_name',
      's.id_card_no',
      'j.name_zh as jurisdiction_name',
    ])
    .where(pathWithin(node.path, 'j.path'))
    .where('o.starts_at', '<', to)
    // The order's effective end (early end or end) after the period's start; an order
    // cancelled before it started covers no time at all.
    .where(sql<boolean>`least(o.ends_at, coalesce(o.ended_at, o.ends_at)) > ${from}`)
    .where(sql<boolean>`coalesce(o.ended_at, o.ends_at) > o.starts_at`)
    .orderBy('o.starts_at')
    .orderBy('o.id')
    .execute();
  const extensions = await extensionsOf(
    db,
    orders.map((o) => o.id),
  );
  const items = orders.map((o): OrderReportRow => {
    const v = toOrderView(o, extensions, now);
    return {
      orderId: o.id,
      subjectId: o.subject_id,
      subjectName: o.subject_name,
      idCardNo: maskIdCard(o.id_card_no, user, idCardFullRoles),
      jurisdictionCode: o.jurisdiction_code,
      jurisdictionName: o.jurisdiction_name,
      deviceId: o.device_id,
      legalGround: o.legal_ground,
      legalGroundLabel: LEGAL_GROUND_LABELS[o.legal_ground] ?? {
        zh: o.legal_ground,
        en: o.legal_ground,
      },
      decisionNo: o.decision_no,
      approverName: o.approver_name,
      approvedAt: iso(o.approved_at),
      startsAt: iso(o.starts_at),
      initialEndsAt: iso(o.initial_ends_at),
      endsAt: iso(o.ends_at),
      extensions: v.extensions
        .filter((e) => e.status === 'approved')
        .reverse()
        .map((e) => ({
          previousEndsAt: e.previousEndsAt,
          newEndsAt: e.newEndsAt,
          decidedAt: e.decidedAt,
        })),
      status: v.status,
      statusLabel: ORDER_STATUS_LABELS[v.status]!,
      endedAt: isoOrNull(o.ended_at),
      endReason: o.end_reason,
      daysUsed: v.daysUsed,
    };
  });
  return {
    jurisdiction: { code: node.code, nameZh: node.name_zh, nameEn: node.name_en },
    from: days.from,
    to: days.to,
    generatedAt: now.toISOString(),
    idCardMasked: !idCardFullRoles.includes(user.role),
    items,
  };
}

const at = (s: string | null) => (s ? chinaDateTime(new Date(s)) : null);

export const ORDER_COLUMNS: Column<OrderReportRow>[] = [
  { key: 'decisionNo', zh: '决定文书编号', en: 'Decision no.', value: (r) => r.decisionNo },
  { key: 'subjectName', zh: '矫正对象', en: 'Subject', value: (r) => r.subjectName },
  { key: 'idCardNo', zh: '身份证号', en: 'ID card no.', value: (r) => r.idCardNo },
  { key: 'jurisdictionName', zh: '司法所', en: 'Office', value: (r) => r.jurisdictionName },
  { key: 'deviceId', zh: '设备编号', en: 'Device', value: (r) => r.deviceId },
  {
    key: 'legalGround',
    zh: '适用情形',
    en: 'Legal ground',
    value: (r) => `${r.legalGroundLabel.zh} / ${r.legalGroundLabel.en}`,
  },
  { key: 'approverName', zh: '批准人', en: 'Approver', value: (r) => r.approverName },
  { key: 'approvedAt', zh: '批准时间', en: 'Approved at', value: (r) => at(r.approvedAt) },
  { key: 'startsAt', zh: '开始时间', en: 'Start', value: (r) => at(r.startsAt) },
  { key: 'initialEndsAt', zh: '原定结束', en: 'Initial end', value: (r) => at(r.initialEndsAt) },
  { key: 'endsAt', zh: '结束时间', en: 'End', value: (r) => at(r.endsAt) },
  { key: 'extensions', zh: '延期次数', en: 'Extensions', value: (r) => r.extensions.length },
  {
    key: 'extensionDetail',
    zh: '延期明细',
    en: 'Extension detail',
    value: (r) =>
      r.extensions.map((e) => `${at(e.previousEndsAt)} → ${at(e.newEndsAt)}`).join('; '),
  },
  {
    key: 'status',
    zh: '状态',
    en: 'Status',
    value: (r) => `${r.statusLabel.zh} / ${r.statusLabel.en}`,
  },
  { key: 'endedAt', zh: '解除时间', en: 'Ended at', value: (r) => at(r.endedAt) },
  { key: 'endReason', zh: '解除原因', en: 'End reason', value: (r) => r.endReason },
  { key: 'daysUsed', zh: '已用天数', en: 'Days used', value: (r) => r.daysUsed },
];

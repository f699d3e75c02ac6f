import { z } from 'zod';
import { ErrorResponse } from '../app';
import { IsoTime } from '../http';

/** Error answers for the OpenAPI document: `{"error":{"code","message"}}`. */
export function errorResponses<const C extends readonly (400 | 403 | 404 | 409)[]>(...codes: C) {
  return Object.fromEntries(codes.map((c) => [c, ErrorResponse])) as Record<
    C[number],
    typeof ErrorResponse
  >;
}

/**
 * The five grounds of Community Corrections Law Art. 29 for electronic positioning; the
 * database refuses anything else.
 */
export const LegalGround = z
  .enum([
    'prohibition_order_violation',
    'left_without_approval',
    'warned_refusing_report',
    'public_security_penalty',
    'pending_revocation',
  ])
  .describe(
    'prohibition_order_violation 违反禁止令; left_without_approval 未经批准离开所居住市县; ' +
      'warned_refusing_report 拒不报告被警告; public_security_penalty 受治安管理处罚; ' +
      'pending_revocation 拟提请撤销缓刑/假释/暂予监外执行',
  );
export type LegalGround = z.infer<typeof LegalGround>;

export const OrderStatus = z
  .enum(['pending', 'active', 'ended', 'expired'])
  .describe('pending: before startsAt; active; ended: ended early; expired: endsAt passed');
export type OrderStatus = z.infer<typeof OrderStatus>;

export const ExtensionStatus = z.enum(['pending', 'approved', 'rejected']);

export const DeviceId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{3,64}$/, '设备编号格式无效 / invalid device id');

const Text = (max: number) => z.string().trim().min(1).max(max);

export const CreateOrderBody = z.object({
  deviceId: DeviceId,
  legalGround: LegalGround,
  /** The facts behind the ground (e.g. the date and place of the unapproved departure). */
  groundDetail: Text(2000),
  /** 审批文书编号: number of the approval document. */
  decisionNo: Text(100),
  /** The county bureau head who approved (Art. 29). */
  approverName: Text(100),
  approvedAt: IsoTime,
  startsAt: IsoTime,
  /** At most 3 calendar months after startsAt (PostgreSQL `+ interval '3 months'`). */
  endsAt: IsoTime,
});
export type CreateOrderBody = z.infer<typeof CreateOrderBody>;

export const EndOrderBody = z.object({
  /** Why positioning is no longer needed (Art. 29: ended as soon as it is not). */
  reason: Text(2000),
});

export const ExtensionRequestBody = z.object({
  /** The new end: after the current end and at most 3 calendar months after it. */
  newEndsAt: IsoTime,
  reason: Text(2000),
});

export const ApproveExtensionBody = z.object({ note: Text(2000).optional() });
export const RejectExtensionBody = z.object({ note: Text(2000) });

export const ExtensionParams = z.object({
  id: z.string().uuid('必须是 UUID / must be a UUID'),
  extId: z.string().uuid('必须是 UUID / must be a UUID'),
});

export const ExtensionView = z.object({
  id: z.string(),
  orderId: z.string(),
  previousEndsAt: z.string(),
  newEndsAt: z.string(),
  reason: z.string(),
  status: ExtensionStatus,
  requestedBy: z.string().nullable(),
  requestedAt: z.string(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  decisionNote: z.string().nullable(),
});
export type ExtensionView = z.infer<typeof ExtensionView>;

export const OrderView = z.object({
  id: z.string(),
  subjectId: z.string(),
  deviceId: z.string(),
  /** The subject's jurisdiction (orders are scoped by it). */
  jurisdictionCode: z.string(),
  legalGround: LegalGround,
  groundDetail: z.string(),
  decisionNo: z.string(),
  approverName: z.string(),
  approvedAt: z.string(),
  startsAt: z.string(),
  initialEndsAt: z.string(),
  /** Current end: moves only by approved extensions. */
  endsAt: z.string(),
  /** Set when ended early. */
  endedAt: z.string().nullable(),
  endReason: z.string().nullable(),
  status: OrderStatus,
  /** Whole days until the end, rounded up; 0 once ended or expired. */
  daysLeft: z.number().int(),
  /** Whole days since the start, rounded down; 0 while pending. */
  daysUsed: z.number().int(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Newest first. */
  extensions: z.array(ExtensionView),
});
export type OrderView = z.infer<typeof OrderView>;

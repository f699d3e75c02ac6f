import type { Kysely, Transaction } from 'kysely';
import type { DB } from '@ccm/db';
import { audit } from '../audit/audit';
import type { AuthUser } from '../auth/types';
import { AppError } from '../errors';
import { iso, isoOrNull } from '../http';
import {
  extensionsOf,
  findDeviceInScope,
  findExtension,
  findOrderInScope,
  findSubjectInScope,
  lockOrderKeys,
  overlappingOrder,
  pendingExtensionOf,
  threeMonthsAfter,
  type ExtensionRow,
  type OrderRow,
} from './repository';
import type { CreateOrderBody, ExtensionView, OrderStatus, OrderView } from './schemas';

/**
 * Electronic-positioning orders (Community Corrections Law Art. 29): one of five grounds,
 * approved by the county bureau head, at most 3 months, each extension approved again and
 * at most 3 months, ended as soon as no longer needed. The device gateway stores positions
 * only inside [starts_at, min(ends_at, ended_at)) and reloads orders on every change
 * (NOTIFY ccm_config from a trigger).
 */

const DAY_MS = 86_400_000;
/** Clock skew tolerated on `approvedAt` (a decision cannot be approved in the future). */
const APPROVAL_SKEW_MS = 5 * 60_000;

export interface RequestContext {
  ip: string;
  now: Date;
}

export const subjectNotFound = () =>
  new AppError(404, 'SUBJECT_NOT_FOUND', '未找到矫正对象 / subject not found');
export const orderNotFound = () =>
  new AppError(404, 'ORDER_NOT_FOUND', '未找到电子定位决定 / monitoring order not found');
const deviceNotFound = () => new AppError(404, 'DEVICE_NOT_FOUND', '未找到设备 / device not found');
const extensionNotFound = () =>
  new AppError(404, 'EXTENSION_NOT_FOUND', '未找到延期申请 / extension request not found');

const badInput = (code: string, field: string, message: string, details?: object) =>
  new AppError(400, code, message, { field, ...details });

/**
 * `ended` when ended before its end (early end); `expired` once the end has passed (or an
 * expiry job set ended_at at the end); `pending` before the start.
 */
export function orderStatus(
  o: Pick<OrderRow, 'starts_at' | 'ends_at' | 'ended_at'>,
  now: Date,
): OrderStatus {
  if (o.ended_at) return o.ended_at < o.ends_at ? 'ended' : 'expired';
  if (now < o.starts_at) return 'pending';
  if (now >= o.ends_at) return 'expired';
  return 'active';
}

export function toExtensionView(e: ExtensionRow): ExtensionView {
  return {
    id: e.id,
    orderId: e.order_id,
    previousEndsAt: iso(e.previous_ends_at),
    newEndsAt: iso(e.new_ends_at),
    reason: e.reason,
    status: e.status,
    requestedBy: e.requested_by,
    requestedAt: iso(e.requested_at),
    decidedBy: e.decided_by,
    decidedAt: isoOrNull(e.decided_at),
    decisionNote: e.decision_note,
  };
}

export function toOrderView(o: OrderRow, extensions: ExtensionRow[], now: Date): OrderView {
  const status = orderStatus(o, now);
  const end = o.ended_at && o.ended_at < o.ends_at ? o.ended_at : o.ends_at;
  const usedUntil = Math.min(now.getTime(), end.getTime());
  const daysUsed =
    status === 'pending'
      ? 0
      : Math.max(0, Math.floor((usedUntil - o.starts_at.getTime()) / DAY_MS));
  const daysLeft =
    status === 'ended' || status === 'expired'
      ? 0
      : Math.ceil((o.ends_at.getTime() - Math.max(now.getTime(), o.starts_at.getTime())) / DAY_MS);
  return {
    id: o.id,
    subjectId: o.subject_id,
    deviceId: o.device_id,
    jurisdictionCode: o.jurisdiction_code,
    legalGround: o.legal_ground,
    groundDetail: o.ground_detail,
    decisionNo: o.decision_no,
    approverName: o.approver_name,
    approvedAt: iso(o.approved_at),
    startsAt: iso(o.starts_at),
    initialEndsAt: iso(o.initial_ends_at),
    endsAt: iso(o.ends_at),
    endedAt: isoOrNull(o.ended_at),
    endReason: o.end_reason,
    status,
    daysLeft,
    daysUsed,
    createdBy: o.created_by,
    createdAt: iso(o.created_at),
    updatedAt: iso(o.updated_at),
    extensions: extensions.filter((e) => e.order_id === o.id).map(toExtensionView),
  };
}

/** Orders with their extensions, as the API shows them. */
export async function orderViews(
  db: Kysely<DB> | Transaction<DB>,
  orders: OrderRow[],
  now: Date,
): Promise<OrderView[]> {
  const extensions = await extensionsOf(
    db,
    orders.map((o) => o.id),
  );
  return orders.map((o) => toOrderView(o, extensions, now));
}

async function reloadView(
  trx: Transaction<DB>,
  user: AuthUser,
  orderId: string,
  now: Date,
): Promise<OrderView> {
  const order = await findOrderInScope(trx, user, orderId);
  if (!order) throw orderNotFound();
  const [view] = await orderViews(trx, [order], now);
  return view!;
}

async function refuseOverlap(
  trx: Transaction<DB>,
  order: { deviceId: string; subjectId: string },
  window: { from: Date; to: Date },
  exceptOrderId?: string,
): Promise<void> {
  const device = await overlappingOrder(trx, { deviceId: order.deviceId }, window, exceptOrderId);
  if (device) {
    throw new AppError(
      409,
      'DEVICE_IN_ORDER',
      `该设备在此期间已用于另一电子定位决定 / device ${order.deviceId} is already in another monitoring order overlapping ${iso(window.from)} – ${iso(window.to)}`,
    );
  }
  const subject = await overlappingOrder(
    trx,
    { subjectId: order.subjectId },
    window,
    exceptOrderId,
  );
  if (subject) {
    throw new AppError(
      409,
      'SUBJECT_IN_ORDER',
      `该矫正对象在此期间已有电子定位决定 / the subject already has a monitoring order overlapping ${iso(window.from)} – ${iso(window.to)}`,
      { orderId: subject.id },
    );
  }
}

/** Records an approved order for a subject and device in the user's scope. */
export async function createOrder(
  db: Kysely<DB>,
  user: AuthUser,
  subjectId: string,
  input: CreateOrderBody,
  ctx: RequestContext,
): Promise<OrderView> {
  const approvedAt = new Date(input.approvedAt);
  const startsAt = new Date(input.startsAt);
  const endsAt = new Date(input.endsAt);
  return db.transaction().execute(async (trx) => {
    const subject = await findSubjectInScope(trx, user, subjectId);
    if (!subject) throw subjectNotFound();
    const device = await findDeviceInScope(trx, user, input.deviceId);
    if (!device) throw deviceNotFound();

    if (endsAt <= startsAt) {
      throw badInput(
        'ORDER_INVALID_WINDOW',
        'endsAt',
        '结束时间须晚于开始时间 / endsAt must be after startsAt',
      );
    }
    if (approvedAt.getTime() > ctx.now.getTime() + APPROVAL_SKEW_MS) {
      throw badInput(
        'APPROVAL_IN_FUTURE',
        'approvedAt',
        '批准时间不能晚于当前时间 / approvedAt cannot be in the future',
      );
    }
    if (startsAt < approvedAt) {
      throw badInput(
        'ORDER_STARTS_BEFORE_APPROVAL',
        'startsAt',
        '电子定位不得早于批准时间开始 / startsAt cannot be before approvedAt: positioning needs the approval first',
      );
    }
    if (endsAt <= ctx.now) {
      throw badInput(
        'ORDER_IN_PAST',
        'endsAt',
        '结束时间已过，不能登记已结束的决定 / endsAt has passed: an order that is already over cannot be recorded',
      );
    }
    const maxEndsAt = await threeMonthsAfter(trx, startsAt);
    if (endsAt > maxEndsAt) {
      throw badInput(
        'ORDER_TOO_LONG',
        'endsAt',
        `电子定位期限不得超过三个月，自 ${iso(startsAt)} 开始的决定最晚于 ${iso(maxEndsAt)} 结束 / ` +
          `endsAt: an electronic-positioning order lasts at most 3 months; one starting ${iso(startsAt)} must end by ${iso(maxEndsAt)}`,
        { maxEndsAt: iso(maxEndsAt) },
      );
    }
    if (subject.status === 'ended') {
      throw new AppError(
        409,
        'SUBJECT_ENDED',
        '该矫正对象的社区矫正已终止 / the subject’s community correction has ended',
      );
    }
    if (device.status === 'retired') {
      throw new AppError(409, 'DEVICE_RETIRED', '设备已报废 / the device is retired');
    }

    await lockOrderKeys(trx, { deviceId: device.id, subjectId: subject.id });
    await refuseOverlap(
      trx,
      { deviceId: device.id, subjectId: subject.id },
      { from: startsAt, to: endsAt },
    );

    const row = await trx
      .insertInto('monitoring_orders')
      .values({
        subject_id: subject.id,
        device_id: device.id,
        legal_ground: input.legalGround,
        ground_detail: input.groundDetail,
        decision_no: input.decisionNo,
        approver_name: input.approverName,
        approved_at: approvedAt,
        starts_at: startsAt,
        initial_ends_at: endsAt,
        ends_at: endsAt,
        created_by: user.id,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await audit(trx, {
      actor: user,
      action: 'monitoring_order.create',
      resourceType: 'monitoring_order',
      resourceId: row.id,
      jurisdictionCode: subject.jurisdiction_code,
      detail: {
        subjectId: subject.id,
        deviceId: device.id,
        legalGround: input.legalGround,
        decisionNo: input.decisionNo,
        approverName: input.approverName,
        approvedAt: iso(approvedAt),
        startsAt: iso(startsAt),
        endsAt: iso(endsAt),
      },
      ip: ctx.ip,
    });
    return reloadView(trx, user, row.id, ctx.now);
  });
}

/**
 * Ends an order early (Art. 29: as soon as it is no longer needed). A pending order is
 * cancelled (ended at its start, so it never covers any time); open extension requests are
 * rejected with it.
 */
export async function endOrder(
  db: Kysely<DB>,
  user: AuthUser,
  orderId: string,
  reason: string,
  ctx: RequestContext,
): Promise<OrderView> {
  return db.transaction().execute(async (trx) => {
    const order = await findOrderInScope(trx, user, orderId, { forUpdate: true });
    if (!order) throw orderNotFound();
    const status = orderStatus(order, ctx.now);
    if (status === 'ended' || status === 'expired') {
      throw new AppError(
        409,
        'ORDER_NOT_ACTIVE',
        `该决定已${status === 'ended' ? '解除' : '到期'} / the order has already ${status === 'ended' ? 'ended' : 'expired'}`,
      );
    }
    const endedAt = status === 'pending' ? order.starts_at : ctx.now;
    await trx
      .updateTable('monitoring_orders')
      .set({ ended_at: endedAt, end_reason: reason, updated_at: ctx.now })
      .where('id', '=', order.id)
      .execute();
    const closed = await trx
      .updateTable('monitoring_order_extensions')
      .set({
        status: 'rejected',
        decided_by: user.id,
        decided_at: ctx.now,
        decision_note: '决定已解除 / the order was ended',
      })
      .where('order_id', '=', order.id)
      .where('status', '=', 'pending')
      .returning('id')
      .execute();
    await audit(trx, {
      actor: user,
      action: 'monitoring_order.end',
      resourceType: 'monitoring_order',
      resourceId: order.id,
      jurisdictionCode: order.jurisdiction_code,
      detail: {
        subjectId: order.subject_id,
        deviceId: order.device_id,
        reason,
        endedAt: iso(endedAt),
        wasStatus: status,
        rejectedExtensions: closed.map((c) => c.id),
      },
      ip: ctx.ip,
    });
    return reloadView(trx, user, order.id, ctx.now);
  });
}

/** Asks for a new end at most 3 months after the current one; the bureau decides. */
export async function requestExtension(
  db: Kysely<DB>,
  user: AuthUser,
  orderId: string,
  input: { newEndsAt: string; reason: string },
  ctx: RequestContext,
): Promise<ExtensionView> {
  const newEndsAt = new Date(input.newEndsAt);
  return db.transaction().execute(async (trx) => {
    const order = await findOrderInScope(trx, user, orderId, { forUpdate: true });
    if (!order) throw orderNotFound();
    const status = orderStatus(order, ctx.now);
    if (status === 'ended' || status === 'expired') {
      throw new AppError(
        409,
        'ORDER_NOT_ACTIVE',
        '已解除或到期的决定不能延期，请重新作出决定 / an ended or expired order cannot be extended: record a new order',
      );
    }
    if (await pendingExtensionOf(trx, order.id)) {
      throw new AppError(
        409,
        'EXTENSION_PENDING',
        '已有待审批的延期申请 / an extension request is already waiting for a decision',
      );
    }
    if (newEndsAt <= order.ends_at) {
      throw badInput(
        'EXTENSION_NOT_LATER',
        'newEndsAt',
        `延期后的结束时间须晚于当前结束时间 ${iso(order.ends_at)} / newEndsAt must be after the current end ${iso(order.ends_at)}`,
      );
    }
    const maxEndsAt = await threeMonthsAfter(trx, order.ends_at);
    if (newEndsAt > maxEndsAt) {
      throw badInput(
        'EXTENSION_TOO_LONG',
        'newEndsAt',
        `每次延期不得超过三个月，最晚至 ${iso(maxEndsAt)} / newEndsAt: each extension is at most 3 months, ` +
          `so the order can end by ${iso(maxEndsAt)} at the latest`,
        { maxEndsAt: iso(maxEndsAt) },
      );
    }
    const row = await trx
      .insertInto('monitoring_order_extensions')
      .values({
        order_id: order.id,
        previous_ends_at: order.ends_at,
        new_ends_at: newEndsAt,
        reason: input.reason,
        requested_by: user.id,
        requested_at: ctx.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(trx, {
      actor: user,
      action: 'monitoring_order.extension_request',
      resourceType: 'monitoring_order',
      resourceId: order.id,
      jurisdictionCode: order.jurisdiction_code,
      detail: {
        extensionId: row.id,
        subjectId: order.subject_id,
        previousEndsAt: iso(order.ends_at),
        newEndsAt: iso(newEndsAt),
        reason: input.reason,
      },
      ip: ctx.ip,
    });
    return toExtensionView(row);
  });
}

/** The bureau's decision on an extension request; approval moves the order's end. */
export async function decideExtension(
  db: Kysely<DB>,
  user: AuthUser,
  ids: { orderId: string; extensionId: string },
  decision: { approve: boolean; note?: string | undefined },
  ctx: RequestContext,
): Promise<OrderView> {
  return db.transaction().execute(async (trx) => {
    const order = await findOrderInScope(trx, user, ids.orderId, { forUpdate: true });
    if (!order) throw orderNotFound();
    const extension = await findExtension(trx, order.id, ids.extensionId, { forUpdate: true });
    if (!extension) throw extensionNotFound();
    if (extension.status !== 'pending') {
      throw new AppError(
        409,
        'EXTENSION_DECIDED',
        `该延期申请已${extension.status === 'approved' ? '批准' : '驳回'} / the extension request was already ${extension.status}`,
      );
    }
    if (decision.approve) {
      const status = orderStatus(order, ctx.now);
      if (status === 'ended' || status === 'expired') {
        throw new AppError(
          409,
          'ORDER_NOT_ACTIVE',
          '决定已解除或到期，不能批准延期，请重新作出决定 / the order has ended or expired: record a new order instead',
        );
      }
      if (order.ends_at.getTime() !== extension.previous_ends_at.getTime()) {
        throw new AppError(
          409,
          'EXTENSION_STALE',
          '决定的结束时间已变更，请重新申请 / the order’s end changed since this request: request again',
        );
      }
      await lockOrderKeys(trx, { deviceId: order.device_id, subjectId: order.subject_id });
      await refuseOverlap(
        trx,
        { deviceId: order.device_id, subjectId: order.subject_id },
        { from: order.ends_at, to: extension.new_ends_at },
        order.id,
      );
      await trx
        .updateTable('monitoring_orders')
        .set({ ends_at: extension.new_ends_at, updated_at: ctx.now })
        .where('id', '=', order.id)
        .execute();
    }
    await trx
      .updateTable('monitoring_order_extensions')
      .set({
        status: decision.approve ? 'approved' : 'rejected',
        decided_by: user.id,
        decided_at: ctx.now,
        decision_note: decision.note ?? null,
      })
      .where('id', '=', extension.id)
      .execute();
    await audit(trx, {
      actor: user,
      action: decision.approve
        ? 'monitoring_order.extension_approve'
        : 'monitoring_order.extension_reject',
      resourceType: 'monitoring_order',
      resourceId: order.id,
      jurisdictionCode: order.jurisdiction_code,
      detail: {
        extensionId: extension.id,
        subjectId: order.subject_id,
        previousEndsAt: iso(extension.previous_ends_at),
        newEndsAt: iso(extension.new_ends_at),
        ...(decision.note ? { note: decision.note } : {}),
      },
      ip: ctx.ip,
    });
    return reloadView(trx, user, order.id, ctx.now);
  });
}

import type { Kysely } from 'kysely';
import type { DB } from '@ccm/db';
import { audit } from '../audit/audit';
import { notify, recipientsFor } from '../notifications/notify';

/**
 * Monitoring-order lifecycle (Art. 29): reminders before the end, and the end itself. The
 * gateway stores a device's fixes as a subject's positions only inside an order's window, so
 * tracking stops at `ends_at` on its own; marking the order ended here makes it visible
 * (status, reports) and lets the officer know.
 */
const DAY_MS = 86_400_000;
const REMIND_DAYS = [7, 1] as const;

export async function orderReminders(db: Kysely<DB>, nowMs: number): Promise<number> {
  const now = new Date(nowMs);
  let sent = 0;
  for (const days of REMIND_DAYS) {
    const orders = await db
      .selectFrom('monitoring_orders')
      .select(['id', 'subject_id', 'ends_at', 'decision_no'])
      .where('ended_at', 'is', null)
      .where('starts_at', '<=', now)
      .where('ends_at', '>', now)
      .where('ends_at', '<=', new Date(nowMs + days * DAY_MS))
      .execute();
    for (const o of orders) {
      const left = Math.max(0, Math.ceil((o.ends_at.getTime() - nowMs) / DAY_MS));
      sent += await notify(db, await recipientsFor(db, o.subject_id), {
        kind: 'order_expiring',
        title: `电子定位决定将于 ${left} 天内到期 / monitoring order ends within ${left} day(s)`,
        body:
          `决定书 ${o.decision_no || '—'}，到期 ${o.ends_at.toISOString()}；如仍需要请申请延期（每次不超过三个月）/ ` +
          `order ${o.decision_no || '—'} ends ${o.ends_at.toISOString()}; request an extension (at most 3 months) if still needed`,
        subjectId: o.subject_id,
        refId: o.id,
        // An extension moves ends_at, which arms the reminders again.
        dedupeKey: `order_expiring:${o.id}:${days}:${o.ends_at.toISOString()}`,
      });
    }
  }
  return sent;
}

/** Orders whose end has passed: ended as expired (audited), with a notice to the officer. */
export async function expireOrders(db: Kysely<DB>, nowMs: number): Promise<number> {
  const now = new Date(nowMs);
  const expired = await db
    .updateTable('monitoring_orders')
    .set((eb) => ({
      ended_at: eb.ref('ends_at'),
      end_reason: '期满自动解除 / expired at its end',
      updated_at: now,
    }))
    .where('ended_at', 'is', null)
    .where('ends_at', '<=', now)
    .returning(['id', 'subject_id', 'ends_at', 'device_id'])
    .execute();
  for (const o of expired) {
    const subject = await db
      .selectFrom('subjects')
      .select('jurisdiction_code')
      .where('id', '=', o.subject_id)
      .executeTakeFirst();
    await audit(db, {
      actor: null,
      action: 'monitoring_order.expire',
      resourceType: 'monitoring_order',
      resourceId: o.id,
      jurisdictionCode: subject?.jurisdiction_code ?? null,
      detail: { subjectId: o.subject_id, deviceId: o.device_id, endsAt: o.ends_at.toISOString() },
    });
    // Extension requests still open can no longer be granted.
    await db
      .updateTable('monitoring_order_extensions')
      .set({
        status: 'rejected',
        decided_at: now,
        decision_note: '决定已到期 / the order expired',
      })
      .where('order_id', '=', o.id)
      .where('status', '=', 'pending')
      .execute();
    await notify(db, await recipientsFor(db, o.subject_id), {
      kind: 'order_expired',
      title: '电子定位决定已到期，定位已停止 / monitoring order expired: tracking stopped',
      body: `到期 ${o.ends_at.toISOString()} / ended ${o.ends_at.toISOString()}`,
      subjectId: o.subject_id,
      refId: o.id,
      dedupeKey: `order_expired:${o.id}`,
    });
  }
  return expired.length;
}

import { sql, type Kysely, type Transaction } from 'kysely';
import type { Alert, DB } from '@ccm/db';
import { audit } from '../audit/audit';
import type { AuthUser } from '../auth/types';
import { AppError, notFound } from '../errors';
import { findAlertInScope, findAssignee, recordAlertChanges, type AlertChange } from './repository';
import { TAMPER_TYPES, type Resolution } from './view';

/**
 * The officers' workflow on alerts the rules engine raised: acknowledge, assign, note,
 * resolve; and the escalation of unattended critical alerts to the county bureau. Every
 * change writes its history row, an outbox row and an audit entry in one transaction.
 */

const alertNotFound = () => notFound('ALERT_NOT_FOUND', '告警 / alert');
const alreadyResolved = () =>
  new AppError(409, 'ALERT_ALREADY_RESOLVED', '告警已处置完毕 / the alert is already resolved');

const AUDIT_ACTION: Record<AlertChange['action'], string> = {
  acknowledged: 'alert.acknowledge',
  assigned: 'alert.assign',
  note: 'alert.note',
  resolved: 'alert.resolve',
  escalated: 'alert.escalate',
};

export interface Actor {
  user: AuthUser;
  ip?: string | undefined;
}

/** Locks the alert in scope, lets `change` decide and update it, then records the change. */
async function changeAlert(
  db: Kysely<DB>,
  actor: Actor,
  alertId: string,
  change: (
    trx: Transaction<DB>,
    alert: Alert,
    now: Date,
  ) => Promise<{
    alert: Alert;
    event: Pick<AlertChange, 'action' | 'note' | 'data'>;
    auditDetail: Record<string, unknown>;
  }>,
): Promise<Alert> {
  return db.transaction().execute(async (trx) => {
    const current = await findAlertInScope(trx, actor.user, alertId, { forUpdate: true });
    if (!current) throw alertNotFound();
    const now = new Date();
    const { alert, event, auditDetail } = await change(trx, current, now);
    await recordAlertChanges(trx, [
      {
        ...event,
        alertId: alert.id,
        jurisdictionCode: alert.jurisdiction_code,
        subjectId: alert.subject_id,
        actorId: actor.user.id,
        at: now,
      },
    ]);
    await audit(trx, {
      actor: actor.user,
      action: AUDIT_ACTION[event.action],
      resourceType: 'alert',
      resourceId: alert.id,
      jurisdictionCode: alert.jurisdiction_code,
      detail: { type: alert.type, subjectId: alert.subject_id, ...auditDetail },
      ip: actor.ip ?? null,
    });
    return alert;
  });
}

/** open → acknowledged. Acknowledging twice, or a resolved alert, is a conflict. */
export function acknowledgeAlert(db: Kysely<DB>, actor: Actor, alertId: string) {
  return changeAlert(db, actor, alertId, async (trx, current, now) => {
    if (current.status === 'resolved') throw alreadyResolved();
    if (current.status === 'acknowledged')
      throw new AppError(
        409,
        'ALERT_ALREADY_ACKNOWLEDGED',
        '告警已被确认 / the alert is already acknowledged',
      );
    const alert = await trx
      .updateTable('alerts')
      .set({
        status: 'acknowledged',
        acknowledged_at: now,
        acknowledged_by: actor.user.id,
        updated_at: now,
      })
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { alert, event: { action: 'acknowledged' }, auditDetail: {} };
  });
}

/**
 * Hands the alert to an officer or bureau user whose jurisdiction covers it. An unknown user
 * and one who may not take it get the same answer, so this cannot probe other branches.
 */
export function assignAlert(db: Kysely<DB>, actor: Actor, alertId: string, assigneeId: string) {
  return changeAlert(db, actor, alertId, async (trx, current, now) => {
    if (current.status === 'resolved') throw alreadyResolved();
    const assignee = await findAssignee(trx, assigneeId, current.jurisdiction_code);
    if (!assignee)
      throw new AppError(
        400,
        'INVALID_ASSIGNEE',
        '被指派人须为辖区覆盖此告警的矫正工作人员 / userId must be an officer or bureau user whose jurisdiction covers the alert',
        [{ in: 'body', field: 'userId', message: 'not an eligible assignee' }],
      );
    const alert = await trx
      .updateTable('alerts')
      .set({ assigned_to: assignee.id, updated_at: now })
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const data = {
      assigneeId: assignee.id,
      assigneeName: assignee.display_name,
      previousAssigneeId: current.assigned_to,
    };
    return { alert, event: { action: 'assigned', data }, auditDetail: data };
  });
}

/** A note in the alert's history; allowed after resolution too (follow-up facts). */
export function addAlertNote(db: Kysely<DB>, actor: Actor, alertId: string, text: string) {
  return changeAlert(db, actor, alertId, async (trx, current, now) => {
    const alert = await trx
      .updateTable('alerts')
      .set({ updated_at: now })
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { alert, event: { action: 'note', note: text }, auditDetail: { note: text } };
  });
}

/**
 * Closes the alert with a reason code and a note. Tamper alerts (防拆) must say what it was:
 * 'other' is refused for them.
 */
export function resolveAlert(
  db: Kysely<DB>,
  actor: Actor,
  alertId: string,
  input: { note: string; resolution: Resolution },
) {
  return changeAlert(db, actor, alertId, async (trx, current, now) => {
    if (current.status === 'resolved') throw alreadyResolved();
    if (TAMPER_TYPES.includes(current.type) && input.resolution === 'other')
      throw new AppError(
        400,
        'RESOLUTION_REQUIRED',
        '防拆告警须选择具体的处置结论 / invalid body at resolution: a tamper alert needs a resolution other than "other"',
        [{ in: 'body', field: 'resolution', message: 'must not be "other" for a tamper alert' }],
      );
    const alert = await trx
      .updateTable('alerts')
      .set({
        status: 'resolved',
        resolution: input.resolution,
        resolved_at: now,
        resolved_by: actor.user.id,
        updated_at: now,
      })
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const data = { resolution: input.resolution, previousStatus: current.status };
    return {
      alert,
      event: { action: 'resolved', note: input.note, data },
      auditDetail: { ...data, note: input.note },
    };
  });
}

export interface EscalatedAlert {
  alertId: string;
  jurisdictionCode: string;
  /** The county bureau (司法局) it went to: the county ancestor of the alert's jurisdiction. */
  bureauJurisdictionCode: string;
}

/**
 * Marks every critical alert still `open` (nobody acknowledged it) and raised more than
 * `afterMinutes` before `now` as escalated to its county bureau: `escalated_at`, an
 * 'escalated' history row by the platform, outbox + notify, and an audit entry. Each alert is
 * escalated once (`escalated_at IS NULL` is re-checked under the row lock, so two timers
 * running at once cannot both escalate it). Called from a timer; starts none itself.
 */
export async function escalateOverdueAlerts(
  db: Kysely<DB>,
  options: { afterMinutes: number; now: Date },
): Promise<EscalatedAlert[]> {
  const cutoff = new Date(options.now.getTime() - options.afterMinutes * 60_000);
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .updateTable('alerts')
      .set({ escalated_at: options.now, updated_at: options.now })
      .where('severity', '=', 'critical')
      .where('status', '=', 'open')
      .where('escalated_at', 'is', null)
      .where('raised_at', '<=', cutoff)
      .returning(['id', 'jurisdiction_code', 'subject_id', 'type'])
      .execute();
    if (rows.length === 0) return [];
    const codes = [...new Set(rows.map((r) => r.jurisdiction_code))];
    // Nearest county at or above each jurisdiction; a city- or province-level alert stays
    // with its own node.
    const counties = await trx
      .selectFrom('jurisdictions as j')
      .leftJoin('jurisdictions as c', (join) =>
        join
          .on('c.level', '=', 'county')
          .on(sql<boolean>`(j.path = c.path OR j.path LIKE c.path || '.%')`),
      )
      .select(['j.code', 'c.code as county_code'])
      .where('j.code', 'in', codes)
      .execute();
    const bureauOf = new Map(counties.map((c) => [c.code, c.county_code ?? c.code]));
    const escalated = rows.map((r) => ({
      alertId: r.id,
      jurisdictionCode: r.jurisdiction_code,
      bureauJurisdictionCode: bureauOf.get(r.jurisdiction_code) ?? r.jurisdiction_code,
    }));
    await recordAlertChanges(
      trx,
      rows.map((r, i) => ({
        alertId: r.id,
        action: 'escalated',
        jurisdictionCode: r.jurisdiction_code,
        subjectId: r.subject_id,
        actorId: null,
        at: options.now,
        data: {
          bureauJurisdictionCode: escalated[i]!.bureauJurisdictionCode,
          afterMinutes: options.afterMinutes,
        },
      })),
    );
    for (const e of escalated) {
      await audit(trx, {
        actor: null,
        action: AUDIT_ACTION.escalated,
        resourceType: 'alert',
        resourceId: e.alertId,
        jurisdictionCode: e.jurisdictionCode,
        detail: {
          bureauJurisdictionCode: e.bureauJurisdictionCode,
          afterMinutes: options.afterMinutes,
        },
      });
    }
    return escalated;
  });
}

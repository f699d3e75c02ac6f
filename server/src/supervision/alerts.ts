import { sql, type Transaction } from 'kysely';
import { DEFAULT_ALERT_SEVERITY, type AlertType } from '@ccm/contracts';
import type { DB } from '@ccm/db';

/**
 * Alerts raised by the supervision rules (check-ins, separation) rather than by the gateway's
 * geofence engine. Same table, same history and the same outbox → live stream path, in the
 * caller's transaction, so an alert exists exactly when the fact that caused it is recorded.
 * Each is one instant (ended_at = started_at) identified by (dedupe_key, started_at): running
 * a rule twice over the same facts never raises it twice.
 */
export interface SupervisionAlert {
  type: Extract<AlertType, 'checkin_missed' | 'checkin_failed' | 'device_separation'>;
  subjectId: string;
  jurisdictionCode: string;
  deviceId: string | null;
  /** What the alert is about, for de-duplication: a request id, a check-in key … */
  ref: string;
  atMs: number;
  lat?: number | null;
  lon?: number | null;
  evidence: Record<string, unknown>;
  /** When the platform learned the facts (for `late`: a late upload of a failed check-in). */
  receivedAtMs?: number;
}

const LATE_AFTER_MS = 5 * 60_000;

/** Inserts the alert (or finds the one already raised for the same facts); returns its id. */
export async function raiseAlert(trx: Transaction<DB>, a: SupervisionAlert): Promise<string> {
  const lateByMs = Math.max(0, (a.receivedAtMs ?? a.atMs) - a.atMs);
  const at = new Date(a.atMs);
  const dedupeKey = `${a.subjectId}:${a.type}:${a.ref}`;
  const inserted = await trx
    .insertInto('alerts')
    .values({
      type: a.type,
      severity: DEFAULT_ALERT_SEVERITY[a.type],
      subject_id: a.subjectId,
      device_id: a.deviceId,
      zone_id: null,
      jurisdiction_code: a.jurisdictionCode,
      dedupe_key: dedupeKey,
      started_at: at,
      ended_at: at,
      late: lateByMs > LATE_AFTER_MS,
      late_by_ms: lateByMs,
      lat: a.lat ?? null,
      lon: a.lon ?? null,
      evidence: JSON.stringify(a.evidence),
    })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) {
    const existing = await trx
      .selectFrom('alerts')
      .select('id')
      .where('dedupe_key', '=', dedupeKey)
      .where('started_at', '=', at)
      .executeTakeFirstOrThrow();
    return existing.id;
  }
  await trx
    .insertInto('alert_events')
    .values({
      alert_id: inserted.id,
      action: 'raised',
      actor_id: null,
      data: JSON.stringify({ rule: a.type, evidence: a.evidence['kind'] ?? a.type }),
    })
    .execute();
  await trx
    .insertInto('outbox')
    .values({
      topic: 'alert',
      payload: JSON.stringify({
        alertId: inserted.id,
        action: 'open',
        jurisdictionCode: a.jurisdictionCode,
        subjectId: a.subjectId,
      }),
    })
    .execute();
  await sql`SELECT pg_notify('ccm_outbox', '1')`.execute(trx);
  return inserted.id;
}

/**
 * A `checkin_missed` alert that later facts disprove (a check-in made in time, uploaded
 * late): closed as withdrawn with a note, never deleted, as the engine does with its own.
 */
export async function withdrawAlert(
  trx: Transaction<DB>,
  alertId: string,
  note: string,
  jurisdictionCode: string,
): Promise<void> {
  const row = await trx
    .updateTable('alerts')
    .set({
      status: 'resolved',
      resolution: 'withdrawn',
      resolved_at: new Date(),
      updated_at: new Date(),
    })
    .where('id', '=', alertId)
    .where('status', '!=', 'resolved')
    .returning(['id', 'subject_id'])
    .executeTakeFirst();
  if (!row) return;
  await trx
    .insertInto('alert_events')
    .values({ alert_id: alertId, action: 'withdrawn', actor_id: null, note })
    .execute();
  await trx
    .insertInto('outbox')
    .values({
      topic: 'alert_update',
      payload: JSON.stringify({
        alertId,
        action: 'retract',
        jurisdictionCode,
        subjectId: row.subject_id,
      }),
    })
    .execute();
  await sql`SELECT pg_notify('ccm_outbox', '1')`.execute(trx);
}

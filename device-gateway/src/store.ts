import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import { prepared, type DB } from '@ccm/db';
import type { BatchPlan } from './plan';
import { booleans, numbers } from './sql-arrays';
import {
  DEFAULT_RULES_OPTIONS,
  EngineWriteError,
  persistEngine,
  type AlertChange,
  type RulesOptions,
} from './rules';

export interface StoreResult {
  fixesInserted: number;
  fixesDuplicate: number;
  /** Alert changes written (empty when the engine's part failed: see engineError). */
  alerts: AlertChange[];
  /** Set when the rules engine's writes failed; the batch's data committed regardless. */
  engineError?: unknown;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EPOCH_MS = sql`timestamptz 'epoch' + interval '1 millisecond' *`;

/**
 * Stage 6: the whole batch in one transaction. Time-series rows go in as one multi-row
 * `INSERT … SELECT FROM unnest($arrays)` per table (one plan, any batch size); duplicates
 * (same device and fix time) are ignored by the primary key. Fixes, events, heartbeats and
 * the device_state merge are one statement (data-modifying CTEs): every round trip inside
 * the transaction is time PostgreSQL holds it open waiting for the gateway's event loop.
 */
export async function persistPlan(
  db: Kysely<DB>,
  plan: BatchPlan,
  rulesOptions: RulesOptions = DEFAULT_RULES_OPTIONS,
): Promise<StoreResult> {
  return db.transaction().execute(async (trx) => {
    const fixesInserted = await insertTimeSeries(trx, plan);
    await insertCheckins(trx, plan);
    await insertRare(trx, plan);
    await updateCommands(trx, plan);
    let alerts: AlertChange[] = [];
    let engineError: unknown;
    try {
      alerts = await persistEngine(trx, plan.engine, rulesOptions);
    } catch (err) {
      if (!(err instanceof EngineWriteError)) throw err;
      engineError = err.causeError;
    }
    return {
      fixesInserted,
      fixesDuplicate: plan.fixes.length - fixesInserted,
      alerts,
      ...(engineError === undefined ? {} : { engineError }),
    };
  });
}

/** Fixes, events, heartbeats and device_state in one statement; returns fixes inserted. */
async function insertTimeSeries(trx: Transaction<DB>, plan: BatchPlan): Promise<number> {
  const parts: RawBuilder<unknown>[] = [];
  if (plan.fixes.length > 0) parts.push(sql`ins AS (${insertFixes(plan)})`);
  if (plan.events.length > 0) parts.push(sql`ev AS (${insertEvents(plan)})`);
  if (plan.heartbeats.length > 0) parts.push(sql`hb AS (${insertHeartbeats(plan)})`);
  if (plan.devices.size > 0) parts.push(sql`dst AS (${upsertDeviceState(plan)})`);
  if (parts.length === 0) return 0;
  const count = plan.fixes.length > 0 ? sql`(SELECT count(*) FROM ins)` : sql`0`;
  const result = await prepared(sql<{ n: number }>`
    WITH ${sql.join(parts, sql`, `)}
    SELECT ${count}::int4 AS n`).execute(trx);
  return result.rows[0]?.n ?? 0;
}

function insertFixes(plan: BatchPlan): RawBuilder<unknown> {
  const rows = plan.fixes;
  return sql`
      INSERT INTO fixes (device_no, t, subject_no, lat_e6, lon_e6, acc_dm, src, spd_cms, hdg_deg, sat, flags, recv_lag_ms)
      SELECT d, ${EPOCH_MS} t, s, la, lo, a, src, sp, h, sa, f, lag
      FROM unnest(
        ${numbers(rows, (r) => r.deviceNo)}::int4[], ${numbers(rows, (r) => r.tMs)}::int8[],
        ${numbers(rows, (r) => r.subjectNo)}::int4[], ${numbers(rows, (r) => r.latE6)}::int4[],
        ${numbers(rows, (r) => r.lonE6)}::int4[], ${numbers(rows, (r) => r.accDm)}::int4[],
        ${numbers(rows, (r) => r.src)}::int2[], ${numbers(rows, (r) => r.spdCms)}::int2[],
        ${numbers(rows, (r) => r.hdgDeg)}::int2[], ${numbers(rows, (r) => r.sat)}::int2[],
        ${numbers(rows, (r) => r.flags)}::int2[], ${numbers(rows, (r) => r.recvLagMs)}::int4[]
      ) AS u(d, t, s, la, lo, a, src, sp, h, sa, f, lag)
      ON CONFLICT (device_no, t) DO NOTHING
      RETURNING 1`;
}

function insertEvents(plan: BatchPlan): RawBuilder<unknown> {
  const rows = plan.events;
  return sql`
    INSERT INTO device_events (device_no, t, type, subject_no, seq, known, bat, lat_e6, lon_e6, received_at)
    SELECT d, ${EPOCH_MS} t, ty, s, q, k, b, la, lo, ${EPOCH_MS} r
    FROM unnest(
      ${numbers(rows, (r) => r.deviceNo)}::int4[], ${numbers(rows, (r) => r.tMs)}::int8[],
      ${rows.map((r) => r.type)}::text[], ${numbers(rows, (r) => r.subjectNo)}::int4[],
      ${numbers(rows, (r) => r.seq)}::int8[], ${booleans(rows, (r) => r.known)}::bool[],
      ${numbers(rows, (r) => r.bat)}::int2[], ${numbers(rows, (r) => r.latE6)}::int4[],
      ${numbers(rows, (r) => r.lonE6)}::int4[], ${numbers(rows, (r) => r.receivedAtMs)}::int8[]
    ) AS u(d, t, ty, s, q, k, b, la, lo, r)
    ON CONFLICT (device_no, t, type) DO NOTHING`;
}

function insertHeartbeats(plan: BatchPlan): RawBuilder<unknown> {
  const rows = plan.heartbeats;
  return sql`
    INSERT INTO heartbeats (device_no, t, seq, bat, chg, rssi, fw, received_at)
    SELECT d, ${EPOCH_MS} t, q, b, c, rs, fw, ${EPOCH_MS} r
    FROM unnest(
      ${numbers(rows, (r) => r.deviceNo)}::int4[], ${numbers(rows, (r) => r.tMs)}::int8[],
      ${numbers(rows, (r) => r.seq)}::int8[], ${numbers(rows, (r) => r.bat)}::int2[],
      ${booleans(rows, (r) => r.chg)}::bool[], ${numbers(rows, (r) => r.rssi)}::int2[],
      ${rows.map((r) => r.fw)}::text[], ${numbers(rows, (r) => r.receivedAtMs)}::int8[]
    ) AS u(d, t, q, b, c, rs, fw, r)
    ON CONFLICT (device_no, t) DO NOTHING`;
}

const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

async function insertCheckins(trx: Transaction<DB>, plan: BatchPlan) {
  const rows = plan.checkins;
  if (rows.length === 0) return;
  await sql`
    INSERT INTO checkins (device_no, t, subject_ref, subject_no, seq, method, result, score, liveness, lat_e6, lon_e6, received_at)
    SELECT d, ${EPOCH_MS} t, sr, coalesce(sub.no, s), q, m, res, sc, lv, la, lo, ${EPOCH_MS} r
    FROM unnest(
      ${rows.map((r) => r.deviceNo)}::int4[], ${rows.map((r) => r.tMs)}::int8[],
      ${rows.map((r) => r.subjectRef)}::text[], ${rows.map((r) => r.subjectNo)}::int4[],
      ${rows.map((r) => r.seq)}::int8[], ${rows.map((r) => r.method)}::text[],
      ${rows.map((r) => r.result)}::text[], ${rows.map((r) => r.score)}::float4[],
      ${rows.map((r) => r.liveness)}::bool[], ${rows.map((r) => r.latE6)}::int4[],
      ${rows.map((r) => r.lonE6)}::int4[], ${rows.map((r) => r.receivedAtMs)}::int8[]
    ) AS u(d, t, sr, s, q, m, res, sc, lv, la, lo, r)
    -- The terminal names who checked in (a shared office terminal has no order of its own);
    -- a phone that sends no known id falls back to the subject of its order.
    LEFT JOIN subjects sub ON sub.id = CASE WHEN sr ~* ${UUID_PATTERN} THEN sr::uuid END
    ON CONFLICT (device_no, t) DO NOTHING`.execute(trx);
  // The supervision rules review check-ins (failed, separation, requests met) at once.
  await sql`SELECT pg_notify('ccm_checkin', ${String(rows.length)})`.execute(trx);
}

/** Rejections, quarantined fixes and security events: rare, so plain multi-row VALUES. */
async function insertRare(trx: Transaction<DB>, plan: BatchPlan) {
  if (plan.rejected.length > 0) {
    await trx
      .insertInto('rejected_messages')
      .values(
        plan.rejected.map((r) => ({
          received_at: new Date(r.receivedAtMs),
          device_id: r.deviceId,
          topic: r.topic,
          reason: r.reason,
          detail: r.detail,
          size_bytes: r.sizeBytes,
          raw: r.raw,
        })),
      )
      .execute();
  }
  if (plan.quarantined.length > 0) {
    await trx
      .insertInto('quarantined_fixes')
      .values(
        plan.quarantined.map((q) => ({
          device_no: q.deviceNo,
          subject_no: q.subjectNo,
          fix_time_ms: q.fixTimeMs,
          received_at: new Date(q.receivedAtMs),
          reason: q.reason,
          fix: JSON.stringify(q.fix),
        })),
      )
      .onConflict((oc) => oc.columns(['device_no', 'fix_time_ms']).doNothing())
      .execute();
  }
  if (plan.security.length > 0) {
    await trx
      .insertInto('security_events')
      .values(
        plan.security.map((s) => ({
          client_id: s.clientId,
          kind: s.kind,
          topic: s.topic,
          detail: s.detail,
        })),
      )
      .execute();
  }
}

async function updateCommands(trx: Transaction<DB>, plan: BatchPlan) {
  for (const r of plan.commandResults) {
    if (!UUID.test(r.commandId)) continue; // not one of ours; nothing to update
    await trx
      .updateTable('device_commands')
      .set({ status: r.status, result_at: new Date(r.atMs) })
      .where('id', '=', r.commandId)
      .where('device_id', '=', r.deviceId)
      .execute();
  }
}

function upsertDeviceState(plan: BatchPlan): RawBuilder<unknown> {
  const rows = [...plan.devices.values()];
  return sql`
    INSERT INTO device_state AS ds (
      device_no, last_seen_at, last_seq, acked_seq, seq_gaps, battery, charging, rssi, firmware,
      online, online_changed_at, last_fix_t, last_lat_e6, last_lon_e6, last_acc_dm, last_src, updated_at)
    SELECT d, ${EPOCH_MS} seen, q, ak, g, b, c, rs, fw, coalesce(o, false),
      CASE WHEN o IS NULL THEN NULL ELSE ${EPOCH_MS} seen END,
      CASE WHEN ft IS NULL THEN NULL ELSE ${EPOCH_MS} ft END, la, lo, a, src, now()
    FROM unnest(
      ${numbers(rows, (r) => r.deviceNo)}::int4[], ${numbers(rows, (r) => r.lastSeenMs)}::int8[],
      ${numbers(rows, (r) => r.lastSeq)}::int8[], ${numbers(rows, (r) => r.ackedSeq)}::int8[],
      ${numbers(rows, (r) => r.seqGaps)}::int8[], ${numbers(rows, (r) => r.battery)}::int2[],
      ${booleans(rows, (r) => r.charging)}::bool[], ${numbers(rows, (r) => r.rssi)}::int2[],
      ${rows.map((r) => r.firmware)}::text[], ${booleans(rows, (r) => r.online)}::bool[],
      ${numbers(rows, (r) => r.latest?.tMs ?? null)}::int8[], ${numbers(rows, (r) => r.latest?.latE6 ?? null)}::int4[],
      ${numbers(rows, (r) => r.latest?.lonE6 ?? null)}::int4[], ${numbers(rows, (r) => r.latest?.accDm ?? null)}::int4[],
      ${numbers(rows, (r) => r.latest?.src ?? null)}::int2[]
    ) AS u(d, seen, q, ak, g, b, c, rs, fw, o, ft, la, lo, a, src)
    ON CONFLICT (device_no) DO UPDATE SET
      last_seen_at = greatest(ds.last_seen_at, excluded.last_seen_at),
      last_seq = greatest(ds.last_seq, excluded.last_seq),
      acked_seq = greatest(ds.acked_seq, excluded.acked_seq),
      seq_gaps = greatest(ds.seq_gaps, excluded.seq_gaps),
      battery = coalesce(excluded.battery, ds.battery),
      charging = coalesce(excluded.charging, ds.charging),
      rssi = coalesce(excluded.rssi, ds.rssi),
      firmware = coalesce(excluded.firmware, ds.firmware),
      online = CASE WHEN excluded.online_changed_at IS NULL THEN ds.online ELSE excluded.online END,
      online_changed_at = CASE
        WHEN excluded.online_changed_at IS NOT NULL AND excluded.online IS DISTINCT FROM ds.online
        THEN excluded.online_changed_at ELSE ds.online_changed_at END,
      -- The latest position never moves backwards: only a later fix time replaces it.
      last_lat_e6 = CASE WHEN ${newer} THEN excluded.last_lat_e6 ELSE ds.last_lat_e6 END,
      last_lon_e6 = CASE WHEN ${newer} THEN excluded.last_lon_e6 ELSE ds.last_lon_e6 END,
      last_acc_dm = CASE WHEN ${newer} THEN excluded.last_acc_dm ELSE ds.last_acc_dm END,
      last_src = CASE WHEN ${newer} THEN excluded.last_src ELSE ds.last_src END,
      last_fix_t = CASE WHEN ${newer} THEN excluded.last_fix_t ELSE ds.last_fix_t END,
      updated_at = now()`;
}

const newer = sql`(excluded.last_fix_t IS NOT NULL AND (ds.last_fix_t IS NULL OR excluded.last_fix_t > ds.last_fix_t))`;

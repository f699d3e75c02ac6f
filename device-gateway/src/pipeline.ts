import {
  EARLIEST_FIX_TIME_MS,
  isKnownEventType,
  MAX_FUTURE_SKEW_MS,
  type Fix,
} from '@ccm/contracts';
import type { Decoded, Rejected } from './decode';
import {
  clampInt4,
  emptyPlan,
  FIX_FLAG_LATE,
  FIX_FLAG_LOW_ACCURACY,
  SOURCE_CODE,
  toE6,
  type BatchPlan,
  type DeviceUpdate,
} from './plan';
import { orderAt, type DeviceInfo, type DeviceRegistry } from './registry';

/**
 * The ingest pipeline, in order. Each message went through stage 1 (`decode`, on receipt);
 * a batch of them then goes through:
 *
 *   2. identify   — the device and its monitoring orders (unknown / inactive → rejected)
 *   3. sequence   — seq bookkeeping: gaps, what to acknowledge
 *   4. filter     — quarantine fixes from the future or before 2020; keep only fixes inside
 *                   a monitoring order; flag low-accuracy and late fixes; rows for the rest
 *   5. rules      — the geofence/rules engine adds alerts (contained: a failure never
 *                   blocks storage)
 *   6. persist    — one transaction for the whole batch (store.ts)
 *   7. acknowledge — `ack` with the highest committed seq per device (gateway.ts)
 *   8. notify     — tell the server what changed (gateway.ts)
 *
 * Stages 2–5 build a BatchPlan and touch nothing outside it, so a failed commit can be
 * retried with the same plan.
 */
export interface PipelineOptions {
  /** Fixes less accurate than this are flagged (and carry less weight in the engine), m. */
  lowAccuracyM: number;
  /**
   * How long the ack waits at a gap in seq before the missing seqs are taken as never coming
   * (a device that skipped them, a lost QoS 0 heartbeat), ms. Longer than two of the
   * contract's 30 s re-send periods, so a message that exists has been re-sent by then.
   */
  gapForgiveAfterMs: number;
}

export interface RulesStage {
  evaluate(plan: BatchPlan, devices: ReadonlyMap<string, DeviceInfo>, nowMs: number): Promise<void>;
}

export interface PipelineDeps {
  registry: DeviceRegistry;
  options: PipelineOptions;
  rules?: RulesStage;
  onStageError?: (stage: string, err: unknown) => void;
}

export async function buildPlan(
  deps: PipelineDeps,
  batch: readonly Decoded[],
  nowMs: number,
): Promise<BatchPlan> {
  const plan = emptyPlan();
  const devices = await identify(deps, batch, plan, nowMs);
  for (const message of batch) {
    if (message.kind === 'rejected') {
      rejectMessage(deps.options, plan, message, devices, nowMs);
      continue;
    }
    const device = devices.get(message.deviceId)!;
    const update = deviceUpdate(plan, device, message.receivedAtMs);
    if (message.kind !== 'status') sequence(deps.options, plan, device, update, message.seq, nowMs);
    filter(deps.options, plan, device, update, message);
  }
  if (deps.rules) {
    try {
      await deps.rules.evaluate(plan, devices, nowMs);
    } catch (err) {
      deps.onStageError?.('rules', err);
    }
  }
  return plan;
}

/** Stage 2. Turns messages of unknown or retired devices into rejections, in place. */
async function identify(
  deps: PipelineDeps,
  batch: readonly Decoded[],
  plan: BatchPlan,
  nowMs: number,
): Promise<Map<string, DeviceInfo>> {
  const ids = batch.map((m) => m.deviceId).filter((id): id is string => id !== null);
  const resolved = await deps.registry.resolve(ids, nowMs);
  const known = new Map<string, DeviceInfo>();
  for (const [id, info] of resolved) if (info) known.set(id, info);
  const mutable = batch as Decoded[];
  for (let i = 0; i < mutable.length; i++) {
    const message = mutable[i]!;
    if (message.kind === 'rejected' || message.deviceId === null) continue;
    const info = known.get(message.deviceId);
    if (!info || info.status === 'retired') {
      const reason = info ? 'inactive_device' : 'unknown_device';
      mutable[i] = asRejected(
        message,
        reason,
        `device ${message.deviceId} is ${info ? info.status : 'not registered'}`,
      );
      plan.security.push({
        clientId: message.deviceId,
        kind: 'publish_refused',
        topic: null,
        detail: reason,
      });
    }
  }
  return known;
}

function asRejected(
  message: Exclude<Decoded, Rejected>,
  reason: Rejected['reason'],
  detail: string,
): Rejected {
  const raw = Buffer.from(
    message.kind === 'status'
      ? message.online
        ? 'online'
        : 'offline'
      : JSON.stringify(message.body),
  );
  return {
    kind: 'rejected',
    deviceId: message.deviceId,
    seq: message.kind === 'status' ? null : message.seq,
    receivedAtMs: message.receivedAtMs,
    topic: `ccm/v1/dev/${message.deviceId}/${message.kind === 'cmd_result' ? 'cmd/result' : message.kind}`,
    reason,
    detail,
    raw,
    sizeBytes: raw.byteLength,
  };
}

function rejectMessage(
  options: PipelineOptions,
  plan: BatchPlan,
  message: Rejected,
  devices: ReadonlyMap<string, DeviceInfo>,
  nowMs: number,
) {
  plan.rejected.push(message);
  // A known device's rejected message is still acknowledged, so it never retries poison.
  const device = message.deviceId === null ? undefined : devices.get(message.deviceId);
  if (device && message.seq !== null) {
    const update = deviceUpdate(plan, device, message.receivedAtMs);
    sequence(options, plan, device, update, message.seq, nowMs);
  }
}

function deviceUpdate(plan: BatchPlan, device: DeviceInfo, receivedAtMs: number): DeviceUpdate {
  let update = plan.devices.get(device.no);
  if (!update) {
    const r = device.runtime;
    update = {
      deviceNo: device.no,
      lastSeenMs: receivedAtMs,
      lastSeq: r.lastSeq,
      ackedSeq: r.ackedSeq,
      above: [...r.above],
      stuckSinceMs: r.stuckSinceMs,
      seqGaps: r.seqGaps,
      battery: null,
      batteryAtMs: null,
      charging: null,
      rssi: null,
      firmware: null,
      online: null,
      latest: null,
    };
    plan.devices.set(device.no, update);
  }
  update.lastSeenMs = Math.max(update.lastSeenMs, receivedAtMs);
  return update;
}

/**
 * Stage 3. `ack {seq: N}` promises that every message with seq ≤ N is stored, so N is the
 * contiguous committed prefix, never just the highest seq: after a crash or a broker that
 * dropped messages, newer messages can be committed while older ones are still missing, and
 * acking past them would make the device discard them. The device re-sends everything not
 * acked (oldest first), which fills the gap; a gap nothing fills within `gapForgiveAfterMs`
 * (seqs the device never had) is skipped. A device seen for the first time starts its prefix
 * just below its first message.
 */
function sequence(
  options: PipelineOptions,
  plan: BatchPlan,
  device: DeviceInfo,
  update: DeviceUpdate,
  seq: number,
  nowMs: number,
) {
  if (update.lastSeq !== null && seq > update.lastSeq + 1) {
    update.seqGaps += seq - update.lastSeq - 1;
  }
  update.lastSeq = update.lastSeq === null ? seq : Math.max(update.lastSeq, seq);
  let acked = update.ackedSeq ?? seq - 1;
  const above = update.above;
  if (seq > acked && !above.includes(seq)) {
    let i = above.length;
    while (i > 0 && above[i - 1]! > seq) i--;
    above.splice(i, 0, seq);
  }
  acked = advance(above, acked);
  if (above.length === 0) {
    update.stuckSinceMs = null;
  } else {
    update.stuckSinceMs ??= nowMs;
    if (nowMs - update.stuckSinceMs >= options.gapForgiveAfterMs) {
      // The missing seqs below it never came: skip them.
      acked = advance(above, above[0]! - 1);
      update.stuckSinceMs = above.length === 0 ? null : nowMs;
    }
  }
  update.ackedSeq = acked;
  // Re-sent old messages (seq ≤ acked) get the current ack again so the device drops them.
  if (acked >= 0) plan.acks.set(device.id, acked);
}

/** Moves the acknowledged seq over the contiguous seqs waiting above it (taken off `above`). */
function advance(above: number[], acked: number): number {
  while (above.length > 0 && above[0]! <= acked + 1) acked = Math.max(acked, above.shift()!);
  return acked;
}

/** Stage 4. */
function filter(
  options: PipelineOptions,
  plan: BatchPlan,
  device: DeviceInfo,
  update: DeviceUpdate,
  message: Exclude<Decoded, Rejected>,
) {
  switch (message.kind) {
    case 'fix': {
      let latestMs = update.latest?.tMs ?? device.runtime.latestFixMs;
      for (const fix of message.body.fixes) {
        const quarantine = quarantineReason(fix, message.receivedAtMs);
        const order = orderAt(device, fix.t);
        if (quarantine) {
          plan.quarantined.push({
            deviceNo: device.no,
            subjectNo: order?.subjectNo ?? null,
            fixTimeMs: fix.t,
            receivedAtMs: message.receivedAtMs,
            reason: quarantine,
            fix,
          });
          continue;
        }
        if (!order) {
          // No monitoring order at this fix time: not a position of anyone (Art. 29).
          plan.fixesWithoutOrder++;
          continue;
        }
        let flags = fix.acc > options.lowAccuracyM ? FIX_FLAG_LOW_ACCURACY : 0;
        if (latestMs !== null && fix.t < latestMs) flags |= FIX_FLAG_LATE;
        const row = {
          deviceNo: device.no,
          tMs: fix.t,
          subjectNo: order.subjectNo,
          latE6: toE6(fix.lat),
          lonE6: toE6(fix.lon),
          accDm: Math.max(1, Math.round(fix.acc * 10)),
          src: SOURCE_CODE[fix.src],
          spdCms: fix.spd === undefined ? null : Math.min(32_767, Math.round(fix.spd * 100)),
          hdgDeg: fix.hdg === undefined ? null : Math.round(fix.hdg),
          sat: fix.sat ?? null,
          flags,
          recvLagMs: clampInt4(message.receivedAtMs - fix.t),
        };
        plan.fixes.push(row);
        if (latestMs === null || fix.t > latestMs) {
          latestMs = fix.t;
          update.latest = {
            tMs: fix.t,
            latE6: row.latE6,
            lonE6: row.lonE6,
            accDm: row.accDm,
            src: row.src,
          };
        }
      }
      return;
    }
    case 'event': {
      const b = message.body;
      const at = b.lat !== undefined && b.lon !== undefined ? orderAt(device, b.t) : undefined;
      plan.events.push({
        deviceNo: device.no,
        tMs: b.t,
        type: b.type,
        subjectNo: orderAt(device, b.t)?.subjectNo ?? null,
        seq: b.seq,
        known: isKnownEventType(b.type),
        bat: b.bat === undefined ? null : Math.round(b.bat),
        // An event's position is kept only inside an order, like any position.
        latE6: at && b.lat !== undefined ? toE6(b.lat) : null,
        lonE6: at && b.lon !== undefined ? toE6(b.lon) : null,
        receivedAtMs: message.receivedAtMs,
      });
      if (b.bat !== undefined) setBattery(update, Math.round(b.bat), b.t);
      if (b.type === 'charging_start') update.charging = true;
      if (b.type === 'charging_stop') update.charging = false;
      return;
    }
    case 'hb': {
      const b = message.body;
      plan.heartbeats.push({
        deviceNo: device.no,
        tMs: b.t,
        seq: b.seq,
        bat: b.bat === undefined ? null : Math.round(b.bat),
        chg: b.chg ?? null,
        rssi: b.rssi ?? null,
        fw: b.fw ?? null,
        receivedAtMs: message.receivedAtMs,
      });
      if (b.bat !== undefined) setBattery(update, Math.round(b.bat), b.t);
      if (b.chg !== undefined) update.charging = b.chg;
      if (b.rssi !== undefined) update.rssi = b.rssi;
      if (b.fw !== undefined) update.firmware = b.fw;
      return;
    }
    case 'checkin': {
      const b = message.body;
      const order = orderAt(device, b.t);
      plan.checkins.push({
        deviceNo: device.no,
        tMs: b.t,
        subjectRef: b.subjectId,
        subjectNo: order?.subjectNo ?? null,
        seq: b.seq,
        method: b.method,
        result: b.result,
        score: b.score,
        liveness: b.liveness ?? null,
        latE6: b.lat === undefined ? null : toE6(b.lat),
        lonE6: b.lon === undefined ? null : toE6(b.lon),
        receivedAtMs: message.receivedAtMs,
      });
      return;
    }
    case 'cmd_result':
      plan.commandResults.push({
        deviceId: device.id,
        commandId: message.body.id,
        status: message.body.status,
        atMs: message.receivedAtMs,
      });
      return;
    case 'status':
      update.online = message.online;
      return;
  }
}

function setBattery(update: DeviceUpdate, battery: number, atMs: number) {
  if (update.batteryAtMs === null || atMs >= update.batteryAtMs) {
    update.battery = battery;
    update.batteryAtMs = atMs;
  }
}

export function quarantineReason(fix: Fix, receivedAtMs: number): 'future' | 'before_2020' | null {
  if (fix.t > receivedAtMs + MAX_FUTURE_SKEW_MS) return 'future';
  if (fix.t < EARLIEST_FIX_TIME_MS) return 'before_2020';
  return null;
}

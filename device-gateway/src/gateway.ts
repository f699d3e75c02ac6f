import { EventEmitter } from 'node:events';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { deviceTopic, type AckMessage } from '@ccm/contracts';
import type { Database } from '@ccm/db';
import { decode, type Decoded } from './decode';
import { createGatewayMetrics, type GatewayMetrics } from './metrics';
import { buildPlan, type RulesStage } from './pipeline';
import type { BatchPlan, SecurityRow } from './plan';
import { DeviceRegistry } from './registry';
import { emptyPlan } from './plan';
import { EngineRules, type AlertChange, type RulesOptions } from './rules';
import { persistPlan, type StoreResult } from './store';

export interface GatewayOptions {
  /** Largest batch committed at once (messages). */
  maxBatchMessages: number;
  /** How long the first message of a batch may wait for company, ms. */
  maxBatchDelayMs: number;
  /** Messages held (received, not committed) before the gateway stops reading the broker. */
  maxQueuedMessages: number;
  lowAccuracyM: number;
  gapForgiveAfterMs: number;
  /**
   * Shared-subscription group, or null to subscribe plainly (the in-process broker has no
   * shared subscriptions; one gateway runs there).
   */
  sharedGroup: string | null;
  /** Run the rules engine (geofences, device rules, silence) on every batch. */
  engine: boolean;
  /** How often the silence rules (no_signal, no_location) run, ms. */
  silenceIntervalMs: number;
  /** At most this many messages of one device per batch: a flooding device waits its turn. */
  maxPerDevicePerBatch: number;
  /** Messages per second from one device above which a `flood` security event is recorded. */
  floodPerSecond: number;
  /**
   * Batches committing at once, each on its own connection, over disjoint devices and
   * subjects (docs/adr/0004). 1 = one after the other.
   */
  commitLanes: number;
}

export const DEFAULT_GATEWAY_OPTIONS: GatewayOptions = {
  maxBatchMessages: 2000,
  maxBatchDelayMs: 20,
  maxQueuedMessages: 20_000,
  lowAccuracyM: 100,
  gapForgiveAfterMs: 75_000,
  sharedGroup: 'ccm-gateway',
  engine: true,
  silenceIntervalMs: 15_000,
  maxPerDevicePerBatch: 200,
  floodPerSecond: 100,
  commitLanes: 2,
};

/**
 * Takes up to `max` messages off the queue, at most `perDevice` of any one device, none of a
 * device in `busy` (its previous batch is still committing). A device's skipped messages stay
 * queued in order (once it reaches its cap, all its later messages are skipped too), so
 * per-device order holds while a flood cannot starve the other devices.
 */
export function takeBatch(
  queue: Decoded[],
  max: number,
  perDevice: number,
  busy?: ReadonlySet<string>,
): Decoded[] {
  const batch: Decoded[] = [];
  const counts = new Map<string | null, number>();
  const rest: Decoded[] = [];
  let i = 0;
  for (; i < queue.length && batch.length < max; i++) {
    const m = queue[i]!;
    const n = counts.get(m.deviceId) ?? 0;
    if (m.deviceId !== null && (n >= perDevice || busy?.has(m.deviceId))) {
      rest.push(m);
      continue;
    }
    counts.set(m.deviceId, n + 1);
    batch.push(m);
  }
  queue.splice(0, i, ...rest);
  return batch;
}

/** Uplink topics the gateway consumes (the retained `status` separately: see below). */
const UPLINK_FILTERS = ['fix', 'event', 'hb', 'checkin', 'cmd/result'].map(
  (kind) => `ccm/v1/dev/+/${kind}`,
);
const STATUS_FILTER = 'ccm/v1/dev/+/status';

export interface CommittedBatch {
  plan: BatchPlan;
  fixesInserted: number;
  /** Alerts raised, corrected, ended or withdrawn by this batch (already in the outbox). */
  alerts: AlertChange[];
}

export interface Gateway {
  readonly metrics: GatewayMetrics;
  readonly registry: DeviceRegistry;
  /** 'committed' (CommittedBatch) after each batch is stored and acked. */
  readonly events: EventEmitter;
  /** Resolves when the first subscription is granted (messages from then on are seen). */
  readonly ready: Promise<void>;
  /** Messages received and not yet committed. */
  queueDepth(): number;
  /** Age of the oldest received, not yet committed message, ms (0 when idle). */
  lagMs(): number;
  connected(): boolean;
  /**
   * Reloads devices, orders, zones, assignments and leaves now: what a `NOTIFY ccm_config`
   * does a moment later (for a caller that needs the change in force before it goes on).
   */
  reloadConfig(): Promise<void>;
  close(): Promise<void>;
}

export interface GatewayDeps {
  database: Database;
  mqttUrl: string;
  mqttOptions?: IClientOptions;
  logger: Logger;
  options?: Partial<GatewayOptions>;
  /** Replaces the built-in rules engine (tests). */
  rules?: RulesStage;
  rulesOptions?: Partial<RulesOptions>;
  metrics?: GatewayMetrics;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Errors that mean "the database is unreachable now", worth retrying the same batch. */
function isTransient(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  return (
    /^(08|57P|53|40001|40P01)/.test(code) ||
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND'].includes(code) ||
    /terminat|Connection|timeout|not queryable|closed/i.test(e.message ?? '')
  );
}

export async function startGateway(deps: GatewayDeps): Promise<Gateway> {
  const options = { ...DEFAULT_GATEWAY_OPTIONS, ...deps.options };
  const log = deps.logger.child({ component: 'gateway' });
  const metrics = deps.metrics ?? createGatewayMetrics();
  const registry = new DeviceRegistry(deps.database.db);
  const events = new EventEmitter();
  const engine = options.engine
    ? new EngineRules(deps.database.db, log, deps.rulesOptions)
    : undefined;
  const rules = deps.rules ?? engine;
  if (engine) await engine.reloadZones();
  // Zones, assignments, orders and devices changed anywhere reach this gateway within a
  // second (trigger → NOTIFY ccm_config); after a lost LISTEN connection, reload everything.
  let reloadTimer: NodeJS.Timeout | undefined;
  const unlisten = await deps.database.listen('ccm_config', () => {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => {
      registry.invalidate();
      engine
        ?.reloadZones()
        .catch((err) => log.error({ err }, '围栏重新加载失败 / zone reload failed'));
    }, 100);
  });
  const pipelineDeps = {
    registry,
    options: { lowAccuracyM: options.lowAccuracyM, gapForgiveAfterMs: options.gapForgiveAfterMs },
    ...(rules ? { rules } : {}),
    onStageError: (stage: string, err: unknown) => {
      metrics.stageErrors.inc({ stage });
      log.error({ err, stage }, '处理阶段失败（已隔离）/ pipeline stage failed (contained)');
    },
  };

  const queue: Decoded[] = [];
  // handleMessage callbacks held back while the queue is full: mqtt.js reads the next packet
  // from the socket only after the previous callback, so this is the backpressure lever.
  const held: (() => void)[] = [];
  let wake: (() => void) | undefined;
  // Oldest message of the batch whose plan is being built (the ones committing: `lanes`).
  let pendingOldestMs: number | null = null;
  let running = true;

  const client: MqttClient = mqtt.connect(deps.mqttUrl, {
    clientId: `ccm-gateway-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    clean: true,
    reconnectPeriod: 1000,
    // Keep trying after a refused CONNECT (e.g. the broker's auth hook not up yet).
    reconnectOnConnackError: true,
    connectTimeout: 10_000,
    // mqtt.js formats a debug line for every packet; without DEBUG=mqttjs* that is pure cost.
    ...(/mqttjs/.test(process.env.DEBUG ?? '') ? {} : { log: () => {} }),
    ...deps.mqttOptions,
  });
  coalesceWrites(client);
  // Per-device message counts in the current second, for flood detection.
  let floodWindowStart = 0;
  const floodCounts = new Map<string, number>();
  const floods: SecurityRow[] = [];
  client.on('message', (topic, payload) => {
    const now = Date.now();
    const message = decode(topic, payload, now);
    if (message.deviceId !== null) {
      if (now - floodWindowStart >= 1000) {
        floodWindowStart = now;
        floodCounts.clear();
      }
      const n = (floodCounts.get(message.deviceId) ?? 0) + 1;
      floodCounts.set(message.deviceId, n);
      if (n === options.floodPerSecond) {
        floods.push({
          clientId: message.deviceId,
          kind: 'flood',
          topic,
          detail: `≥ ${options.floodPerSecond} messages in one second`,
        });
      }
    }
    metrics.messagesIn.inc({ kind: message.kind });
    queue.push(message);
    metrics.queueDepth.set(queue.length);
    wake?.();
  });
  client.handleMessage = (_packet, callback) => {
    if (queue.length < options.maxQueuedMessages) callback();
    else held.push(() => callback());
  };
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  client.on('connect', () => {
    const filters = UPLINK_FILTERS.map((f) =>
      options.sharedGroup ? `$share/${options.sharedGroup}/${f}` : f,
    );
    // The retained status topic is subscribed without sharing: retained messages are not
    // delivered to shared subscriptions, and every gateway may record online/offline.
    client.subscribe([...filters, STATUS_FILTER], { qos: 1 }, (err) => {
      if (err) log.error({ err }, 'MQTT 订阅失败 / subscribe failed');
      else {
        log.info({ filters }, 'MQTT 已订阅 / subscribed');
        markReady();
      }
    });
  });
  client.on('error', (err) => log.warn({ err: err.message }, 'MQTT error'));

  const releaseHeld = () => {
    while (held.length > 0 && queue.length < options.maxQueuedMessages) held.shift()!();
  };

  /**
   * Stores a batch (retrying, splitting out what the database refuses), then acks it.
   * `prepared` is its plan if one was built already (while other batches committed).
   */
  async function commit(batch: Decoded[], prepared?: BatchPlan): Promise<void> {
    for (let attempt = 0; running || attempt === 0; attempt++) {
      const started = performance.now();
      // Flood events ride along; back on the list unless this attempt commits them.
      const floodRows = floods.splice(0);
      try {
        const plan =
          attempt === 0 && prepared ? prepared : await buildPlan(pipelineDeps, batch, Date.now());
        plan.security.push(...floodRows);
        const stored = await persistPlan(deps.database.db, plan, engine?.options);
        metrics.commitSeconds.observe((performance.now() - started) / 1000);
        if (stored.engineError !== undefined) {
          pipelineDeps.onStageError('rules', stored.engineError);
        } else {
          engine?.committed(plan.engine);
        }
        afterCommit(plan, stored);
        return;
      } catch (err) {
        floods.unshift(...floodRows);
        metrics.commitFailures.inc();
        if (!isTransient(err) && batch.length > 1) {
          // A data error: find the message that causes it by halves; the rest commits.
          const half = Math.ceil(batch.length / 2);
          log.warn({ err, size: batch.length }, '批次写入失败，拆分重试 / batch failed, splitting');
          await commit(batch.slice(0, half));
          await commit(batch.slice(half));
          return;
        }
        if (!isTransient(err)) {
          // One message the database refuses: keep it as rejected, ack it, move on.
          const m = batch[0]!;
          log.error({ err, deviceId: m.deviceId }, '消息无法存储 / message cannot be stored');
          const raw = Buffer.from(JSON.stringify('body' in m ? m.body : m));
          batch = [
            {
              kind: 'rejected',
              deviceId: m.deviceId,
              seq: 'seq' in m ? m.seq : null,
              receivedAtMs: m.receivedAtMs,
              topic: 'topic' in m ? m.topic : `ccm/v1/dev/${m.deviceId}/${m.kind}`,
              reason: 'store_failed',
              detail: String((err as Error).message).slice(0, 1000),
              raw: raw.subarray(0, 65536),
              sizeBytes: raw.byteLength,
            },
          ];
          continue;
        }
        const backoff = Math.min(5000, 100 * 2 ** Math.min(attempt, 6));
        log.warn(
          { err: (err as Error).message, attempt, backoffMs: backoff },
          '数据库不可用，稍后重试 / database unavailable, retrying batch',
        );
        await sleep(backoff);
      }
    }
  }

  function afterCommit(plan: BatchPlan, stored: StoreResult) {
    const inserted = stored.fixesInserted;
    const duplicate = stored.fixesDuplicate;
    // Device runtime bookkeeping moves only with what is committed.
    for (const update of plan.devices.values()) {
      const device = registry.byNo(update.deviceNo);
      if (!device) continue;
      device.runtime.lastSeq = update.lastSeq;
      device.runtime.ackedSeq = update.ackedSeq;
      device.runtime.above = update.above;
      device.runtime.stuckSinceMs = update.stuckSinceMs;
      device.runtime.seqGaps = update.seqGaps;
      if (update.latest && (device.runtime.latestFixMs ?? -Infinity) < update.latest.tMs) {
        device.runtime.latestFixMs = update.latest.tMs;
      }
    }
    // Stage 7: acknowledge — only now is the content durably stored.
    for (const [deviceId, seq] of plan.acks) {
      const body: AckMessage = { seq };
      client.publish(deviceTopic(deviceId, 'ack'), JSON.stringify(body), { qos: 1 });
    }
    metrics.fixesStored.inc(inserted);
    metrics.fixesDuplicate.inc(duplicate);
    metrics.fixesWithoutOrder.inc(plan.fixesWithoutOrder);
    metrics.fixesQuarantined.inc(plan.quarantined.length);
    for (const r of plan.rejected) metrics.rejected.inc({ reason: r.reason });
    // Stage 8: notify.
    events.emit('committed', {
      plan,
      fixesInserted: inserted,
      alerts: stored.alerts,
    } satisfies CommittedBatch);
  }

  /** The silence rules, between batches so they never race a batch of the same subject. */
  let lastSilenceMs = Date.now();
  async function silenceTick() {
    if (!engine || Date.now() - lastSilenceMs < options.silenceIntervalMs) return;
    await Promise.all([...lanes].map((l) => l.done));
    lastSilenceMs = Date.now();
    try {
      const outcomes = await engine.silence(Date.now());
      if (outcomes.length === 0) return;
      const plan = emptyPlan();
      plan.engine = outcomes;
      const stored = await persistPlan(deps.database.db, plan, engine.options);
      if (stored.engineError !== undefined) throw stored.engineError;
      engine.committed(outcomes);
      afterCommit(plan, stored);
    } catch (err) {
      pipelineDeps.onStageError('silence', err);
    }
  }
  const silenceTimer = setInterval(() => wake?.(), options.silenceIntervalMs);

  /**
   * Batches overlap: while up to `commitLanes` batches commit (each on a connection of its
   * own), the next is taken and its plan built (identify, filter, rules), so the gateway and
   * the database — and two database backends — work at the same time instead of taking
   * turns. Order still holds: a batch leaves out every device of the batches committing (a
   * device's messages are in one lane at a time, in queue order), and a plan that touches a
   * subject a committing batch writes (two devices of one subject) waits for that batch and
   * is built again before it commits.
   */
  interface Lane {
    devices: Set<string>;
    /** The subjects its plan writes; null: not known yet (the plan is built at commit). */
    subjects: ReadonlySet<number> | null;
    oldestMs: number | null;
    done: Promise<void>;
  }
  const lanes = new Set<Lane>();
  const laneFreed = () => Promise.race([...lanes].map((l) => l.done));
  const loop = (async () => {
    while (running) {
      await silenceTick();
      if (queue.length === 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      if (lanes.size >= Math.max(1, options.commitLanes)) {
        await laneFreed();
        continue;
      }
      // Wait for company only when the database is idle: while a batch commits, what queues
      // meanwhile is the next batch, and sleeping on top of that wait only adds latency.
      if (queue.length < options.maxBatchMessages && lanes.size === 0) {
        await sleep(options.maxBatchDelayMs);
      }
      const committing = [...lanes];
      const busy = new Set<string>();
      for (const lane of committing) for (const d of lane.devices) busy.add(d);
      const batch = takeBatch(queue, options.maxBatchMessages, options.maxPerDevicePerBatch, busy);
      if (batch.length === 0) {
        // Everything queued waits for a batch in flight.
        if (committing.length > 0) await laneFreed();
        continue;
      }
      metrics.batchSize.observe(batch.length);
      pendingOldestMs = batch[0]?.receivedAtMs ?? null;
      let plan: BatchPlan | undefined;
      try {
        plan = await buildPlan(pipelineDeps, batch, Date.now());
      } catch {
        plan = undefined; // commit() builds it again and handles the failure
      }
      const subjects = plan ? new Set(plan.engine.map((o) => o.subjectNo)) : null;
      const sharing = committing.filter(
        (lane) =>
          subjects === null ||
          lane.subjects === null ||
          [...subjects].some((no) => lane.subjects!.has(no)),
      );
      if (sharing.length > 0) {
        // Its states may be older than what those batches write: build it again after them.
        await Promise.all(sharing.map((lane) => lane.done));
        plan = undefined;
      }
      const devices = new Set<string>();
      for (const m of batch) if (m.deviceId !== null) devices.add(m.deviceId);
      const lane: Lane = {
        devices,
        subjects: plan ? subjects : null,
        oldestMs: pendingOldestMs,
        done: commit(batch, plan)
          .catch((err: unknown) => {
            // Only a bug gets here (commit contains its own failures); never crash the process.
            log.error({ err }, '批次处理异常 / unexpected batch failure');
          })
          .finally(() => {
            lanes.delete(lane);
            metrics.queueDepth.set(queue.length);
            releaseHeld();
          }),
      };
      pendingOldestMs = null;
      lanes.add(lane);
    }
    await Promise.all([...lanes].map((l) => l.done));
  })();

  return {
    metrics,
    registry,
    events,
    ready,
    queueDepth: () => queue.length,
    lagMs: () => {
      let oldest: number | null | undefined;
      for (const lane of lanes) {
        if (lane.oldestMs !== null) oldest = Math.min(oldest ?? Infinity, lane.oldestMs);
      }
      oldest ??= pendingOldestMs ?? queue[0]?.receivedAtMs;
      return oldest === undefined ? 0 : Math.max(0, Date.now() - oldest);
    },
    connected: () => client.connected,
    async reloadConfig() {
      registry.invalidate();
      await engine?.reloadZones();
    },
    async close() {
      // Stop reading, finish the batch in hand (its acks go out), then disconnect. Messages
      // still queued were never acked: their devices re-send them.
      running = false;
      clearInterval(silenceTimer);
      clearTimeout(reloadTimer);
      wake?.();
      await loop;
      await unlisten();
      await client.endAsync();
    },
  };
}

/**
 * mqtt.js writes every packet on a tick of its own, so each PUBACK of a burst of incoming
 * messages is one syscall. Corking the socket for the rest of the event-loop turn in which
 * a chunk arrived sends them together (and the acks of a batch, published in one loop, too).
 */
function coalesceWrites(client: MqttClient): void {
  const seen = new WeakSet<object>();
  const attach = () => {
    const stream = client.stream as
      (NodeJS.ReadableStream & { cork?: () => void; uncork?: () => void }) | undefined;
    if (!stream || seen.has(stream) || typeof stream.cork !== 'function') return;
    seen.add(stream);
    let corked = false;
    stream.on('data', () => {
      if (corked) return;
      corked = true;
      stream.cork!();
      setImmediate(() => {
        corked = false;
        stream.uncork!();
      });
    });
  };
  client.on('connect', attach);
}

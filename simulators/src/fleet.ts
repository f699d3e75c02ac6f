import { SimClock, type TimeMode } from './clock';
import { DeviceClient } from './device-client';
import { silentLogger, type Logger } from './log';
import type { DemoDevice, DemoTerminal, DemoWristband } from './manifest';
import type { DeviceMemory } from './memory';
import { SimTerminal } from './terminal';
import { SimWristband } from './wristband';

/**
 * A fleet of simulated devices in one process, from 1 to 100,000: one MQTT connection per
 * device (the contract), connects staggered at `connectRatePerS`, one scheduler for all
 * devices (a binary heap of due times, no timer per device), and per device only its
 * numbers, its current routine segment and its connection (about 6–8 KB with the lite link).
 *
 * For very large fleets: raise the open-file limit (`ulimit -n 200000`) and, towards one
 * broker address, spread connections over several local addresses (`localAddresses`, e.g.
 * 127.0.0.2 … 127.0.0.5): one source address has about 28,000 ephemeral ports.
 */
export interface FleetOptions {
  mqttUrl: string;
  /** Devices to run (wristbands and terminals, e.g. from `seedDemo` or the manifest). */
  devices: readonly DemoDevice[];
  /** Routine speed (see clock.ts): 1 = real time. */
  speed?: number;
  /** How speed > 1 is honoured: `compress` (default) or `backfill`. */
  timeMode?: TimeMode;
  /** backfill: how far back the device clock starts, ms. */
  backfillMs?: number;
  /** Reporting interval of every wristband, s (default 60; `set_interval` changes one). */
  intervalS?: number;
  /** Heartbeat interval, s (default 300). */
  heartbeatS?: number;
  /** Re-send unacknowledged messages after this long (contract: 30 s). */
  resendAfterMs?: number;
  /** Occasional coverage gaps with buffered upload (default true). */
  coverageGaps?: boolean;
  /** New connections per second (default 500). */
  connectRatePerS?: number;
  /** Transport: `lite` (default, lean) or `mqtt.js`. */
  link?: 'lite' | 'mqtt.js';
  localAddresses?: readonly string[];
  /** MQTT keepalive, s (default 120). */
  keepaliveS?: number;
  logger?: Logger;
  /** Seqs and last fixes across runs (see memory.ts); saved every minute and on stop. */
  memory?: DeviceMemory;
  /** Replaces the device clock (tests). */
  clock?: SimClock;
}

export type FleetDevice = SimWristband | SimTerminal;

export interface FleetStats {
  devices: number;
  connected: number;
  fixes: number;
  messages: number;
  unacked: number;
  commands: number;
  checkins: number;
}

export interface Fleet {
  readonly clock: SimClock;
  readonly size: number;
  device(id: string): FleetDevice | undefined;
  wristbands(): SimWristband[];
  terminals(): SimTerminal[];
  stats(): FleetStats;
  /** Resolves when every device has connected once (or `timeoutMs` passed). */
  connected(timeoutMs?: number): Promise<boolean>;
  /** Reschedules a device now (after a scenario released it or a command changed it). */
  wake(id: string): void;
  stop(): Promise<void>;
}

/** How often the scheduler looks for due devices, and the most devices it serves per look. */
const TICK_MS = 100;
const MAX_PER_TICK = 5000;
/** Even with nothing due, every device is visited this often (re-sends, keepalive). */
const HOUSEKEEPING_MS = 5000;

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const log = options.logger ?? silentLogger;
  const clock =
    options.clock ??
    new SimClock({
      speed: options.speed ?? 1,
      mode: options.timeMode ?? 'compress',
      ...(options.backfillMs !== undefined ? { backfillMs: options.backfillMs } : {}),
    });
  const intervalS = options.intervalS ?? 60;
  const heartbeatS = options.heartbeatS ?? 300;
  const devices = new Map<string, FleetDevice>();
  const heap = new DueHeap();
  const link = options.link ?? 'lite';
  const addresses = options.localAddresses ?? [];
  let n = 0;
  const clientFor = (spec: DemoDevice) => {
    const localAddress = addresses.length > 0 ? addresses[n++ % addresses.length] : undefined;
    return new DeviceClient({
      url: options.mqttUrl,
      deviceId: spec.deviceId,
      secret: spec.secret,
      link,
      timers: false,
      keepaliveS: options.keepaliveS ?? 120,
      reconnectPeriodMs: 2000,
      // A device keeps its seq across reboots.
      startSeq: options.memory?.startSeq(spec.deviceId) ?? Math.floor(Date.now() / 100),
      ...(options.resendAfterMs !== undefined ? { resendAfterMs: options.resendAfterMs } : {}),
      ...(localAddress ? { localAddress } : {}),
    });
  };

  const terminalsByOffice = new Map<string, SimTerminal>();
  for (const spec of options.devices) {
    if (spec.kind === 'terminal') {
      const terminal = new SimTerminal(spec as DemoTerminal, clientFor(spec), {
        clock,
        heartbeatS,
        logger: log,
      });
      devices.set(spec.deviceId, terminal);
      terminalsByOffice.set(spec.officeCode, terminal);
    }
  }
  for (const spec of options.devices) {
    if (spec.kind !== 'wristband') continue;
    const client = clientFor(spec);
    const wristband = new SimWristband(spec as DemoWristband, client, {
      clock,
      intervalS,
      heartbeatS,
      coverageGaps: options.coverageGaps ?? true,
      logger: log,
      remembered: options.memory?.get(spec.deviceId),
    });
    // set_interval and locate act at once: answer, then reschedule the device now.
    client.setCommandHandler((c) => {
      wristband.onCommand(c);
      heap.push(clock.realNow(), wristband);
    });
    devices.set(spec.deviceId, wristband);
    terminalsByOffice.get(spec.officeCode)?.subjects.push(wristband);
  }

  const all = [...devices.values()];
  let stopped = false;
  const connectedOnce = new Set<string>();

  // Staggered connects: `connectRatePerS`, each device starting its routine once connected.
  const rate = Math.max(1, options.connectRatePerS ?? 500);
  const connecting = (async () => {
    for (let i = 0; i < all.length && !stopped; i++) {
      const device = all[i]!;
      device.client
        .connect()
        .then(() => connectedOnce.add(device.id))
        .catch((err: unknown) =>
          log.warn(
            { device: device.id, err: String(err) },
            '设备连接失败，稍后重试 / connect failed, retrying',
          ),
        );
      device.start(clock.now());
      heap.push(clock.realNow(), device);
      if ((i + 1) % Math.max(1, Math.round(rate / 10)) === 0) await sleep(100);
    }
  })();

  const timer = setInterval(() => {
    const realNow = clock.realNow();
    const deviceNow = clock.now();
    for (let served = 0; served < MAX_PER_TICK; served++) {
      const top = heap.peek();
      if (!top || top.dueReal > realNow) break;
      heap.pop();
      const device = top.device;
      if (top.version !== heap.version(device)) continue; // superseded by a newer schedule
      try {
        device.advance(deviceNow);
      } catch (err) {
        log.error(
          { device: device.id, err: String(err) },
          '设备模拟出错 / device simulation error',
        );
      }
      const due = device.nextDueMs();
      const dueReal =
        due === null
          ? realNow + HOUSEKEEPING_MS
          : Math.min(clock.realAt(due), realNow + HOUSEKEEPING_MS);
      heap.push(Math.max(dueReal, realNow + 1), device);
    }
  }, TICK_MS);

  const remember = async () => {
    const memory = options.memory;
    if (!memory) return;
    for (const d of all) {
      memory.remember(d.id, d.kind === 'wristband' ? d.memory() : { seq: d.client.nextSeq });
    }
    await memory
      .save()
      .catch((err: unknown) =>
        log.warn({ err: String(err) }, '设备状态未保存 / device memory not saved'),
      );
  };
  const memoryTimer = setInterval(() => void remember(), 60_000);

  return {
    clock,
    size: all.length,
    device: (id) => devices.get(id),
    wristbands: () => all.filter((d): d is SimWristband => d.kind === 'wristband'),
    terminals: () => all.filter((d): d is SimTerminal => d.kind === 'terminal'),
    stats() {
      const s: FleetStats = {
        devices: all.length,
        connected: 0,
        fixes: 0,
        messages: 0,
        unacked: 0,
        commands: 0,
        checkins: 0,
      };
      for (const d of all) {
        if (d.client.connected) s.connected++;
        s.unacked += d.client.unacked;
        s.messages += d.counters.messages;
        s.commands += d.counters.commands;
        if (d.kind === 'wristband') s.fixes += d.counters.fixes;
        else s.checkins += d.counters.checkins;
      }
      return s;
    },
    async connected(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      await connecting;
      while (connectedOnce.size < all.length && Date.now() < deadline) await sleep(50);
      return connectedOnce.size === all.length;
    },
    wake(id) {
      const device = devices.get(id);
      if (device) heap.push(clock.realNow(), device);
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearInterval(memoryTimer);
      await connecting;
      await remember();
      const closing: Promise<void>[] = [];
      for (const d of all) {
        closing.push(d.client.close().catch(() => {}));
        if (closing.length >= 1000) await Promise.all(closing.splice(0));
      }
      await Promise.all(closing);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Min-heap of (due real time, device). Re-scheduling a device pushes a new entry and bumps
 * its version; stale entries are skipped when they surface.
 */
class DueHeap {
  #items: { dueReal: number; device: FleetDevice; version: number }[] = [];
  #versions = new WeakMap<FleetDevice, number>();

  version(device: FleetDevice): number {
    return this.#versions.get(device) ?? 0;
  }

  push(dueReal: number, device: FleetDevice): void {
    const version = this.version(device) + 1;
    this.#versions.set(device, version);
    const items = this.#items;
    items.push({ dueReal, device, version });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.dueReal <= items[i]!.dueReal) break;
      [items[parent], items[i]] = [items[i]!, items[parent]!];
      i = parent;
    }
  }

  peek() {
    return this.#items[0];
  }

  pop() {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && items[l]!.dueReal < items[m]!.dueReal) m = l;
        if (r < items.length && items[r]!.dueReal < items[m]!.dueReal) m = r;
        if (m === i) break;
        [items[m], items[i]] = [items[i]!, items[m]!];
        i = m;
      }
    }
    return top;
  }
}

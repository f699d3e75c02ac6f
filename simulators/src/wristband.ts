import { CommandMessage, type EventMessage, type Fix } from '@ccm/contracts';
import { DAY_MS, HOUR_MS, MINUTE_MS, localDayNumber, localMidnight, type SimClock } from './clock';
import type { DeviceClient } from './device-client';
import { observe, type FixEnv, type NoiseOptions } from './fixes';
import { distanceM, polylineLengthM, alongPath, route, type LonLat } from './geo';
import type { Logger } from './log';
import type { DemoWristband } from './manifest';
import type { DeviceMemoryEntry } from './memory';
import { Rng, seedOf } from './random';
import { CHARGE_PCT_PER_H, Routine, type Env, type Whereabouts } from './routine';

/**
 * A simulated GPS/BeiDou wristband (SF/T 0056) that speaks only the device contract through
 * DeviceClient. On its own it lives its subject's routine (routine.ts): a fix every
 * `intervalS` of device time, a heartbeat every `heartbeatS`, a battery that drains by day
 * and charges in the evening, and now and then a short coverage gap whose fixes are
 * uploaded afterwards. It obeys commands (`set_interval`, `locate`, `warn`) and answers each
 * with `cmd/result`. A scenario can take it over (`takeOver()`), script what it does, and
 * hand it back; it then goes home and picks up its routine there.
 */
export interface WristbandOptions {
  clock: SimClock;
  /** Normal reporting interval, s (the contract: 60). */
  intervalS: number;
  heartbeatS: number;
  /** Occasional 1–3 minute coverage gaps with buffered upload. */
  coverageGaps: boolean;
  logger: Logger;
  firmware?: string;
  /** What the device remembered from its last run (last fix time and position). */
  remembered?: DeviceMemoryEntry | undefined;
}

export interface DeviceCounters {
  fixes: number;
  messages: number;
  commands: number;
}

const FIRMWARE = '1.4.2';
/** A coverage gap happens on this share of days, for 1–3 minutes in the daytime. */
const GAP_DAY_SHARE = 0.3;

export class SimWristband {
  readonly kind = 'wristband' as const;
  readonly id: string;
  readonly routine: Routine;
  intervalS: number;
  /** True position at the last fix, and that fix's device time. */
  position: LonLat;
  lastFixMs: number | null = null;
  battery: number;
  charging = false;
  readonly counters: DeviceCounters = { fixes: 0, messages: 0, commands: 0 };
  readonly rng: Rng;
  #nextFixMs: number | null = null;
  #nextHbMs: number | null = null;
  #batteryAtMs: number | null = null;
  #held = false;
  #detour: { path: LonLat[]; lengthM: number; startMs: number; speedMps: number } | null = null;
  #handled: string[] = [];
  #gapDay = -1;
  #gap: { startMs: number; endMs: number } | null = null;
  #locateRequested = false;

  constructor(
    readonly spec: DemoWristband,
    readonly client: DeviceClient,
    readonly options: WristbandOptions,
  ) {
    this.id = spec.deviceId;
    this.routine = new Routine(spec, options.clock.routineSpeed);
    this.intervalS = options.intervalS;
    this.rng = new Rng(seedOf('device', spec.deviceId, options.clock.realNow()));
    this.position = options.remembered?.p ?? spec.places.home;
    this.lastFixMs = options.remembered?.t ?? null;
    this.battery = 80;
    client.setCommandHandler((command) => this.onCommand(command));
  }

  get held(): boolean {
    return this.#held;
  }

  /** Starts the routine at device time `nowMs`, first fix within one interval (staggered). */
  start(nowMs: number): void {
    const first = nowMs + Math.floor(this.rng.range(0, this.intervalS * 1000));
    this.#nextFixMs = first;
    this.#nextHbMs = first + Math.floor(this.rng.range(0, this.options.heartbeatS * 1000));
    this.#batteryAtMs = null;
  }

  /** Device time of the next thing the routine must do (null while a scenario holds it). */
  nextDueMs(): number | null {
    if (this.#held || this.#nextFixMs === null) return null;
    return Math.min(this.#nextFixMs, this.#nextHbMs ?? Infinity);
  }

  /** Routine: everything due up to device time `nowMs`, sent as one message per kind. */
  advance(nowMs: number): void {
    this.client.tick(this.options.clock.realNow());
    if (this.#held || this.#nextFixMs === null) return;
    const fixes: Fix[] = [];
    const flush = () => {
      if (fixes.length === 0) return;
      for (let i = 0; i < fixes.length; i += 500) this.#sendFixes(fixes.slice(i, i + 500));
      fixes.length = 0;
    };
    let nextFix = this.#nextFixMs;
    if (this.#locateRequested) {
      this.#locateRequested = false;
      nextFix = Math.min(nextFix, nowMs);
    }
    let nextHb = this.#nextHbMs ?? Infinity;
    while (nextFix <= nowMs || nextHb <= nowMs) {
      if (nextFix <= nextHb) {
        const t: number = nextFix;
        this.#coverage(t, flush);
        const w = this.truthAt(t);
        this.#updateBattery(t, w);
        fixes.push(this.observe(w.p, t, envOf(w)));
        this.position = w.p;
        this.lastFixMs = t;
        nextFix = t + this.intervalS * 1000;
      } else {
        const t: number = nextHb;
        this.#coverage(t, flush);
        const w = this.truthAt(t);
        this.#updateBattery(t, w);
        // A heartbeat says "alive now": out of coverage there is nothing to say later.
        if (!this.client.offline) {
          flush();
          this.heartbeat(t, w.env);
        }
        nextHb = t + this.options.heartbeatS * 1000;
      }
    }
    this.#nextFixMs = nextFix;
    this.#nextHbMs = nextHb;
    flush();
  }

  /** Where the subject truly is at `t`: routine, or on the way home after a scenario. */
  truthAt(t: number): Whereabouts {
    const d = this.#detour;
    if (d) {
      const travelled = ((t - d.startMs) / 1000) * d.speedMps;
      if (travelled < d.lengthM) {
        const { p, hdg } = alongPath(d.path, travelled);
        return {
          p,
          env: 'outdoor',
          speedMps: d.speedMps,
          hdg,
          charging: false,
          place: 'home',
          moving: true,
          pace: 1,
        };
      }
      const routine = this.routine.at(t);
      if (routine.place === 'home' && !routine.moving) this.#detour = null;
      else {
        const home = this.spec.places.home;
        return {
          p: home,
          env: 'indoor',
          speedMps: 0,
          hdg: null,
          charging: false,
          place: 'home',
          moving: false,
          pace: 1,
        };
      }
    }
    return this.routine.at(t);
  }

  /** A fix as this device's receiver would report the true position `p` at `t`. */
  observe(
    p: LonLat,
    t: number,
    env: FixEnv,
    noise: NoiseOptions = {},
    motion?: { speedMps?: number; hdg?: number | null },
  ): Fix {
    return observe(p, t, env, this.rng, motion ?? {}, noise);
  }

  heartbeat(t: number, env: Env = 'indoor', battery = this.battery): number {
    this.counters.messages++;
    return this.client.sendHeartbeat({
      t: Math.round(t),
      bat: Math.round(battery),
      chg: this.charging,
      rssi: Math.round(env === 'indoor' ? this.rng.range(-105, -80) : this.rng.range(-90, -60)),
      fw: this.options.firmware ?? FIRMWARE,
    });
  }

  event(e: Omit<EventMessage, 'seq'>): number {
    this.counters.messages++;
    return this.client.sendEvent(e);
  }

  /** Sends fixes (≤ 500) as one message; returns its seq. */
  sendFixes(fixes: Fix[]): number {
    return this.#sendFixes(fixes);
  }

  #sendFixes(fixes: Fix[]): number {
    this.counters.fixes += fixes.length;
    this.counters.messages++;
    return this.client.sendFixes(fixes);
  }

  /** Battery: drains while worn, charges on the charger; events when charging starts/stops. */
  #updateBattery(t: number, w: Whereabouts) {
    const charging = w.charging;
    if (this.#batteryAtMs === null) {
      this.battery = this.#initialBattery(t);
    } else {
      const hours = Math.max(0, t - this.#batteryAtMs) / HOUR_MS;
      // A compressed stay lives hours in minutes: drain and charge at its pace.
      const rate = w.pace;
      this.battery = charging
        ? Math.min(100, this.battery + CHARGE_PCT_PER_H * hours * rate)
        : Math.max(1, this.battery - this.spec.persona.drainPctPerH * hours * rate);
    }
    this.#batteryAtMs = t;
    if (charging !== this.charging) {
      this.charging = charging;
      this.event({
        t: Math.round(t),
        type: charging ? 'charging_start' : 'charging_stop',
        bat: Math.round(this.battery),
      });
    }
  }

  /** Battery at a cold start: full at 23:00 (off the charger), draining since. */
  #initialBattery(t: number): number {
    const sinceCharge = (t - (localMidnight(t) + 23 * HOUR_MS) + DAY_MS) % DAY_MS;
    return Math.max(35, 100 - this.spec.persona.drainPctPerH * (sinceCharge / HOUR_MS));
  }

  /** Routine coverage gaps: messages are kept while out of coverage and uploaded after. */
  #coverage(t: number, flush: () => void) {
    if (!this.options.coverageGaps) return;
    const day = localDayNumber(t);
    if (day !== this.#gapDay) {
      this.#gapDay = day;
      const rng = new Rng(seedOf('gap', this.id, day));
      this.#gap = rng.chance(GAP_DAY_SHARE)
        ? (() => {
            const startMs = localMidnight(t) + rng.range(8, 20) * HOUR_MS;
            return { startMs, endMs: startMs + rng.range(1, 3) * MINUTE_MS };
          })()
        : null;
    }
    const inGap = this.#gap !== null && t >= this.#gap.startMs && t < this.#gap.endMs;
    if (inGap !== this.client.offline) {
      flush();
      if (inGap) this.client.goOffline();
      else this.client.goOnline();
    }
  }

  /** Commands from the platform (contract: `…/cmd`), each answered with `cmd/result`. */
  onCommand(raw: unknown): void {
    const parsed = CommandMessage.safeParse(raw);
    const id = (raw as { id?: unknown } | null)?.id;
    if (!parsed.success) {
      if (typeof id === 'string' && id.length > 0 && id.length <= 64)
        this.client.sendCommandResult(id, 'rejected');
      return;
    }
    const command = parsed.data;
    // QoS 1 may deliver twice; an expired command is ignored (contract: `expires`).
    if (this.#handled.includes(command.id) || command.expires < this.options.clock.realNow())
      return;
    this.#handled.push(command.id);
    if (this.#handled.length > 8) this.#handled.shift();
    this.counters.commands++;
    let status: 'done' | 'rejected' = 'done';
    switch (command.type) {
      case 'set_interval':
        this.intervalS = command.params.seconds;
        if (this.#nextFixMs !== null && this.lastFixMs !== null) {
          this.#nextFixMs = Math.min(this.#nextFixMs, this.lastFixMs + this.intervalS * 1000);
        }
        break;
      case 'locate':
        this.#locateRequested = true;
        break;
      case 'warn':
        // 警示告知: the band vibrates and shows the text; nothing to send but the result.
        break;
      case 'checkin_request':
        status = 'rejected'; // a wristband has no fingerprint reader or microphone
        break;
    }
    this.client.sendCommandResult(command.id, status);
    this.options.logger.info(
      { device: this.id, type: command.type, params: command.params, status },
      '设备收到指令 / device command',
    );
  }

  /** A scenario takes the device: the routine stops until `release()`. */
  takeOver(): void {
    this.#held = true;
  }

  /**
   * The scenario is over: the subject heads home from where the scenario left them (by car
   * beyond 1.5 km) and the routine resumes once it, too, has them at home.
   */
  release(nowMs: number): void {
    this.#held = false;
    const home = this.spec.places.home;
    const from = this.position;
    const startMs = Math.max(nowMs, this.lastFixMs ?? nowMs);
    if (distanceM(from, home) > 200) {
      const path = route(from, home, 0.1);
      const lengthM = polylineLengthM(path);
      const speedMps = lengthM > 1500 ? this.spec.persona.driveMps : this.spec.persona.walkMps;
      this.#detour = { path, lengthM, startMs, speedMps };
    }
    this.#nextFixMs = Math.max(nowMs, (this.lastFixMs ?? nowMs) + this.intervalS * 1000);
    this.#nextHbMs = nowMs + this.options.heartbeatS * 1000;
  }

  /** What this device should remember for its next run. */
  memory(): DeviceMemoryEntry {
    return {
      seq: this.client.nextSeq,
      ...(this.lastFixMs !== null ? { t: this.lastFixMs, p: this.position } : {}),
    };
  }

  /** Scenario helpers keep the device's bookkeeping in step. */
  noteFix(p: LonLat, t: number): void {
    this.position = p;
    this.lastFixMs = t;
  }
  noteBattery(pct: number, charging: boolean, t: number): void {
    this.battery = pct;
    this.charging = charging;
    this.#batteryAtMs = t;
  }
}

export function envOf(w: Whereabouts): FixEnv {
  if (w.env === 'indoor') return 'indoor';
  return w.speedMps > 3 ? 'vehicle' : 'outdoor';
}

import type { AlertType, Fix } from '@ccm/contracts';
import type { NoiseOptions } from './fixes';
import { classifyPoint } from '@ccm/geofence';
import {
  MINUTE_MS,
  SimClock,
  curfewWindowAt,
  lastEndedCurfewWindow,
  overlapsCurfew,
} from './clock';
import { legRoute, shapeCenter, type DemoZone } from './demo-plan';
import { DeviceClient } from './device-client';
import type { Fleet } from './fleet';
import {
  alongPath,
  destination,
  distanceM,
  pathClearanceM,
  pathPrefix,
  polylineLengthM,
  route,
  shapeOf,
  signedDistanceM,
  type LonLat,
  type Shape,
} from './geo';
import { silentLogger, type Logger } from './log';
import type { DemoManifest, DemoTerminal, DemoWristband } from './manifest';
import type { DeviceMemory } from './memory';
import { ScriptedWristband } from './scripted';
import { SimTerminal } from './terminal';
import { SimWristband } from './wristband';

/**
 * Named scenarios, each producing exactly the alert an officer should see, and nothing else,
 * through the device contract only. A scenario runs on a fleet device when the fleet has it
 * (live: it plays in real time from where the subject is), or on its own connection to a
 * device nobody else is running (it then starts in the past: the lead-up arrives as a
 * buffered upload and the violation lands now, so a test needs seconds, not minutes).
 */
export const SCENARIO_NAMES = [
  'leave_county',
  'enter_exclusion',
  'curfew_breach',
  'strap_tamper',
  'battery_power_off',
  'no_signal',
  'gps_drift_edge',
  'late_violation',
  'checkin_failed',
  'message_flood',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface ScenarioInfo {
  name: ScenarioName;
  zh: string;
  en: string;
  /** What the platform shows today, in words. */
  expect: string;
}

export const SCENARIOS: readonly ScenarioInfo[] = [
  {
    name: 'leave_county',
    zh: '越界：未经批准驾车离开居住的县（区），在外停留',
    en: 'Leaves the home county by car without approval and stays out',
    expect: 'zone_exit (county zone), not late',
  },
  {
    name: 'enter_exclusion',
    zh: '进入禁止区域：前往被害人住所（或学校）附近并逗留',
    en: "Goes to a prohibited place (a victim's home or a school) and loiters",
    expect: 'zone_enter (that exclusion zone), not late',
  },
  {
    name: 'curfew_breach',
    zh: '夜不归宿：宵禁时段（22:00–06:00）离开住所',
    en: 'Out of home during the curfew (22:00–06:00 China time)',
    expect:
      'curfew; not late inside the curfew window, late (a backlog from last night) outside it',
  },
  {
    name: 'strap_tamper',
    zh: '防拆报警：腕带表带被打开，随后重新扣上',
    en: 'The strap is opened, then closed again',
    expect: 'strap_tamper (critical), ended by strap_closed',
  },
  {
    name: 'battery_power_off',
    zh: '电量耗尽：电量骤降至危急，随后关机，再开机充电',
    en: 'Battery collapses to critical, the band powers off, then powers on and charges',
    expect: 'battery_critical, then power_off (both ended on power-on and charging)',
  },
  {
    name: 'no_signal',
    zh: '信号中断：设备失联超过上报间隔加宽限期，之后恢复',
    en: 'The device goes silent for longer than its interval plus grace, then returns',
    expect: 'no_signal (ended when the device reports again)',
  },
  {
    name: 'gps_drift_edge',
    zh: '边界漂移：在县界附近停留，定位在边界两侧漂移，不应报警',
    en: 'Stays at the county edge with fixes drifting across it: must NOT alert',
    expect: 'no alert',
  },
  {
    name: 'late_violation',
    zh: '迟报违规：无信号期间进入禁止区域，恢复信号后补传',
    en: 'Enters a prohibited place while out of coverage; the backlog arrives later',
    expect: 'zone_enter marked late (and no_signal too when the real gap exceeds the threshold)',
  },
  {
    name: 'checkin_failed',
    zh: '核查失败：指纹不匹配、人脸疑似伪造（终端上报结果）',
    en: 'A failed fingerprint and a suspected face spoof at the office terminal',
    expect: 'two checkin_failed alerts (one per failed check-in), from the supervision rules',
  },
  {
    name: 'message_flood',
    zh: '消息洪泛：故障设备一秒内发送数千条消息',
    en: 'A broken device sends thousands of messages in a burst',
    expect: 'no alert; the gateway records a `flood` security event',
  },
];

export interface ScenarioTiming {
  /** strap_tamper: how long the strap stays open. */
  tamperMs: number;
  /** battery_power_off: how long the band stays off (keep it under the no_signal threshold). */
  powerOffMs: number;
  /** no_signal: how long the band is silent (must exceed interval + the gateway's grace). */
  silenceMs: number;
  /** late_violation: from the violation to the upload (must exceed the engine's 120 s). */
  lateByMs: number;
  /** After a zone violation is confirmed, live runs stay this long before heading home. */
  dwellMs: number;
  /** message_flood: how many messages. */
  floodMessages: number;
}

export const DEFAULT_TIMING: ScenarioTiming = {
  tamperMs: 2 * MINUTE_MS,
  powerOffMs: 2 * MINUTE_MS,
  silenceMs: 5 * MINUTE_MS,
  lateByMs: 5 * MINUTE_MS,
  dwellMs: 3 * MINUTE_MS,
  floodMessages: 2000,
};

export interface ScenarioContext {
  mqttUrl: string;
  /** The demo devices and zones (from `seedDemo` or `loadManifest`). */
  manifest: Pick<DemoManifest, 'wristbands' | 'terminals' | 'zones'>;
  /** Run on this fleet's device when it has the target. */
  fleet?: Fleet;
  /** A wristband id; default: the first eligible one. */
  target?: string;
  /** Devices not to pick (already used by other runs). */
  exclude?: ReadonlySet<string>;
  timing?: Partial<ScenarioTiming>;
  /** Reporting interval of a device run on its own connection, s (default 60). */
  intervalS?: number;
  heartbeatS?: number;
  /**
   * The platform's no_signal threshold (subject interval + the gateway's grace), ms. Default
   * 240 s (60 + 180). Used only to say whether a long gap also raises no_signal.
   */
  silenceThresholdMs?: number;
  /** A device on its own connection stays connected and heartbeats this often until `stop()`. */
  keepAliveMs?: number;
  logger?: Logger;
  signal?: AbortSignal;
  /**
   * Seqs and last fixes across runs (memory.ts): a device on its own connection goes on
   * from where its last run left it. Without it every run is a first boot.
   */
  memory?: DeviceMemory;
}

export interface ExpectedAlert {
  type: AlertType;
  /** Whether the alert is marked late; undefined: either. */
  late?: boolean;
  /** The zone it is about (zone alerts). */
  zoneId?: string;
}

export interface ScenarioRun {
  name: ScenarioName;
  /** The device that played it (the office terminal for check-in scenarios). */
  deviceId: string;
  /** The subject's wristband (the same as deviceId for wristband scenarios). */
  wristbandId: string;
  subjectId: string;
  /** What an officer should see for this run, and nothing else. */
  expected: ExpectedAlert[];
  /** Security events the gateway records. */
  expectedSecurity: 'flood'[];
  /** Device time the scenario's messages start at, and real time it finished. */
  startedAtMs: number;
  finishedAtMs: number;
  /** Played in real time on a live device, or started in the past on a fresh one. */
  mode: 'live' | 'fast';
  note: string;
  /** Disconnects a device that was kept alive on its own connection. */
  stop(): Promise<void>;
}

interface ZoneView {
  zone: DemoZone;
  shape: Shape;
}

interface Env {
  ctx: ScenarioContext;
  target: DemoWristband;
  timing: ScenarioTiming;
  clock: SimClock;
  zones: { county: ZoneView; curfew: ZoneView | null; exclusions: ZoneView[] };
  /** Where the subject is now (true position). */
  position: LonLat;
  /** The device's last fix time (null: a fresh device). */
  lastFixMs: number | null;
  inFleet: boolean;
}

interface Outcome {
  expected: ExpectedAlert[];
  expectedSecurity?: 'flood'[];
  startedAtMs: number;
  note: string;
}

interface Definition {
  /** Null when the target fits, else why not. */
  eligible(env: Env): string | null;
  /** Check-in scenarios drive the office terminal, the others the wristband. */
  device: 'wristband' | 'terminal';
  run(
    env: Env,
    script: ScriptedWristband | null,
    terminal: TerminalHandle | null,
  ): Promise<Outcome>;
}

interface TerminalHandle {
  checkin: SimTerminal['checkin'];
  client: DeviceClient;
}

// ---------------------------------------------------------------------------------------------
// Geometry the scenarios aim with.

/** Whether a fix counts against a zone (the engine's rule: clearly past the edge). */
function qualifies(view: ZoneView, fix: Fix): 'violating' | 'compliant' | 'ambiguous' {
  const c = classifyPoint(view.shape.compiled, fix.lon, fix.lat, fix.acc + view.zone.bufferM);
  if (c === 'near') return 'ambiguous';
  const inside = c === 'inside';
  return inside === (view.zone.kind === 'exclusion') ? 'violating' : 'compliant';
}

/**
 * Mirrors the engine's confirmation (3 qualifying fixes, or 90 s of them with at least 2,
 * with at least one GNSS fix; a clearly compliant fix restarts it) so a script knows when
 * the platform has what it needs. The engine decides; this only says when to stop.
 */
class Confirmation {
  count = 0;
  firstMs: number | null = null;
  lastMs: number | null = null;
  gnss = false;
  constructor(readonly view: ZoneView) {}
  see(fix: Fix) {
    const q = qualifies(this.view, fix);
    if (q === 'violating') {
      this.count++;
      this.firstMs ??= fix.t;
      if (fix.src === 'gnss') this.gnss = true;
      this.lastMs = fix.t;
    } else if (q === 'compliant') {
      this.count = 0;
      this.firstMs = null;
      this.gnss = false;
    }
  }
  get confirmed(): boolean {
    if (!this.gnss) return false;
    const span = this.firstMs !== null && this.lastMs !== null ? this.lastMs - this.firstMs : 0;
    return this.count >= 3 || (this.count >= 2 && span >= 90_000);
  }
}

/** Stays put (fix every interval) until the zone violation is confirmed, at most `maxMs`. */
async function stayUntilConfirmed(
  script: ScriptedWristband,
  confirmation: Confirmation,
  env: 'outdoor' | 'indoor',
  maxMs = 30 * MINUTE_MS,
): Promise<void> {
  const until = script.cursor + maxMs;
  while (!confirmation.confirmed && script.cursor < until) {
    await script.stay(script.intervalMs, env);
  }
  if (!confirmation.confirmed) throw new Error('the violation did not confirm (scenario geometry)');
}

/**
 * The start of `path` until `beyondM` past where it is clearly out of `view`'s zone (more
 * than the buffer and a GNSS fix's accuracy outside), or the whole path if it never is.
 */
function pathLeaving(view: ZoneView, path: readonly LonLat[], beyondM: number): LonLat[] {
  const length = polylineLengthM(path);
  const clearM = view.zone.bufferM + 50;
  for (let d = 0; d <= length; d += 10) {
    if (signedDistanceM(view.shape, alongPath(path, d).p) > clearM) {
      return pathPrefix(path, d + beyondM);
    }
  }
  return [...path];
}

/** The shortest drive out of the county that avoids the subject's exclusion zones. */
function exitRoute(
  county: Shape,
  from: LonLat,
  avoid: readonly Shape[],
  beyondM: number,
): { bearing: number; crossingM: number; stop: LonLat } | null {
  let best: { bearing: number; crossingM: number; stop: LonLat } | null = null;
  for (let bearing = 0; bearing < 360; bearing += 10) {
    let crossingM = -1;
    for (let d = 250; d <= 60_000; d += 250) {
      if (signedDistanceM(county, destination(from, bearing, d)) > 0) {
        crossingM = d;
        break;
      }
    }
    if (crossingM < 0 || (best && crossingM >= best.crossingM)) continue;
    const stop = destination(from, bearing, crossingM + beyondM);
    // Clearly outside and not a sliver of the county beyond.
    if (signedDistanceM(county, stop) < beyondM * 0.5) continue;
    // Driven in a straight line (travel with bend 0), so that is the path to keep clear.
    if (avoid.some((s) => pathClearanceM(s, [from, stop], 100) < 300)) continue;
    best = { bearing, crossingM, stop };
  }
  return best;
}

/** Distance along a ray from `from` at which the signed distance to the county edge is `target`. */
function alongRayTo(county: Shape, from: LonLat, bearing: number, targetM: number): number {
  let lo = 0;
  let hi = 250;
  while (signedDistanceM(county, destination(from, bearing, hi)) < targetM) hi += 250;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (signedDistanceM(county, destination(from, bearing, mid)) < targetM) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** How far inside a zone its centre is, m (how much room for drift a loiterer has). */
function roomInside(view: ZoneView): number {
  return -signedDistanceM(view.shape, shapeCenter(view.zone.geometry));
}

/** The exclusion zone with the most room, reachable from `from` without passing others. */
function exclusionTarget(env: Env, from: LonLat): { view: ZoneView; at: LonLat } | null {
  const candidates = env.zones.exclusions
    .map((view) => ({ view, room: roomInside(view), at: shapeCenter(view.zone.geometry) }))
    .filter((c) => c.room >= 40)
    .sort((a, b) => b.room - a.room);
  for (const c of candidates) {
    const path = route(from, c.at, 0.05);
    const others = env.zones.exclusions.filter((v) => v !== c.view);
    if (others.some((o) => pathClearanceM(o.shape, path, 50) < 150)) continue;
    if (pathClearanceM(env.zones.county.shape, path, 200) > -300) continue;
    return { view: c.view, at: c.at };
  }
  return null;
}

/** How long `ScriptedWristband.travel` takes from `from` to `to` with the same bend, ms. */
const travelMs = (from: LonLat, to: LonLat, speedMps: number, bend = 0.05) =>
  (polylineLengthM(route(from, to, bend)) / speedMps) * 1000;

/** Away from home at night would also breach a curfew: such subjects wait for the day. */
function curfewConflict(env: Env, aheadMs: number): string | null {
  if (!env.zones.curfew) return null;
  const now = env.clock.now();
  return overlapsCurfew(now - 2 * 3_600_000, now + aheadMs)
    ? 'subject has a curfew and the curfew window is near'
    : null;
}

/**
 * Why the subject is not where a scenario starts (inside the home county, or at home within
 * `withinM`), or null. A device on its own connection may be where its last run left it.
 */
function notInPlace(env: Env, withinM?: number): string | null {
  if (withinM !== undefined) {
    return distanceM(env.position, env.target.places.home) <= withinM
      ? null
      : 'subject is not at home';
  }
  return signedDistanceM(env.zones.county.shape, env.position) < -300
    ? null
    : 'subject is not inside the home county now';
}

const speedFor = (target: DemoWristband, from: LonLat, to: LonLat) =>
  distanceM(from, to) > 1500 ? target.persona.driveMps : target.persona.walkMps;

// ---------------------------------------------------------------------------------------------
// The scenarios.

const DEFINITIONS: Record<ScenarioName, Definition> = {
  leave_county: {
    device: 'wristband',
    eligible: (env) =>
      notInPlace(env) ??
      curfewConflict(env, 2 * 3_600_000) ??
      (exitRoute(env.zones.county.shape, env.position, shapesOf(env.zones.exclusions), 400)
        ? null
        : 'no way out of the county that avoids the exclusion zones'),
    async run(env, script) {
      const s = script!;
      const exit = exitRoute(
        env.zones.county.shape,
        env.position,
        shapesOf(env.zones.exclusions),
        400,
      )!;
      const speed = env.target.persona.driveMps;
      const startedAtMs = s.begin(travelMs(env.position, exit.stop, speed, 0) + 2.5 * s.intervalMs);
      const confirmation = new Confirmation(env.zones.county);
      s.onFix = (fix) => confirmation.see(fix);
      await s.travel(exit.stop, speed, { bend: 0 });
      await stayUntilConfirmed(s, confirmation, 'outdoor');
      if (live(env, s)) await s.stay(env.timing.dwellMs, 'outdoor');
      return {
        expected: [{ type: 'zone_exit', late: false, zoneId: env.zones.county.zone.id }],
        startedAtMs,
        note: `驾车离开${env.target.countyCode}，越界约 ${Math.round(exit.crossingM / 100) / 10} km 处 / drove out of the county`,
      };
    },
  },

  enter_exclusion: {
    device: 'wristband',
    eligible: (env) =>
      notInPlace(env) ??
      curfewConflict(env, 2 * 3_600_000) ??
      (exclusionTarget(env, env.position) ? null : 'no reachable exclusion zone with room'),
    async run(env, script) {
      const s = script!;
      const target = exclusionTarget(env, env.position)!;
      const speed = speedFor(env.target, env.position, target.at);
      const startedAtMs = s.begin(travelMs(env.position, target.at, speed) + 2.5 * s.intervalMs);
      const confirmation = new Confirmation(target.view);
      s.onFix = (fix) => confirmation.see(fix);
      await s.travel(target.at, speed, { env: 'outdoor' });
      await stayUntilConfirmed(s, confirmation, 'outdoor');
      if (live(env, s)) await s.stay(env.timing.dwellMs, 'outdoor');
      return {
        expected: [{ type: 'zone_enter', late: false, zoneId: target.view.zone.id }],
        startedAtMs,
        note: `进入并逗留：${target.view.zone.name}`,
      };
    },
  },

  curfew_breach: {
    device: 'wristband',
    eligible(env) {
      if (!env.zones.curfew) return 'subject has no curfew zone';
      const away = notInPlace(env, 300);
      if (away) return away;
      const now = env.clock.now();
      const window = curfewWindowAt(now);
      if (
        window &&
        now - window.startMs >= 45 * MINUTE_MS &&
        window.endMs - now >= 15 * MINUTE_MS
      ) {
        return null;
      }
      // Outside the window: last night as a backlog, only for a device with no history since.
      const last = lastEndedCurfewWindow(now);
      if (env.lastFixMs !== null && env.lastFixMs >= last.startMs - 30 * MINUTE_MS) {
        return 'outside the curfew window and the device already reported last night';
      }
      return null;
    },
    async run(env, script) {
      const s = script!;
      const curfew = env.zones.curfew!;
      const places = env.target.places;
      const spot =
        distanceM(places.home, places.market) >= distanceM(places.home, places.park)
          ? 'market'
          : 'park';
      const out = legRoute(places, env.target.index, 'home', spot)!;
      const back = [...out].reverse();
      const walk = env.target.persona.walkMps;
      const confirmation = new Confirmation(curfew);
      s.onFix = (fix) => confirmation.see(fix);
      const now = env.clock.now();
      const window = curfewWindowAt(now);
      const inWindow =
        window !== null &&
        now - window.startMs >= 45 * MINUTE_MS &&
        window.endMs - now >= 15 * MINUTE_MS;
      if (inWindow) {
        // Tonight: leaves home now (or did so a little while ago, for a fresh device). The
        // breach is confirmed a few fixes after the curfew zone is left, not at the end of the
        // walk, so the walk stops a little past the zone and those fixes land at now (a fresh
        // device's lead-up through the whole walk made them up to half an hour old: late).
        const leave = pathLeaving(curfew, out, 100);
        const startedAtMs = s.begin(
          2 * s.intervalMs + (polylineLengthM(leave) / walk) * 1000 + 2 * s.intervalMs,
        );
        await s.stay(2 * s.intervalMs, 'indoor');
        await s.travel(leave, walk, { env: 'outdoor' });
        await stayUntilConfirmed(s, confirmation, 'outdoor');
        if (live(env, s)) await s.stay(env.timing.dwellMs, 'outdoor');
        return {
          expected: [{ type: 'curfew', late: false, zoneId: curfew.zone.id }],
          startedAtMs,
          note: '宵禁时段离家外出 / out of home during the curfew',
        };
      }
      // Daytime: last night's breach, recorded while out of coverage and uploaded now.
      const last = lastEndedCurfewWindow(now);
      const startedAtMs = s.beginAt(last.startMs + 20 * MINUTE_MS);
      await s.offline();
      await s.stay(2 * s.intervalMs, 'indoor');
      await s.travel(out, walk, { env: 'outdoor' });
      await stayUntilConfirmed(s, confirmation, 'outdoor');
      await s.stay(40 * MINUTE_MS, 'outdoor');
      await s.travel(back, walk, { env: 'outdoor' });
      await s.stay(30 * MINUTE_MS, 'indoor', () => ({
        p: places.home,
        noise: { src: 'wifi', acc: 40 },
      }));
      // The rest of the night and the morning at home: a fix every 10 minutes (the band
      // saves power while nothing moves).
      const quietUntil = now - 2 * MINUTE_MS;
      while (s.cursor + 10 * MINUTE_MS < quietUntil) {
        await s.pass(10 * MINUTE_MS - s.intervalMs);
        await s.stay(s.intervalMs, 'indoor', () => ({
          p: places.home,
          noise: { src: 'wifi', acc: 40 },
        }));
      }
      await s.pass(Math.max(0, env.clock.now() - s.cursor - 1000));
      await s.online();
      await s.report('indoor');
      return {
        expected: [{ type: 'curfew', late: true, zoneId: curfew.zone.id }],
        startedAtMs,
        note: '昨夜宵禁时段外出，无信号，今天补传 / last night, uploaded today (late)',
      };
    },
  },

  strap_tamper: {
    device: 'wristband',
    eligible: () => null,
    async run(env, script) {
      const s = script!;
      const startedAtMs = s.begin(2 * s.intervalMs);
      const here = env.position;
      await s.stay(2 * s.intervalMs, 'indoor');
      await s.event('strap_open', {
        bat: Math.round(s.device.battery),
        lat: here[1],
        lon: here[0],
      });
      await s.stay(env.timing.tamperMs, 'indoor');
      await s.event('strap_closed', {
        bat: Math.round(s.device.battery),
        lat: here[1],
        lon: here[0],
      });
      return {
        expected: [{ type: 'strap_tamper', late: false }],
        startedAtMs,
        note: `表带打开 ${Math.round(env.timing.tamperMs / 1000)} 秒后扣回 / strap open, then closed`,
      };
    },
  },

  battery_power_off: {
    device: 'wristband',
    eligible: () => null,
    async run(env, script) {
      const s = script!;
      const startedAtMs = s.begin(2 * s.intervalMs);
      await s.stay(2 * s.intervalMs, 'indoor');
      // A worn cell: 31 % at the last heartbeat, then it collapses.
      await s.heartbeat({ bat: 31 });
      await s.advance(2000);
      await s.event('battery_critical', { bat: 5 });
      await s.advance(2000);
      await s.event('power_off', { bat: 2 });
      await s.acked();
      const offAt = env.clock.realNow();
      await s.suspend();
      await s.pass(env.timing.powerOffMs);
      await s.resume();
      const offMs = env.clock.realNow() - offAt;
      await s.event('power_on', { bat: 2 });
      await s.advance(1000);
      await s.event('charging_start', { bat: 2 });
      await s.heartbeat({ bat: 3, chg: true });
      await s.advance(1000);
      await s.report('indoor');
      const silence = offMs > (env.ctx.silenceThresholdMs ?? 240_000);
      return {
        expected: [
          { type: 'battery_critical', late: false },
          { type: 'power_off', late: false },
          ...(silence ? [{ type: 'no_signal' as const }] : []),
        ],
        startedAtMs,
        note: `关机 ${Math.round(offMs / 1000)} 秒 / off for ${Math.round(offMs / 1000)} s`,
      };
    },
  },

  no_signal: {
    device: 'wristband',
    eligible: () => null,
    async run(env, script) {
      const s = script!;
      const startedAtMs = s.begin(2 * s.intervalMs);
      await s.stay(2 * s.intervalMs, 'indoor');
      await s.acked();
      // Out of coverage (the connection drops, the broker publishes the will); the band
      // keeps recording and uploads when it is back.
      await s.suspend();
      await s.stay(env.timing.silenceMs, 'indoor');
      await s.resume();
      await s.report('indoor');
      return {
        expected: [{ type: 'no_signal' }],
        startedAtMs,
        note: `失联 ${Math.round(env.timing.silenceMs / 1000)} 秒 / silent, then back`,
      };
    },
  },

  gps_drift_edge: {
    device: 'wristband',
    eligible: (env) =>
      notInPlace(env) ??
      curfewConflict(env, 2 * 3_600_000) ??
      (exitRoute(env.zones.county.shape, env.position, shapesOf(env.zones.exclusions), 400)
        ? null
        : 'no reachable county edge'),
    async run(env, script) {
      const s = script!;
      const county = env.zones.county;
      const exit = exitRoute(county.shape, env.position, shapesOf(env.zones.exclusions), 400)!;
      // Stand 25 m inside the edge: a roadside at the county line.
      const standM = alongRayTo(county.shape, env.position, exit.bearing, -25);
      const stand = destination(env.position, exit.bearing, standM);
      const speed = speedFor(env.target, env.position, stand);
      const inland = destination(stand, exit.bearing + 180, 100);
      const walk = env.target.persona.walkMps;
      const fixes = 10;
      const startedAtMs = s.begin(
        travelMs(env.position, stand, speed, 0) +
          fixes * s.intervalMs +
          travelMs(stand, inland, walk) +
          s.intervalMs,
      );
      let worst = -Infinity;
      s.onFix = (fix) => {
        const q = qualifies(county, fix);
        if (q === 'violating') throw new Error('drift scenario produced a qualifying fix');
        worst = Math.max(worst, signedDistanceM(county.shape, [fix.lon, fix.lat]));
      };
      // Straight along the ray: inside all the way to the stand (the first crossing is beyond).
      await s.travel(stand, speed, { bend: 0 });
      await s.stay(fixes * s.intervalMs, 'outdoor', (_t, k) =>
        driftFix(county, stand, exit.bearing, k, s.device.rng.next(), s.device.rng.next()),
      );
      // Walks back inland a little.
      await s.travel(inland, walk);
      return {
        expected: [],
        startedAtMs,
        note: `在县界漂移，最远越界 ${Math.round(worst)} m（未超过精度+缓冲）/ drifted up to ${Math.round(worst)} m across, within accuracy + buffer`,
      };
    },
  },

  late_violation: {
    device: 'wristband',
    eligible: (env) =>
      notInPlace(env) ??
      curfewConflict(env, 3 * 3_600_000) ??
      (exclusionTarget(env, env.position) ? null : 'no reachable exclusion zone with room'),
    async run(env, script) {
      const s = script!;
      const target = exclusionTarget(env, env.position)!;
      const speed = speedFor(env.target, env.position, target.at);
      // Out again in a direction that stays clear of other zones and inside the county.
      const others = env.zones.exclusions.filter((v) => v !== target.view);
      const away =
        [0, 45, 90, 135, 180, 225, 270, 315]
          .map((b) => destination(target.at, b, roomInside(target.view) + 400))
          .find(
            (p) =>
              others.every((o) => pathClearanceM(o.shape, [target.at, p], 50) >= 150) &&
              signedDistanceM(env.zones.county.shape, p) < -300,
          ) ?? destination(target.at, 0, roomInside(target.view) + 400);
      const lead =
        travelMs(env.position, target.at, speed) +
        3 * s.intervalMs +
        travelMs(target.at, away, env.target.persona.walkMps) +
        env.timing.lateByMs;
      const startedAtMs = s.begin(lead);
      const confirmation = new Confirmation(target.view);
      s.onFix = (fix) => confirmation.see(fix);
      const offAt = env.clock.realNow();
      await s.offline();
      await s.travel(target.at, speed, { env: 'outdoor' });
      await stayUntilConfirmed(s, confirmation, 'outdoor');
      const confirmedAt = s.cursor;
      await s.travel(away, env.target.persona.walkMps, { env: 'outdoor' });
      // Out of coverage until well after the violation (the engine's "late" is > 120 s).
      const backAt = Math.max(confirmedAt + env.timing.lateByMs, s.cursor);
      await s.stay(backAt - s.cursor, 'outdoor');
      await s.online();
      const offMs = env.clock.realNow() - offAt;
      const silence = offMs > (env.ctx.silenceThresholdMs ?? 240_000);
      return {
        expected: [
          ...(silence ? [{ type: 'no_signal' as const }] : []),
          { type: 'zone_enter', late: true, zoneId: target.view.zone.id },
        ],
        startedAtMs,
        note: `无信号时进入${target.view.zone.name}，约 ${Math.round((s.cursor - confirmedAt) / 1000)} 秒后补传 / uploaded later`,
      };
    },
  },

  checkin_failed: {
    device: 'terminal',
    eligible: (env) =>
      env.ctx.manifest.terminals.some((t) => t.officeCode === env.target.officeCode)
        ? null
        : 'no terminal at the subject’s office',
    async run(env, _script, terminal) {
      const t = terminal!;
      const now = env.clock.now();
      // Only the verifier's result travels (no template, image or audio).
      t.checkin(env.target.subjectId, now - 60_000, {
        method: 'fingerprint',
        result: 'no_match',
        score: 0.31,
        liveness: true,
      });
      const seq = t.checkin(env.target.subjectId, now, {
        method: 'face',
        result: 'spoof_suspected',
        score: 0.58,
        liveness: false,
      });
      await t.client.waitAcked(seq, 30_000);
      return {
        // The supervision rules review each check-in: each failed one is one alert.
        expected: [{ type: 'checkin_failed' }, { type: 'checkin_failed' }],
        startedAtMs: now - 60_000,
        note: '指纹不匹配、人脸疑似伪造各产生一条核查失败告警 / one checkin_failed per failed check-in',
      };
    },
  },

  message_flood: {
    device: 'wristband',
    eligible: () => null,
    async run(env, script) {
      const s = script!;
      const n = env.timing.floodMessages;
      const startedAtMs = env.clock.now() - n;
      let seq = 0;
      // A firmware bug: the same heartbeat over and over, thousands in a second.
      for (let i = 0; i < n; i++) {
        seq = s.device.heartbeat(startedAtMs + i, 'indoor', Math.max(40, s.device.battery));
      }
      await s.device.client.waitAcked(seq, 120_000);
      return {
        expected: [],
        expectedSecurity: ['flood'],
        startedAtMs,
        note: `${n} 条心跳突发 / ${n} heartbeats in a burst`,
      };
    },
  },
};

function shapesOf(views: readonly ZoneView[]): Shape[] {
  return views.map((v) => v.shape);
}

const live = (env: Env, s: ScriptedWristband) => env.inFleet || s.cursor >= env.clock.now() - 5000;

/**
 * One reported position while standing at the edge. GNSS fixes (8–15 m) land between 40 m
 * inside and (accuracy + buffer − 10 m) outside; one in four is a cell-tower fix (300–500 m)
 * up to 350 m outside. Each is checked with the engine's own geometry, so none is clearly
 * past the edge. The subject does not move: only the reports wander.
 */
function driftFix(
  county: ZoneView,
  stand: LonLat,
  bearing: number,
  k: number,
  u1: number,
  u2: number,
): { p: LonLat; noise: NoiseOptions } {
  const lbs = k % 4 === 3;
  const acc = lbs ? 300 + 200 * u1 : 8 + 7 * u1;
  const maxOut = lbs
    ? Math.min(350, acc + county.zone.bufferM - 60)
    : acc + county.zone.bufferM - 10;
  for (let out = lbs ? 100 + (maxOut - 100) * u2 : -40 + (maxOut + 40) * u2; ; out -= 10) {
    const reportAt = destination(
      destination(stand, bearing, 25 + out),
      bearing + 90,
      (u2 - 0.5) * 20,
    );
    const c = classifyPoint(
      county.shape.compiled,
      reportAt[0],
      reportAt[1],
      acc + county.zone.bufferM,
    );
    if (c !== 'outside' || out < -100) {
      return {
        p: stand,
        noise: { src: lbs ? 'lbs' : 'gnss', acc: Math.round(acc * 10) / 10, reportAt },
      };
    }
  }
}

/** The scenario registry entry for a name. */
export function scenarioInfo(name: string): ScenarioInfo | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(name);
}

/** Whether `name` can run on `deviceId` now, or why not. */
export function scenarioEligibility(
  name: ScenarioName,
  ctx: ScenarioContext,
  deviceId: string,
): string | null {
  const target = ctx.manifest.wristbands.find((w) => w.deviceId === deviceId);
  if (!target) return `unknown wristband ${deviceId}`;
  return DEFINITIONS[name].eligible(envFor(ctx, target));
}

function envFor(ctx: ScenarioContext, target: DemoWristband): Env {
  const byId = new Map(ctx.manifest.zones.map((z) => [z.id, z]));
  const view = (id: string): ZoneView => {
    const zone = byId.get(id);
    if (!zone) throw new Error(`zone ${id} of ${target.deviceId} is not in the manifest`);
    return { zone, shape: shapeOf(zone.geometry) };
  };
  const fleetDevice = ctx.fleet?.device(target.deviceId);
  const inFleet = fleetDevice?.kind === 'wristband';
  const clock = ctx.fleet?.clock ?? new SimClock();
  const remembered = ctx.memory?.get(target.deviceId);
  return {
    ctx,
    target,
    timing: { ...DEFAULT_TIMING, ...ctx.timing },
    clock,
    zones: {
      county: view(target.countyZoneId),
      curfew: target.curfewZoneId ? view(target.curfewZoneId) : null,
      exclusions: target.exclusionZoneIds.map(view),
    },
    position: inFleet
      ? (fleetDevice as SimWristband).position
      : (remembered?.p ?? target.places.home),
    lastFixMs: inFleet ? (fleetDevice as SimWristband).lastFixMs : (remembered?.t ?? null),
    inFleet,
  };
}

/**
 * Runs a named scenario and resolves once everything it sent is acknowledged by the
 * platform, with what an officer should now see.
 */
export async function runScenario(name: ScenarioName, ctx: ScenarioContext): Promise<ScenarioRun> {
  const definition = DEFINITIONS[name];
  if (!definition) throw new Error(`unknown scenario ${name}`);
  const log = ctx.logger ?? silentLogger;

  // Pick the target: the one asked for, or the first that fits (fleet devices first).
  let env: Env | undefined;
  // Fleet devices first; then devices whose last fix is oldest (or that never ran), so a
  // run on its own connection can start in the past and take seconds.
  const lastFix = (id: string) => ctx.memory?.get(id)?.t ?? -Infinity;
  const candidates = ctx.target
    ? ctx.manifest.wristbands.filter((w) => w.deviceId === ctx.target)
    : [...ctx.manifest.wristbands].sort(
        (a, b) =>
          Number(!ctx.fleet?.device(a.deviceId)) - Number(!ctx.fleet?.device(b.deviceId)) ||
          lastFix(a.deviceId) - lastFix(b.deviceId),
      );
  if (candidates.length === 0) throw new Error(`no wristband ${ctx.target ?? ''} in the manifest`);
  let reason = '';
  for (const target of candidates) {
    if (ctx.exclude?.has(target.deviceId)) continue;
    const fleetDevice = ctx.fleet?.device(target.deviceId);
    if (fleetDevice?.kind === 'wristband' && fleetDevice.held) continue;
    const e = envFor(ctx, target);
    const why = definition.eligible(e);
    if (why === null) {
      env = e;
      break;
    }
    reason = `${target.deviceId}: ${why}`;
  }
  if (!env) throw new Error(`scenario ${name}: no eligible device (${reason || 'all excluded'})`);
  const { target, clock } = env;
  const heartbeatS = ctx.heartbeatS ?? 300;
  log.info(
    {
      scenario: name,
      device: target.deviceId,
      subject: target.subjectName,
      expect: scenarioInfo(name)?.expect,
    },
    '场景开始 / scenario starts',
  );

  let stop = async () => {};
  let outcome: Outcome;
  if (definition.device === 'terminal') {
    const spec = ctx.manifest.terminals.find((t) => t.officeCode === target.officeCode)!;
    const fleetTerminal = ctx.fleet?.device(spec.deviceId);
    if (fleetTerminal?.kind === 'terminal') {
      outcome = await definition.run(env, null, fleetTerminal);
    } else {
      const terminal = await standaloneTerminal(spec, ctx, clock, heartbeatS);
      try {
        outcome = await definition.run(env, null, terminal);
      } finally {
        await terminal.client.close();
        ctx.memory?.remember(terminal.id, { seq: terminal.client.nextSeq });
        await ctx.memory?.save();
      }
    }
  } else {
    const fleetDevice = ctx.fleet?.device(target.deviceId);
    if (fleetDevice?.kind === 'wristband') {
      fleetDevice.takeOver();
      const script = new ScriptedWristband(fleetDevice, clock, heartbeatS, ctx.signal);
      try {
        outcome = await definition.run(env, script, null);
        await script.acked(60_000).catch(() => {});
      } finally {
        fleetDevice.release(clock.now());
        ctx.fleet!.wake(target.deviceId);
      }
    } else {
      const device = await standaloneWristband(target, ctx, clock, heartbeatS);
      const close = async () => {
        await device.client.close();
        ctx.memory?.remember(device.id, device.memory());
        await ctx.memory?.save();
      };
      const script = new ScriptedWristband(device, clock, heartbeatS, ctx.signal);
      try {
        outcome = await definition.run(env, script, null);
        // Up to the platform's gap timeout (75 s) and more: a device that lost its memory
        // of seq jumps ahead, and the platform acks past the jump only after that timeout.
        await script.acked(120_000);
      } catch (err) {
        await close();
        throw err;
      }
      if (ctx.keepAliveMs) {
        const timer = setInterval(() => device.heartbeat(clock.now()), ctx.keepAliveMs);
        stop = async () => {
          clearInterval(timer);
          await close();
        };
      } else {
        await close();
      }
    }
  }
  const run: ScenarioRun = {
    name,
    deviceId: definition.device === 'terminal' ? `term-${target.officeCode}` : target.deviceId,
    wristbandId: target.deviceId,
    subjectId: target.subjectId,
    expected: outcome.expected,
    expectedSecurity: outcome.expectedSecurity ?? [],
    startedAtMs: outcome.startedAtMs,
    finishedAtMs: clock.realNow(),
    mode: env.inFleet ? 'live' : 'fast',
    note: outcome.note,
    stop,
  };
  log.info(
    {
      scenario: name,
      device: run.deviceId,
      expected: run.expected.map((e) => `${e.type}${e.late ? ' (late)' : ''}`),
      note: run.note,
    },
    '场景完成 / scenario done',
  );
  return run;
}

/** A wristband on its own connection (not in a fleet), for one scenario. */
async function standaloneWristband(
  spec: DemoWristband,
  ctx: ScenarioContext,
  clock: SimClock,
  heartbeatS: number,
): Promise<SimWristband> {
  const client = new DeviceClient({
    url: ctx.mqttUrl,
    deviceId: spec.deviceId,
    secret: spec.secret,
    startSeq: ctx.memory?.startSeq(spec.deviceId) ?? Math.floor(Date.now() / 100),
  });
  const device = new SimWristband(spec, client, {
    clock,
    intervalS: ctx.intervalS ?? 60,
    heartbeatS,
    coverageGaps: false,
    logger: ctx.logger ?? silentLogger,
    remembered: ctx.memory?.get(spec.deviceId),
  });
  await client.connect();
  return device;
}

async function standaloneTerminal(
  spec: DemoTerminal,
  ctx: ScenarioContext,
  clock: SimClock,
  heartbeatS: number,
): Promise<SimTerminal> {
  const client = new DeviceClient({
    url: ctx.mqttUrl,
    deviceId: spec.deviceId,
    secret: spec.secret,
    startSeq: ctx.memory?.startSeq(spec.deviceId) ?? Math.floor(Date.now() / 100),
  });
  const terminal = new SimTerminal(spec, client, {
    clock,
    heartbeatS,
    logger: ctx.logger ?? silentLogger,
  });
  await client.connect();
  return terminal;
}

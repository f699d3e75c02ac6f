import { describe, expect, it } from 'vitest';
import type { WeeklySchedule } from '@ccm/contracts';
import type {
  AlertEvent,
  BatchInput,
  DeviceCommand,
  FixInput,
  SubjectState,
  SubjectZones,
  ZoneInput,
} from '../src/index';
import {
  checkSilence,
  compileZones,
  createSubjectState,
  parseSubjectState,
  processBatch,
  zonesForSubject,
} from '../src/index';
import { HOUR_MS, MIN_MS, applyEvents, fix, gaussian, offset, rng, starPolygon } from './helpers';

const utc = (iso: string) => Date.parse(`${iso}Z`);
const home = { lat: 22.817, lon: 108.366 };
const cafe = offset(home.lat, home.lon, 2_000, 0);
const nightly: WeeklySchedule = {
  timeZone: 'Asia/Shanghai',
  windows: [{ days: [1, 2, 3, 4, 5, 6, 7], start: '22:00', end: '06:00' }],
};
const ZONES: ZoneInput[] = [
  {
    id: 'curfew-home',
    kind: 'inclusion',
    purpose: 'curfew',
    geometry: { type: 'Circle', center: [home.lon, home.lat], radiusM: 100 },
    schedule: nightly,
  },
  {
    id: 'county',
    kind: 'inclusion',
    purpose: 'county',
    geometry: { type: 'Polygon', coordinates: [starPolygon(108.3, 22.8, 40_000, 5_000)] },
  },
  {
    id: 'cafe',
    kind: 'exclusion',
    purpose: 'prohibited',
    geometry: { type: 'Circle', center: [cafe.lon, cafe.lat], radiusM: 80 },
  },
];
const index = compileZones(ZONES);
const allZones = zonesForSubject(index, ['curfew-home', 'county', 'cafe']);

/** Friday 2026-11-27 22:00 in Shanghai. */
const NIGHT_START = utc('2026-11-27T14:00:00');

interface Run {
  state: SubjectState;
  alerts: AlertEvent[];
  commands: DeviceCommand[];
  ignored: { fixTimeMs: number; reason: string }[];
}

function run(
  batches: readonly Omit<BatchInput, 'nowMs'>[],
  start: SubjectState = createSubjectState('subject-1'),
  zones: SubjectZones = allZones,
): Run {
  let state = start;
  const out: Run = { state, alerts: [], commands: [], ignored: [] };
  for (const batch of batches) {
    const received = [
      ...(batch.fixes ?? []).map((f) => f.receivedAtMs),
      ...(batch.events ?? []).map((e) => e.receivedAtMs),
      ...(batch.heartbeats ?? []).map((h) => h.receivedAtMs),
    ];
    const result = processBatch(
      state,
      { deviceId: 'band-1', ...batch, nowMs: Math.max(...received) },
      zones,
    );
    state = result.state;
    out.alerts.push(...result.alerts);
    out.commands.push(...result.commands);
    out.ignored.push(...result.ignoredFixes);
  }
  out.state = state;
  return out;
}

/** One batch per fix, as a wristband reporting live. */
const live = (fixes: readonly FixInput[]) => fixes.map((f) => ({ fixes: [f] }));

/** A night at 60 s: position(i) gives where the subject really is at minute i. */
function night(
  minutes: number,
  position: (i: number) => { lat: number; lon: number },
  accuracyM: number,
  seed: number,
): FixInput[] {
  const random = rng(seed);
  const sigmaM = accuracyM / 1.5; // per axis, so ~68 % of fixes fall within accuracyM
  return Array.from({ length: minutes }, (_, i) => {
    const truth = position(i);
    const p = offset(truth.lat, truth.lon, gaussian(random) * sigmaM, gaussian(random) * sigmaM);
    return fix(NIGHT_START + i * MIN_MS, p, accuracyM);
  });
}

const opens = (alerts: readonly AlertEvent[], type?: string) =>
  alerts.filter((a) => a.action === 'open' && (!type || a.type === type));

describe('curfew and drift', () => {
  it('raises nothing for a subject 10 m inside the curfew zone all night with 25 m drift', () => {
    const spot = offset(home.lat, home.lon, 90, 0); // 10 m inside the 100 m circle
    const fixes = night(8 * 60, () => spot, 25, 7);
    // The drift is real: some fixes land outside the circle, a few well outside.
    const outside = fixes.filter((f) => Math.hypot(f.lat - home.lat, 0) * 111_195 > 100);
    expect(outside.length).toBeGreaterThan(100);
    const result = run(live(fixes));
    expect(result.alerts).toEqual([]);
    expect(result.commands).toEqual([]);
  });

  it('raises one curfew alert for a 500 m walk and ends it on return', () => {
    // Out from minute 60 to minute 90 (23:00–23:30 Shanghai), 25 m GNSS drift throughout.
    const fixes = night(
      3 * 60,
      (i) => offset(home.lat, home.lon, i >= 60 && i < 90 ? 500 : 0, 0),
      25,
      11,
    );
    const result = run(live(fixes));
    expect(opens(result.alerts)).toHaveLength(1);
    const [opened, ended] = result.alerts;
    expect(opened).toMatchObject({
      action: 'open',
      type: 'curfew',
      severity: 'high',
      zoneId: 'curfew-home',
      subjectId: 'subject-1',
      deviceId: 'band-1',
      late: false,
      startedAtMs: NIGHT_START + 60 * MIN_MS,
      endedAtMs: null,
    });
    expect(opened?.evidence.kind === 'fixes' && opened.evidence.fixes.length).toBe(3);
    expect(ended).toMatchObject({
      action: 'end',
      key: opened?.key,
      startedAtMs: NIGHT_START + 60 * MIN_MS,
      endedAtMs: NIGHT_START + 90 * MIN_MS,
    });
    expect(result.alerts).toHaveLength(2);
    expect(result.commands).toEqual([
      { type: 'warn', params: { text: '现在是宵禁时段，您不在居住地，请立即返回', vibrate: true } },
      { type: 'set_interval', params: { seconds: 15 } },
      { type: 'set_interval', params: { seconds: 60 } },
    ]);
  });

  it('raises it within the confirmation window', () => {
    const fixes = night(80, (i) => offset(home.lat, home.lon, i >= 60 ? 500 : 0, 0), 10, 3);
    const result = run(live(fixes.slice(0, 62)));
    expect(opens(result.alerts)).toHaveLength(0); // two fixes outside, 60 s apart: not yet
    const more = run(live(fixes.slice(62, 63)), result.state);
    expect(opens(more.alerts)).toHaveLength(1); // the third fix confirms
  });

  it('confirms on time with sparse fixes (2 fixes spanning 90 s)', () => {
    const out = offset(home.lat, home.lon, 500, 0);
    const fixes = [0, 100, 200].map((s) => fix(NIGHT_START + HOUR_MS + s * 1000, out));
    const result = run(live(fixes));
    const opened = opens(result.alerts);
    expect(opened).toHaveLength(1);
    expect(opened[0]?.evidence.kind === 'fixes' && opened[0].evidence.count).toBe(2);
  });

  it('never confirms from LBS fixes alone', () => {
    const far = offset(home.lat, home.lon, 3_000, 0);
    const fixes = Array.from({ length: 60 }, (_, i) =>
      fix(NIGHT_START + i * MIN_MS, far, 300, 'lbs'),
    );
    const wifi = Array.from({ length: 30 }, (_, i) =>
      fix(NIGHT_START + (60 + i) * MIN_MS, far, 40, 'wifi'),
    );
    expect(run(live([...fixes, ...wifi])).alerts).toEqual([]);
    // One GNSS fix among the evidence is enough.
    const gnss = fix(NIGHT_START + 90 * MIN_MS, far, 10, 'gnss');
    expect(opens(run(live([...fixes, ...wifi, gnss])).alerts)).toHaveLength(1);
  });

  it('lets ambiguous fixes neither confirm nor reset, while a clear inside fix resets', () => {
    const out = offset(home.lat, home.lon, 500, 0);
    const edge = offset(home.lat, home.lon, 110, 0); // 10 m out: within 10 m accuracy + 20 m buffer
    const t = (i: number) => NIGHT_START + i * MIN_MS;
    const ambiguous = [
      fix(t(0), out),
      fix(t(1), edge),
      fix(t(2), out),
      fix(t(3), edge),
      fix(t(4), out),
    ];
    const a = run(live(ambiguous));
    expect(opens(a.alerts)).toHaveLength(1);
    expect(a.alerts[0]?.startedAtMs).toBe(t(0));
    const reset = [fix(t(0), out), fix(t(1), out), fix(t(2), home), fix(t(3), out), fix(t(4), out)];
    expect(opens(run(live(reset)).alerts)).toHaveLength(0);
  });

  it('ends an open curfew violation when the window closes at 06:00', () => {
    const out = offset(home.lat, home.lon, 500, 0);
    const fixes = Array.from({ length: 10 }, (_, i) =>
      fix(utc('2026-11-27T21:50:00') + i * MIN_MS, out),
    ); // 05:50–05:59 Shanghai
    const result = run(live(fixes));
    expect(opens(result.alerts)).toHaveLength(1);
    // The device goes quiet; the gateway's timer at 06:01 ends it at exactly 06:00.
    const tick = checkSilence(result.state, utc('2026-11-27T22:01:00'), {
      intervalS: 60,
      graceS: 600,
      noLocationS: 1_800,
    });
    expect(tick.alerts).toMatchObject([
      { action: 'end', type: 'curfew', endedAtMs: utc('2026-11-27T22:00:00') },
    ]);
    expect(tick.alerts[0]?.evidence).toEqual({
      kind: 'schedule_end',
      windowEndMs: utc('2026-11-27T22:00:00'),
    });
    expect(tick.commands).toEqual([{ type: 'set_interval', params: { seconds: 60 } }]);
    // Being out during the day is not a curfew matter.
    const day = run(live([fix(utc('2026-11-27T22:05:00'), out)]), tick.state);
    expect(day.alerts).toEqual([]);
  });
});

describe('speed filter', () => {
  it('ignores an impossible jump', () => {
    const spot = offset(home.lat, home.lon, 20, 0);
    const far = offset(home.lat, home.lon, 0, 20_000); // 20 km in 1–2 min: > 70 m/s
    const t = (i: number) => NIGHT_START + i * MIN_MS;
    const fixes = [
      fix(t(0), spot),
      fix(t(1), far),
      fix(t(2), far), // two jumps that agree with each other: still not enough to follow
      fix(t(3), spot),
      fix(t(4), spot),
    ];
    const result = run(live(fixes));
    expect(result.alerts).toEqual([]);
    expect(result.ignored).toEqual([
      { fixTimeMs: t(1), reason: 'implausible_speed' },
      { fixTimeMs: t(2), reason: 'implausible_speed' },
    ]);
  });

  it('follows the subject after three consistent fixes (the anchor was wrong)', () => {
    const far = offset(home.lat, home.lon, 8_000, 0);
    const t = (i: number) => NIGHT_START + i * 20_000;
    const fixes = [fix(t(0), home), ...[1, 2, 3, 4].map((i) => fix(t(i), far))];
    const result = run(live(fixes));
    expect(opens(result.alerts, 'curfew')).toHaveLength(1);
    expect(result.alerts[0]?.startedAtMs).toBe(t(1));
  });
});

describe('segment crossing', () => {
  it('raises zone_enter when the straight path between sparse fixes crosses an exclusion zone', () => {
    // 1 km south of the café to 1 km north in 120 s (16.7 m/s), the 80 m circle in between.
    const a = offset(cafe.lat, cafe.lon, -1_000, 0);
    const b = offset(cafe.lat, cafe.lon, 1_000, 0);
    const t0 = utc('2026-11-27T04:00:00'); // daytime: no curfew
    const result = run(live([fix(t0, a), fix(t0 + 120_000, b)]));
    expect(result.alerts.map((e) => [e.action, e.type, e.zoneId])).toEqual([
      ['open', 'zone_enter', 'cafe'],
      ['end', 'zone_enter', 'cafe'],
    ]);
    const [opened, ended] = result.alerts;
    // Enters 920 m along a 2,000 m path: 55.2 s; leaves after 1,080 m: 64.8 s.
    expect((opened?.startedAtMs ?? 0) - t0).toBeCloseTo(55_200, -2);
    expect((ended?.endedAtMs ?? 0) - t0).toBeCloseTo(64_800, -2);
    expect(opened?.evidence.kind).toBe('segment');
    if (opened?.evidence.kind === 'segment') {
      expect(opened.evidence.depthM).toBeCloseTo(80, 0);
      expect(opened.evidence.entry.lat).toBeCloseTo(cafe.lat - 80 / 111_195, 5);
    }
    expect(result.commands.filter((c) => c.type === 'warn')).toEqual([]); // already over
  });

  it('does not infer a crossing that only grazes the zone within the margin', () => {
    const a = offset(cafe.lat, cafe.lon, -1_000, 60); // passes 60 m from the centre: 20 m deep
    const b = offset(cafe.lat, cafe.lon, 1_000, 60);
    const t0 = utc('2026-11-27T04:00:00');
    expect(run(live([fix(t0, a), fix(t0 + 120_000, b)])).alerts).toEqual([]);
  });
});

describe('exclusion zone, fix by fix', () => {
  it('raises zone_enter with a warning and ends when clearly out again', () => {
    const t0 = utc('2026-11-27T04:00:00');
    const t = (i: number) => t0 + i * 15_000;
    const fixes = [
      ...[0, 1].map((i) => fix(t(i), offset(cafe.lat, cafe.lon, -500, 0))),
      ...[2, 3, 4, 5].map((i) => fix(t(i), cafe)),
      ...[6, 7, 8].map((i) => fix(t(i), offset(cafe.lat, cafe.lon, -500, 0))),
    ];
    const result = run(live(fixes));
    expect(result.alerts.map((e) => [e.action, e.type, e.startedAtMs, e.endedAtMs])).toEqual([
      ['open', 'zone_enter', t(2), null],
      ['end', 'zone_enter', t(2), t(6)],
    ]);
    expect(result.commands[0]).toEqual({
      type: 'warn',
      params: { text: '您已进入禁止区域，请立即离开', vibrate: true },
    });
  });
});

describe('late fixes', () => {
  // Leaves the county at minute 10, out until minute 40, back by minute 60; the device is
  // out of coverage and uploads everything two hours later.
  const t0 = utc('2026-11-27T02:00:00');
  const outside = { lat: 22.8, lon: 108.3 + 45_000 / (111_195 * Math.cos((22.8 * Math.PI) / 180)) };
  const inside = { lat: 22.8, lon: 108.3 };
  const uploadAt = t0 + 2 * HOUR_MS;
  const backlog = Array.from({ length: 120 }, (_, i) =>
    fix(t0 + i * MIN_MS, i >= 10 && i < 40 ? outside : inside, 10, 'gnss', uploadAt),
  );

  it('raises a violation found in a late backlog with late=true and lateByMs', () => {
    const before = run(live([fix(t0 - MIN_MS, inside)]));
    // The live fix arrives first, then the backlog, out of order.
    const after = run(
      [{ fixes: [fix(uploadAt, inside, 10, 'gnss', uploadAt + 1_000)] }, { fixes: backlog }],
      before.state,
    );
    const alerts = after.alerts;
    expect(alerts.map((a) => [a.action, a.type, a.startedAtMs, a.endedAtMs])).toEqual([
      ['open', 'zone_exit', t0 + 10 * MIN_MS, null],
      ['end', 'zone_exit', t0 + 10 * MIN_MS, t0 + 40 * MIN_MS],
    ]);
    expect(alerts[0]).toMatchObject({ late: true, lateByMs: uploadAt - (t0 + 12 * MIN_MS) });
    // A violation that is already over is not warned about, and the interval stays normal.
    expect(after.commands).toEqual([]);
  });

  it('treats an in-order backlog the same way', () => {
    const result = run([{ fixes: backlog }]);
    expect(opens(result.alerts)).toHaveLength(1);
    expect(result.alerts[0]).toMatchObject({ late: true, lateByMs: uploadAt - (t0 + 12 * MIN_MS) });
  });

  it('never raises it twice when the backlog is delivered again', () => {
    const first = run([{ fixes: backlog }]);
    const again = run([{ fixes: backlog }, { fixes: backlog.slice(5, 50) }], first.state);
    expect(again.alerts).toEqual([]);
    expect(again.ignored.every((i) => i.reason === 'duplicate')).toBe(true);
  });

  it('corrects the start of an open alert when earlier fixes arrive late', () => {
    // Live: fixes from minute 20 on show the subject outside; minutes 10–19 arrive later.
    const liveFixes = backlog
      .slice(20, 30)
      .map((f) => ({ ...f, receivedAtMs: f.fixTimeMs + 1_000 }));
    const a = run(live(liveFixes));
    expect(a.alerts[0]).toMatchObject({ action: 'open', startedAtMs: t0 + 20 * MIN_MS });
    const b = run([{ fixes: backlog.slice(5, 20) }], a.state);
    expect(b.alerts).toEqual([
      expect.objectContaining({
        action: 'update',
        key: a.alerts[0]?.key,
        startedAtMs: t0 + 10 * MIN_MS,
        endedAtMs: null,
      }),
    ]);
  });
});

describe('state persistence', () => {
  it('survives a JSON round trip mid-violation without raising again', () => {
    const fixes = night(
      120,
      (i) => offset(home.lat, home.lon, i >= 30 && i < 90 ? 600 : 0, 0),
      10,
      5,
    );
    const first = run(live(fixes.slice(0, 50)));
    expect(opens(first.alerts)).toHaveLength(1);
    const restored = parseSubjectState(JSON.parse(JSON.stringify(first.state)));
    expect(restored).toEqual(first.state);
    // The gateway restarts and the device re-sends its last unacknowledged batch.
    const second = run([{ fixes: fixes.slice(40, 50) }, ...live(fixes.slice(50))], restored);
    expect(opens(second.alerts)).toHaveLength(0);
    expect(second.alerts).toMatchObject([
      { action: 'end', key: first.alerts[0]?.key, endedAtMs: NIGHT_START + 90 * MIN_MS },
    ]);
    expect(parseSubjectState(JSON.parse(JSON.stringify(second.state)))).toEqual(second.state);
  });

  it('keeps the state bounded', () => {
    const fixes = night(24 * 60, (i) => offset(home.lat, home.lon, (i % 240) * 10, 0), 10, 9);
    const result = run(live(fixes));
    expect(result.state.window.length).toBeLessThanOrEqual(720 + 90);
    expect(JSON.stringify(result.state).length).toBeLessThan(60_000);
  });

  it('rejects a state of another version', () => {
    const state = { ...createSubjectState('x'), version: 2 };
    expect(() => parseSubjectState(state)).toThrow();
  });
});

describe('device events', () => {
  const t0 = utc('2026-11-27T04:00:00');
  const ev = (type: string, s: number, extra: object = {}) => ({
    type,
    eventTimeMs: t0 + s * 1000,
    receivedAtMs: t0 + s * 1000 + 500,
    ...extra,
  });

  it('opens strap_tamper (critical) once and ends it when the strap closes', () => {
    const result = run([
      { events: [ev('strap_open', 0, { lat: 22.81, lon: 108.36 })] },
      { events: [ev('strap_open', 0)] }, // re-delivered
      { events: [ev('strap_open', 30)] }, // repeated while open
      { events: [ev('strap_closed', 60)] },
    ]);
    expect(
      result.alerts.map((a) => [a.action, a.type, a.severity, a.startedAtMs, a.endedAtMs]),
    ).toEqual([
      ['open', 'strap_tamper', 'critical', t0, null],
      ['end', 'strap_tamper', 'critical', t0, t0 + 60_000],
    ]);
    expect(result.alerts[0]).toMatchObject({ lat: 22.81, lon: 108.36, zoneId: null });
  });

  it('handles case, battery, power, jamming and SOS', () => {
    const result = run([
      { events: [ev('case_open', 0), ev('sos', 5)] },
      { events: [ev('battery_low', 10, { batteryPct: 18 })] },
      {
        heartbeats: [
          {
            heartbeatTimeMs: t0 + 20_000,
            batteryPct: 17,
            charging: true,
            receivedAtMs: t0 + 20_500,
          },
        ],
      },
      { events: [ev('battery_critical', 30, { batteryPct: 4 })] },
      { heartbeats: [{ heartbeatTimeMs: t0 + 40_000, batteryPct: 35, receivedAtMs: t0 + 40_500 }] },
      { events: [ev('power_off', 50)] },
      { fixes: [fix(t0 + 70_000, home)] },
      { events: [ev('gnss_jamming', 80)] },
      { fixes: [fix(t0 + 90_000, home, 300, 'lbs')] },
      { fixes: [fix(t0 + 100_000, home, 10, 'gnss')] },
    ]);
    const summary = result.alerts.map(
      (a) => `${a.action} ${a.type} ${a.severity} ${(a.endedAtMs ?? t0 - 1000) / 1000 - t0 / 1000}`,
    );
    expect(summary).toEqual([
      'open case_tamper high -1',
      'end case_tamper high 0',
      'open sos critical -1',
      'end sos critical 5',
      'open battery_low low -1',
      'end battery_low low 20',
      'open battery_critical medium -1',
      'end battery_critical medium 40',
      'open power_off high -1',
      'end power_off high 70',
      'open gnss_jamming high -1',
      'end gnss_jamming high 100',
    ]);
  });

  it('reports unknown event types without alerting, and raises late events already ended', () => {
    const result = run([
      { events: [ev('laser_attack', 0), ev('fall', 1)] },
      { events: [ev('strap_closed', 100)] },
      // Delivered after the close (a backlog): opens already ended, marked late.
      { events: [{ ...ev('strap_open', 50), receivedAtMs: t0 + 600_000 }] },
    ]);
    const unknown = processBatch(
      createSubjectState('s'),
      { events: [ev('laser_attack', 0), ev('fall', 1)], nowMs: t0 },
      allZones,
    ).unknownEvents;
    expect(unknown.map((e) => e.type)).toEqual(['laser_attack']);
    expect(
      result.alerts.map((a) => [a.action, a.type, a.startedAtMs, a.endedAtMs, a.late]),
    ).toEqual([
      ['open', 'strap_tamper', t0 + 50_000, null, true],
      ['end', 'strap_tamper', t0 + 50_000, t0 + 100_000, true],
    ]);
    expect(result.alerts[0]?.lateByMs).toBe(550_000);
  });
});

describe('silence', () => {
  const t0 = utc('2026-11-27T04:00:00');
  const opts = { intervalS: 60, graceS: 240, noLocationS: 1_800 };

  it('opens no_signal once after interval + grace and ends it on the next message', () => {
    const a = run([{ fixes: [fix(t0, home, 10, 'gnss', t0 + 1_000)] }]);
    expect(checkSilence(a.state, t0 + 1_000 + 299_000, opts).alerts).toEqual([]);
    const b = checkSilence(a.state, t0 + 1_000 + 301_000, opts);
    expect(b.alerts).toMatchObject([
      { action: 'open', type: 'no_signal', severity: 'high', startedAtMs: t0 + 1_000 },
    ]);
    const c = checkSilence(b.state, t0 + 3_600_000, opts);
    expect(c.alerts).toEqual([]);
    const d = run(
      [{ heartbeats: [{ heartbeatTimeMs: t0 + 3_700_000, receivedAtMs: t0 + 3_700_500 }] }],
      c.state,
    );
    expect(d.alerts).toMatchObject([
      { action: 'end', type: 'no_signal', key: b.alerts[0]?.key, endedAtMs: t0 + 3_700_500 },
    ]);
  });

  it('opens no_location when messages keep coming without fixes, ends it on a fix', () => {
    let state = run([{ fixes: [fix(t0, home)] }]).state;
    for (let m = 1; m <= 40; m++) {
      const at = t0 + m * MIN_MS;
      state = run([{ heartbeats: [{ heartbeatTimeMs: at, receivedAtMs: at + 500 }] }], state).state;
    }
    const tick = checkSilence(state, t0 + 40 * MIN_MS + 1_000, opts);
    expect(tick.alerts).toMatchObject([{ action: 'open', type: 'no_location', startedAtMs: t0 }]);
    expect(checkSilence(tick.state, t0 + 40 * MIN_MS + 2_000, opts).alerts).toEqual([]);
    const back = run([{ fixes: [fix(t0 + 41 * MIN_MS, home)] }], tick.state);
    expect(back.alerts).toMatchObject([
      { action: 'end', type: 'no_location', endedAtMs: t0 + 41 * MIN_MS },
    ]);
  });
});

describe('zones per subject', () => {
  it('ends an open violation when its zone is no longer assigned', () => {
    const out = offset(home.lat, home.lon, 500, 0);
    const t = (i: number) => NIGHT_START + i * MIN_MS;
    const a = run(live([0, 1, 2].map((i) => fix(t(i), out))));
    expect(opens(a.alerts)).toHaveLength(1);
    const b = run(live([fix(t(3), out)]), a.state, zonesForSubject(index, ['county']));
    expect(b.alerts).toMatchObject([
      { action: 'end', type: 'curfew', endedAtMs: t(3), evidence: { kind: 'zone_removed' } },
    ]);
  });

  it('applies a schedule override from the assignment', () => {
    const out = offset(home.lat, home.lon, 500, 0);
    const day = utc('2026-11-27T04:00:00'); // noon in Shanghai
    const fixes = [0, 1, 2].map((i) => fix(day + i * MIN_MS, out));
    expect(run(live(fixes)).alerts).toEqual([]);
    const always = zonesForSubject(index, [{ zoneId: 'curfew-home', schedule: null }]);
    expect(opens(run(live(fixes), undefined, always).alerts)).toHaveLength(1);
  });

  it('finds candidates among many assigned zones (a subject R-tree) and ignores others', () => {
    // 200 small exclusion zones on a 20 × 10 grid, 300 m apart; the subject has 150 of them.
    const grid: ZoneInput[] = Array.from({ length: 200 }, (_, i) => {
      const p = offset(home.lat, home.lon, 5_000 + Math.floor(i / 20) * 300, (i % 20) * 300);
      return {
        id: `g-${i}`,
        kind: 'exclusion',
        purpose: 'prohibited',
        geometry: { type: 'Circle', center: [p.lon, p.lat], radiusM: 60 },
      };
    });
    const gridIndex = compileZones(grid);
    const subject = zonesForSubject(
      gridIndex,
      grid.slice(0, 150).map((z) => z.id),
    );
    const day = utc('2026-11-27T04:00:00');
    const visit = (i: number) => {
      const c = offset(home.lat, home.lon, 5_000 + Math.floor(i / 20) * 300, (i % 20) * 300);
      return [0, 1, 2].map((k) => fix(day + k * MIN_MS, c));
    };
    expect(subject.exclusionIn(home.lon, home.lat, home.lon, home.lat)).toEqual([]);
    const assigned = run(live(visit(137)), undefined, subject);
    expect(assigned.alerts.map((a) => [a.action, a.type, a.zoneId])).toEqual([
      ['open', 'zone_enter', 'g-137'],
    ]);
    expect(run(live(visit(163)), undefined, subject).alerts).toEqual([]); // not this subject's
  });

  it('applies alerts through applyEvents without inconsistencies', () => {
    const fixes = night(
      3 * 60,
      (i) => offset(home.lat, home.lon, i % 60 < 20 ? 600 : 0, 0),
      15,
      21,
    );
    const result = run(live(fixes));
    const final = [...applyEvents(result.alerts).values()];
    expect(final.map((a) => [a.type, a.startedAtMs])).toEqual([
      ['curfew', NIGHT_START],
      ['curfew', NIGHT_START + 60 * MIN_MS],
      ['curfew', NIGHT_START + 120 * MIN_MS],
    ]);
    expect(final.every((a) => a.endedAtMs !== null)).toBe(true);
  });
});

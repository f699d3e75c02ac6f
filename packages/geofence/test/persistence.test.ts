import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AlertEvent, EngineOptions, FixInput, SubjectState } from '../src/index';
import {
  compileZones,
  createSubjectState,
  decisionOf,
  parseStoredState,
  persistedDecision,
  processBatch,
  progressOf,
  restoreSubjectState,
  sameDecision,
  windowBounds,
  zonesForSubject,
} from '../src/index';
import { fix, offset } from './helpers';

/**
 * The gateway stores only the decision state and three progress numbers, and reads the fix
 * window back from the stored fixes. Restoring must give back exactly the state the engine
 * had, so that what it decides next is the same as without the restart.
 */

const home = { lat: 22.817, lon: 108.366 };
const cafe = offset(home.lat, home.lon, 2_000, 0);
const away = offset(home.lat, home.lon, 0, 2_000);
const zones = zonesForSubject(
  compileZones([
    {
      id: 'home-area',
      kind: 'inclusion',
      purpose: 'other',
      geometry: { type: 'Circle', center: [home.lon, home.lat], radiusM: 300 },
    },
    {
      id: 'cafe',
      kind: 'exclusion',
      purpose: 'prohibited',
      geometry: { type: 'Circle', center: [cafe.lon, cafe.lat], radiusM: 100 },
    },
  ]),
  'all',
);
const PLACES = { home, away, cafe } as const;
const T0 = Date.parse('2026-11-27T04:00:00Z');

/** Through JSON, as the database gives it back. */
function persisted(state: SubjectState) {
  const stored = parseStoredState(JSON.parse(JSON.stringify(persistedDecision(decisionOf(state)))));
  if (stored.kind !== 'decision') throw new Error('expected a decision state');
  return { decision: stored.decision, progress: progressOf(state) };
}

/** What a restarted gateway would rebuild from the fixes table (all fixes ever stored). */
function restored(
  state: SubjectState,
  stored: readonly FixInput[],
  options?: Partial<EngineOptions>,
) {
  const { decision, progress } = persisted(state);
  const bounds = windowBounds(decision, progress, options);
  const read =
    bounds.fromMs === null
      ? []
      : stored.filter(
          (f) => f.fixTimeMs > (bounds.afterMs ?? -Infinity) && f.fixTimeMs >= bounds.fromMs!,
        );
  return restoreSubjectState(decision, progress, read, options);
}

const trackArb = fc
  .array(
    fc.record({
      place: fc.constantFrom<keyof typeof PLACES>('home', 'away', 'cafe'),
      fixes: fc.array(
        fc.record({
          gapS: fc.integer({ min: 20, max: 90 }),
          northM: fc.integer({ min: -15, max: 15 }),
          eastM: fc.integer({ min: -15, max: 15 }),
          lbs: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
          delayS: fc.integer({ min: 1, max: 30 }),
          jump: fc.integer({ min: 0, max: 12 }).map((n) => n === 0), // an outlier now and then
        }),
        { minLength: 3, maxLength: 8 },
      ),
    }),
    { minLength: 2, maxLength: 6 },
  )
  .map((segments) => {
    const fixes: FixInput[] = [];
    let t = T0;
    for (const segment of segments) {
      for (const f of segment.fixes) {
        t += f.gapS * 1000;
        const place = PLACES[segment.place];
        const at = offset(place.lat, place.lon, f.northM + (f.jump ? 40_000 : 0), f.eastM);
        fixes.push({
          fixTimeMs: t,
          lat: at.lat,
          lon: at.lon,
          accuracyM: f.lbs ? 350 : 8,
          source: f.lbs ? 'lbs' : 'gnss',
          receivedAtMs: t + f.delayS * 1000,
        });
      }
    }
    return fixes;
  });

/** Mostly in order, some late, some duplicated, in random batches. */
const deliveryArb = (fixes: readonly FixInput[]) =>
  fc
    .record({
      late: fc.subarray([...fixes.keys()]),
      duplicates: fc.subarray([...fixes.keys()]),
      cuts: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: fixes.length * 2 }),
    })
    .map(({ late, duplicates, cuts }) => {
      const lateSet = new Set(late.slice(0, Math.ceil(late.length / 3)));
      const inOrder = fixes.filter((_, i) => !lateSet.has(i));
      const all = [
        ...inOrder,
        ...[...lateSet].map((i) => fixes[i]!),
        ...duplicates.map((i) => fixes[i]!),
      ];
      const batches: FixInput[][] = [];
      for (let i = 0, c = 0; i < all.length; c++) {
        const size = cuts[c] ?? 1;
        batches.push(all.slice(i, i + size));
        i += size;
      }
      return batches;
    });

// A small window, so trims (folding into base) happen many times in a short track.
const SMALL: Partial<EngineOptions> = { windowMaxFixes: 6, windowMs: 10 * 60_000 };

describe('decision state + stored fixes = the whole state', () => {
  for (const [label, options] of [
    ['default window', undefined],
    ['small window (many trims)', SMALL],
  ] as const) {
    it(`restores exactly, after every batch, and decides the same next (${label})`, () => {
      fc.assert(
        fc.property(
          trackArb.chain((fixes) => deliveryArb(fixes)),
          (batches) => {
            let state = createSubjectState('s', T0);
            // The fixes table: one row per fix time, the first stored wins.
            const table = new Map<number, FixInput>();
            for (const batch of batches) {
              const nowMs = Math.max(...batch.map((f) => f.receivedAtMs));
              const live = processBatch(state, { fixes: batch, nowMs }, zones, options);
              const again = processBatch(
                restored(state, [...table.values()], options),
                { fixes: batch, nowMs },
                zones,
                options,
              );
              expect(again.alerts).toEqual(live.alerts);
              expect(again.state).toEqual(live.state);
              for (const f of batch) if (!table.has(f.fixTimeMs)) table.set(f.fixTimeMs, f);
              state = live.state;
              expect(restored(state, [...table.values()], options)).toEqual(state);
            }
          },
        ),
        { numRuns: 150 },
      );
    });
  }

  it('reads nothing for a subject without fixes, and the bounds cover the window', () => {
    const empty = createSubjectState('s', T0);
    expect(windowBounds(decisionOf(empty), progressOf(empty)).fromMs).toBeNull();
    expect(restored(empty, [])).toEqual(empty);
    const fixes = Array.from({ length: 40 }, (_, i) => fix(T0 + i * 60_000, home));
    const { state } = processBatch(empty, { fixes, nowMs: T0 + 41 * 60_000 }, zones, SMALL);
    const bounds = windowBounds(decisionOf(state), progressOf(state), SMALL);
    expect(state.baseUntilMs).not.toBeNull();
    expect(bounds.afterMs).toBe(state.baseUntilMs);
    for (const f of state.window) expect(f[0]).toBeGreaterThanOrEqual(bounds.fromMs!);
    expect(state.window.length).toBeLessThanOrEqual(bounds.maxFixes);
  });

  it('a stored fix the engine never took (engine off) is bounded by the trim rules', () => {
    const state = createSubjectState('s', T0);
    const first = processBatch(state, { fixes: [fix(T0, home)], nowMs: T0 + 5_000 }, zones, SMALL);
    // Hours of fixes stored while the engine was off: only a trimmed window's worth comes back.
    const extra = Array.from({ length: 100 }, (_, i) => fix(T0 - (i + 1) * 60_000, home));
    const back = restored(first.state, [fix(T0, home), ...extra], SMALL);
    expect(back.window.length).toBeLessThanOrEqual(6);
    expect(back.window.at(-1)![0]).toBe(T0);
  });
});

describe('restart mid-confirmation', () => {
  const exclusion = zonesForSubject(
    compileZones([
      {
        id: 'victim-home',
        kind: 'exclusion',
        purpose: 'prohibited',
        geometry: { type: 'Circle', center: [cafe.lon, cafe.lat], radiusM: 100 },
        rules: { confirmFixes: 3, confirmSeconds: 600, bufferM: 10 },
      },
    ]),
    'all',
  );
  const walk = [
    fix(T0, home),
    fix(T0 + 120_000, cafe),
    fix(T0 + 180_000, cafe), // two of three confirming fixes: pending
    fix(T0 + 240_000, cafe), // third: the violation opens at the first
    fix(T0 + 300_000, cafe),
  ];

  it('keeps the pending evidence: the third fix after the restart opens one alert, at the first', () => {
    const uninterrupted: AlertEvent[] = [];
    let s = createSubjectState('s', T0);
    for (const f of walk) {
      const r = processBatch(s, { fixes: [f], nowMs: f.receivedAtMs }, exclusion);
      uninterrupted.push(...r.alerts);
      s = r.state;
    }
    expect(uninterrupted.filter((a) => a.action === 'open')).toHaveLength(1);

    let state = createSubjectState('s', T0);
    const alerts: AlertEvent[] = [];
    const stored: FixInput[] = [];
    for (const [i, f] of walk.entries()) {
      const r = processBatch(state, { fixes: [f], nowMs: f.receivedAtMs }, exclusion);
      alerts.push(...r.alerts);
      stored.push(f);
      state = r.state;
      if (i === 2) {
        // Two confirming fixes seen: pending evidence, no alert yet. The gateway restarts.
        expect(alerts).toEqual([]);
        expect(state.head.tracks['victim-home']?.pending?.count).toBe(2);
        const back = restored(state, stored);
        expect(back).toEqual(state);
        state = back;
      }
      if (i === 3) {
        // Open, then restart again: the open violation is neither forgotten nor raised twice.
        state = restored(state, stored);
        expect(state.head.tracks['victim-home']?.status).toBe('violating');
      }
    }
    expect(alerts).toEqual(uninterrupted);
    expect(alerts.filter((a) => a.action === 'open')).toEqual([
      expect.objectContaining({ startedAtMs: T0 + 120_000 }),
    ]);
  });

  it('the decision state changes with the evidence, not with every fix', () => {
    let state = createSubjectState('s', T0);
    const step = (f: FixInput) => {
      const before = decisionOf(state);
      state = processBatch(state, { fixes: [f], nowMs: f.receivedAtMs }, exclusion).state;
      return !sameDecision(before, decisionOf(state));
    };
    // Walking about at home, far from the zone: only the progress moves.
    expect(step(fix(T0, home))).toBe(false);
    expect(step(fix(T0 + 60_000, offset(home.lat, home.lon, 30, 0)))).toBe(false);
    expect(state.contact.lastFixTimeMs).toBe(T0 + 60_000);
    // Into the zone: pending evidence, then the violation; both are decisions.
    expect(step(fix(T0 + 120_000, cafe))).toBe(true);
    expect(step(fix(T0 + 180_000, cafe))).toBe(true);
    expect(step(fix(T0 + 240_000, cafe))).toBe(true);
  });
});

describe('parseStoredState', () => {
  it('reads whole states written before decision states, and decision states', () => {
    const { state } = processBatch(
      createSubjectState('s', T0),
      { fixes: [fix(T0, home)], nowMs: T0 + 5_000 },
      zones,
    );
    const whole = parseStoredState(JSON.parse(JSON.stringify(state)));
    expect(whole).toEqual({ kind: 'full', state });
    const decision = parseStoredState(JSON.parse(JSON.stringify(decisionOf(state))));
    expect(decision).toEqual({ kind: 'decision', decision: decisionOf(state) });
  });

  it('stores a fix’s source by name, holds it as a number, and reads either form', () => {
    // One fix in the prohibited cafe: pending evidence. A one-fix window folds the fix before
    // it into base: base's anchor and last GNSS fix.
    const { state } = processBatch(
      createSubjectState('s', T0),
      { fixes: [fix(T0, home), fix(T0 + 60_000, cafe)], nowMs: T0 + 65_000 },
      zones,
      { windowMaxFixes: 1 },
    );
    expect(state.base.anchor).not.toBeNull();
    const pending = Object.values(state.head.tracks).find((t) => t.pending)?.pending;
    expect(pending?.fixes.length).toBeGreaterThan(0);
    // In memory every element is a number: V8 packs the tuple as doubles.
    for (const f of [...state.window, state.head.anchor!, ...pending!.fixes]) {
      expect(f.every((v) => typeof v === 'number')).toBe(true);
    }
    const json = JSON.stringify(persistedDecision(decisionOf(state)));
    // As every earlier version wrote it: what a gateway not yet upgraded reads.
    const onDisk = JSON.parse(json) as {
      base: { anchor: unknown[] };
      tracks: Record<string, { pending: { fixes: unknown[][] } | null }>;
    };
    expect(onDisk.base.anchor[4]).toBe('gnss');
    const stored = Object.values(onDisk.tracks).find((t) => t.pending)!.pending!;
    expect(stored.fixes.map((f) => f[4])).toEqual(pending!.fixes.map(() => 'gnss'));
    const expected = { kind: 'decision', decision: decisionOf(state) };
    expect(parseStoredState(JSON.parse(json))).toEqual(expected);
    expect(parseStoredState(JSON.parse(JSON.stringify(decisionOf(state))))).toEqual(expected);
    // A whole state of before 0010, its window's sources by name.
    const legacy = JSON.parse(JSON.stringify(state)) as { window: unknown[][] };
    legacy.window = legacy.window.map((f) => [...f.slice(0, 4), 'gnss', f[5]]);
    expect(parseStoredState(legacy)).toEqual({ kind: 'full', state });
    expect(() =>
      parseStoredState({
        ...JSON.parse(json),
        base: { ...onDisk.base, anchor: [1, 2, 3, 4, 'gps', 5] },
      }),
    ).toThrow();
  });

  it('refuses anything else', () => {
    expect(() => parseStoredState({ kind: 'decision', version: 2 })).toThrow();
    expect(() => parseStoredState({ version: 1 })).toThrow();
    expect(() => parseStoredState('x')).toThrow();
  });
});

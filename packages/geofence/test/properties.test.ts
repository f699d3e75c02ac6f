import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AlertEvent, EngineOptions, FixInput, SubjectState } from '../src/index';
import { compileZones, createSubjectState, processBatch, zonesForSubject } from '../src/index';
import { applyEvents, offset } from './helpers';

/**
 * Order and duplication must not matter: a track delivered shuffled, with duplicates, in
 * random batches, ends with the same violations as the same track delivered in order.
 */

const home = { lat: 22.817, lon: 108.366 };
const away = offset(home.lat, home.lon, 0, 2_000); // east: the path home↔away misses the café
const cafe = offset(home.lat, home.lon, 2_000, 0);
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
type Place = keyof typeof PLACES;

const T0 = Date.parse('2026-11-27T04:00:00Z');

/** Dwell segments longer than the confirmation rule, with jitter, some LBS, some drift. */
const trackArb = fc
  .array(
    fc.record({
      place: fc.constantFrom<Place>('home', 'away', 'cafe'),
      fixes: fc.array(
        fc.record({
          gapS: fc.integer({ min: 20, max: 90 }),
          northM: fc.integer({ min: -15, max: 15 }),
          eastM: fc.integer({ min: -15, max: 15 }),
          lbs: fc.integer({ min: 0, max: 5 }).map((n) => n === 0), // ~1 in 6
          delayS: fc.integer({ min: 1, max: 30 }),
        }),
        { minLength: 4, maxLength: 9 },
      ),
    }),
    { minLength: 2, maxLength: 7 },
  )
  .map((segments) => {
    const fixes: FixInput[] = [];
    let t = T0;
    for (const segment of segments) {
      for (const f of segment.fixes) {
        t += f.gapS * 1000;
        const at = offset(PLACES[segment.place].lat, PLACES[segment.place].lon, f.northM, f.eastM);
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

function deliver(
  batches: readonly FixInput[][],
  options?: Partial<EngineOptions>,
): { alerts: AlertEvent[]; state: SubjectState } {
  let state = createSubjectState('s');
  const alerts: AlertEvent[] = [];
  for (const fixes of batches) {
    const nowMs = Math.max(...fixes.map((f) => f.receivedAtMs));
    const result = processBatch(state, { fixes, nowMs }, zones, options);
    state = result.state;
    alerts.push(...result.alerts);
  }
  return { alerts, state };
}

/** The violations as the gateway would hold them after applying every event by key. */
function violations(alerts: readonly AlertEvent[]): string[] {
  return [...applyEvents(alerts).values()]
    .map((a) => `${a.type}|${a.zoneId}|${a.startedAtMs}`)
    .sort();
}

/** No two alerts of one subject/type/zone overlap in time. */
function expectNoOverlap(alerts: readonly AlertEvent[]): void {
  const final = [...applyEvents(alerts).values()].sort((a, b) => a.startedAtMs - b.startedAtMs);
  for (let i = 0; i < final.length; i++) {
    for (let j = i + 1; j < final.length; j++) {
      const a = final[i];
      const b = final[j];
      if (!a || !b || a.type !== b.type || a.zoneId !== b.zoneId) continue;
      expect(a.endedAtMs, `${a.key} overlaps ${b.key}`).not.toBeNull();
      expect(b.startedAtMs).toBeGreaterThanOrEqual(a.endedAtMs ?? Infinity);
    }
  }
}

/** A shuffled, partly duplicated delivery cut into random batches. */
const deliveryArb = (fixes: readonly FixInput[]) =>
  fc
    .record({
      duplicates: fc.subarray([...fixes.keys()]),
      order: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), {
        minLength: fixes.length * 2,
        maxLength: fixes.length * 2,
      }),
      cuts: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: fixes.length * 2 }),
    })
    .map(({ duplicates, order, cuts }) => {
      const all = [...fixes, ...duplicates.map((i) => fixes[i] as FixInput)];
      const shuffled = all
        .map((f, i) => ({ f, key: order[i] ?? 0 }))
        .sort((a, b) => a.key - b.key)
        .map((x) => x.f);
      const batches: FixInput[][] = [];
      for (let i = 0, c = 0; i < shuffled.length; c++) {
        const size = cuts[c] ?? 1;
        batches.push(shuffled.slice(i, i + size));
        i += size;
      }
      return batches;
    });

describe('order and duplication independence', () => {
  it('yields the same violations as in-order processing, never duplicated', () => {
    fc.assert(
      fc.property(
        trackArb.chain((fixes) => fc.tuple(fc.constant(fixes), deliveryArb(fixes))),
        ([fixes, batches]) => {
          const inOrder = deliver(fixes.map((f) => [f]));
          const shuffled = deliver(batches);
          expect(violations(shuffled.alerts)).toEqual(violations(inOrder.alerts));
          expectNoOverlap(shuffled.alerts);
          // Delivering everything again changes nothing.
          let state = shuffled.state;
          for (const batch of batches) {
            const again = processBatch(state, { fixes: batch, nowMs: T0 + 86_400_000 }, zones);
            expect(again.alerts).toEqual([]);
            state = again.state;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('finds violations in the generated tracks (the property is not vacuous)', () => {
    const samples = fc.sample(trackArb, { numRuns: 100, seed: 42 });
    const counts = samples.map((fixes) => violations(deliver(fixes.map((f) => [f])).alerts).length);
    expect(counts.filter((n) => n > 0).length).toBeGreaterThan(50);
    expect(Math.max(...counts)).toBeGreaterThan(2);
  });

  it('never duplicates even when the window is too small to re-derive everything', () => {
    fc.assert(
      fc.property(
        trackArb.chain((fixes) => fc.tuple(fc.constant(fixes), deliveryArb(fixes))),
        ([, batches]) => {
          const { alerts } = deliver(batches, { windowMaxFixes: 8, windowMs: 10 * 60_000 });
          expectNoOverlap(alerts); // applyEvents inside throws on a second open of one key
        },
      ),
      { numRuns: 200 },
    );
  });
});

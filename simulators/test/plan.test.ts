import { replayTrack, validateZoneGeometry, type FixInput, type ZoneInput } from '@ccm/geofence';
import { describe, expect, it } from 'vitest';
import { HOUR_MS, SimClock, localTimeOfDay } from '../src/clock';
import { buildDemoPlan, COUNTY_MARGIN_M, CURFEW_RADIUS_M, type DemoZone } from '../src/demo-plan';
import { observe } from '../src/fixes';
import { distanceM, shapeOf, signedDistanceM } from '../src/geo';
import { DISTRICTS, districtOutline } from '../src/guangxi';
import { DeviceClient } from '../src/device-client';
import { silentLogger } from '../src/log';
import { Rng } from '../src/random';
import { Routine, dayPlan } from '../src/routine';
import { SimWristband, envOf } from '../src/wristband';

const plan = buildDemoPlan({ subjects: 48, referenceMs: Date.UTC(2026, 10, 20) });
const zones = new Map(plan.zones.map((z) => [z.id, z]));
const asInput = (z: DemoZone): ZoneInput => ({
  id: z.id,
  kind: z.kind,
  purpose: z.purpose,
  geometry: z.geometry,
  schedule: z.schedule,
  rules: { bufferM: z.bufferM },
});

describe('the Guangxi jurisdictions and district outlines', () => {
  it('has the real GB/T 2260 codes of Nanning’s 12 districts and counties', () => {
    expect(DISTRICTS.map((d) => `${d.code} ${d.nameZh}`)).toEqual([
      '450102 兴宁区',
      '450103 青秀区',
      '450105 江南区',
      '450107 西乡塘区',
      '450108 良庆区',
      '450109 邕宁区',
      '450110 武鸣区',
      '450123 隆安县',
      '450124 马山县',
      '450125 上林县',
      '450126 宾阳县',
      '450181 横州市',
    ]);
    const codes = plan.jurisdictions.map((j) => j.code);
    expect(codes.slice(0, 2)).toEqual(['450000', '450100']);
    for (const d of DISTRICTS) {
      expect(d.offices.length).toBeGreaterThanOrEqual(2);
      for (const o of d.offices) expect(o.code).toMatch(new RegExp(`^${d.code}\\d{3}$`));
    }
    // Every node's path is its parent's path plus its code.
    const byCode = new Map(plan.jurisdictions.map((j) => [j.code, j]));
    for (const j of plan.jurisdictions) {
      const parent = j.parentCode ? byCode.get(j.parentCode)!.path : null;
      expect(j.path).toBe(parent ? `${parent}.${j.code}` : j.code);
    }
  });

  it('outlines are valid polygons of a few dozen vertices that tile without overlapping', () => {
    const shapes = DISTRICTS.map((d) => ({ d, shape: shapeOf(districtOutline(d.code)) }));
    for (const { d, shape } of shapes) {
      expect(validateZoneGeometry(shape.geometry), d.nameZh).toEqual([]);
      const ring = (shape.geometry as { coordinates: number[][][] }).coordinates[0]!;
      expect(ring.length).toBeGreaterThanOrEqual(20);
      expect(ring.length).toBeLessThanOrEqual(80);
    }
    // Each office lies in its own district and in no other.
    for (const t of plan.terminals) {
      const inside = shapes
        .filter(({ shape }) => signedDistanceM(shape, t.at) < 0)
        .map(({ d }) => d.code);
      expect(inside).toEqual([t.officeCode.slice(0, 6)]);
    }
  });

  it('homes, places and every routine route stay well inside the county', () => {
    for (const w of plan.wristbands) {
      const county = shapeOf(zones.get(w.countyZoneId)!.geometry);
      for (const p of [
        w.places.home,
        w.places.market,
        w.places.park,
        w.places.office,
        w.places.work,
      ]) {
        if (p) expect(signedDistanceM(county, p)).toBeLessThanOrEqual(-COUNTY_MARGIN_M + 1);
      }
      if (w.curfewZoneId) {
        const curfew = zones.get(w.curfewZoneId)!;
        expect(curfew.geometry).toEqual({
          type: 'Circle',
          center: w.places.home,
          radiusM: CURFEW_RADIUS_M,
        });
        expect(curfew.schedule?.windows).toEqual([
          { days: [1, 2, 3, 4, 5, 6, 7], start: '22:00', end: '06:00' },
        ]);
      }
    }
  });

  it('orders are at most three months, with a legal ground and an approver', () => {
    for (const o of plan.orders) {
      const months3 = new Date(o.startsAt);
      months3.setUTCMonth(months3.getUTCMonth() + 3);
      expect(o.endsAt.getTime()).toBeLessThanOrEqual(months3.getTime());
      expect(o.endsAt.getTime()).toBeGreaterThan(o.startsAt.getTime());
      expect(o.approverName.length).toBeGreaterThan(0);
    }
    expect(new Set(plan.orders.map((o) => o.legalGround)).size).toBeGreaterThanOrEqual(3);
  });

  it('is deterministic, and a bigger data set only adds rows', () => {
    const again = buildDemoPlan({ subjects: 48, referenceMs: Date.UTC(2026, 10, 20) });
    expect(again).toEqual(plan);
    const bigger = buildDemoPlan({ subjects: 60, referenceMs: Date.UTC(2026, 10, 20) });
    expect(bigger.subjects.slice(0, 48)).toEqual(plan.subjects);
    expect(bigger.wristbands.slice(0, 48)).toEqual(plan.wristbands);
  });
});

describe('a subject’s ordinary days', () => {
  // Tuesday 2026-11-24, 00:00 China time.
  const start = Date.UTC(2026, 10, 23, 16, 0);

  it.each([1, 12])(
    'three days of routine at routine speed %i raise no alert in the real engine',
    (speed) => {
      for (const w of plan.wristbands) {
        const routine = new Routine(w, speed);
        const rng = new Rng(w.index);
        const fixes: FixInput[] = [];
        for (let t = start; t < start + 3 * 24 * HOUR_MS; t += 60_000) {
          const at = routine.at(t);
          const f = observe(at.p, t, envOf(at), rng, at);
          fixes.push({
            fixTimeMs: f.t,
            lat: f.lat,
            lon: f.lon,
            accuracyM: f.acc,
            source: f.src,
            receivedAtMs: f.t,
          });
        }
        const { alerts, ignoredFixes } = replayTrack(
          fixes,
          w.zoneIds.map((id) => asInput(zones.get(id)!)),
          {
            subjectId: w.subjectId,
          },
        );
        expect(alerts, w.deviceId).toEqual([]);
        expect(ignoredFixes, w.deviceId).toEqual([]);
      }
    },
  );

  it('is at home through the curfew window, moves at walking or driving speed, and checks in weekly', () => {
    let checkins = 0;
    for (const w of plan.wristbands) {
      for (let day = 0; day < 7; day++) {
        const segments = dayPlan(w, start + day * 24 * HOUR_MS);
        // Contiguous from midnight to midnight.
        for (let i = 1; i < segments.length; i++)
          expect(segments[i]!.startMs).toBe(segments[i - 1]!.endMs);
        for (const s of segments) {
          if (s.kind === 'move') {
            expect(s.speedMps).toBeGreaterThanOrEqual(1);
            expect(s.speedMps).toBeLessThanOrEqual(15);
            const tod = localTimeOfDay(s.endMs);
            expect(tod >= 6 * HOUR_MS && tod < 21.5 * HOUR_MS).toBe(true);
          }
          if (s.kind === 'stay' && s.place === 'office') checkins++;
        }
        const routine = new Routine(w);
        for (const hour of [0, 2, 5, 22, 23]) {
          const at = routine.at(start + day * 24 * HOUR_MS + hour * HOUR_MS + 17 * 60_000);
          expect(distanceM(at.p, w.places.home)).toBe(0);
        }
      }
    }
    // One check-in a week each, give or take a day the slot did not fit.
    expect(checkins).toBeGreaterThanOrEqual(plan.wristbands.length * 0.8);
  });

  it('the battery drains by day and charges in the evening, never low (the wristband itself)', () => {
    for (const speed of [1, 12]) {
      for (const w of plan.wristbands.slice(0, 8)) {
        let now = start;
        const clock = new SimClock({ speed, realNow: () => now });
        // Not connected: what it sends is only kept, which is all this test needs.
        const client = new DeviceClient({ url: 'mqtt://127.0.0.1:1', deviceId: w.deviceId });
        const band = new SimWristband({ ...w, secret: 'x' }, client, {
          clock,
          intervalS: 60,
          heartbeatS: 300,
          coverageGaps: false,
          logger: silentLogger,
        });
        band.start(now);
        let min = 100;
        let max = 0;
        for (; now < start + 3 * 24 * HOUR_MS; now += 5 * 60_000) {
          band.advance(now);
          if (now > start + 12 * HOUR_MS) {
            min = Math.min(min, band.battery);
            max = Math.max(max, band.battery);
          }
        }
        expect(min, `${w.deviceId} at speed ${speed}`).toBeGreaterThan(30);
        expect(max).toBeGreaterThan(90);
        expect(band.counters.fixes).toBeGreaterThan(3 * 24 * 60 - 10);
      }
    }
  });
});

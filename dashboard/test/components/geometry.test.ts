import { describe, expect, it } from 'vitest';
import { circleRing, distanceM, fromDisplay, toDisplay } from '../../src/map/coords';
import { ringToCircle, selfIntersection, shapeProblem } from '../../src/map/zones';

const HOME: [number, number] = [108.366543, 22.817012];

describe('zone shapes', () => {
  it('explains a bow-tie polygon: its edges cross, and where', () => {
    const bowTie: [number, number][] = [
      [108.36, 22.81],
      [108.37, 22.82],
      [108.37, 22.81],
      [108.36, 22.82],
      [108.36, 22.81],
    ];
    const problem = shapeProblem({ type: 'Polygon', coordinates: [bowTie] });
    expect(problem?.code).toBe('self_intersecting');
    const at = (problem as { at: [number, number] }).at;
    expect(at[0]).toBeCloseTo(108.365, 6);
    expect(at[1]).toBeCloseTo(22.815, 6);
  });

  it('accepts a square, refuses too few corners, a sliver and an absurd radius', () => {
    const square: [number, number][] = [
      [108.36, 22.81],
      [108.37, 22.81],
      [108.37, 22.82],
      [108.36, 22.82],
      [108.36, 22.81],
    ];
    expect(selfIntersection(square)).toBeNull();
    expect(shapeProblem({ type: 'Polygon', coordinates: [square] })).toBeNull();
    expect(
      shapeProblem({
        type: 'Polygon',
        coordinates: [
          [
            [108.36, 22.81],
            [108.37, 22.81],
            [108.36, 22.81],
          ],
        ],
      }),
    ).toEqual({ code: 'too_few_points' });
    const tiny: [number, number][] = [
      [108.36, 22.81],
      [108.36005, 22.81],
      [108.36005, 22.81005],
      [108.36, 22.81],
    ];
    expect(shapeProblem({ type: 'Polygon', coordinates: [tiny] })?.code).toBe('too_small');
    expect(shapeProblem({ type: 'Circle', center: HOME, radiusM: 3 })?.code).toBe(
      'radius_out_of_range',
    );
    expect(shapeProblem({ type: 'Circle', center: HOME, radiusM: 200 })).toBeNull();
  });

  it('turns a drawn circle (a regular polygon) back into centre and radius', () => {
    const ring = circleRing(HOME, 250);
    for (const p of ring) expect(distanceM(HOME, p)).toBeCloseTo(250, 0);
    const circle = ringToCircle(ring);
    expect(distanceM(circle.center, HOME)).toBeLessThan(0.5);
    expect(circle.radiusM).toBe(250);
  });
});

describe('display coordinates', () => {
  it('WGS-84 is shown as is on a WGS-84 (or 天地图 CGCS2000) basemap', () => {
    expect(toDisplay(HOME, 'WGS84')).toEqual(HOME);
  });

  it('GCJ-02 and BD-09 shift a Nanning position by hundreds of metres, and convert back within a metre', () => {
    for (const crs of ['GCJ02', 'BD09'] as const) {
      const shown = toDisplay(HOME, crs);
      expect(distanceM(shown, HOME)).toBeGreaterThan(100);
      expect(distanceM(shown, HOME)).toBeLessThan(1500);
      expect(distanceM(fromDisplay(shown, crs), HOME)).toBeLessThan(1);
    }
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ZoneGeometry } from '@ccm/contracts';
import {
  boundaryDistanceM,
  classifyPoint,
  compileGeometry,
  haversineM,
  locate,
  pathPenetration,
} from '../src/index';
import { naiveInside, offset, starPolygon } from './helpers';

const square: ZoneGeometry = {
  type: 'Polygon',
  coordinates: [
    [
      [108, 22],
      [108.1, 22],
      [108.1, 22.1],
      [108, 22.1],
      [108, 22],
    ],
    // a hole in the middle
    [
      [108.04, 22.04],
      [108.06, 22.04],
      [108.06, 22.06],
      [108.04, 22.06],
      [108.04, 22.04],
    ],
  ],
};

describe('locate: polygons', () => {
  const g = compileGeometry(square);

  it('tells inside, outside and the hole apart', () => {
    expect(locate(g, 108.01, 22.01)).toBe('inside');
    expect(locate(g, 108.2, 22.05)).toBe('outside');
    expect(locate(g, 108.05, 22.05)).toBe('outside'); // in the hole
    expect(locate(g, 108.03, 22.05)).toBe('inside'); // beside the hole
  });

  it('reports points on edges and vertices as boundary', () => {
    expect(locate(g, 108.05, 22)).toBe('boundary'); // bottom edge
    expect(locate(g, 108.1, 22.05)).toBe('boundary'); // right edge
    expect(locate(g, 108, 22)).toBe('boundary'); // vertex
    expect(locate(g, 108.1, 22.1)).toBe('boundary'); // vertex
    expect(locate(g, 108.04, 22.05)).toBe('boundary'); // hole edge
    expect(locate(g, 108.06, 22.06)).toBe('boundary'); // hole vertex
  });

  it('handles a diagonal edge exactly', () => {
    const tri = compileGeometry({
      type: 'Polygon',
      coordinates: [
        [
          [0, 0],
          [4, 0],
          [0, 4],
          [0, 0],
        ],
      ],
    });
    expect(locate(tri, 2, 2)).toBe('boundary');
    expect(locate(tri, 1, 1)).toBe('inside');
    expect(locate(tri, 2.5, 2)).toBe('outside');
  });

  it('counts a ray through a vertex once', () => {
    // The horizontal ray from (1, 2) passes exactly through the vertex (3, 2).
    const diamond = compileGeometry({
      type: 'Polygon',
      coordinates: [
        [
          [2, 0],
          [3, 2],
          [2, 4],
          [0, 2],
          [2, 0],
        ],
      ],
    });
    expect(locate(diamond, 1, 2)).toBe('inside');
    expect(locate(diamond, -1, 2)).toBe('outside');
    expect(locate(diamond, 4, 2)).toBe('outside');
  });

  it('treats every part of a multipolygon', () => {
    const multi = compileGeometry({
      type: 'MultiPolygon',
      coordinates: [
        [
          [
            [0, 0],
            [1, 0],
            [1, 1],
            [0, 1],
            [0, 0],
          ],
        ],
        [
          [
            [5, 5],
            [6, 5],
            [6, 6],
            [5, 6],
            [5, 5],
          ],
          [
            [5.4, 5.4],
            [5.6, 5.4],
            [5.6, 5.6],
            [5.4, 5.6],
            [5.4, 5.4],
          ],
        ],
      ],
    });
    expect(locate(multi, 0.5, 0.5)).toBe('inside');
    expect(locate(multi, 5.2, 5.2)).toBe('inside');
    expect(locate(multi, 5.5, 5.5)).toBe('outside'); // hole of part 2
    expect(locate(multi, 3, 3)).toBe('outside'); // between parts
    expect(locate(multi, 6, 5.5)).toBe('boundary');
  });
});

describe('distances and margins', () => {
  const g = compileGeometry(square);

  it('measures metres to the nearest edge, including hole edges', () => {
    // 0.01° of latitude north of the bottom edge: ~1,112 m.
    const d = boundaryDistanceM(g, 108.02, 22.01);
    expect(d).not.toBeNull();
    expect(d ?? 0).toBeCloseTo(haversineM(22, 108.02, 22.01, 108.02), 0);
    // Inside the hole, near its west edge (0.001° ≈ 103 m of longitude at 22°N).
    expect(boundaryDistanceM(g, 108.041, 22.05) ?? 0).toBeCloseTo(103.2, 0);
  });

  it('caps the search and says so with null', () => {
    expect(boundaryDistanceM(g, 109, 22.05, 5_000)).toBeNull();
    expect(boundaryDistanceM(g, 109, 22.05)).toBeGreaterThan(90_000);
  });

  it('classifies with a margin: clearly in, clearly out, or near', () => {
    const edge = { lat: 22, lon: 108.05 }; // bottom edge
    const in50 = offset(edge.lat, edge.lon, 50, 0);
    const out50 = offset(edge.lat, edge.lon, -50, 0);
    expect(classifyPoint(g, in50.lon, in50.lat, 30)).toBe('inside');
    expect(classifyPoint(g, in50.lon, in50.lat, 60)).toBe('near');
    expect(classifyPoint(g, out50.lon, out50.lat, 30)).toBe('outside');
    expect(classifyPoint(g, out50.lon, out50.lat, 60)).toBe('near');
    expect(classifyPoint(g, 112, 25, 500)).toBe('outside');
  });

  it('handles circles by great-circle distance', () => {
    const c = compileGeometry({ type: 'Circle', center: [108.3, 22.8], radiusM: 100 });
    const at = (m: number) => offset(22.8, 108.3, m, 0);
    expect(locate(c, at(50).lon, at(50).lat)).toBe('inside');
    expect(locate(c, at(150).lon, at(150).lat)).toBe('outside');
    expect(classifyPoint(c, at(50).lon, at(50).lat, 30)).toBe('inside');
    expect(classifyPoint(c, at(80).lon, at(80).lat, 30)).toBe('near');
    expect(classifyPoint(c, at(140).lon, at(140).lat, 30)).toBe('outside');
    expect(boundaryDistanceM(c, at(150).lon, at(150).lat) ?? 0).toBeCloseTo(50, 0);
  });
});

describe('a 5,000-vertex county boundary', () => {
  const ring = starPolygon(108.3, 22.8, 40_000, 5_000);
  const geometry: ZoneGeometry = { type: 'Polygon', coordinates: [ring] };
  const g = compileGeometry(geometry);
  const box = { minX: 107.8, maxX: 108.8, minY: 22.3, maxY: 23.3 };

  it('agrees with a naive ray cast on random points', () => {
    fc.assert(
      fc.property(
        fc.double({ min: box.minX, max: box.maxX, noNaN: true }),
        fc.double({ min: box.minY, max: box.maxY, noNaN: true }),
        (lon, lat) => {
          const where = locate(g, lon, lat);
          if (where === 'boundary') return; // measure-zero; the reference has no such answer
          expect(where === 'inside').toBe(naiveInside(geometry, lon, lat));
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('agrees with a naive ray cast close to the edge', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_999 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: -30, max: 30, noNaN: true }),
        (i, t, normalM) => {
          const [x1, y1] = ring[i] ?? [0, 0];
          const [x2, y2] = ring[i + 1] ?? [0, 0];
          const p = offset(y1 + t * (y2 - y1), x1 + t * (x2 - x1), normalM, normalM);
          const where = locate(g, p.lon, p.lat);
          if (where === 'boundary') return;
          expect(where === 'inside').toBe(naiveInside(geometry, p.lon, p.lat));
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('finds the same nearest-edge distance as scanning every edge', () => {
    const brute = (lon: number, lat: number) => {
      let best = Infinity;
      const kx = 111_195.08 * Math.cos((lat * Math.PI) / 180);
      const ky = 111_195.08;
      for (let i = 0; i + 1 < ring.length; i++) {
        const [x1, y1] = ring[i] ?? [0, 0];
        const [x2, y2] = ring[i + 1] ?? [0, 0];
        const ax = (x1 - lon) * kx;
        const ay = (y1 - lat) * ky;
        const dx = (x2 - x1) * kx;
        const dy = (y2 - y1) * ky;
        const len2 = dx * dx + dy * dy;
        const t = Math.min(1, Math.max(0, len2 > 0 ? -(ax * dx + ay * dy) / len2 : 0));
        best = Math.min(best, Math.hypot(ax + t * dx, ay + t * dy));
      }
      return best;
    };
    fc.assert(
      fc.property(
        fc.double({ min: box.minX, max: box.maxX, noNaN: true }),
        fc.double({ min: box.minY, max: box.maxY, noNaN: true }),
        (lon, lat) => {
          const expected = brute(lon, lat);
          expect(boundaryDistanceM(g, lon, lat) ?? Infinity).toBeCloseTo(expected, 3);
          const within = boundaryDistanceM(g, lon, lat, 2_000);
          if (expected <= 2_000) expect(within ?? Infinity).toBeCloseTo(expected, 3);
          else expect(within).toBeNull();
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('path through a zone', () => {
  it('solves a circle crossing exactly', () => {
    const c = compileGeometry({ type: 'Circle', center: [108.3, 22.8], radiusM: 200 });
    const a = offset(22.8, 108.3, 0, -1_000);
    const b = offset(22.8, 108.3, 0, 1_000);
    const hit = pathPenetration(c, a, b, 50, 5_000);
    expect(hit).not.toBeNull();
    expect(hit?.entryS ?? 0).toBeCloseTo(0.4, 2);
    expect(hit?.exitS ?? 0).toBeCloseTo(0.6, 2);
    expect(hit?.depthM ?? 0).toBeCloseTo(200, 0);
    // Grazing 170 m from the centre goes only 30 m deep: not more than a 50 m margin.
    const a2 = offset(22.8, 108.3, 170, -1_000);
    const b2 = offset(22.8, 108.3, 170, 1_000);
    expect(pathPenetration(c, a2, b2, 50, 5_000)).toBeNull();
  });

  it('finds a polygon crossing with entry and exit', () => {
    const g = compileGeometry(square);
    // West to east along latitude 22.02 (south of the hole): enters at 108.0, leaves at 108.1.
    const hit = pathPenetration(
      g,
      { lon: 107.9, lat: 22.02 },
      { lon: 108.2, lat: 22.02 },
      50,
      5_000,
    );
    expect(hit?.entryS ?? 0).toBeCloseTo(1 / 3, 3);
    expect(hit?.exitS ?? 0).toBeCloseTo(2 / 3, 3);
    expect(hit?.depthM ?? 0).toBeGreaterThan(1_000);
  });
});

describe('robustness', () => {
  it('does not throw across the antimeridian', () => {
    const geometry: ZoneGeometry = {
      type: 'Polygon',
      coordinates: [
        [
          [179.9, -16.5],
          [-179.9, -16.5],
          [-179.9, -16.3],
          [179.9, -16.3],
          [179.9, -16.5],
        ],
      ],
    };
    const g = compileGeometry(geometry);
    for (const [lon, lat] of [
      [180, -16.4],
      [-180, -16.4],
      [179.95, -16.4],
      [-179.95, -16.4],
      [0, 0],
    ] as const) {
      expect(['inside', 'outside', 'boundary']).toContain(locate(g, lon, lat));
      expect(['inside', 'outside', 'near']).toContain(classifyPoint(g, lon, lat, 50));
      const d = boundaryDistanceM(g, lon, lat);
      expect(d === null || Number.isFinite(d)).toBe(true);
    }
    const c = compileGeometry({ type: 'Circle', center: [179.999, 0], radiusM: 1_000 });
    // Circles use great-circle distance, which happens to be right across the antimeridian.
    expect(locate(c, -179.999, 0)).toBe('inside');
  });
});

import { describe, expect, it } from 'vitest';
import type { ZoneGeometry } from '@ccm/contracts';
import { compileZones, validateZoneGeometry } from '../src/index';
import { starPolygon } from './helpers';

const polygon = (...rings: number[][][]): ZoneGeometry =>
  ({ type: 'Polygon', coordinates: rings }) as ZoneGeometry;

describe('validateZoneGeometry', () => {
  it('accepts a valid polygon with a hole, and a circle', () => {
    expect(
      validateZoneGeometry(
        polygon(
          [
            [0, 0],
            [10, 0],
            [10, 10],
            [0, 10],
            [0, 0],
          ],
          [
            [4, 4],
            [6, 4],
            [6, 6],
            [4, 6],
            [4, 4],
          ],
        ),
      ),
    ).toEqual([]);
    expect(validateZoneGeometry({ type: 'Circle', center: [108.3, 22.8], radiusM: 200 })).toEqual(
      [],
    );
  });

  it('reports a bow-tie with ring, segments and where, zh-CN first', () => {
    // Segment 0 (0,0)→(10,10) crosses segment 2 (10,0)→(0,10) at (5,5).
    const problems = validateZoneGeometry(
      polygon([
        [0, 0],
        [10, 10],
        [10, 0],
        [0, 10],
        [0, 0],
      ]),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      code: 'ring_self_intersects',
      ring: 0,
      segments: [0, 2],
      at: [5, 5],
    });
    expect(problems[0]?.message).toBe(
      '多边形自相交 / polygon self-intersects at ring 0, segments 0 and 2 near [5,5]',
    );
  });

  it('locates a self-intersection deep inside a 5,000-vertex boundary', () => {
    const ring = starPolygon(108.3, 22.8, 40_000, 5_000);
    expect(validateZoneGeometry(polygon(ring))).toEqual([]);
    // On a smooth ring, swapping neighbours 3000 and 3001 makes edges 2999 and 3001 cross.
    const smooth = starPolygon(108.3, 22.8, 40_000, 5_000, 1, 0);
    expect(validateZoneGeometry(polygon(smooth))).toEqual([]);
    const broken = smooth.map((p) => [p[0], p[1]] as [number, number]);
    const a = broken[3000];
    const b = broken[3001];
    if (!a || !b) throw new Error('fixture');
    broken[3000] = b;
    broken[3001] = a;
    const problems = validateZoneGeometry(polygon(broken));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      code: 'ring_self_intersects',
      ring: 0,
      segments: [2999, 3001],
    });
    expect(problems[0]?.message).toMatch(
      /^多边形自相交 \/ polygon self-intersects at ring 0, segments 2999 and 3001 near \[107\.924346,22\.548065\]$/,
    );
  });

  it('reports a spike (a segment doubling back) and a ring touching itself', () => {
    const spike = validateZoneGeometry(
      polygon([
        [0, 0],
        [10, 0],
        [15, 0],
        [12, 0],
        [10, 10],
        [0, 0],
      ]),
    );
    expect(spike.map((p) => p.code)).toContain('ring_self_intersects');
    expect(spike[0]?.segments).toEqual([1, 2]);

    const figureEight = validateZoneGeometry(
      polygon([
        [0, 0],
        [4, 0],
        [2, 2],
        [4, 4],
        [0, 4],
        [2, 2],
        [0, 0],
      ]),
    );
    expect(figureEight[0]).toMatchObject({ code: 'ring_self_intersects', at: [2, 2] });
  });

  it('reports open rings and too few points', () => {
    const open = validateZoneGeometry(
      polygon([
        [0, 0],
        [1, 0],
        [1, 1],
        [0, 1],
      ]),
    );
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ code: 'ring_not_closed', ring: 0 });
    expect(open[0]?.message).toMatch(/^环未闭合 \/ ring 0 is not closed/);

    const short = validateZoneGeometry(
      polygon([
        [0, 0],
        [1, 0],
        [1, 0],
        [0, 0],
      ]),
    );
    expect(short.map((p) => p.code)).toEqual(['ring_too_few_points']);
  });

  it('reports non-finite and out-of-range coordinates with their position', () => {
    const problems = validateZoneGeometry(
      polygon([
        [0, 0],
        [NaN, 0],
        [1, 1],
        [0, Infinity],
        [200, 1],
        [0, 0],
      ]),
    );
    expect(problems.map((p) => [p.code, p.position])).toEqual([
      ['non_finite_coordinate', 1],
      ['non_finite_coordinate', 3],
      ['coordinate_out_of_range', 4],
    ]);
    expect(problems[0]?.message).toContain('position 1');
  });

  it('reports holes outside the shell and holes crossing it', () => {
    const shell = [
      [0, 0],
      [10, 0],
      [10, 10],
      [0, 10],
      [0, 0],
    ];
    const outside = validateZoneGeometry(
      polygon(shell, [
        [20, 20],
        [21, 20],
        [21, 21],
        [20, 20],
      ]),
    );
    expect(outside).toHaveLength(1);
    expect(outside[0]).toMatchObject({ code: 'hole_outside_shell', ring: 1 });
    expect(outside[0]?.message).toMatch(/^内环不在外环之内 \/ hole \(ring 1\) lies outside/);

    const crossing = validateZoneGeometry(
      polygon(shell, [
        [8, 4],
        [12, 4],
        [12, 6],
        [8, 6],
        [8, 4],
      ]),
    );
    expect(crossing.map((p) => p.code)).toEqual(['rings_cross', 'rings_cross']);
    expect(crossing[0]?.at).toEqual([10, 4]);
  });

  it('names the part of a multipolygon', () => {
    const problems = validateZoneGeometry({
      type: 'MultiPolygon',
      coordinates: [
        [
          [
            [0, 0],
            [1, 0],
            [1, 1],
            [0, 0],
          ],
        ],
        [
          [
            [5, 5],
            [6, 6],
            [6, 5],
            [5, 6],
            [5, 5],
          ],
        ],
      ],
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ polygon: 1, ring: 0, code: 'ring_self_intersects' });
    expect(problems[0]?.message).toContain('at polygon 1, ring 0, segments 0 and 2');
  });

  it('reports bad circles and unknown types', () => {
    expect(
      validateZoneGeometry({ type: 'Circle', center: [NaN, 22], radiusM: -5 }).map((p) => p.code),
    ).toEqual(['invalid_circle_center', 'invalid_circle_radius']);
    expect(validateZoneGeometry({ type: 'LineString' } as unknown as ZoneGeometry)[0]?.code).toBe(
      'unsupported_geometry',
    );
  });

  it('keeps unusable zones out of the index and says why', () => {
    const index = compileZones([
      { id: 'ok', kind: 'inclusion', geometry: { type: 'Circle', center: [108, 22], radiusM: 10 } },
      {
        id: 'bad',
        kind: 'exclusion',
        geometry: polygon([
          [0, 0],
          [NaN, 1],
          [1, 1],
          [0, 0],
        ]),
      },
    ]);
    expect(index.zones.map((z) => z.id)).toEqual(['ok']);
    expect(index.rejected[0]?.zoneId).toBe('bad');
    expect(index.rejected[0]?.problems[0]?.code).toBe('non_finite_coordinate');
  });
});

import Flatbush from 'flatbush';
import type { ZoneGeometry } from '@ccm/contracts';
import { compileRing, locateInRing } from './ring';

export type ZoneProblemCode =
  | 'unsupported_geometry'
  | 'empty_geometry'
  | 'non_finite_coordinate'
  | 'coordinate_out_of_range'
  | 'ring_not_closed'
  | 'ring_too_few_points'
  | 'ring_self_intersects'
  | 'rings_cross'
  | 'hole_outside_shell'
  | 'invalid_circle_center'
  | 'invalid_circle_radius';

/**
 * One problem with a zone geometry, with where it is: `polygon` (MultiPolygon part), `ring`
 * (0 = shell), `position` (index in the ring as given), `segments` (segment i runs from
 * position i to i + 1; the last one closes the ring) and `at` ([lon, lat] near the problem).
 * `message` is zh-CN first, then English.
 */
export interface ZoneProblem {
  code: ZoneProblemCode;
  message: string;
  polygon?: number;
  ring?: number;
  position?: number;
  segments?: [number, number];
  at?: [number, number];
}

/** Self-intersections reported per geometry; one is enough to reject, ten help fix it. */
const MAX_INTERSECTIONS = 10;
/** Bad coordinates reported per ring. */
const MAX_BAD_POSITIONS = 3;

/**
 * Checks a zone geometry for the API: bad coordinates, open or short rings, self-
 * intersections, rings crossing each other and holes outside their shell. Self-intersection
 * uses a segment R-tree (flatbush), so a 5,000-vertex county boundary takes milliseconds.
 * An empty list means the engine can use the geometry.
 */
export function validateZoneGeometry(geometry: ZoneGeometry): ZoneProblem[] {
  const problems: ZoneProblem[] = [];
  const g = geometry as { type?: unknown };
  if (g.type === 'Circle') {
    validateCircle(geometry as Extract<ZoneGeometry, { type: 'Circle' }>, problems);
  } else if (g.type === 'Polygon' || g.type === 'MultiPolygon') {
    const coords = (geometry as { coordinates?: unknown }).coordinates;
    const polygons = g.type === 'Polygon' ? [coords] : coords;
    if (!Array.isArray(polygons) || polygons.length === 0) {
      problems.push({ code: 'empty_geometry', message: '几何图形为空 / geometry has no polygons' });
    } else {
      const multi = g.type === 'MultiPolygon';
      polygons.forEach((rings, p) => validatePolygon(rings, multi ? p : undefined, problems));
    }
  } else {
    problems.push({
      code: 'unsupported_geometry',
      message: `不支持的几何类型 / unsupported geometry type ${JSON.stringify(String(g.type))}`,
    });
  }
  // Plain JSON for the API: no `polygon: undefined` keys on Polygon problems.
  return problems.map(
    (p) => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as ZoneProblem,
  );
}

function validateCircle(
  circle: Extract<ZoneGeometry, { type: 'Circle' }>,
  problems: ZoneProblem[],
): void {
  const center = circle.center as unknown;
  const lon = Array.isArray(center) ? (center[0] as unknown) : undefined;
  const lat = Array.isArray(center) ? (center[1] as unknown) : undefined;
  if (!isFiniteNumber(lon) || !isFiniteNumber(lat) || Math.abs(lon) > 180 || Math.abs(lat) > 90) {
    problems.push({
      code: 'invalid_circle_center',
      message: `圆心坐标无效 / circle centre must be [lon, lat] in range, got ${safeJson(center)}`,
    });
  }
  const radiusM = circle.radiusM as unknown;
  if (!isFiniteNumber(radiusM) || radiusM <= 0) {
    problems.push({
      code: 'invalid_circle_radius',
      message: `圆半径无效 / circle radiusM must be a positive number of metres, got ${safeJson(radiusM)}`,
    });
  }
}

interface Vertex {
  x: number;
  y: number;
  /** Index of this position in the ring as given. */
  index: number;
}

interface CleanRing {
  ring: number;
  vertices: Vertex[];
  /** Index of the segment that closes the ring, as reported to users. */
  closingSegment: number;
}

function validatePolygon(rings: unknown, polygon: number | undefined, problems: ZoneProblem[]) {
  if (!Array.isArray(rings) || rings.length === 0) {
    problems.push({
      code: 'empty_geometry',
      polygon,
      message: `多边形没有环 / ${where(polygon)}polygon has no rings`,
    });
    return;
  }
  const clean = rings
    .map((ring, r) => cleanRing(ring, polygon, r, problems))
    .filter((ring): ring is CleanRing => ring !== null);
  const crossed = findIntersections(clean, polygon, problems);
  const shell = clean.find((ring) => ring.ring === 0);
  if (!shell) return;
  const shellRing = compileRing(shell.vertices.map((v) => [v.x, v.y]));
  for (const hole of clean) {
    if (hole.ring === 0 || crossed.has(hole.ring)) continue;
    const probe = hole.vertices.find((v) => locateInRing(shellRing, v.x, v.y) !== 'boundary');
    if (probe && locateInRing(shellRing, probe.x, probe.y) === 'outside') {
      problems.push({
        code: 'hole_outside_shell',
        polygon,
        ring: hole.ring,
        position: probe.index,
        at: [probe.x, probe.y],
        message:
          `内环不在外环之内 / hole (ring ${hole.ring}${polygon === undefined ? '' : ` of polygon ${polygon}`}) ` +
          `lies outside the shell near ${fmt(probe.x, probe.y)}`,
      });
    }
  }
}

function cleanRing(
  positions: unknown,
  polygon: number | undefined,
  ring: number,
  problems: ZoneProblem[],
): CleanRing | null {
  const at = `${where(polygon)}ring ${ring}`;
  if (!Array.isArray(positions)) {
    problems.push({
      code: 'ring_too_few_points',
      polygon,
      ring,
      message: `环的点数不足 / ${at} is not a list of positions`,
    });
    return null;
  }
  const vertices: Vertex[] = [];
  let bad = 0;
  positions.forEach((p: unknown, index) => {
    const x = Array.isArray(p) ? (p[0] as unknown) : undefined;
    const y = Array.isArray(p) ? (p[1] as unknown) : undefined;
    if (!isFiniteNumber(x) || !isFiniteNumber(y)) {
      if (bad++ < MAX_BAD_POSITIONS) {
        problems.push({
          code: 'non_finite_coordinate',
          polygon,
          ring,
          position: index,
          message: `坐标不是有效数字 / non-finite coordinate at ${at}, position ${index}: ${safeJson(p)}`,
        });
      }
      return;
    }
    if (Math.abs(x) > 180 || Math.abs(y) > 90) {
      if (bad++ < MAX_BAD_POSITIONS) {
        problems.push({
          code: 'coordinate_out_of_range',
          polygon,
          ring,
          position: index,
          at: [x, y],
          message: `坐标超出范围 / coordinate out of range at ${at}, position ${index}: ${fmt(x, y)} (lon ±180, lat ±90)`,
        });
      }
      return;
    }
    vertices.push({ x, y, index });
  });
  if (bad > 0) return null;

  const first = vertices[0];
  const last = vertices[vertices.length - 1];
  const closed =
    !!first && !!last && vertices.length > 1 && first.x === last.x && first.y === last.y;
  if (first && last && !closed) {
    problems.push({
      code: 'ring_not_closed',
      polygon,
      ring,
      message:
        `环未闭合 / ${at} is not closed: first position ${fmt(first.x, first.y)} ` +
        `differs from last ${fmt(last.x, last.y)}`,
    });
  }
  if (closed) vertices.pop();
  const distinct = vertices.filter((v, i) => {
    const prev = vertices[i - 1];
    return !prev || prev.x !== v.x || prev.y !== v.y;
  });
  const head = distinct[0];
  const tail = distinct[distinct.length - 1];
  if (distinct.length > 1 && head && tail && head.x === tail.x && head.y === tail.y) distinct.pop();
  if (distinct.length < 3) {
    problems.push({
      code: 'ring_too_few_points',
      polygon,
      ring,
      message: `环的点数不足 / ${at} has ${distinct.length} distinct positions; at least 3 are needed (4 with the closing one)`,
    });
    return null;
  }
  return { ring, vertices: distinct, closingSegment: positions.length - (closed ? 2 : 1) };
}

interface Segment {
  ring: CleanRing;
  /** Position of the segment within its clean ring. */
  k: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

function segmentLabel(segment: Segment): number {
  const { ring, k } = segment;
  return k === ring.vertices.length - 1 ? ring.closingSegment : (ring.vertices[k]?.index ?? k);
}

/** Reports intersections; returns the indexes of rings that cross another ring. */
function findIntersections(
  rings: CleanRing[],
  polygon: number | undefined,
  problems: ZoneProblem[],
): Set<number> {
  const crossed = new Set<number>();
  const segments: Segment[] = rings.flatMap((ring) =>
    ring.vertices.map((v, k): Segment => {
      const next = ring.vertices[(k + 1) % ring.vertices.length] ?? v;
      return { ring, k, x1: v.x, y1: v.y, x2: next.x, y2: next.y };
    }),
  );
  if (segments.length === 0) return crossed;
  const index = new Flatbush(segments.length);
  for (const s of segments) {
    index.add(
      Math.min(s.x1, s.x2),
      Math.min(s.y1, s.y2),
      Math.max(s.x1, s.x2),
      Math.max(s.y1, s.y2),
    );
  }
  index.finish();
  let reported = problems.filter(
    (p) => p.code === 'ring_self_intersects' || p.code === 'rings_cross',
  ).length;
  segments.forEach((a, i) => {
    if (reported >= MAX_INTERSECTIONS) return;
    const box = [
      Math.min(a.x1, a.x2),
      Math.min(a.y1, a.y2),
      Math.max(a.x1, a.x2),
      Math.max(a.y1, a.y2),
    ];
    const hits = index.search(box[0] ?? 0, box[1] ?? 0, box[2] ?? 0, box[3] ?? 0);
    hits.sort((p, q) => p - q);
    for (const j of hits) {
      if (j <= i || reported >= MAX_INTERSECTIONS) continue;
      const b = segments[j];
      if (!b) continue;
      const problem = intersectionProblem(a, b, polygon);
      if (!problem) continue;
      problems.push(problem);
      reported++;
      if (problem.code === 'rings_cross') {
        crossed.add(a.ring.ring);
        crossed.add(b.ring.ring);
      }
    }
  });
  return crossed;
}

function intersectionProblem(
  a: Segment,
  b: Segment,
  polygon: number | undefined,
): ZoneProblem | null {
  const sameRing = a.ring === b.ring;
  const m = a.ring.vertices.length;
  const adjacent = sameRing && (b.k === a.k + 1 || (a.k === 0 && b.k === m - 1));
  let at: [number, number] | null;
  if (adjacent) {
    at = b.k === a.k + 1 ? spikeAt(a, b) : spikeAt(b, a);
  } else {
    const hit = intersect(a, b);
    // Separate rings may touch at a point (OGC); a ring may not touch itself.
    at = hit && (sameRing || hit.kind !== 'touch') ? hit.at : null;
  }
  if (!at) return null;
  const sa = segmentLabel(a);
  const sb = segmentLabel(b);
  if (sameRing) {
    return {
      code: 'ring_self_intersects',
      polygon,
      ring: a.ring.ring,
      segments: [Math.min(sa, sb), Math.max(sa, sb)],
      at,
      message:
        `多边形自相交 / polygon self-intersects at ${where(polygon)}ring ${a.ring.ring}, ` +
        `segments ${Math.min(sa, sb)} and ${Math.max(sa, sb)} near ${fmt(at[0], at[1])}`,
    };
  }
  return {
    code: 'rings_cross',
    polygon,
    ring: b.ring.ring,
    segments: [sa, sb],
    at,
    message:
      `多边形的环相互交叉 / ${where(polygon)}ring ${a.ring.ring} segment ${sa} crosses ` +
      `ring ${b.ring.ring} segment ${sb} near ${fmt(at[0], at[1])}`,
  };
}

/** Consecutive segments a then b meet at a's end; they overlap only if b turns straight back. */
function spikeAt(a: Segment, b: Segment): [number, number] | null {
  const ux = a.x2 - a.x1;
  const uy = a.y2 - a.y1;
  const vx = b.x2 - b.x1;
  const vy = b.y2 - b.y1;
  return ux * vy - uy * vx === 0 && ux * vx + uy * vy < 0 ? [a.x2, a.y2] : null;
}

function orient(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  return Math.sign((bx - ax) * (cy - ay) - (by - ay) * (cx - ax));
}

function within(a: number, b: number, v: number): boolean {
  return v >= Math.min(a, b) && v <= Math.max(a, b);
}

function onSegment(s: Segment, x: number, y: number): boolean {
  return within(s.x1, s.x2, x) && within(s.y1, s.y2, y);
}

function intersect(
  a: Segment,
  b: Segment,
): { kind: 'proper' | 'touch' | 'overlap'; at: [number, number] } | null {
  const d1 = orient(b.x1, b.y1, b.x2, b.y2, a.x1, a.y1);
  const d2 = orient(b.x1, b.y1, b.x2, b.y2, a.x2, a.y2);
  const d3 = orient(a.x1, a.y1, a.x2, a.y2, b.x1, b.y1);
  const d4 = orient(a.x1, a.y1, a.x2, a.y2, b.x2, b.y2);
  if (d1 * d2 < 0 && d3 * d4 < 0) {
    const rx = a.x2 - a.x1;
    const ry = a.y2 - a.y1;
    const sx = b.x2 - b.x1;
    const sy = b.y2 - b.y1;
    const t = ((b.x1 - a.x1) * sy - (b.y1 - a.y1) * sx) / (rx * sy - ry * sx);
    return { kind: 'proper', at: [a.x1 + t * rx, a.y1 + t * ry] };
  }
  if (d1 === 0 && d2 === 0) {
    const shared = [
      [a.x1, a.y1, onSegment(b, a.x1, a.y1)],
      [a.x2, a.y2, onSegment(b, a.x2, a.y2)],
      [b.x1, b.y1, onSegment(a, b.x1, b.y1)],
      [b.x2, b.y2, onSegment(a, b.x2, b.y2)],
    ] as const;
    const points = shared.filter(([, , on]) => on);
    const first = points[0];
    if (!first) return null;
    const distinct = points.some(([x, y]) => x !== first[0] || y !== first[1]);
    return { kind: distinct ? 'overlap' : 'touch', at: [first[0], first[1]] };
  }
  if (d1 === 0 && onSegment(b, a.x1, a.y1)) return { kind: 'touch', at: [a.x1, a.y1] };
  if (d2 === 0 && onSegment(b, a.x2, a.y2)) return { kind: 'touch', at: [a.x2, a.y2] };
  if (d3 === 0 && onSegment(a, b.x1, b.y1)) return { kind: 'touch', at: [b.x1, b.y1] };
  if (d4 === 0 && onSegment(a, b.x2, b.y2)) return { kind: 'touch', at: [b.x2, b.y2] };
  return null;
}

function where(polygon: number | undefined): string {
  return polygon === undefined ? '' : `polygon ${polygon}, `;
}

function round6(v: number): number {
  return Number(v.toFixed(6));
}

function fmt(x: number, y: number): string {
  return `[${round6(x)},${round6(y)}]`;
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function safeJson(v: unknown): string {
  if (typeof v === 'number') return String(v);
  try {
    return JSON.stringify(v, (_k, value: unknown) =>
      typeof value === 'number' && !Number.isFinite(value) ? String(value) : value,
    );
  } catch {
    return String(v);
  }
}

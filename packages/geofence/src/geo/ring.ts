import { M_PER_DEG, degreeHalfExtents, metresPerDegLon, originToSegmentM } from './projection';

/**
 * A linear ring prepared for repeated queries: its edges are bucketed into horizontal bands
 * of latitude (a CSR layout: `bandStart[b]..bandStart[b+1]` indexes `bandEdges`). Point-in-
 * ring looks at one band; distance-to-edge looks at the bands within the search radius. A
 * 5,000-vertex county boundary then costs a handful of edge tests per query, not 5,000.
 */
export interface Ring {
  /** Number of edges; edge i runs from vertex i to vertex i + 1 (the ring is stored closed). */
  readonly edgeCount: number;
  readonly xs: Float64Array;
  readonly ys: Float64Array;
  readonly minX: number;
  readonly minY: number;
  readonly maxX: number;
  readonly maxY: number;
  readonly bandCount: number;
  readonly bandHeight: number;
  readonly bandStart: Int32Array;
  readonly bandEdges: Int32Array;
}

export type Location = 'inside' | 'outside' | 'boundary';

/** On-edge tolerance in degrees (≈ 0.1 mm): coordinates given exactly on an edge are "boundary". */
export const ON_EDGE_EPS_DEG = 1e-9;

const MAX_BANDS = 4096;
/** Long edges sit in many bands; keep the bucket table within this many entries per edge. */
const MAX_ENTRIES_PER_EDGE = 16;

/** `positions` as GeoJSON [lon, lat]; a closing duplicate is optional. Coordinates must be finite. */
export function compileRing(positions: readonly (readonly number[])[]): Ring {
  const pts = positions.map((p) => [p[0] ?? NaN, p[1] ?? NaN] as const);
  const first = pts[0];
  const last = pts[pts.length - 1];
  if (pts.length > 1 && first && last && first[0] === last[0] && first[1] === last[1]) pts.pop();
  const n = pts.length;
  const xs = new Float64Array(n + 1);
  const ys = new Float64Array(n + 1);
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  pts.forEach(([x, y], i) => {
    xs[i] = x;
    ys[i] = y;
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  });
  if (n > 0) {
    xs[n] = xs[0] ?? 0;
    ys[n] = ys[0] ?? 0;
  }
  const bands = buildBands(ys, n, minY, maxY);
  return { edgeCount: n, xs, ys, minX, minY, maxX, maxY, ...bands };
}

function buildBands(
  ys: Float64Array,
  n: number,
  minY: number,
  maxY: number,
): Pick<Ring, 'bandCount' | 'bandHeight' | 'bandStart' | 'bandEdges'> {
  const height = maxY - minY;
  let bandCount = height > 0 ? Math.min(MAX_BANDS, Math.max(1, Math.ceil(n / 2))) : 1;
  for (;;) {
    const bandHeight = height > 0 ? height / bandCount : 1;
    const range = (i: number): [number, number] => {
      const y1 = ys[i] ?? 0;
      const y2 = ys[i + 1] ?? 0;
      return [
        bandIndex(Math.min(y1, y2) - ON_EDGE_EPS_DEG, minY, bandHeight, bandCount),
        bandIndex(Math.max(y1, y2) + ON_EDGE_EPS_DEG, minY, bandHeight, bandCount),
      ];
    };
    const counts = new Int32Array(bandCount + 1);
    let entries = 0;
    for (let i = 0; i < n; i++) {
      const [b0, b1] = range(i);
      for (let b = b0; b <= b1; b++) counts[b + 1] = (counts[b + 1] ?? 0) + 1;
      entries += b1 - b0 + 1;
    }
    if (entries > MAX_ENTRIES_PER_EDGE * Math.max(n, 1) && bandCount > 1) {
      bandCount = Math.ceil(bandCount / 2);
      continue;
    }
    for (let b = 0; b < bandCount; b++) counts[b + 1] = (counts[b + 1] ?? 0) + (counts[b] ?? 0);
    const bandStart = counts.slice();
    const fill = counts.slice();
    const bandEdges = new Int32Array(entries);
    for (let i = 0; i < n; i++) {
      const [b0, b1] = range(i);
      for (let b = b0; b <= b1; b++) {
        const at = fill[b] ?? 0;
        bandEdges[at] = i;
        fill[b] = at + 1;
      }
    }
    return { bandCount, bandHeight, bandStart, bandEdges };
  }
}

function bandIndex(y: number, minY: number, bandHeight: number, bandCount: number): number {
  const b = Math.floor((y - minY) / bandHeight);
  return b < 0 ? 0 : b >= bandCount ? bandCount - 1 : b;
}

/** Even-odd point-in-ring with exact-ish edge detection (edges and vertices are `boundary`). */
export function locateInRing(ring: Ring, x: number, y: number): Location {
  if (
    ring.edgeCount === 0 ||
    x < ring.minX - ON_EDGE_EPS_DEG ||
    x > ring.maxX + ON_EDGE_EPS_DEG ||
    y < ring.minY - ON_EDGE_EPS_DEG ||
    y > ring.maxY + ON_EDGE_EPS_DEG
  ) {
    return 'outside';
  }
  const { xs, ys, bandStart, bandEdges } = ring;
  const b = bandIndex(y, ring.minY, ring.bandHeight, ring.bandCount);
  const end = bandStart[b + 1] ?? 0;
  let inside = false;
  for (let k = bandStart[b] ?? 0; k < end; k++) {
    const i = bandEdges[k] ?? 0;
    const x1 = xs[i] ?? 0;
    const y1 = ys[i] ?? 0;
    const x2 = xs[i + 1] ?? 0;
    const y2 = ys[i + 1] ?? 0;
    if (isOnSegment(x, y, x1, y1, x2, y2)) return 'boundary';
    // Half-open rule (y1 > y) !== (y2 > y): a vertex exactly on the ray is counted once.
    if (y1 > y !== y2 > y && x < x1 + ((y - y1) * (x2 - x1)) / (y2 - y1)) inside = !inside;
  }
  return inside ? 'inside' : 'outside';
}

function isOnSegment(
  x: number,
  y: number,
  x1: number,
  y1: number,
  x2: number,
  y2: number,
): boolean {
  if (
    x < Math.min(x1, x2) - ON_EDGE_EPS_DEG ||
    x > Math.max(x1, x2) + ON_EDGE_EPS_DEG ||
    y < Math.min(y1, y2) - ON_EDGE_EPS_DEG ||
    y > Math.max(y1, y2) + ON_EDGE_EPS_DEG
  ) {
    return false;
  }
  const dx = x2 - x1;
  const dy = y2 - y1;
  const cross = dx * (y - y1) - dy * (x - x1);
  return Math.abs(cross) <= ON_EDGE_EPS_DEG * Math.hypot(dx, dy);
}

/**
 * Smallest distance in metres from (x, y) to an edge of the ring among edges that may lie
 * within `radiusM`. Exact when the result is ≤ radiusM; otherwise the true distance is
 * > radiusM (the result is then Infinity or some larger candidate distance).
 */
export function ringDistanceWithinM(ring: Ring, x: number, y: number, radiusM: number): number {
  if (ring.edgeCount === 0) return Infinity;
  const { dLat, dLon } = degreeHalfExtents(y, radiusM);
  const qMinY = y - dLat;
  const qMaxY = y + dLat;
  const qMinX = x - dLon;
  const qMaxX = x + dLon;
  if (qMaxY < ring.minY || qMinY > ring.maxY || qMaxX < ring.minX || qMinX > ring.maxX) {
    return Infinity;
  }
  const kx = metresPerDegLon(y);
  const { xs, ys, bandStart, bandEdges } = ring;
  const b0 = bandIndex(qMinY, ring.minY, ring.bandHeight, ring.bandCount);
  const b1 = bandIndex(qMaxY, ring.minY, ring.bandHeight, ring.bandCount);
  let best = Infinity;
  for (let b = b0; b <= b1; b++) {
    const end = bandStart[b + 1] ?? 0;
    for (let k = bandStart[b] ?? 0; k < end; k++) {
      const i = bandEdges[k] ?? 0;
      const x1 = xs[i] ?? 0;
      const y1 = ys[i] ?? 0;
      const x2 = xs[i + 1] ?? 0;
      const y2 = ys[i + 1] ?? 0;
      if (
        (x1 < qMinX && x2 < qMinX) ||
        (x1 > qMaxX && x2 > qMaxX) ||
        (y1 < qMinY && y2 < qMinY) ||
        (y1 > qMaxY && y2 > qMaxY)
      ) {
        continue;
      }
      const d = originToSegmentM(
        (x1 - x) * kx,
        (y1 - y) * M_PER_DEG,
        (x2 - x) * kx,
        (y2 - y) * M_PER_DEG,
      );
      if (d < best) best = d;
    }
  }
  return best;
}

/**
 * Distance in metres to the nearest edge, searching outwards (radius ×4 per step, from about
 * one band) so that points near the boundary cost a few edge tests. Exact when ≤ `capM`;
 * above the cap the result is only known to be > capM.
 */
export function ringDistanceM(ring: Ring, x: number, y: number, capM = Infinity): number {
  if (ring.edgeCount === 0) return Infinity;
  let radiusM = Math.min(capM, Math.max(50, ring.bandHeight * M_PER_DEG));
  for (;;) {
    const d = ringDistanceWithinM(ring, x, y, radiusM);
    if (d <= radiusM || radiusM >= capM) return d;
    const { dLat, dLon } = degreeHalfExtents(y, radiusM);
    const coversRing =
      y - dLat <= ring.minY &&
      y + dLat >= ring.maxY &&
      x - dLon <= ring.minX &&
      x + dLon >= ring.maxX;
    if (coversRing) return d;
    radiusM = Math.min(capM, radiusM * 4);
  }
}

/**
 * Parameters s ∈ (0, 1) along p→q where the segment crosses an edge of the ring
 * (coordinates in degrees; the parameter is projection-independent).
 */
export function ringCrossingParams(
  ring: Ring,
  px: number,
  py: number,
  qx: number,
  qy: number,
  out: number[],
): void {
  const qMinY = Math.min(py, qy);
  const qMaxY = Math.max(py, qy);
  const qMinX = Math.min(px, qx);
  const qMaxX = Math.max(px, qx);
  if (qMaxY < ring.minY || qMinY > ring.maxY || qMaxX < ring.minX || qMinX > ring.maxX) return;
  const { xs, ys, bandStart, bandEdges } = ring;
  const b0 = bandIndex(qMinY, ring.minY, ring.bandHeight, ring.bandCount);
  const b1 = bandIndex(qMaxY, ring.minY, ring.bandHeight, ring.bandCount);
  const seen = new Set<number>();
  const rx = qx - px;
  const ry = qy - py;
  for (let b = b0; b <= b1; b++) {
    const end = bandStart[b + 1] ?? 0;
    for (let k = bandStart[b] ?? 0; k < end; k++) {
      const i = bandEdges[k] ?? 0;
      if (seen.has(i)) continue;
      seen.add(i);
      const x1 = xs[i] ?? 0;
      const y1 = ys[i] ?? 0;
      const sx = (xs[i + 1] ?? 0) - x1;
      const sy = (ys[i + 1] ?? 0) - y1;
      const denom = rx * sy - ry * sx;
      if (denom === 0) continue; // parallel: touching along an edge adds no crossing
      const wx = x1 - px;
      const wy = y1 - py;
      const s = (wx * sy - wy * sx) / denom;
      const u = (wx * ry - wy * rx) / denom;
      if (s > 0 && s < 1 && u >= 0 && u <= 1) out.push(s);
    }
  }
}

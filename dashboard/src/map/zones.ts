import type { Zone, ZoneGeometry } from '../api/types';
import type { Crs } from './config';
import { circleRing, distanceM, mapPositions, toDisplay, type LonLat } from './coords';

/** A zone as a polygon feature in the basemap's system (circles become 64-gons). */
export function zoneFeature(
  zone: Pick<Zone, 'id' | 'name' | 'kind' | 'purpose' | 'geometry'>,
  crs: Crs,
) {
  const g = zone.geometry;
  const wgs: GeoJSON.Polygon | GeoJSON.MultiPolygon =
    g.type === 'Circle'
      ? { type: 'Polygon', coordinates: [circleRing(g.center, g.radiusM)] }
      : (g as GeoJSON.Polygon | GeoJSON.MultiPolygon);
  return {
    type: 'Feature' as const,
    id: undefined,
    properties: { id: zone.id, name: zone.name, kind: zone.kind, purpose: zone.purpose },
    geometry: mapPositions(wgs, (p) => toDisplay(p, crs)),
  };
}

export function zonesCollection(zones: readonly Zone[], crs: Crs): GeoJSON.FeatureCollection {
  return { type: 'FeatureCollection', features: zones.map((z) => zoneFeature(z, crs)) };
}

export type ShapeProblem =
  | { code: 'too_few_points' }
  | { code: 'self_intersecting'; at: LonLat }
  | { code: 'too_small'; areaM2: number }
  | { code: 'too_large'; areaM2: number }
  | { code: 'radius_out_of_range'; radiusM: number };

/** Smallest and largest zones worth saving: a house is ~100 m², a county ~3000 km². */
export const MIN_AREA_M2 = 100;
export const MAX_AREA_M2 = 50_000 * 1e6;

/** Why a drawn shape cannot be a zone, in words an officer can act on (null: fine). */
export function shapeProblem(geometry: ZoneGeometry): ShapeProblem | null {
  if (geometry.type === 'Circle') {
    if (!(geometry.radiusM >= 10 && geometry.radiusM <= 200_000)) {
      return { code: 'radius_out_of_range', radiusM: geometry.radiusM };
    }
    return null;
  }
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  for (const rings of polygons) {
    const outer = rings[0] ?? [];
    const distinct = new Set(outer.map((p) => `${p[0]},${p[1]}`));
    if (distinct.size < 3) return { code: 'too_few_points' };
    for (const ring of rings) {
      const crossing = selfIntersection(ring);
      if (crossing) return { code: 'self_intersecting', at: crossing };
    }
    const area = ringAreaM2(outer);
    if (area < MIN_AREA_M2) return { code: 'too_small', areaM2: area };
    if (area > MAX_AREA_M2) return { code: 'too_large', areaM2: area };
  }
  return null;
}

/** Where two non-adjacent edges of a closed ring cross, or null. */
export function selfIntersection(ring: readonly LonLat[]): LonLat | null {
  const pts = closed(ring);
  const n = pts.length - 1;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (j === i + 1 || (i === 0 && j === n - 1)) continue; // neighbours share a vertex
      const hit = segmentIntersection(pts[i]!, pts[i + 1]!, pts[j]!, pts[j + 1]!);
      if (hit) return hit;
    }
  }
  return null;
}

function closed(ring: readonly LonLat[]): LonLat[] {
  const first = ring[0];
  const last = ring[ring.length - 1];
  if (!first || !last) return [];
  return first[0] === last[0] && first[1] === last[1] ? [...ring] : [...ring, first];
}

function segmentIntersection(a: LonLat, b: LonLat, c: LonLat, d: LonLat): LonLat | null {
  const d1 = [b[0] - a[0], b[1] - a[1]];
  const d2 = [d[0] - c[0], d[1] - c[1]];
  const denom = d1[0]! * d2[1]! - d1[1]! * d2[0]!;
  if (denom === 0) return null;
  const t = ((c[0] - a[0]) * d2[1]! - (c[1] - a[1]) * d2[0]!) / denom;
  const u = ((c[0] - a[0]) * d1[1]! - (c[1] - a[1]) * d1[0]!) / denom;
  if (t <= 0 || t >= 1 || u <= 0 || u >= 1) return null;
  return [a[0] + t * d1[0]!, a[1] + t * d1[1]!];
}

/** Area of a ring on the sphere, m² (small-polygon approximation, fine below ~1000 km). */
export function ringAreaM2(ring: readonly LonLat[]): number {
  const pts = closed(ring);
  if (pts.length < 4) return 0;
  const lat0 = (pts.reduce((s, p) => s + p[1], 0) / pts.length) * (Math.PI / 180);
  const mPerDegLat = 111_132;
  const mPerDegLon = 111_320 * Math.cos(lat0);
  let sum = 0;
  for (let i = 0; i < pts.length - 1; i++) {
    const [x1, y1] = pts[i]!;
    const [x2, y2] = pts[i + 1]!;
    sum += x1 * mPerDegLon * (y2 * mPerDegLat) - x2 * mPerDegLon * (y1 * mPerDegLat);
  }
  return Math.abs(sum / 2);
}

/**
 * A ring drawn in circle mode back to a circle: centre = mean of the vertices, radius = mean
 * distance to them (the drawing tool's circle is a regular polygon).
 */
export function ringToCircle(ring: readonly LonLat[]): { center: LonLat; radiusM: number } {
  const pts = closed(ring).slice(0, -1);
  const center: LonLat = [
    pts.reduce((s, p) => s + p[0], 0) / pts.length,
    pts.reduce((s, p) => s + p[1], 0) / pts.length,
  ];
  const radiusM = pts.reduce((s, p) => s + distanceM(center, p), 0) / pts.length;
  return { center, radiusM: Math.round(radiusM) };
}

/** Bounds [[w,s],[e,n]] of some WGS-84 positions, or null when none. */
export function boundsOf(points: readonly LonLat[]): [LonLat, LonLat] | null {
  if (points.length === 0) return null;
  let w = Infinity;
  let s = Infinity;
  let e = -Infinity;
  let n = -Infinity;
  for (const [x, y] of points) {
    w = Math.min(w, x);
    e = Math.max(e, x);
    s = Math.min(s, y);
    n = Math.max(n, y);
  }
  return [
    [w, s],
    [e, n],
  ];
}

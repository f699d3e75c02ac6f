import type { ZoneGeometry } from '@ccm/contracts';
import {
  boundaryDistanceM,
  compileGeometry,
  haversineM,
  locate,
  type CompiledGeometry,
} from '@ccm/geofence';

/**
 * Small geometry for the simulators, WGS-84 throughout, GeoJSON order `[lon, lat]`.
 * Distances at city scale use a local equirectangular projection; zone tests use the
 * engine's own geometry (@ccm/geofence), so "inside" means exactly what the platform means.
 */
export type LonLat = [number, number];

export const M_PER_DEG_LAT = 111_320;
export const mPerDegLon = (lat: number) => M_PER_DEG_LAT * Math.cos((lat * Math.PI) / 180);

export const distanceM = (a: LonLat, b: LonLat): number => haversineM(a[1], a[0], b[1], b[0]);

/** The point `eastM` east and `northM` north of `p`. */
export function offsetM(p: LonLat, eastM: number, northM: number): LonLat {
  return [p[0] + eastM / mPerDegLon(p[1]), p[1] + northM / M_PER_DEG_LAT];
}

/** The point `distM` from `p` towards `bearingDeg` (0 = north, 90 = east). */
export function destination(p: LonLat, bearingDeg: number, distM: number): LonLat {
  const r = (bearingDeg * Math.PI) / 180;
  return offsetM(p, distM * Math.sin(r), distM * Math.cos(r));
}

/** Bearing from a to b, degrees 0–360 (0 = north). */
export function bearingDeg(a: LonLat, b: LonLat): number {
  const dx = (b[0] - a[0]) * mPerDegLon(a[1]);
  const dy = (b[1] - a[1]) * M_PER_DEG_LAT;
  const deg = (Math.atan2(dx, dy) * 180) / Math.PI;
  return (deg + 360) % 360;
}

export const lerp = (a: LonLat, b: LonLat, f: number): LonLat => [
  a[0] + (b[0] - a[0]) * f,
  a[1] + (b[1] - a[1]) * f,
];

export function polylineLengthM(path: readonly LonLat[]): number {
  let total = 0;
  for (let i = 1; i < path.length; i++) total += distanceM(path[i - 1]!, path[i]!);
  return total;
}

/** The point `distM` along the path (clamped to its ends), with the heading there. */
export function alongPath(path: readonly LonLat[], distM: number): { p: LonLat; hdg: number } {
  let left = Math.max(0, distM);
  for (let i = 1; i < path.length; i++) {
    const a = path[i - 1]!;
    const b = path[i]!;
    const seg = distanceM(a, b);
    if (left <= seg || i === path.length - 1) {
      return { p: lerp(a, b, seg === 0 ? 1 : Math.min(1, left / seg)), hdg: bearingDeg(a, b) };
    }
    left -= seg;
  }
  const only = path[0]!;
  return { p: [only[0], only[1]], hdg: 0 };
}

/** The path from its start to the point `distM` along it (clamped to its ends). */
export function pathPrefix(path: readonly LonLat[], distM: number): LonLat[] {
  const out: LonLat[] = path.length > 0 ? [path[0]!] : [];
  let left = Math.max(0, distM);
  for (let i = 1; i < path.length; i++) {
    const seg = distanceM(path[i - 1]!, path[i]!);
    if (left <= seg) {
      out.push(alongPath([path[i - 1]!, path[i]!], left).p);
      return out;
    }
    out.push(path[i]!);
    left -= seg;
  }
  return out;
}

/** Points every `stepM` along the path, ends included. */
export function samplePath(path: readonly LonLat[], stepM: number): LonLat[] {
  const length = polylineLengthM(path);
  const n = Math.max(1, Math.ceil(length / stepM));
  const out: LonLat[] = [];
  for (let i = 0; i <= n; i++) out.push(alongPath(path, (length * i) / n).p);
  return out;
}

/** A zone prepared once for the simulator's questions. */
export interface Shape {
  geometry: ZoneGeometry;
  compiled: CompiledGeometry;
}

export const shapeOf = (geometry: ZoneGeometry): Shape => ({
  geometry,
  compiled: compileGeometry(geometry),
});

/** Metres from the zone edge: negative inside, positive outside. */
export function signedDistanceM(shape: Shape, p: LonLat): number {
  const d = boundaryDistanceM(shape.compiled, p[0], p[1]) ?? Infinity;
  return locate(shape.compiled, p[0], p[1]) === 'inside' ? -d : d;
}

/** Smallest signed distance from the zone edge along a path (negative: the path enters it). */
export function pathClearanceM(shape: Shape, path: readonly LonLat[], stepM = 50): number {
  let best = Infinity;
  for (const p of samplePath(path, stepM)) best = Math.min(best, signedDistanceM(shape, p));
  return best;
}

/** A route between two places: a straight line bent once, as streets rarely run straight. */
export function route(a: LonLat, b: LonLat, bend: number): LonLat[] {
  const d = distanceM(a, b);
  if (d < 150) return [a, b];
  const mid = lerp(a, b, 0.5);
  const brg = bearingDeg(a, b);
  return [a, destination(mid, brg + 90, bend * d), b];
}

/** Bounding box of a geometry's outer coordinates. */
export function bboxOf(geometry: ZoneGeometry): {
  minLon: number;
  minLat: number;
  maxLon: number;
  maxLat: number;
} {
  if (geometry.type === 'Circle') {
    const [lon, lat] = geometry.center;
    const dLat = geometry.radiusM / M_PER_DEG_LAT;
    const dLon = geometry.radiusM / mPerDegLon(lat);
    return { minLon: lon - dLon, minLat: lat - dLat, maxLon: lon + dLon, maxLat: lat + dLat };
  }
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  let minLon = Infinity;
  let minLat = Infinity;
  let maxLon = -Infinity;
  let maxLat = -Infinity;
  for (const rings of polygons) {
    for (const [lon, lat] of rings[0] ?? []) {
      minLon = Math.min(minLon, lon);
      maxLon = Math.max(maxLon, lon);
      minLat = Math.min(minLat, lat);
      maxLat = Math.max(maxLat, lat);
    }
  }
  return { minLon, minLat, maxLon, maxLat };
}

/** Rounds a coordinate to 1e-6° (≈ 0.1 m): what a device would print. */
export const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

import type { ZoneGeometry } from '@ccm/contracts';
import {
  M_PER_DEG,
  degreeHalfExtents,
  haversineM,
  metresPerDegLon,
  originToSegmentM,
} from './projection';
import type { Location, Ring } from './ring';
import {
  compileRing,
  locateInRing,
  ringCrossingParams,
  ringDistanceM,
  ringDistanceWithinM,
} from './ring';

export interface Box {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

export interface CompiledCircle {
  kind: 'circle';
  lon: number;
  lat: number;
  radiusM: number;
  box: Box;
}

export interface CompiledPart {
  shell: Ring;
  holes: Ring[];
}

/** Polygon and MultiPolygon alike: a list of parts, each a shell with holes. */
export interface CompiledPolygon {
  kind: 'polygon';
  parts: CompiledPart[];
  /** Every shell and hole, for distance queries. */
  rings: Ring[];
  box: Box;
}

export type CompiledGeometry = CompiledCircle | CompiledPolygon;

export type { Location } from './ring';

/** What a position means against a zone edge, given a margin in metres. */
export type MarginClass = 'inside' | 'outside' | 'near';

/**
 * Prepares a zone geometry for queries. Coordinates must be finite (see
 * `validateZoneGeometry`); self-intersecting rings still compile and follow the even-odd rule.
 */
export function compileGeometry(geometry: ZoneGeometry): CompiledGeometry {
  if (geometry.type === 'Circle') {
    const [lon, lat] = geometry.center;
    const { dLat } = degreeHalfExtents(lat, geometry.radiusM);
    // Widest longitude span is at the latitude farthest from the equator.
    const farLat = Math.min(89.999, Math.abs(lat) + dLat);
    const dLon = Math.min(360, geometry.radiusM / metresPerDegLon(farLat));
    return {
      kind: 'circle',
      lon,
      lat,
      radiusM: geometry.radiusM,
      box: { minX: lon - dLon, minY: lat - dLat, maxX: lon + dLon, maxY: lat + dLat },
    };
  }
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  const parts = polygons.map((rings): CompiledPart => {
    const [shell, ...holes] = rings.map((ring) => compileRing(ring));
    return { shell: shell ?? compileRing([]), holes };
  });
  const box: Box = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
  for (const { shell } of parts) {
    box.minX = Math.min(box.minX, shell.minX);
    box.minY = Math.min(box.minY, shell.minY);
    box.maxX = Math.max(box.maxX, shell.maxX);
    box.maxY = Math.max(box.maxY, shell.maxY);
  }
  const rings = parts.flatMap((part) => [part.shell, ...part.holes]);
  return { kind: 'polygon', parts, rings, box };
}

/** Where a point lies: on any edge or vertex is `boundary`; holes are outside. */
export function locate(geometry: CompiledGeometry, lon: number, lat: number): Location {
  if (geometry.kind === 'circle') {
    const d = haversineM(geometry.lat, geometry.lon, lat, lon);
    return d < geometry.radiusM ? 'inside' : d > geometry.radiusM ? 'outside' : 'boundary';
  }
  let onBoundary = false;
  for (const part of geometry.parts) {
    const inShell = locateInRing(part.shell, lon, lat);
    if (inShell === 'outside') continue;
    if (inShell === 'boundary') {
      onBoundary = true;
      continue;
    }
    let inHole: Location = 'outside';
    for (const hole of part.holes) {
      inHole = locateInRing(hole, lon, lat);
      if (inHole !== 'outside') break;
    }
    if (inHole === 'outside') return 'inside';
    if (inHole === 'boundary') onBoundary = true;
  }
  return onBoundary ? 'boundary' : 'outside';
}

/**
 * Distance in metres from the point to the zone boundary (edges of shells and holes, or the
 * circle). With `capM`, distances above the cap are not searched for and come back as null.
 */
export function boundaryDistanceM(
  geometry: CompiledGeometry,
  lon: number,
  lat: number,
  capM: number = Infinity,
): number | null {
  let d: number;
  if (geometry.kind === 'circle') {
    d = Math.abs(haversineM(geometry.lat, geometry.lon, lat, lon) - geometry.radiusM);
  } else {
    d = minOver(geometry.rings, (ring) => ringDistanceM(ring, lon, lat, capM));
  }
  return d <= capM ? d : null;
}

function minOver<T>(items: readonly T[], f: (item: T) => number): number {
  let best = Infinity;
  for (const item of items) best = Math.min(best, f(item));
  return best;
}

/**
 * Clearly inside, clearly outside, or within `marginM` of the boundary. This is the only
 * question the drift rules ask, and it needs edges within the margin only.
 */
export function classifyPoint(
  geometry: CompiledGeometry,
  lon: number,
  lat: number,
  marginM: number,
): MarginClass {
  if (geometry.kind === 'circle') {
    const signedM = geometry.radiusM - haversineM(geometry.lat, geometry.lon, lat, lon);
    return signedM > marginM ? 'inside' : signedM < -marginM ? 'outside' : 'near';
  }
  const { dLat, dLon } = degreeHalfExtents(lat, marginM);
  const { box } = geometry;
  if (
    lon < box.minX - dLon ||
    lon > box.maxX + dLon ||
    lat < box.minY - dLat ||
    lat > box.maxY + dLat
  ) {
    return 'outside';
  }
  for (const ring of geometry.rings) {
    if (ringDistanceWithinM(ring, lon, lat, marginM) <= marginM) return 'near';
  }
  return locate(geometry, lon, lat) === 'inside' ? 'inside' : 'outside';
}

/** Where a straight path went through a zone: parameters along it and the depth reached. */
export interface Penetration {
  /** Fractions of the path (0 = start, 1 = end) where it entered and finally left the zone. */
  entryS: number;
  exitS: number;
  /** Deepest point found past the edge, metres (≥ marginM; capped at `depthCapM`). */
  depthM: number;
}

/**
 * Did the straight path a→b go deeper than `marginM` inside the zone? Both ends are assumed
 * to be outside. Circles are solved exactly; polygons are split at their edge crossings and
 * each inside stretch is sampled (at most 64 samples), so a sliver thinner than the sample
 * spacing can be missed: acceptable for an inference from sparse fixes.
 */
export function pathPenetration(
  geometry: CompiledGeometry,
  a: { lon: number; lat: number },
  b: { lon: number; lat: number },
  marginM: number,
  depthCapM: number,
): Penetration | null {
  return geometry.kind === 'circle'
    ? circlePenetration(geometry, a, b, marginM)
    : polygonPenetration(geometry, a, b, marginM, depthCapM);
}

function circlePenetration(
  c: CompiledCircle,
  a: { lon: number; lat: number },
  b: { lon: number; lat: number },
  marginM: number,
): Penetration | null {
  const kx = metresPerDegLon(c.lat);
  const ax = (a.lon - c.lon) * kx;
  const ay = (a.lat - c.lat) * M_PER_DEG;
  const dx = (b.lon - c.lon) * kx - ax;
  const dy = (b.lat - c.lat) * M_PER_DEG - ay;
  const depthM = c.radiusM - originToSegmentM(ax, ay, ax + dx, ay + dy);
  if (depthM <= marginM) return null;
  // |a + s·d| = r  →  s² |d|² + 2 s (a·d) + |a|² − r² = 0
  const qa = dx * dx + dy * dy;
  const qb = 2 * (ax * dx + ay * dy);
  const qc = ax * ax + ay * ay - c.radiusM * c.radiusM;
  const disc = qb * qb - 4 * qa * qc;
  if (qa === 0 || disc < 0) return null;
  const root = Math.sqrt(disc);
  const clamp = (s: number): number => Math.min(1, Math.max(0, s));
  return {
    entryS: clamp((-qb - root) / (2 * qa)),
    exitS: clamp((-qb + root) / (2 * qa)),
    depthM,
  };
}

const MAX_PATH_SAMPLES = 64;

function polygonPenetration(
  g: CompiledPolygon,
  a: { lon: number; lat: number },
  b: { lon: number; lat: number },
  marginM: number,
  depthCapM: number,
): Penetration | null {
  const params: number[] = [];
  for (const ring of g.rings) ringCrossingParams(ring, a.lon, a.lat, b.lon, b.lat, params);
  if (params.length === 0) return null;
  params.sort((x, y) => x - y);
  const cuts = [0, ...params, 1];
  const pathM = haversineM(a.lat, a.lon, b.lat, b.lon);
  const at = (s: number): [number, number] => [
    a.lon + s * (b.lon - a.lon),
    a.lat + s * (b.lat - a.lat),
  ];
  let entryS: number | null = null;
  let exitS = 0;
  let depthM = 0;
  for (let i = 0; i + 1 < cuts.length; i++) {
    const s0 = cuts[i] ?? 0;
    const s1 = cuts[i + 1] ?? 0;
    if (s1 <= s0) continue;
    const [midLon, midLat] = at((s0 + s1) / 2);
    if (locate(g, midLon, midLat) !== 'inside') continue;
    const samples = Math.min(MAX_PATH_SAMPLES, Math.max(1, Math.ceil(((s1 - s0) * pathM) / 5)));
    let deepest = 0;
    for (let k = 0; k < samples; k++) {
      const [lon, lat] = at(s0 + ((k + 0.5) / samples) * (s1 - s0));
      const d = boundaryDistanceM(g, lon, lat, depthCapM) ?? depthCapM;
      deepest = Math.max(deepest, d);
    }
    if (deepest <= marginM) continue;
    entryS ??= s0;
    exitS = s1;
    depthM = Math.max(depthM, deepest);
  }
  return entryS === null ? null : { entryS, exitS, depthM };
}

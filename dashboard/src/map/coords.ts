import gcoord from 'gcoord';
import type { Crs } from './config';

export type LonLat = [number, number];

const SYSTEMS = { WGS84: gcoord.WGS84, GCJ02: gcoord.GCJ02, BD09: gcoord.BD09 } as const;

/** WGS-84 → the basemap's system, for display only. */
export function toDisplay(p: LonLat, crs: Crs): LonLat {
  if (crs === 'WGS84') return p;
  return gcoord.transform(p, SYSTEMS.WGS84, SYSTEMS[crs]) as LonLat;
}

/** The basemap's system → WGS-84: what is drawn on a GCJ-02/BD-09 map is saved as WGS-84. */
export function fromDisplay(p: LonLat, crs: Crs): LonLat {
  if (crs === 'WGS84') return p;
  return gcoord.transform(p, SYSTEMS[crs], SYSTEMS.WGS84) as LonLat;
}

/** Applies `f` to every position of a GeoJSON geometry (returns a new geometry). */
export function mapPositions<G extends GeoJSON.Geometry>(geometry: G, f: (p: LonLat) => LonLat): G {
  const walk = (c: unknown): unknown =>
    typeof (c as number[])[0] === 'number' ? f(c as LonLat) : (c as unknown[]).map(walk);
  if (geometry.type === 'GeometryCollection') {
    return { ...geometry, geometries: geometry.geometries.map((g) => mapPositions(g, f)) };
  }
  return {
    ...geometry,
    coordinates: walk((geometry as { coordinates: unknown }).coordinates),
  } as G;
}

export function collectionToDisplay<T extends GeoJSON.FeatureCollection>(fc: T, crs: Crs): T {
  if (crs === 'WGS84') return fc;
  return {
    ...fc,
    features: fc.features.map((f) =>
      f.geometry ? { ...f, geometry: mapPositions(f.geometry, (p) => toDisplay(p, crs)) } : f,
    ),
  };
}

const EARTH_RADIUS_M = 6_371_008.8;

/** A circle as a closed ring of `steps` points on the sphere (WGS-84 in, WGS-84 out). */
export function circleRing(center: LonLat, radiusM: number, steps = 64): LonLat[] {
  const [lon, lat] = center;
  const φ1 = (lat * Math.PI) / 180;
  const λ1 = (lon * Math.PI) / 180;
  const δ = radiusM / EARTH_RADIUS_M;
  const ring: LonLat[] = [];
  for (let i = 0; i <= steps; i++) {
    const θ = ((i % steps) / steps) * 2 * Math.PI;
    const φ2 = Math.asin(Math.sin(φ1) * Math.cos(δ) + Math.cos(φ1) * Math.sin(δ) * Math.cos(θ));
    const λ2 =
      λ1 +
      Math.atan2(
        Math.sin(θ) * Math.sin(δ) * Math.cos(φ1),
        Math.cos(δ) - Math.sin(φ1) * Math.sin(φ2),
      );
    ring.push([(λ2 * 180) / Math.PI, (φ2 * 180) / Math.PI]);
  }
  return ring;
}

/** Great-circle distance, m. */
export function distanceM(a: LonLat, b: LonLat): number {
  const φ1 = (a[1] * Math.PI) / 180;
  const φ2 = (b[1] * Math.PI) / 180;
  const dφ = φ2 - φ1;
  const dλ = ((b[0] - a[0]) * Math.PI) / 180;
  const h = Math.sin(dφ / 2) ** 2 + Math.cos(φ1) * Math.cos(φ2) * Math.sin(dλ / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** A circle layer radius (pixels, by zoom) that draws `metres` on the ground at `lat`. */
export function metresToPixels(metres: number | unknown[], lat: number): unknown[] {
  const perPixelAtZ0 = 78271.517 * Math.cos((lat * Math.PI) / 180); // 512-px tiles
  const atZ0 = typeof metres === 'number' ? metres / perPixelAtZ0 : ['/', metres, perPixelAtZ0];
  return ['interpolate', ['exponential', 2], ['zoom'], 0, atZ0, 22, ['*', atZ0, 2 ** 22]];
}

/**
 * Metric helpers. Distances to edges use an equirectangular projection centred on the point
 * being tested: at zone scales (≤ 200 km) the error near the point is well under a metre,
 * and only edges near the point decide anything. Across the antimeridian the numbers are
 * wrong (out of scope) but finite.
 */

/** IUGG mean Earth radius, metres. */
export const EARTH_RADIUS_M = 6_371_008.8;
/** Metres per degree of latitude (and of longitude at the equator). */
export const M_PER_DEG = (EARTH_RADIUS_M * Math.PI) / 180;

const RAD = Math.PI / 180;

/** Great-circle distance in metres. */
export function haversineM(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLon = (lon2 - lon1) * RAD;
  const a =
    Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Metres per degree of longitude at `latDeg` (never 0, so divisions stay finite). */
export function metresPerDegLon(latDeg: number): number {
  return Math.max(M_PER_DEG * Math.cos(latDeg * RAD), 1e-6);
}

/**
 * Half-extents in degrees of a box that holds every point within `radiusM` of a point at
 * `latDeg`, for the local projection centred there.
 */
export function degreeHalfExtents(latDeg: number, radiusM: number): { dLat: number; dLon: number } {
  return { dLat: radiusM / M_PER_DEG, dLon: Math.min(360, radiusM / metresPerDegLon(latDeg)) };
}

/** Distance in metres from the origin to segment a→b (coordinates already in metres). */
export function originToSegmentM(ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let t = len2 > 0 ? -(ax * dx + ay * dy) / len2 : 0;
  if (t < 0) t = 0;
  else if (t > 1) t = 1;
  return Math.hypot(ax + t * dx, ay + t * dy);
}

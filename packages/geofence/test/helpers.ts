import type { ZoneGeometry } from '@ccm/contracts';
import type { AlertEvent, FixInput, FixSource } from '../src/index';
import { expect } from 'vitest';
import { FixWindow } from '../src/window';

// Two windows are equal when they hold the same fixes: which buffer holds them, and where in
// it, is not part of the state (window.ts).
expect.addEqualityTesters([
  function sameFixes(a, b, testers) {
    if (!(a instanceof FixWindow) || !(b instanceof FixWindow)) return undefined;
    return this.equals(a.toArray(), b.toArray(), testers);
  },
]);

export const M_PER_DEG_LAT = (6_371_008.8 * Math.PI) / 180;

/** A point `northM`/`eastM` metres from (lat, lon), local flat approximation. */
export function offset(
  lat: number,
  lon: number,
  northM: number,
  eastM: number,
): { lat: number; lon: number } {
  return {
    lat: lat + northM / M_PER_DEG_LAT,
    lon: lon + eastM / (M_PER_DEG_LAT * Math.cos((lat * Math.PI) / 180)),
  };
}

/** Deterministic PRNG (mulberry32), so scenario tests are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal from a uniform source (Box–Muller). */
export function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export function fix(
  fixTimeMs: number,
  at: { lat: number; lon: number },
  accuracyM = 10,
  source: FixSource = 'gnss',
  receivedAtMs = fixTimeMs + 2_000,
): FixInput {
  return { fixTimeMs, lat: at.lat, lon: at.lon, accuracyM, source, receivedAtMs };
}

/**
 * A simple, star-shaped polygon with `n` vertices around (lon, lat): radius `radiusM`
 * wobbling by ±20 % plus random radial noise (`noise` × radius), like a county boundary.
 * Star-shaped with increasing angles, so always a simple ring. Closed.
 */
export function starPolygon(
  lon: number,
  lat: number,
  radiusM: number,
  n: number,
  seed = 1,
  noise = 0.05,
): [number, number][] {
  const random = rng(seed);
  const ring: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const angle = (2 * Math.PI * i) / n;
    const r = radiusM * (1 + 0.2 * Math.sin(7 * angle) + noise * (random() - 0.5));
    const p = offset(lat, lon, r * Math.sin(angle), r * Math.cos(angle));
    ring.push([p.lon, p.lat]);
  }
  const first = ring[0];
  if (first) ring.push([first[0], first[1]]);
  return ring;
}

/** Reference point-in-polygon: plain even-odd ray casting over every edge of every ring. */
export function naiveInside(geometry: ZoneGeometry, lon: number, lat: number): boolean {
  if (geometry.type === 'Circle') throw new Error('polygons only');
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  return polygons.some((rings) => {
    let inside = false;
    for (const ring of rings) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i] ?? [0, 0];
        const [xj, yj] = ring[j] ?? [0, 0];
        if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) {
          inside = !inside;
        }
      }
    }
    return inside;
  });
}

/**
 * Applies alert events in order, as the gateway would store them by key (retracted alerts
 * drop out). Throws on an inconsistent stream: a key opened twice, or changed before open.
 */
export function applyEvents(events: readonly AlertEvent[], into = new Map<string, AlertEvent>()) {
  const gone = new Set<string>();
  for (const e of events) {
    if (e.action === 'open' && (into.has(e.key) || gone.has(e.key))) {
      throw new Error(`opened twice: ${e.key}`);
    }
    if (e.action !== 'open' && !into.has(e.key))
      throw new Error(`${e.action} before open: ${e.key}`);
    if (e.action === 'retract') {
      into.delete(e.key);
      gone.add(e.key);
    } else {
      into.set(e.key, e);
    }
  }
  return into;
}

export const HOUR_MS = 3_600_000;
export const MIN_MS = 60_000;

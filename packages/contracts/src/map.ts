import { z } from 'zod';

/**
 * The dashboard's basemap, a per-deployment setting (/map-config.json; the server serves the file
 * named by CCM_MAP_CONFIG, else the build's default: the bundled offline basemap). Positions
 * and zones stay WGS-84 everywhere; `crs` says what the tiles are drawn in, and the map
 * converts everything it shows into it (and drawn zones back) with gcoord.
 */
export const Crs = z.enum(['WGS84', 'GCJ02', 'BD09']);
export type Crs = z.infer<typeof Crs>;

export const MapConfig = z.discriminatedUnion('kind', [
  // Natural Earth borders and the platform's own zones only: works with no network at all.
  z.object({ kind: z.literal('offline') }),
  // 天地图 (CGCS2000, the same as WGS-84 at this scale); needs the deployment's key.
  z.object({
    kind: z.literal('tianditu'),
    key: z.string().min(8),
    layer: z.enum(['vec', 'img', 'ter']).default('vec'),
    labels: z.boolean().default(true),
  }),
  // A self-hosted raster tile server: {z}/{x}/{y} URL templates.
  z.object({
    kind: z.literal('raster'),
    tiles: z.array(z.string().min(1)).min(1),
    tileSize: z.number().int().positive().default(256),
    maxzoom: z.number().int().min(1).max(24).default(18),
    attribution: z.string().default(''),
    crs: Crs.default('WGS84'),
  }),
  // A self-hosted vector basemap: a MapLibre style document (its sources may be pmtiles://).
  z.object({ kind: z.literal('style'), url: z.string().min(1), crs: Crs.default('WGS84') }),
  // A raster PMTiles archive on any static file server.
  z.object({
    kind: z.literal('pmtiles'),
    url: z.string().min(1),
    tileSize: z.number().int().positive().default(256),
    attribution: z.string().default(''),
    crs: Crs.default('WGS84'),
  }),
]);
export type MapConfig = z.infer<typeof MapConfig>;

/** A map config checked, defaults filled in; or its problems, one line per field. */
export function parseMapConfig(
  value: unknown,
): { ok: true; config: MapConfig } | { ok: false; problems: string[] } {
  const parsed = MapConfig.safeParse(value);
  if (parsed.success) return { ok: true, config: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
  };
}

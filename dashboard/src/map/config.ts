import { z } from 'zod';

/**
 * The basemap is a per-deployment setting (/map-config.json; the server serves the file
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

export const OVERRIDE_KEY = 'ccm.mapConfig';

export function crsOf(config: MapConfig): Crs {
  return 'crs' in config ? config.crs : 'WGS84';
}

/** The deployment's basemap, or this browser's trial override (Settings). */
export async function loadMapConfig(): Promise<{
  config: MapConfig;
  error?: string;
  overridden: boolean;
}> {
  const override = localStorage.getItem(OVERRIDE_KEY);
  if (override) {
    const parsed = MapConfig.safeParse(safeJson(override));
    if (parsed.success) return { config: parsed.data, overridden: true };
  }
  try {
    const res = await fetch('/map-config.json', { cache: 'no-cache' });
    if (!res.ok) return { config: { kind: 'offline' }, overridden: false };
    const parsed = MapConfig.safeParse(await res.json());
    if (parsed.success) return { config: parsed.data, overridden: false };
    return {
      config: { kind: 'offline' },
      error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      overridden: false,
    };
  } catch (err) {
    return { config: { kind: 'offline' }, error: String(err), overridden: false };
  }
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

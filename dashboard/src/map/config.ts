import { Crs, MapConfig, parseMapConfig } from '@ccm/contracts/map';

export { Crs, MapConfig, parseMapConfig };

/**
 * The basemap is a per-deployment setting (/map-config.json; the server serves the file
 * named by CCM_MAP_CONFIG, else the build's default: the bundled offline basemap). Positions
 * and zones stay WGS-84 everywhere; `crs` says what the tiles are drawn in, and the map
 * converts everything it shows into it (and drawn zones back) with gcoord.
 */
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
    const parsed = parseMapConfig(safeJson(override));
    if (parsed.ok) return { config: parsed.config, overridden: true };
  }
  try {
    const res = await fetch('/map-config.json', { cache: 'no-cache' });
    if (!res.ok) return { config: { kind: 'offline' }, overridden: false };
    const parsed = parseMapConfig(await res.json());
    if (parsed.ok) return { config: parsed.config, overridden: false };
    return { config: { kind: 'offline' }, error: parsed.problems.join('; '), overridden: false };
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

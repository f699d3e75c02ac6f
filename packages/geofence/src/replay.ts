import type { AlertType } from '@ccm/contracts';
import { processBatch } from './engine';
import { createSubjectState } from './state';
import type { AlertEvidence, EngineOptions, FixInput, IgnoredFix, ZoneInput } from './types';
import type { ZoneIndex } from './zones';
import { compileZones, zonesForSubject } from './zones';

export interface ReplayOptions {
  subjectId?: string;
  /** Evaluate as of this time (closes schedule windows); default: the last fix time. */
  nowMs?: number;
  engine?: Partial<EngineOptions>;
}

/** An alert the zone(s) would have raised, with its final times and where it started. */
export interface ReplayAlert {
  key: string;
  type: AlertType;
  zoneId: string | null;
  startedAtMs: number;
  endedAtMs: number | null;
  lat: number | null;
  lon: number | null;
  /** Evidence of the start (the confirming fixes or the crossed segment). */
  evidence: AlertEvidence;
  /** Evidence of the end, when it ended. */
  endEvidence: AlertEvidence | null;
}

export interface ReplayResult {
  alerts: ReplayAlert[];
  ignoredFixes: IgnoredFix[];
}

/**
 * Dry run for the server: which alerts would these zones have raised on this stored track?
 * Every zone applies; fixes are processed in time order in one pass with the same rules
 * as live (so the answer matches what the gateway would have done with timely fixes).
 */
export function replayTrack(
  fixes: readonly FixInput[],
  zones: readonly ZoneInput[] | ZoneIndex,
  options: ReplayOptions = {},
): ReplayResult {
  const index = 'byId' in zones ? zones : compileZones(zones);
  const sorted = [...fixes].sort((a, b) => a.fixTimeMs - b.fixTimeMs);
  const nowMs = options.nowMs ?? sorted[sorted.length - 1]?.fixTimeMs ?? 0;
  const engine: Partial<EngineOptions> = {
    ...options.engine,
    // One pass over a known track: keep it all in the window, nothing is late.
    windowMaxFixes: Math.max(sorted.length, 1),
    windowMs: Number.MAX_SAFE_INTEGER,
    lateAfterMs: Number.MAX_SAFE_INTEGER,
  };
  const { alerts, ignoredFixes } = processBatch(
    createSubjectState(options.subjectId ?? 'replay'),
    { fixes: sorted, nowMs },
    zonesForSubject(index, 'all'),
    engine,
  );
  const byKey = new Map<string, ReplayAlert>();
  for (const e of alerts) {
    if (e.action === 'retract') {
      byKey.delete(e.key);
      continue;
    }
    const known = byKey.get(e.key);
    const endChanged = e.endedAtMs !== null && e.endedAtMs !== known?.endedAtMs;
    byKey.set(e.key, {
      key: e.key,
      type: e.type,
      zoneId: e.zoneId,
      startedAtMs: e.startedAtMs,
      endedAtMs: e.endedAtMs,
      lat: e.lat,
      lon: e.lon,
      evidence: e.action === 'open' || !known ? e.evidence : known.evidence,
      endEvidence: endChanged
        ? e.evidence
        : e.endedAtMs === null
          ? null
          : (known?.endEvidence ?? null),
    });
  }
  return {
    alerts: [...byKey.values()].sort((a, b) => a.startedAtMs - b.startedAtMs),
    ignoredFixes,
  };
}

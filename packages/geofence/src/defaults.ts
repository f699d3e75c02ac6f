import type { ZoneRules } from '@ccm/contracts';
import type { EngineOptions } from './types';

/**
 * Per-zone confirmation defaults. 20 m of buffer on top of each fix's accuracy keeps GNSS
 * drift at the edge ambiguous; 3 fixes (or 90 s of evidence with at least 2 fixes) is about
 * one to three reporting intervals, so a real violation is raised within ~3 min at 60 s.
 */
export const DEFAULT_ZONE_RULES: Readonly<ZoneRules> = Object.freeze({
  bufferM: 20,
  confirmFixes: 3,
  confirmSeconds: 90,
});

export const DEFAULT_ENGINE_OPTIONS: Readonly<EngineOptions> = Object.freeze({
  // 252 km/h: faster than any car; high-speed rail is caught by re-anchoring when it stops.
  maxSpeedMps: 70,
  reanchorFixes: 3,
  minFixesForTime: 2,
  evidenceMaxGapS: 600,
  segmentMaxGapS: 600,
  lateAfterMs: 120_000,
  // 6 h at one fix a minute; at 15 s the count bound (≈ 3 h) wins. ≤ ≈ 55 KB of state JSON.
  windowMs: 6 * 3600_000,
  windowMaxFixes: 720,
  alertLogMax: 100,
  normalIntervalS: 60,
  violationIntervalS: 15,
  batteryRecoveredPct: 30,
  instantCoalesceMs: 60_000,
  severity: Object.freeze({}),
});

/** Default time zone of schedules (contract default). */
export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

/** Evidence distances beyond this are reported as null instead of searched for. */
export const EVIDENCE_DISTANCE_CAP_M = 5_000;

/** The defaults with `options` over them; the (frozen) defaults themselves when none are given. */
export function resolveOptions(options?: Partial<EngineOptions>): Readonly<EngineOptions> {
  return options ? { ...DEFAULT_ENGINE_OPTIONS, ...options } : DEFAULT_ENGINE_OPTIONS;
}

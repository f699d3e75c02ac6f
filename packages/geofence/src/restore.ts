import { resolveOptions } from './defaults';
import { isValidFix } from './engine';
import type { DecisionState, StateProgress, StoredFix, SubjectState } from './state';
import { STATE_VERSION, toStoredFix } from './state';
import { replay } from './track/step';
import type { EngineOptions, FixInput } from './types';
import { FixWindow } from './window';
import { compileZones, zonesForSubject } from './zones';

/**
 * A whole SubjectState again from its persisted parts (see state.ts, "Persisting less"): the
 * decision state, the progress numbers, and the subject's stored fixes.
 */

/** Which stored fixes can belong to the window: the caller's query reads at least these. */
export interface WindowBounds {
  /** Only fixes with a fix time strictly after this (the base's end), or any if null. */
  afterMs: number | null;
  /** Only fixes at or after this time, ms; null: the subject has no fix, read nothing. */
  fromMs: number | null;
  /** At most this many of the newest (more are read harmlessly; fewer may miss some). */
  maxFixes: number;
}

/**
 * The engine's window holds every fix it took that is newer than `baseUntilMs`; the trim
 * (engine.ts `trimWindow`) keeps it within `windowMs` + 1/8 of the newest fix and
 * `windowMaxFixes` + 1/8 fixes. The newest fix is at most `lastFixTimeMs`.
 */
export function windowBounds(
  decision: DecisionState,
  progress: StateProgress,
  options?: Partial<EngineOptions>,
): WindowBounds {
  const { windowMs, windowMaxFixes } = resolveOptions(options);
  const last = progress.lastFixTimeMs;
  return {
    afterMs: decision.baseUntilMs,
    fromMs: last === null ? null : Math.floor(last - windowMs - windowMs / 8),
    maxFixes: windowMaxFixes + Math.floor(windowMaxFixes / 8),
  };
}

const NO_ZONES = zonesForSubject(compileZones([]), []);

/**
 * Rebuilds the state the engine had after its last batch. `fixes` are the subject's stored
 * fixes inside `windowBounds` (any order; extra older ones are dropped). Two stored fixes
 * with the same fix time (two devices of one subject) are one window entry, the one received
 * first, as the engine keeps it. Pure: no clock, no I/O.
 */
export function restoreSubjectState(
  decision: DecisionState,
  progress: StateProgress,
  fixes: readonly FixInput[],
  options?: Partial<EngineOptions>,
): SubjectState {
  const opts = resolveOptions(options);
  const fixesInWindow = rebuildWindow(decision, fixes, opts);
  // The speed filter's state after the window: replayed from base without zones (it never
  // looks at them), so nothing but the anchor, suspects and last GNSS fix comes out.
  const motion = replay(
    {
      anchor: decision.base.anchor,
      suspects: decision.base.suspects,
      lastGnss: decision.base.lastGnss,
      tracks: {},
    },
    fixesInWindow,
    { subject: NO_ZONES, options: opts },
    null,
  ).derived;
  return {
    version: STATE_VERSION,
    subjectId: decision.subjectId,
    window: FixWindow.of(fixesInWindow),
    baseUntilMs: decision.baseUntilMs,
    base: decision.base,
    head: {
      anchor: motion.anchor,
      suspects: motion.suspects,
      lastGnss: motion.lastGnss,
      tracks: decision.tracks,
    },
    alerts: decision.alerts,
    device: { endSignals: progress.endSignals },
    contact: {
      sinceMs: decision.sinceMs,
      lastMessageAtMs: progress.lastMessageAtMs,
      lastFixTimeMs: progress.lastFixTimeMs,
    },
    commandedIntervalS: decision.commandedIntervalS,
    clockMs: progress.clockMs,
  };
}

function rebuildWindow(
  decision: DecisionState,
  fixes: readonly FixInput[],
  opts: EngineOptions,
): StoredFix[] {
  const after = decision.baseUntilMs ?? -Infinity;
  const sorted = fixes
    .filter((f) => isValidFix(f) && f.fixTimeMs > after)
    .map(toStoredFix)
    .sort((a, b) => a[0] - b[0] || a[5] - b[5]);
  const unique: StoredFix[] = [];
  for (const f of sorted) if (unique[unique.length - 1]?.[0] !== f[0]) unique.push(f);
  // Only a state the engine never trimmed can have more (fixes stored with the engine off):
  // keep what its trim would have kept at most.
  const newest = unique[unique.length - 1]?.[0] ?? 0;
  const oldest = newest - opts.windowMs - opts.windowMs / 8;
  const maxFixes = opts.windowMaxFixes + Math.floor(opts.windowMaxFixes / 8);
  let cut = Math.max(0, unique.length - maxFixes);
  while (cut < unique.length && unique[cut]![0] < oldest) cut++;
  return cut === 0 ? unique : unique.slice(cut);
}

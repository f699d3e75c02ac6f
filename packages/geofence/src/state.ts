import { z } from 'zod';
import { AlertType, FIX_SOURCES } from '@ccm/contracts';
import type { FixSource } from '@ccm/contracts';
import type { FixInput } from './types';
import { FixWindow } from './window';

/**
 * Per-subject engine state. Plain JSON (no Maps, no Infinity) but for the window, which is a
 * FixWindow (window.ts) that serializes as the array of tuples it always was: the gateway
 * stores the state's decision part with each batch and reloads it after a restart, so an
 * open violation is neither forgotten nor raised twice. Every list in it is bounded (see
 * README "State").
 */

export const STATE_VERSION = 1;

/**
 * A fix in state, as a tuple: [fixTimeMs, lat, lon, accuracyM, source, receivedAtMs]. All
 * six are numbers (the source by its index in the contract's FIX_SOURCES), so V8 keeps the
 * tuple as six unboxed doubles, and the window (window.ts) holds them as six doubles in a
 * typed array. The stored JSON names the source (`persistedDecision`), as it always has.
 */
export type StoredFix = [
  fixTimeMs: number,
  lat: number,
  lon: number,
  accuracyM: number,
  source: SourceCode,
  receivedAtMs: number,
];

/** A StoredFix's source: the index of its name in the contract's FIX_SOURCES. */
export type SourceCode = 0 | 1 | 2;
const CODE_OF = Object.fromEntries(FIX_SOURCES.map((name, i) => [name, i])) as Record<
  FixSource,
  SourceCode
>;
export const GNSS = CODE_OF.gnss;

/** Qualifying fixes pointing the other way than the current status (see confirm.ts). */
export interface Evidence {
  /** The first qualifying fix and the most recent ones (at most EVIDENCE_KEEP). */
  fixes: StoredFix[];
  count: number;
  gnssCount: number;
  firstMs: number;
  lastMs: number;
  maxReceivedAtMs: number;
}

/** Status of one (subject, zone); zones without a track are compliant with no evidence. */
export interface ZoneTrack {
  type: AlertType;
  status: 'compliant' | 'violating';
  /** While violating: when the violation began (first confirming fix time). */
  startedAtMs: number | null;
  /** While violating in a scheduled zone: the end of the active window. */
  windowEndMs: number | null;
  pending: Evidence | null;
  /** Evaluated inside a suspension: its ref (absent: not authorised). */
  authorisedBy?: string;
}

/** Everything derived from the time-ordered fixes; re-derivable from `base` + `window`. */
export interface DerivedState {
  /** Last accepted fix (speed filter). */
  anchor: StoredFix | null;
  /** Consecutive fixes rejected by the speed filter that agree with each other. */
  suspects: StoredFix[];
  /** Last accepted GNSS fix (segment crossing). */
  lastGnss: StoredFix | null;
  tracks: Record<string, ZoneTrack>;
}

/** An alert this engine has raised: open ones always, ended ones up to `alertLogMax`. */
export interface AlertRecord {
  key: string;
  type: AlertType;
  zoneId: string | null;
  startedAtMs: number;
  endedAtMs: number | null;
  lat: number | null;
  lon: number | null;
  late: boolean;
  lateByMs: number;
  deviceId: string | null;
  /** Withdrawn after late fixes; kept (with an end) so its key is never reused. */
  retracted: boolean;
  /** Raised inside a suspension: its ref (absent: a violation). */
  authorisedBy?: string;
}

export interface SubjectState {
  version: typeof STATE_VERSION;
  subjectId: string;
  /** Recent fixes (accepted or not), sorted by fix time, unique by fix time. */
  window: FixWindow;
  /** Fixes up to this time were folded into `base` and dropped from the window. */
  baseUntilMs: number | null;
  /** Derived state before the first fix of the window. */
  base: DerivedState;
  /** Derived state after the last fix of the window (a cache of replaying base + window). */
  head: DerivedState;
  alerts: readonly AlertRecord[];
  device: {
    /** Latest device time of a signal that ends each device alert type (late-event handling). */
    endSignals: Partial<Record<AlertType, number>>;
  };
  contact: {
    /** When monitoring began (platform time), the reference before any message. */
    sinceMs: number | null;
    /** Latest receive time of any message (fix, event, heartbeat). */
    lastMessageAtMs: number | null;
    /** Newest valid fix time. */
    lastFixTimeMs: number | null;
  };
  /** Last `set_interval` sent; null: none yet (the device runs its normal interval). */
  commandedIntervalS: number | null;
  /** Latest platform time seen (`nowMs`); schedule windows are closed up to it. */
  clockMs: number | null;
}

export function emptyDerived(): DerivedState {
  return { anchor: null, suspects: [], lastGnss: null, tracks: {} };
}

export function createSubjectState(subjectId: string, sinceMs: number | null = null): SubjectState {
  return {
    version: STATE_VERSION,
    subjectId,
    window: FixWindow.EMPTY,
    baseUntilMs: null,
    base: emptyDerived(),
    head: emptyDerived(),
    alerts: [],
    device: { endSignals: {} },
    contact: { sinceMs, lastMessageAtMs: null, lastFixTimeMs: null },
    commandedIntervalS: null,
    clockMs: null,
  };
}

/** Copy deep enough for the engine to work on without touching the caller's state. */
export function cloneDerived(d: DerivedState): DerivedState {
  const tracks: Record<string, ZoneTrack> = {};
  for (const id in d.tracks) tracks[id] = { ...d.tracks[id]! };
  return { anchor: d.anchor, suspects: d.suspects.slice(), lastGnss: d.lastGnss, tracks };
}

/**
 * Rounding at the door (1e-7° ≈ 1 cm, 1 cm of accuracy) makes a fix evaluate the same live
 * and when it is replayed from persisted state.
 */
export function toStoredFix(fix: FixInput): StoredFix {
  return [
    Math.round(fix.fixTimeMs),
    Math.round(fix.lat * 1e7) / 1e7,
    Math.round(fix.lon * 1e7) / 1e7,
    Math.round(fix.accuracyM * 100) / 100,
    CODE_OF[fix.source],
    Math.round(fix.receivedAtMs),
  ];
}

export function fromStoredFix(f: StoredFix): FixInput {
  return {
    fixTimeMs: f[0],
    lat: f[1],
    lon: f[2],
    accuracyM: f[3],
    source: FIX_SOURCES[f[4]],
    receivedAtMs: f[5],
  };
}

const finite = z.number().finite();
// The source by name (as stored) or by code; either way a code in memory. A fresh array of
// numbers, so a loaded tuple is packed like one the engine made.
const StoredFixSchema = z
  .tuple([
    finite,
    finite,
    finite,
    finite,
    z.union([
      z.enum(FIX_SOURCES).transform((name) => CODE_OF[name]),
      z.union([z.literal(0), z.literal(1), z.literal(2)]),
    ]),
    finite,
  ])
  .transform((f): StoredFix => [f[0], f[1], f[2], f[3], f[4], f[5]]);
const EvidenceSchema = z.object({
  fixes: z.array(StoredFixSchema),
  count: z.number().int().min(0),
  gnssCount: z.number().int().min(0),
  firstMs: finite,
  lastMs: finite,
  maxReceivedAtMs: finite,
});
const DerivedSchema = z.object({
  anchor: StoredFixSchema.nullable(),
  suspects: z.array(StoredFixSchema),
  lastGnss: StoredFixSchema.nullable(),
  tracks: z.record(
    z.string(),
    z.object({
      type: AlertType,
      status: z.enum(['compliant', 'violating']),
      startedAtMs: finite.nullable(),
      windowEndMs: finite.nullable(),
      pending: EvidenceSchema.nullable(),
      authorisedBy: z.string().optional(),
    }),
  ),
});
const SubjectStateSchema = z.object({
  version: z.literal(STATE_VERSION),
  subjectId: z.string(),
  window: z.array(StoredFixSchema).transform((fixes) => FixWindow.of(fixes)),
  baseUntilMs: finite.nullable(),
  base: DerivedSchema,
  head: DerivedSchema,
  alerts: z.array(
    z.object({
      key: z.string(),
      type: AlertType,
      zoneId: z.string().nullable(),
      startedAtMs: finite,
      endedAtMs: finite.nullable(),
      lat: finite.nullable(),
      lon: finite.nullable(),
      late: z.boolean(),
      lateByMs: finite,
      deviceId: z.string().nullable(),
      retracted: z.boolean(),
      authorisedBy: z.string().optional(),
    }),
  ),
  device: z.object({ endSignals: z.partialRecord(AlertType, finite) }),
  contact: z.object({
    sinceMs: finite.nullable(),
    lastMessageAtMs: finite.nullable(),
    lastFixTimeMs: finite.nullable(),
  }),
  commandedIntervalS: finite.nullable(),
  clockMs: finite.nullable(),
});

/**
 * Checks state loaded from the database (it is untrusted input like any other). Throws a
 * ZodError for a malformed state or another version; the caller decides whether to start
 * fresh (and forget open violations) or to stop.
 */
export function parseSubjectState(value: unknown): SubjectState {
  return SubjectStateSchema.parse(value) as SubjectState;
}

/*
 * Persisting less: the decision state and the progress.
 *
 * Most of a SubjectState is the fix window (up to ~55 KB of JSON) and what every new fix
 * moves (the speed filter's anchor, the last message and fix times, the clock). None of it
 * has to be written with every batch:
 *
 *  - the window is exactly the subject's stored fixes newer than `baseUntilMs` (every fix the
 *    engine takes is committed to `fixes` in the same transaction), so it is read back from
 *    there (`restoreSubjectState`, restore.ts);
 *  - the head's anchor, suspects and last GNSS fix depend only on `base` and the window (the
 *    speed filter never looks at zones), so they are replayed from them;
 *  - the last message time, last fix time, clock and the device rules' end signals are a few
 *    numbers (`StateProgress`), cheap to write on their own.
 *
 * What is left, `DecisionState`, is what decides alerts: the zone tracks after the newest fix
 * (status, open violations, confirmation evidence), `base` and where it ends, the alert
 * records and the commanded interval. It changes only when
 * one of those does, so the gateway rewrites it only then.
 */

export const DECISION_STATE_VERSION = 1;

export interface DecisionState {
  kind: 'decision';
  version: typeof DECISION_STATE_VERSION;
  subjectId: string;
  baseUntilMs: number | null;
  base: DerivedState;
  /** `head.tracks`: per-zone status, open violations, pending confirmation evidence. */
  tracks: Record<string, ZoneTrack>;
  alerts: readonly AlertRecord[];
  sinceMs: number | null;
  commandedIntervalS: number | null;
}

/** The parts of a state that move with every message: a handful of times, ms. */
export interface StateProgress {
  clockMs: number | null;
  lastMessageAtMs: number | null;
  lastFixTimeMs: number | null;
  /** The device rules' latest closing signal per alert type (every fix closes `power_off`). */
  endSignals: SubjectState['device']['endSignals'];
}

/** The decision part of a state (shares structure with it: do not mutate). */
export function decisionOf(state: SubjectState): DecisionState {
  return {
    kind: 'decision',
    version: DECISION_STATE_VERSION,
    subjectId: state.subjectId,
    baseUntilMs: state.baseUntilMs,
    base: state.base,
    tracks: state.head.tracks,
    alerts: state.alerts,
    sinceMs: state.contact.sinceMs,
    commandedIntervalS: state.commandedIntervalS,
  };
}

/** A StoredFix as the database holds it: the source by name. */
type PersistedFix = [number, number, number, number, FixSource, number];

function persistedFix(f: StoredFix): PersistedFix {
  return [f[0], f[1], f[2], f[3], FIX_SOURCES[f[4]], f[5]];
}

function persistedTracks(tracks: Record<string, ZoneTrack>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [zoneId, track] of Object.entries(tracks)) {
    out[zoneId] = track.pending
      ? { ...track, pending: { ...track.pending, fixes: track.pending.fixes.map(persistedFix) } }
      : track;
  }
  return out;
}

/**
 * A decision state as it is written to the database: the same JSON as before fixes carried
 * their source as a number (every StoredFix in it by `persistedFix`), so a gateway of an
 * earlier version still reads what this one writes. `parseStoredState` reads both forms.
 */
export function persistedDecision(d: DecisionState): unknown {
  return {
    ...d,
    base: {
      ...d.base,
      anchor: d.base.anchor && persistedFix(d.base.anchor),
      suspects: d.base.suspects.map(persistedFix),
      lastGnss: d.base.lastGnss && persistedFix(d.base.lastGnss),
      tracks: persistedTracks(d.base.tracks),
    },
    tracks: persistedTracks(d.tracks),
  };
}

export function progressOf(state: SubjectState): StateProgress {
  return {
    clockMs: state.clockMs,
    lastMessageAtMs: state.contact.lastMessageAtMs,
    lastFixTimeMs: state.contact.lastFixTimeMs,
    endSignals: state.device.endSignals,
  };
}

/** Whether two decision states are the same JSON (key order aside). No allocation. */
export function sameDecision(a: DecisionState, b: DecisionState): boolean {
  return jsonEqual(a, b);
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let na = 0;
  for (const k in ra) {
    if (ra[k] === undefined) continue; // JSON drops undefined members
    na++;
    if (!jsonEqual(ra[k], rb[k])) return false;
  }
  let nb = 0;
  for (const k in rb) if (rb[k] !== undefined) nb++;
  return na === nb;
}

const TrackSchema = DerivedSchema.shape.tracks;
const DecisionStateSchema = z.object({
  kind: z.literal('decision'),
  version: z.literal(DECISION_STATE_VERSION),
  subjectId: z.string(),
  baseUntilMs: finite.nullable(),
  base: DerivedSchema,
  tracks: TrackSchema,
  alerts: SubjectStateSchema.shape.alerts,
  sinceMs: finite.nullable(),
  commandedIntervalS: finite.nullable(),
});

const StateProgressSchema = z.object({
  clockMs: finite.nullable(),
  lastMessageAtMs: finite.nullable(),
  lastFixTimeMs: finite.nullable(),
  endSignals: SubjectStateSchema.shape.device.shape.endSignals,
});

/** Checks progress loaded from the database, like `parseSubjectState`. */
export function parseStateProgress(value: unknown): StateProgress {
  return StateProgressSchema.parse(value) as StateProgress;
}

/**
 * What the database holds for a subject: a whole state (written before decision states
 * existed) or a decision state, to be completed by `restoreSubjectState`. Throws a ZodError
 * for anything else, like `parseSubjectState`.
 */
export function parseStoredState(
  value: unknown,
): { kind: 'full'; state: SubjectState } | { kind: 'decision'; decision: DecisionState } {
  if (typeof value === 'object' && value !== null && 'kind' in value) {
    return { kind: 'decision', decision: DecisionStateSchema.parse(value) as DecisionState };
  }
  return { kind: 'full', state: parseSubjectState(value) };
}

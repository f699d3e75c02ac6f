import { z } from 'zod';
import { AlertType } from '@ccm/contracts';
import type { FixSource } from '@ccm/contracts';
import type { FixInput } from './types';

/**
 * Per-subject engine state. Plain JSON (no Maps, no Infinity): the gateway stores it with
 * each batch and reloads it after a restart, so an open violation is neither forgotten nor
 * raised twice. Every list in it is bounded (see README "State").
 */

export const STATE_VERSION = 1;

/**
 * A fix in state, as a tuple to keep the persisted window small (≈ 50 bytes of JSON):
 * [fixTimeMs, lat, lon, accuracyM, source, receivedAtMs].
 */
export type StoredFix = [
  fixTimeMs: number,
  lat: number,
  lon: number,
  accuracyM: number,
  source: FixSource,
  receivedAtMs: number,
];

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
}

export interface SubjectState {
  version: typeof STATE_VERSION;
  subjectId: string;
  /** Recent fixes (accepted or not), sorted by fix time, unique by fix time. */
  window: StoredFix[];
  /** Fixes up to this time were folded into `base` and dropped from the window. */
  baseUntilMs: number | null;
  /** Derived state before the first fix of the window. */
  base: DerivedState;
  /** Derived state after the last fix of the window (a cache of replaying base + window). */
  head: DerivedState;
  alerts: AlertRecord[];
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
    window: [],
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
  for (const [id, t] of Object.entries(d.tracks)) tracks[id] = { ...t };
  return { anchor: d.anchor, suspects: [...d.suspects], lastGnss: d.lastGnss, tracks };
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
    fix.source,
    Math.round(fix.receivedAtMs),
  ];
}

export function fromStoredFix(f: StoredFix): FixInput {
  return {
    fixTimeMs: f[0],
    lat: f[1],
    lon: f[2],
    accuracyM: f[3],
    source: f[4],
    receivedAtMs: f[5],
  };
}

const finite = z.number().finite();
const StoredFixSchema = z.tuple([
  finite,
  finite,
  finite,
  finite,
  z.enum(['gnss', 'lbs', 'wifi']),
  finite,
]);
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
    }),
  ),
});
const SubjectStateSchema = z.object({
  version: z.literal(STATE_VERSION),
  subjectId: z.string(),
  window: z.array(StoredFixSchema),
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

import type {
  AlertSeverity,
  AlertType,
  FixSource,
  WeeklySchedule,
  ZoneGeometry,
  ZoneKind,
  ZonePurpose,
  ZoneRules,
} from '@ccm/contracts';

export type { FixSource } from '@ccm/contracts';

/**
 * One position as the engine sees it (WGS-84), units in the names. The gateway maps the wire
 * `Fix` of @ccm/contracts (`t`, `acc`, `src`, `spd`) onto this and drops quarantined fixes
 * first. Two fixes of one device with the same `fixTimeMs` are the same fix (MQTT contract).
 * Only `gnss` fixes may confirm a violation (drift rule).
 */
export interface FixInput {
  fixTimeMs: number;
  lat: number;
  lon: number;
  /** Horizontal accuracy radius (68 %), metres, > 0. */
  accuracyM: number;
  source: FixSource;
  speedMps?: number;
  /** Platform receive time of the message that carried the fix. */
  receivedAtMs: number;
}

/** A device event (MQTT `…/event`); `type` stays a string so unknown types survive. */
export interface DeviceEventInput {
  eventTimeMs: number;
  type: string;
  batteryPct?: number;
  lat?: number;
  lon?: number;
  receivedAtMs: number;
}

/** A heartbeat (MQTT `…/hb`): only the fields the rules use. */
export interface HeartbeatInput {
  heartbeatTimeMs: number;
  batteryPct?: number;
  charging?: boolean;
  receivedAtMs: number;
}

/** A zone as stored by the server; `rules` fields missing here take the engine defaults. */
export interface ZoneInput {
  id: string;
  kind: ZoneKind;
  /** Picks the alert type (curfew inclusion → `curfew`); defaults to `other`. */
  purpose?: ZonePurpose;
  geometry: ZoneGeometry;
  /** No schedule (or null): always active. */
  schedule?: WeeklySchedule | null;
  rules?: Partial<ZoneRules> | null;
  name?: string;
}

/**
 * A period in which an assigned zone's violations are authorised: the home county during an
 * approved leave (外出审批). A violation open when it starts ends at its start. Inside it the
 * zone is still evaluated, but what it would have raised is raised as authorised (`authorisedBy`
 * = `ref`): on record with its reason, never a warning, never in the open queue. After its end
 * the zone applies again from the next fix, so a subject not back by then is confirmed anew.
 */
export interface Suspension {
  fromMs: number;
  toMs: number;
  /** What authorised it (the leave's id); defaults to `suspension`. */
  ref?: string;
}

/**
 * Which zone applies to a subject, optionally with its own schedule (null = always active),
 * only from `activeFromMs` (inclusive) to `activeToMs` (exclusive) when given, and never
 * inside a suspension.
 */
export interface ZoneAssignment {
  zoneId: string;
  schedule?: WeeklySchedule | null;
  activeFromMs?: number | null;
  activeToMs?: number | null;
  suspensions?: readonly Suspension[];
}

/** Engine tuning. Every field has a documented default in `DEFAULT_ENGINE_OPTIONS`. */
export interface EngineOptions {
  /** A fix implying more than this speed from the last accepted fix (after both accuracies) is ignored. */
  maxSpeedMps: number;
  /** This many consecutive mutually-consistent "impossible" fixes re-anchor the speed filter. */
  reanchorFixes: number;
  /** The time rule (`confirmSeconds`) still needs at least this many qualifying fixes. */
  minFixesForTime: number;
  /** Pending evidence older than this (gap between qualifying fixes) goes stale and restarts. */
  evidenceMaxGapS: number;
  /** Segment crossing is only inferred between GNSS fixes at most this far apart in time. */
  segmentMaxGapS: number;
  /** An alert whose data reached the platform more than this after the confirming fix is `late`. */
  lateAfterMs: number;
  /** Recent fixes kept in state for re-deriving episodes when late fixes arrive. */
  windowMs: number;
  windowMaxFixes: number;
  /** Ended alerts remembered for de-duplication (open alerts are always kept). */
  alertLogMax: number;
  normalIntervalS: number;
  violationIntervalS: number;
  /** A heartbeat or event reporting at least this battery level ends battery alerts. */
  batteryRecoveredPct: number;
  /** Repeated instant alerts (sos, case_tamper) closer than this are one alert. */
  instantCoalesceMs: number;
  severity: Readonly<Partial<Record<AlertType, AlertSeverity>>>;
}

/** A fix as shown in alert evidence, with its distance to the zone boundary. */
export interface EvidenceFix {
  fixTimeMs: number;
  receivedAtMs: number;
  lat: number;
  lon: number;
  accuracyM: number;
  source: FixSource;
  /** Distance to the zone boundary in metres; null when farther than 5 km. */
  distanceM: number | null;
  /** accuracyM + bufferM: how far past the edge the fix had to be to count. */
  marginM: number;
}

export interface EvidencePoint {
  lat: number;
  lon: number;
  atMs: number;
}

export type AlertEvidence =
  | {
      kind: 'fixes';
      /** The qualifying fixes (the first one and the most recent ones, at most 10). */
      fixes: EvidenceFix[];
      count: number;
      confirmFixes: number;
      confirmSeconds: number;
      bufferM: number;
    }
  | {
      kind: 'segment';
      from: EvidenceFix;
      to: EvidenceFix;
      entry: EvidencePoint;
      exit: EvidencePoint;
      /** How deep the straight path went past the edge (at least marginM, capped at 5 km). */
      depthM: number;
      marginM: number;
    }
  | {
      kind: 'event';
      /** Device event type, or `heartbeat` / `fix` when one of those ended the alert. */
      eventType: string;
      eventTimeMs: number;
      batteryPct: number | null;
    }
  | { kind: 'schedule_end'; windowEndMs: number }
  | { kind: 'zone_removed' }
  | { kind: 'silence'; lastMessageAtMs: number | null; thresholdS: number }
  | { kind: 'no_location'; lastFixTimeMs: number | null; thresholdS: number }
  /** Late fixes changed the derived history; the alert was corrected, never withdrawn. */
  | { kind: 'revised'; reason: string };

/**
 * One change to an alert, shaped like the API's Alert object. `open` creates it, `update`
 * corrects startedAt/endedAt after late fixes (endedAt may go back to null), `end` sets
 * endedAt, `retract` withdraws it: fixes that arrived later (out of order) show the rules
 * were never met, e.g. a fix that confirmed it is now known to be an impossible jump.
 * `key` is stable for the alert's life: the gateway maps it to the alert id.
 */
export interface AlertEvent {
  action: 'open' | 'update' | 'end' | 'retract';
  key: string;
  type: AlertType;
  severity: AlertSeverity;
  subjectId: string;
  deviceId: string | null;
  zoneId: string | null;
  startedAtMs: number;
  endedAtMs: number | null;
  late: boolean;
  lateByMs: number;
  lat: number | null;
  lon: number | null;
  evidence: AlertEvidence;
  /** Raised inside a suspension (approved leave): the suspension's `ref`. Null: a violation. */
  authorisedBy: string | null;
}

/** Downlink commands (MQTT `…/cmd`); the gateway adds `id` and `expires`. */
export type DeviceCommand =
  | { type: 'warn'; params: { text: string; vibrate: true } }
  | { type: 'set_interval'; params: { seconds: number } };

export type IgnoredFixReason = 'invalid' | 'duplicate' | 'implausible_speed';

export interface IgnoredFix {
  fixTimeMs: number;
  reason: IgnoredFixReason;
}

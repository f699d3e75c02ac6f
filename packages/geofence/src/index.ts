/**
 * @ccm/geofence: the pure geofence and rules engine. Fixes, device events, zones and the
 * previous per-subject state in; new state, alert changes and device commands out. No I/O,
 * no clock. See README.md for the rules and the state model.
 */
export type {
  AlertEvent,
  AlertEvidence,
  DeviceCommand,
  DeviceEventInput,
  EngineOptions,
  EvidenceFix,
  EvidencePoint,
  FixInput,
  FixSource,
  HeartbeatInput,
  IgnoredFix,
  IgnoredFixReason,
  Suspension,
  ZoneAssignment,
  ZoneInput,
} from './types';
export {
  DEFAULT_ENGINE_OPTIONS,
  DEFAULT_TIME_ZONE,
  DEFAULT_ZONE_RULES,
  EVIDENCE_DISTANCE_CAP_M,
} from './defaults';

export type { CompiledZone, SubjectZones, ZoneIndex } from './zones';
export { compileZones, zoneAlertType, zonesForSubject } from './zones';

export type { CompiledGeometry, Location, MarginClass, Penetration } from './geo/geometry';
export {
  boundaryDistanceM,
  classifyPoint,
  compileGeometry,
  locate,
  pathPenetration,
} from './geo/geometry';
export { haversineM } from './geo/projection';
export type { ZoneProblem, ZoneProblemCode } from './geo/validate';
export { validateZoneGeometry } from './geo/validate';

export { activeWindowEndMs, isScheduleActive, timeZoneOffsetMs, wallTime } from './schedule';

export type { AlertRecord, DecisionState, StateProgress, StoredFix, SubjectState } from './state';
export {
  DECISION_STATE_VERSION,
  STATE_VERSION,
  createSubjectState,
  decisionOf,
  parseStateProgress,
  parseStoredState,
  parseSubjectState,
  persistedDecision,
  progressOf,
  sameDecision,
} from './state';
export type { WindowBounds } from './restore';
export { restoreSubjectState, windowBounds } from './restore';

export type { BatchInput, BatchResult } from './engine';
export { processBatch } from './engine';
export type { SilenceOptions, SilenceResult } from './silence';
export { checkSilence } from './silence';
export type { ReplayAlert, ReplayOptions, ReplayResult } from './replay';
export { replayTrack } from './replay';
export { WARN_TEXT } from './commands';
export { alertKey } from './alerts';

import type { AlertSeverity, AlertType } from '@ccm/contracts';
import { DEFAULT_ALERT_SEVERITY, FIX_SOURCES } from '@ccm/contracts';
import { EVIDENCE_DISTANCE_CAP_M } from './defaults';
import type { CompiledGeometry } from './geo/geometry';
import { boundaryDistanceM } from './geo/geometry';
import type { AlertRecord, StoredFix } from './state';
import type { AlertEvent, AlertEvidence, EngineOptions, EvidenceFix } from './types';

/** Alert types decided by zones (reconciled against late fixes). */
export const ZONE_ALERT_TYPES: ReadonlySet<AlertType> = new Set<AlertType>([
  'zone_exit',
  'zone_enter',
  'curfew',
]);

/**
 * Stable identity of an alert: subject, type, zone and the start time it was first raised
 * with. It stays the key even if late fixes later correct `startedAtMs`.
 */
export function alertKey(
  subjectId: string,
  type: AlertType,
  zoneId: string | null,
  startedAtMs: number,
): string {
  return `${subjectId}:${type}:${zoneId ?? '-'}:${startedAtMs}`;
}

export function severityOf(type: AlertType, options: EngineOptions): AlertSeverity {
  return options.severity[type] ?? DEFAULT_ALERT_SEVERITY[type];
}

export function toEvidenceFix(
  geometry: CompiledGeometry,
  fix: StoredFix,
  bufferM: number,
): EvidenceFix {
  const [fixTimeMs, lat, lon, accuracyM, source, receivedAtMs] = fix;
  const d = boundaryDistanceM(geometry, lon, lat, EVIDENCE_DISTANCE_CAP_M);
  return {
    fixTimeMs,
    receivedAtMs,
    lat,
    lon,
    accuracyM,
    source: FIX_SOURCES[source],
    distanceM: d === null ? null : Math.round(d * 10) / 10,
    marginM: accuracyM + bufferM,
  };
}

/** Late is about when the platform could know, not about arrival order. */
export function lateness(
  lateByMs: number,
  options: EngineOptions,
): { late: boolean; lateByMs: number } {
  return lateByMs > options.lateAfterMs
    ? { late: true, lateByMs: Math.round(lateByMs) }
    : { late: false, lateByMs: 0 };
}

export function eventFromRecord(
  action: AlertEvent['action'],
  record: AlertRecord,
  subjectId: string,
  evidence: AlertEvidence,
  options: EngineOptions,
): AlertEvent {
  return {
    action,
    key: record.key,
    type: record.type,
    severity: severityOf(record.type, options),
    subjectId,
    deviceId: record.deviceId,
    zoneId: record.zoneId,
    startedAtMs: record.startedAtMs,
    endedAtMs: record.endedAtMs,
    late: record.late,
    lateByMs: record.lateByMs,
    lat: record.lat,
    lon: record.lon,
    evidence,
    authorisedBy: record.authorisedBy ?? null,
  };
}

/**
 * Events for a newly raised alert: `open` (as open), then `end` if its end is already known
 * (a late violation found complete, an instant alert). Each event is the alert's state
 * after applying it, so consumers can apply them in order.
 */
export function raisedEvents(
  record: AlertRecord,
  subjectId: string,
  openEvidence: AlertEvidence,
  endEvidence: AlertEvidence,
  options: EngineOptions,
): AlertEvent[] {
  const opened = eventFromRecord(
    'open',
    { ...record, endedAtMs: null },
    subjectId,
    openEvidence,
    options,
  );
  if (record.endedAtMs === null) return [opened];
  return [opened, eventFromRecord('end', record, subjectId, endEvidence, options)];
}

/** The time an event is about, for ordering output. */
export function eventTimeMs(e: AlertEvent): number {
  return e.action === 'end' ? (e.endedAtMs ?? e.startedAtMs) : e.startedAtMs;
}

export function sortEvents(events: AlertEvent[]): AlertEvent[] {
  return events.sort((a, b) => eventTimeMs(a) - eventTimeMs(b));
}

/** Keeps every open alert and the most recently ended ones, in their original order. */
export function pruneRecords(records: readonly AlertRecord[], max: number): readonly AlertRecord[] {
  let endedCount = 0;
  for (const r of records) if (r.endedAtMs !== null) endedCount++;
  // The same array when nothing goes: an unchanged decision state is then found unchanged
  // by identity (sameDecision), not by comparing every record.
  if (endedCount <= max) return records;
  const ended = records.filter((r) => r.endedAtMs !== null);
  const keep = new Set(ended.sort((a, b) => (b.endedAtMs ?? 0) - (a.endedAtMs ?? 0)).slice(0, max));
  return records.filter((r) => r.endedAtMs === null || keep.has(r));
}

// Shapes of the HTTP API v1 the dashboard reads (the server's OpenAPI document at
// /api/v1/openapi.json is the source of truth). Positions are WGS-84; geometry is [lon, lat].

export type Role = 'admin' | 'bureau' | 'officer' | 'police' | 'auditor';

export interface User {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  jurisdictionCode: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type ManagementLevel = 'strict' | 'normal' | 'lenient';
export type CorrectionType = 'control' | 'probation' | 'parole' | 'temporary_outside';
export type SubjectStatus = 'active' | 'absconded' | 'suspended' | 'ended';

export interface Subject {
  id: string;
  name: string;
  idCardNo: string;
  idCardMasked: boolean;
  gender: 'male' | 'female' | null;
  birthDate: string | null;
  correctionType: CorrectionType;
  termStart: string;
  termEnd: string;
  jurisdictionCode: string;
  managementLevel: ManagementLevel;
  status: SubjectStatus;
  officerId: string | null;
  homeAddress: string;
  phone: string;
  reportIntervalS: number;
}

export interface Jurisdiction {
  code: string;
  parentCode: string | null;
  level: 'province' | 'city' | 'county' | 'township';
  nameZh: string;
  nameEn: string;
  path: string;
}

export interface DirectoryUser {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  jurisdictionCode: string;
  disabled: boolean;
}

export type FixSource = 'gnss' | 'lbs' | 'wifi';

export interface LatestPosition {
  subjectId: string;
  subjectName: string;
  deviceId: string;
  t: string;
  lat: number;
  lon: number;
  accuracyM: number | null;
  source: FixSource | null;
  battery: number | null;
  online: boolean;
  openAlerts: number;
}

export interface TrackPoint {
  t: string;
  lat: number;
  lon: number;
  accuracyM: number | null;
  source: FixSource;
  speedMps: number | null;
  late: boolean;
  lowAccuracy: boolean;
}

export interface Track {
  subjectId: string;
  from: string;
  to: string;
  total: number;
  downsampled: boolean;
  orderWindows: { startsAt: string; endsAt: string }[];
  points: TrackPoint[];
}

export type AlertType =
  | 'zone_exit'
  | 'zone_enter'
  | 'curfew'
  | 'strap_tamper'
  | 'case_tamper'
  | 'battery_low'
  | 'battery_critical'
  | 'power_off'
  | 'no_signal'
  | 'no_location'
  | 'gnss_jamming'
  | 'checkin_missed'
  | 'checkin_failed'
  | 'device_separation'
  | 'sos';
export const ALERT_TYPES: readonly AlertType[] = [
  'zone_exit',
  'zone_enter',
  'curfew',
  'strap_tamper',
  'case_tamper',
  'battery_low',
  'battery_critical',
  'power_off',
  'no_signal',
  'no_location',
  'gnss_jamming',
  'checkin_missed',
  'checkin_failed',
  'device_separation',
  'sos',
];
export type Severity = 'critical' | 'high' | 'medium' | 'low';
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low'];
export type AlertStatus = 'open' | 'acknowledged' | 'resolved';
export type Resolution =
  'confirmed_violation' | 'false_alarm' | 'device_fault' | 'authorised' | 'other';
export const RESOLUTIONS: readonly Resolution[] = [
  'confirmed_violation',
  'false_alarm',
  'device_fault',
  'authorised',
  'other',
];

export interface EvidenceFix {
  fixTimeMs: number;
  receivedAtMs: number;
  lat: number;
  lon: number;
  accuracyM: number;
  source: FixSource;
  distanceM: number | null;
  marginM: number;
}

/** What the rules engine recorded as the reason for an alert (packages/geofence). */
export type AlertEvidence =
  | {
      kind: 'fixes';
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
      entry: { lat: number; lon: number; atMs: number };
      exit: { lat: number; lon: number; atMs: number };
      depthM: number;
      marginM: number;
    }
  | { kind: 'event'; eventType: string; eventTimeMs: number; batteryPct: number | null }
  | { kind: string; [key: string]: unknown };

export interface AlertNote {
  id: string;
  at: string;
  action: string;
  authorId: string | null;
  authorName: string | null;
  text: string;
}

export interface Alert {
  id: string;
  type: AlertType;
  severity: Severity;
  status: AlertStatus;
  subjectId: string | null;
  deviceId: string | null;
  zoneId: string | null;
  startedAt: string;
  endedAt: string | null;
  raisedAt: string;
  late: boolean;
  lateByMs: number;
  lat: number | null;
  lon: number | null;
  notes: AlertNote[];
  jurisdictionCode: string;
  evidence: AlertEvidence | null;
  assignedTo: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  resolution: Resolution | null;
  escalatedAt: string | null;
  updatedAt: string;
}

export interface AlertHistoryEntry {
  id: string;
  at: string;
  action: string;
  actorId: string | null;
  actorName: string | null;
  note: string | null;
  data: unknown;
}

export interface AlertDetail extends Alert {
  history: AlertHistoryEntry[];
}

export type ZoneKind = 'inclusion' | 'exclusion';
export type ZonePurpose = 'county' | 'curfew' | 'prohibited' | 'border' | 'leave' | 'other';
export const ZONE_PURPOSES: readonly ZonePurpose[] = [
  'county',
  'curfew',
  'prohibited',
  'border',
  'leave',
  'other',
];

export type ZoneGeometry =
  | { type: 'Polygon'; coordinates: [number, number][][] }
  | { type: 'MultiPolygon'; coordinates: [number, number][][][] }
  | { type: 'Circle'; center: [number, number]; radiusM: number };

export interface ScheduleWindow {
  /** ISO weekdays, 1 = Monday … 7 = Sunday. */
  days: number[];
  start: string;
  end: string;
}

export interface Schedule {
  timeZone: string;
  windows: ScheduleWindow[];
}

export interface Zone {
  id: string;
  name: string;
  kind: ZoneKind;
  purpose: ZonePurpose;
  geometry: ZoneGeometry;
  bbox: [number, number, number, number];
  bufferM: number;
  schedule: Schedule | null;
  confirmFixes: number | null;
  confirmSeconds: number | null;
  jurisdictionCode: string;
  subjectId: string | null;
  active: boolean;
  version: number;
}

export interface SubjectZone {
  subjectId: string;
  zoneId: string;
  via: 'assignment' | 'personal';
  scheduleOverride: Schedule | null;
  validFrom: string | null;
  validTo: string | null;
  zone: Zone;
}

export interface ZoneInput {
  name: string;
  kind: ZoneKind;
  purpose: ZonePurpose;
  geometry: ZoneGeometry;
  bufferM: number;
  schedule?: { timeZone: string; windows: ScheduleWindow[] } | null;
  jurisdictionCode?: string;
  subjectId?: string;
}

export interface DryRunAlert {
  type: string;
  startedAt: string;
  endedAt: string | null;
  lat: number | null;
  lon: number | null;
  late: boolean;
  lateByMs: number;
}

export interface DryRunResult {
  subjectId: string;
  from: string;
  to: string;
  fixesReplayed: number;
  truncated: boolean;
  alerts: DryRunAlert[];
  count: number;
}

export interface MonitoringOrder {
  id: string;
  subjectId: string;
  deviceId: string;
  legalGround: string;
  groundDetail: string;
  decisionNo: string;
  approverName: string;
  approvedAt: string;
  startsAt: string;
  endsAt: string;
  endedAt: string | null;
  status: 'pending' | 'active' | 'ended' | 'expired';
  daysLeft: number;
  daysUsed: number;
  extensions: { id: string; newEndsAt: string; status: string; reason: string }[];
}

export interface DeviceState {
  lastSeenAt: string | null;
  battery: number | null;
  charging: boolean | null;
  rssi: number | null;
  firmware: string | null;
  online: boolean;
  lastFixAt: string | null;
}

export interface Device {
  id: string;
  kind: 'wristband' | 'terminal' | 'phone';
  status: 'active' | 'inactive' | 'retired';
  jurisdictionCode: string;
  vendor: string | null;
  model: string | null;
  state: DeviceState | null;
}

export type CommandType = 'warn' | 'locate' | 'set_interval' | 'checkin_request';

export interface DeviceCommand {
  id: string;
  deviceId: string;
  type: CommandType;
  status: 'pending' | 'sent' | 'done' | 'failed' | 'rejected' | 'expired';
  createdAt: string;
  sentAt: string | null;
  resultAt: string | null;
}

export interface Statistics {
  from: string;
  to: string;
  timeZone: string;
  total: number;
  byType: { type: AlertType; severity: Severity; count: number }[];
  byDay: { day: string; count: number }[];
  byJurisdiction: { code: string; nameZh: string; nameEn: string; count: number }[];
  resolutions: { resolution: Resolution; count: number }[];
  resolved: number;
  falseAlarms: number;
  falseAlarmShare: number | null;
  timeToAcknowledge: {
    count: number;
    meanS: number | null;
    medianS: number | null;
    p90S: number | null;
    openUnacknowledged: number;
    bySeverity: {
      severity: Severity;
      count: number;
      meanS: number | null;
      medianS: number | null;
      p90S: number | null;
    }[];
  };
  subjectsByLevel: { level: ManagementLevel; count: number }[];
}

export interface PoliceSubject {
  id: string;
  name: string;
  idCardNoMasked: string;
  jurisdictionCode: string;
  jurisdictionName: string;
}

export interface PoliceQueryResult {
  id: string;
  subjectId: string;
  from: string;
  to: string;
  outcome: 'answered';
  fixesReturned: number;
  points: TrackPoint[];
}

import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * Table types, written by hand to match migrations/sql. `migrations/test` checks that every
 * table and column named here exists in the migrated database, so the two cannot drift.
 * int8 columns are parsed to JS numbers (all of ours stay below 2^53); `date` columns are
 * 'YYYY-MM-DD' strings; timestamptz columns are Dates.
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type DateOnly = ColumnType<string, string, string>;
type Json<T = unknown> = ColumnType<T, T | string, T | string>;
type Identity = ColumnType<number, never, never>;

export type Role = 'admin' | 'bureau' | 'officer' | 'police' | 'auditor';
export type JurisdictionLevel = 'province' | 'city' | 'county' | 'township';
export type CorrectionType = 'control' | 'probation' | 'parole' | 'temporary_outside';
export type ManagementLevel = 'strict' | 'normal' | 'lenient';
export type SubjectStatus = 'active' | 'absconded' | 'suspended' | 'ended';
export type DeviceKind = 'wristband' | 'terminal' | 'phone';
export type LegalGround =
  | 'prohibition_order_violation'
  | 'left_without_approval'
  | 'warned_refusing_report'
  | 'public_security_penalty'
  | 'pending_revocation';

export interface JurisdictionsTable {
  code: string;
  parent_code: string | null;
  level: JurisdictionLevel;
  name_zh: string;
  name_en: ColumnType<string, string | undefined, string>;
  path: string;
  created_at: DefaultTimestamp;
}

export interface UsersTable {
  id: Generated<string>;
  username: string;
  display_name: string;
  role: Role;
  jurisdiction_code: string;
  password_hash: string;
  totp_secret: string | null;
  totp_enabled: Generated<boolean>;
  disabled: Generated<boolean>;
  locked_until: Timestamp | null;
  password_changed_at: DefaultTimestamp;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface SubjectsTable {
  id: Generated<string>;
  no: Identity;
  name: string;
  id_card_no: string;
  gender: 'male' | 'female' | null;
  birth_date: DateOnly | null;
  correction_type: CorrectionType;
  term_start: DateOnly;
  term_end: DateOnly;
  jurisdiction_code: string;
  management_level: Generated<ManagementLevel>;
  status: Generated<SubjectStatus>;
  officer_id: string | null;
  home_address: Generated<string>;
  phone: Generated<string>;
  report_interval_s: Generated<number>;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
  checkin_device_id: string | null;
}

export interface DevicesTable {
  id: string;
  no: Identity;
  kind: DeviceKind;
  secret_hash: string;
  status: Generated<'active' | 'inactive' | 'retired'>;
  jurisdiction_code: string;
  vendor: Generated<string>;
  model: Generated<string>;
  secret_rotated_at: DefaultTimestamp;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface MonitoringOrdersTable {
  id: Generated<string>;
  subject_id: string;
  device_id: string;
  legal_ground: LegalGround;
  ground_detail: Generated<string>;
  decision_no: Generated<string>;
  approver_name: string;
  approver_id: string | null;
  approved_at: Timestamp;
  starts_at: Timestamp;
  initial_ends_at: Timestamp;
  ends_at: Timestamp;
  ended_at: Timestamp | null;
  end_reason: string | null;
  created_by: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface MonitoringOrderExtensionsTable {
  id: Generated<string>;
  order_id: string;
  previous_ends_at: Timestamp;
  new_ends_at: Timestamp;
  reason: string;
  status: Generated<'pending' | 'approved' | 'rejected'>;
  requested_by: string | null;
  requested_at: DefaultTimestamp;
  decided_by: string | null;
  decided_at: Timestamp | null;
  decision_note: string | null;
}

export interface ZonesTable {
  id: Generated<string>;
  name: string;
  kind: 'inclusion' | 'exclusion';
  purpose: Generated<'county' | 'curfew' | 'prohibited' | 'border' | 'leave' | 'other'>;
  geometry: Json;
  min_lon: number;
  min_lat: number;
  max_lon: number;
  max_lat: number;
  buffer_m: Generated<number>;
  schedule: Json | null;
  confirm_fixes: number | null;
  confirm_seconds: number | null;
  jurisdiction_code: string;
  subject_id: string | null;
  active: Generated<boolean>;
  version: Generated<number>;
  created_by: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface ZoneAssignmentsTable {
  subject_id: string;
  zone_id: string;
  schedule_override: Json | null;
  valid_from: Timestamp | null;
  valid_to: Timestamp | null;
  created_by: string | null;
  created_at: DefaultTimestamp;
}

export interface FixesTable {
  device_no: number;
  t: Timestamp;
  subject_no: number;
  lat_e6: number;
  lon_e6: number;
  acc_dm: number;
  src: number;
  spd_cms: number | null;
  hdg_deg: number | null;
  sat: number | null;
  flags: Generated<number>;
  recv_lag_ms: number;
}

export interface QuarantinedFixesTable {
  id: Generated<number>;
  device_no: number;
  subject_no: number | null;
  fix_time_ms: number;
  received_at: Timestamp;
  reason: 'future' | 'before_2020';
  fix: Json;
}

export interface DeviceEventsTable {
  device_no: number;
  t: Timestamp;
  type: string;
  subject_no: number | null;
  seq: number;
  known: boolean;
  bat: number | null;
  lat_e6: number | null;
  lon_e6: number | null;
  received_at: Timestamp;
}

export interface HeartbeatsTable {
  device_no: number;
  t: Timestamp;
  seq: number;
  bat: number | null;
  chg: boolean | null;
  rssi: number | null;
  fw: string | null;
  received_at: Timestamp;
}

export interface CheckinsTable {
  device_no: number;
  t: Timestamp;
  subject_ref: string;
  subject_no: number | null;
  seq: number;
  method: 'fingerprint' | 'voiceprint' | 'face';
  result: 'match' | 'no_match' | 'spoof_suspected';
  score: number;
  liveness: boolean | null;
  lat_e6: number | null;
  lon_e6: number | null;
  received_at: Timestamp;
}

export interface RejectedMessagesTable {
  id: Generated<number>;
  received_at: DefaultTimestamp;
  device_id: string | null;
  topic: string;
  reason: string;
  detail: Generated<string>;
  size_bytes: number;
  raw: Uint8Array;
}

export interface SecurityEventsTable {
  id: Generated<number>;
  at: DefaultTimestamp;
  client_id: string | null;
  kind: string;
  topic: string | null;
  detail: Generated<string>;
}

export interface DeviceStateTable {
  device_no: number;
  last_seen_at: Timestamp | null;
  last_seq: number | null;
  acked_seq: number | null;
  seq_gaps: Generated<number>;
  battery: number | null;
  charging: boolean | null;
  rssi: number | null;
  firmware: string | null;
  online: Generated<boolean>;
  online_changed_at: Timestamp | null;
  last_fix_t: Timestamp | null;
  last_lat_e6: number | null;
  last_lon_e6: number | null;
  last_acc_dm: number | null;
  last_src: number | null;
  report_interval_s: Generated<number>;
  updated_at: DefaultTimestamp;
}

export interface DeviceCommandsTable {
  id: Generated<string>;
  device_id: string;
  type: 'warn' | 'locate' | 'set_interval' | 'checkin_request';
  params: Json;
  expires_at: Timestamp;
  status: Generated<'pending' | 'sent' | 'done' | 'failed' | 'rejected' | 'expired'>;
  created_by: string | null;
  created_at: DefaultTimestamp;
  sent_at: Timestamp | null;
  result_at: Timestamp | null;
}

export interface AlertsTable {
  id: Generated<string>;
  type: string;
  severity: 'critical' | 'high' | 'medium' | 'low';
  status: Generated<'open' | 'acknowledged' | 'resolved'>;
  subject_id: string | null;
  device_id: string | null;
  zone_id: string | null;
  jurisdiction_code: string;
  dedupe_key: string;
  started_at: Timestamp;
  ended_at: Timestamp | null;
  raised_at: DefaultTimestamp;
  late: Generated<boolean>;
  late_by_ms: Generated<number>;
  lat: number | null;
  lon: number | null;
  evidence: Json;
  assigned_to: string | null;
  acknowledged_at: Timestamp | null;
  acknowledged_by: string | null;
  resolved_at: Timestamp | null;
  resolved_by: string | null;
  resolution: string | null;
  escalated_at: Timestamp | null;
  updated_at: DefaultTimestamp;
  engine_key: string | null;
}

export interface EngineStateTable {
  subject_no: number;
  /** A decision state (`@ccm/geofence` `decisionOf`), or a whole state written before 0010. */
  state: Json;
  updated_at: DefaultTimestamp;
  version: Generated<number>;
  /** `@ccm/geofence` `progressOf`; null in rows written before 0010. */
  progress: Json | null;
}

export interface AlertEventsTable {
  id: Generated<number>;
  alert_id: string;
  at: DefaultTimestamp;
  actor_id: string | null;
  action:
    | 'raised'
    | 'ended'
    | 'acknowledged'
    | 'assigned'
    | 'note'
    | 'resolved'
    | 'escalated'
    | 'reopened'
    | 'updated'
    | 'withdrawn';
  note: string | null;
  data: Json;
}

export interface OutboxTable {
  id: Generated<number>;
  topic: string;
  payload: Json;
  created_at: DefaultTimestamp;
  delivered_at: Timestamp | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: DefaultTimestamp;
  actor_id: string | null;
  actor_username: string | null;
  actor_role: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  jurisdiction_code: string | null;
  detail: Json;
  ip: string | null;
  prev_hash: string;
  hash: string;
}

/** Read-only view (a continuous aggregate on TimescaleDB, a plain view otherwise). */
export interface SubjectDailyView {
  subject_no: number;
  day: Date;
  fixes: number;
  gnss_fixes: number;
  low_accuracy_fixes: number;
  first_fix_at: Date;
  last_fix_at: Date;
  avg_accuracy_m: string; // numeric
}

export interface SessionsTable {
  id: Generated<string>;
  token_hash: string;
  user_id: string;
  scope: Generated<'full' | 'totp_enroll'>;
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
  last_seen_at: Timestamp | null;
  ip: string | null;
  user_agent: string | null;
}

export interface LoginAttemptsTable {
  id: Generated<number>;
  username: string;
  user_id: string | null;
  at: DefaultTimestamp;
  success: boolean;
  reason: string | null;
  ip: string | null;
}

export interface PoliceQueriesTable {
  id: Generated<string>;
  user_id: string;
  subject_id: string | null;
  area: Json | null;
  from_at: Timestamp;
  to_at: Timestamp;
  legal_basis: string;
  case_number: string;
  fixes_returned: Generated<number>;
  outcome: 'answered' | 'refused';
  refusal_reason: string | null;
  created_at: DefaultTimestamp;
}

export type CheckinMethod = 'fingerprint' | 'voiceprint' | 'face';
export type Sanction = 'none' | 'admonition' | 'warning' | 'revocation_request';

export interface SupervisionSettingsTable {
  key: 'checkins' | 'separation' | 'assessment';
  value: Json;
  updated_by: string | null;
  updated_at: DefaultTimestamp;
}

export interface CheckinRequestsTable {
  id: Generated<string>;
  subject_id: string;
  kind: 'scheduled' | 'random' | 'manual';
  method: CheckinMethod | null;
  window_start: Timestamp;
  due_at: Timestamp;
  status: Generated<'pending' | 'met' | 'missed' | 'cancelled'>;
  device_id: string | null;
  command_id: string | null;
  met_device_no: number | null;
  met_at: Timestamp | null;
  alert_id: string | null;
  requested_by: string | null;
  note: Generated<string>;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface CheckinReviewsTable {
  device_no: number;
  t: Timestamp;
  subject_id: string | null;
  outcome: 'ok' | 'failed' | 'separation' | 'unknown_subject';
  request_id: string | null;
  distance_m: number | null;
  alert_id: string | null;
  reviewed_at: DefaultTimestamp;
}

export interface LeaveRequestsTable {
  id: Generated<string>;
  subject_id: string;
  jurisdiction_code: string;
  destination: string;
  destination_geometry: Json;
  reason: string;
  starts_at: Timestamp;
  ends_at: Timestamp;
  travel_hours: Generated<number>;
  approval_level: 'township' | 'county';
  status: Generated<'pending' | 'approved' | 'rejected' | 'cancelled'>;
  requested_by: string | null;
  requested_at: DefaultTimestamp;
  decided_by: string | null;
  decided_at: Timestamp | null;
  decision_note: string | null;
  zone_id: string | null;
  return_status: 'returned' | 'not_returned' | null;
  return_checked_at: Timestamp | null;
  return_alert_id: string | null;
  updated_at: DefaultTimestamp;
}

export interface NotificationsTable {
  id: Generated<string>;
  user_id: string;
  kind:
    | 'order_expiring'
    | 'order_expired'
    | 'leave_pending'
    | 'leave_decided'
    | 'leave_not_returned'
    | 'checkin_missed'
    | 'assessment_ready';
  title: string;
  body: Generated<string>;
  subject_id: string | null;
  ref_id: string | null;
  dedupe_key: string;
  created_at: DefaultTimestamp;
  read_at: Timestamp | null;
}

export interface ActivityRecordsTable {
  id: Generated<string>;
  subject_id: string;
  kind: 'education' | 'community_service';
  occurred_on: DateOnly;
  hours: number;
  note: Generated<string>;
  recorded_by: string | null;
  created_at: DefaultTimestamp;
  /** Voided (entered wrongly): kept, no longer counted (0012). */
  voided_at: Timestamp | null;
  voided_by: string | null;
  void_reason: string | null;
}

export interface AssessmentsTable {
  id: Generated<string>;
  subject_id: string;
  month: DateOnly;
  score: number;
  facts: Json;
  recommended_level: ManagementLevel;
  recommended_sanction: Sanction;
  status: Generated<'recommended' | 'confirmed' | 'overridden'>;
  final_level: ManagementLevel | null;
  final_sanction: Sanction | null;
  decided_by: string | null;
  decided_at: Timestamp | null;
  decision_reason: string | null;
  computed_at: DefaultTimestamp;
}

export interface AssessmentEventsTable {
  id: Generated<number>;
  assessment_id: string;
  at: DefaultTimestamp;
  actor_id: string | null;
  action: 'computed' | 'recomputed' | 'confirmed' | 'overridden';
  data: Json;
}

export interface SanctionsTable {
  id: Generated<string>;
  subject_id: string;
  kind: Exclude<Sanction, 'none'>;
  decided_at: DefaultTimestamp;
  decided_by: string | null;
  assessment_id: string | null;
  reason: string;
}

export interface SchemaMigrationsTable {
  version: string;
  name: string;
  variant: string;
  checksum: string;
  applied_at: DefaultTimestamp;
}

export interface DB {
  jurisdictions: JurisdictionsTable;
  users: UsersTable;
  subjects: SubjectsTable;
  devices: DevicesTable;
  monitoring_orders: MonitoringOrdersTable;
  monitoring_order_extensions: MonitoringOrderExtensionsTable;
  zones: ZonesTable;
  zone_assignments: ZoneAssignmentsTable;
  fixes: FixesTable;
  quarantined_fixes: QuarantinedFixesTable;
  device_events: DeviceEventsTable;
  heartbeats: HeartbeatsTable;
  checkins: CheckinsTable;
  rejected_messages: RejectedMessagesTable;
  security_events: SecurityEventsTable;
  device_state: DeviceStateTable;
  device_commands: DeviceCommandsTable;
  alerts: AlertsTable;
  alert_events: AlertEventsTable;
  engine_state: EngineStateTable;
  outbox: OutboxTable;
  audit_log: AuditLogTable;
  subject_daily: SubjectDailyView;
  sessions: SessionsTable;
  login_attempts: LoginAttemptsTable;
  police_queries: PoliceQueriesTable;
  supervision_settings: SupervisionSettingsTable;
  checkin_requests: CheckinRequestsTable;
  checkin_reviews: CheckinReviewsTable;
  leave_requests: LeaveRequestsTable;
  notifications: NotificationsTable;
  activity_records: ActivityRecordsTable;
  assessments: AssessmentsTable;
  assessment_events: AssessmentEventsTable;
  sanctions: SanctionsTable;
  schema_migrations: SchemaMigrationsTable;
}

export type Jurisdiction = Selectable<JurisdictionsTable>;
export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type Subject = Selectable<SubjectsTable>;
export type Device = Selectable<DevicesTable>;
export type MonitoringOrder = Selectable<MonitoringOrdersTable>;
export type Zone = Selectable<ZonesTable>;
export type Alert = Selectable<AlertsTable>;

/** Column names per table, for the schema-drift test. */
export const TABLE_COLUMNS = {
  jurisdictions: ['code', 'parent_code', 'level', 'name_zh', 'name_en', 'path', 'created_at'],
  users: [
    'id',
    'username',
    'display_name',
    'role',
    'jurisdiction_code',
    'password_hash',
    'totp_secret',
    'totp_enabled',
    'disabled',
    'locked_until',
    'password_changed_at',
    'created_at',
    'updated_at',
  ],
  subjects: [
    'id',
    'no',
    'name',
    'id_card_no',
    'gender',
    'birth_date',
    'correction_type',
    'term_start',
    'term_end',
    'jurisdiction_code',
    'management_level',
    'status',
    'officer_id',
    'home_address',
    'phone',
    'report_interval_s',
    'created_at',
    'updated_at',
    'checkin_device_id',
  ],
  devices: [
    'id',
    'no',
    'kind',
    'secret_hash',
    'status',
    'jurisdiction_code',
    'vendor',
    'model',
    'secret_rotated_at',
    'created_at',
    'updated_at',
  ],
  monitoring_orders: [
    'id',
    'subject_id',
    'device_id',
    'legal_ground',
    'ground_detail',
    'decision_no',
    'approver_name',
    'approver_id',
    'approved_at',
    'starts_at',
    'initial_ends_at',
    'ends_at',
    'ended_at',
    'end_reason',
    'created_by',
    'created_at',
    'updated_at',
  ],
  monitoring_order_extensions: [
    'id',
    'order_id',
    'previous_ends_at',
    'new_ends_at',
    'reason',
    'status',
    'requested_by',
    'requested_at',
    'decided_by',
    'decided_at',
    'decision_note',
  ],
  zones: [
    'id',
    'name',
    'kind',
    'purpose',
    'geometry',
    'min_lon',
    'min_lat',
    'max_lon',
    'max_lat',
    'buffer_m',
    'schedule',
    'confirm_fixes',
    'confirm_seconds',
    'jurisdiction_code',
    'subject_id',
    'active',
    'version',
    'created_by',
    'created_at',
    'updated_at',
  ],
  zone_assignments: [
    'subject_id',
    'zone_id',
    'schedule_override',
    'valid_from',
    'valid_to',
    'created_by',
    'created_at',
  ],
  fixes: [
    'device_no',
    't',
    'subject_no',
    'lat_e6',
    'lon_e6',
    'acc_dm',
    'src',
    'spd_cms',
    'hdg_deg',
    'sat',
    'flags',
    'recv_lag_ms',
  ],
  quarantined_fixes: [
    'id',
    'device_no',
    'subject_no',
    'fix_time_ms',
    'received_at',
    'reason',
    'fix',
  ],
  device_events: [
    'device_no',
    't',
    'type',
    'subject_no',
    'seq',
    'known',
    'bat',
    'lat_e6',
    'lon_e6',
    'received_at',
  ],
  heartbeats: ['device_no', 't', 'seq', 'bat', 'chg', 'rssi', 'fw', 'received_at'],
  checkins: [
    'device_no',
    't',
    'subject_ref',
    'subject_no',
    'seq',
    'method',
    'result',
    'score',
    'liveness',
    'lat_e6',
    'lon_e6',
    'received_at',
  ],
  rejected_messages: [
    'id',
    'received_at',
    'device_id',
    'topic',
    'reason',
    'detail',
    'size_bytes',
    'raw',
  ],
  security_events: ['id', 'at', 'client_id', 'kind', 'topic', 'detail'],
  device_state: [
    'device_no',
    'last_seen_at',
    'last_seq',
    'acked_seq',
    'seq_gaps',
    'battery',
    'charging',
    'rssi',
    'firmware',
    'online',
    'online_changed_at',
    'last_fix_t',
    'last_lat_e6',
    'last_lon_e6',
    'last_acc_dm',
    'last_src',
    'report_interval_s',
    'updated_at',
  ],
  device_commands: [
    'id',
    'device_id',
    'type',
    'params',
    'expires_at',
    'status',
    'created_by',
    'created_at',
    'sent_at',
    'result_at',
  ],
  alerts: [
    'id',
    'type',
    'severity',
    'status',
    'subject_id',
    'device_id',
    'zone_id',
    'jurisdiction_code',
    'dedupe_key',
    'started_at',
    'ended_at',
    'raised_at',
    'late',
    'late_by_ms',
    'lat',
    'lon',
    'evidence',
    'assigned_to',
    'acknowledged_at',
    'acknowledged_by',
    'resolved_at',
    'resolved_by',
    'resolution',
    'escalated_at',
    'updated_at',
    'engine_key',
  ],
  engine_state: ['subject_no', 'state', 'updated_at', 'version', 'progress'],
  alert_events: ['id', 'alert_id', 'at', 'actor_id', 'action', 'note', 'data'],
  outbox: ['id', 'topic', 'payload', 'created_at', 'delivered_at'],
  audit_log: [
    'id',
    'at',
    'actor_id',
    'actor_username',
    'actor_role',
    'action',
    'resource_type',
    'resource_id',
    'jurisdiction_code',
    'detail',
    'ip',
    'prev_hash',
    'hash',
  ],
  subject_daily: [
    'subject_no',
    'day',
    'fixes',
    'gnss_fixes',
    'low_accuracy_fixes',
    'first_fix_at',
    'last_fix_at',
    'avg_accuracy_m',
  ],
  sessions: [
    'id',
    'token_hash',
    'user_id',
    'scope',
    'created_at',
    'expires_at',
    'revoked_at',
    'last_seen_at',
    'ip',
    'user_agent',
  ],
  login_attempts: ['id', 'username', 'user_id', 'at', 'success', 'reason', 'ip'],
  police_queries: [
    'id',
    'user_id',
    'subject_id',
    'area',
    'from_at',
    'to_at',
    'legal_basis',
    'case_number',
    'fixes_returned',
    'outcome',
    'refusal_reason',
    'created_at',
  ],
  supervision_settings: ['key', 'value', 'updated_by', 'updated_at'],
  checkin_requests: [
    'id',
    'subject_id',
    'kind',
    'method',
    'window_start',
    'due_at',
    'status',
    'device_id',
    'command_id',
    'met_device_no',
    'met_at',
    'alert_id',
    'requested_by',
    'note',
    'created_at',
    'updated_at',
  ],
  checkin_reviews: [
    'device_no',
    't',
    'subject_id',
    'outcome',
    'request_id',
    'distance_m',
    'alert_id',
    'reviewed_at',
  ],
  leave_requests: [
    'id',
    'subject_id',
    'jurisdiction_code',
    'destination',
    'destination_geometry',
    'reason',
    'starts_at',
    'ends_at',
    'travel_hours',
    'approval_level',
    'status',
    'requested_by',
    'requested_at',
    'decided_by',
    'decided_at',
    'decision_note',
    'zone_id',
    'return_status',
    'return_checked_at',
    'return_alert_id',
    'updated_at',
  ],
  notifications: [
    'id',
    'user_id',
    'kind',
    'title',
    'body',
    'subject_id',
    'ref_id',
    'dedupe_key',
    'created_at',
    'read_at',
  ],
  activity_records: [
    'id',
    'subject_id',
    'kind',
    'occurred_on',
    'hours',
    'note',
    'recorded_by',
    'created_at',
    'voided_at',
    'voided_by',
    'void_reason',
  ],
  assessments: [
    'id',
    'subject_id',
    'month',
    'score',
    'facts',
    'recommended_level',
    'recommended_sanction',
    'status',
    'final_level',
    'final_sanction',
    'decided_by',
    'decided_at',
    'decision_reason',
    'computed_at',
  ],
  assessment_events: ['id', 'assessment_id', 'at', 'actor_id', 'action', 'data'],
  sanctions: ['id', 'subject_id', 'kind', 'decided_at', 'decided_by', 'assessment_id', 'reason'],
  schema_migrations: ['version', 'name', 'variant', 'checksum', 'applied_at'],
} as const satisfies { [K in keyof DB]: readonly (keyof DB[K] & string)[] };

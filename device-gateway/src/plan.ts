import type { Rejected } from './decode';
import type { EngineOutcome } from './rules';

/** What one batch will write, built by the pipeline's stages before the transaction. */
export interface FixRow {
  deviceNo: number;
  tMs: number;
  subjectNo: number;
  latE6: number;
  lonE6: number;
  accDm: number;
  src: number;
  spdCms: number | null;
  hdgDeg: number | null;
  sat: number | null;
  flags: number;
  recvLagMs: number;
}

export interface QuarantineRow {
  deviceNo: number;
  subjectNo: number | null;
  fixTimeMs: number;
  receivedAtMs: number;
  reason: 'future' | 'before_2020';
  fix: unknown;
}

export interface EventRow {
  deviceNo: number;
  tMs: number;
  type: string;
  subjectNo: number | null;
  seq: number;
  known: boolean;
  bat: number | null;
  latE6: number | null;
  lonE6: number | null;
  receivedAtMs: number;
}

export interface HeartbeatRow {
  deviceNo: number;
  tMs: number;
  seq: number;
  bat: number | null;
  chg: boolean | null;
  rssi: number | null;
  fw: string | null;
  receivedAtMs: number;
}

export interface CheckinRow {
  deviceNo: number;
  tMs: number;
  subjectRef: string;
  subjectNo: number | null;
  seq: number;
  method: 'fingerprint' | 'voiceprint' | 'face';
  result: 'match' | 'no_match' | 'spoof_suspected';
  score: number;
  liveness: boolean | null;
  latE6: number | null;
  lonE6: number | null;
  receivedAtMs: number;
}

export interface SecurityRow {
  clientId: string | null;
  kind: string;
  topic: string | null;
  detail: string;
}

/** Per-device changes merged into device_state in the same transaction. */
export interface DeviceUpdate {
  deviceNo: number;
  lastSeenMs: number;
  lastSeq: number | null;
  ackedSeq: number | null;
  above: number[];
  stuckSinceMs: number | null;
  seqGaps: number;
  battery: number | null;
  batteryAtMs: number | null;
  charging: boolean | null;
  rssi: number | null;
  firmware: string | null;
  online: boolean | null;
  /** Newest stored fix of this batch; replaces the latest position only if newer. */
  latest: { tMs: number; latE6: number; lonE6: number; accDm: number; src: number } | null;
}

export interface CommandResultRow {
  deviceId: string;
  commandId: string;
  status: 'done' | 'failed' | 'rejected';
  atMs: number;
}

export interface BatchPlan {
  fixes: FixRow[];
  quarantined: QuarantineRow[];
  events: EventRow[];
  heartbeats: HeartbeatRow[];
  checkins: CheckinRow[];
  rejected: Rejected[];
  security: SecurityRow[];
  commandResults: CommandResultRow[];
  devices: Map<number, DeviceUpdate>;
  /** device id → seq to publish in `ack` once the batch is committed. */
  acks: Map<string, number>;
  /** Fixes acknowledged but not stored as positions: no monitoring order at their time. */
  fixesWithoutOrder: number;
  /** The rules engine's outcomes per subject (state, alert changes, commands). */
  engine: EngineOutcome[];
}

export const emptyPlan = (): BatchPlan => ({
  fixes: [],
  quarantined: [],
  events: [],
  heartbeats: [],
  checkins: [],
  rejected: [],
  security: [],
  commandResults: [],
  devices: new Map(),
  acks: new Map(),
  fixesWithoutOrder: 0,
  engine: [],
});

/** Fix flag bits (fixes.flags). */
export const FIX_FLAG_LOW_ACCURACY = 1;
export const FIX_FLAG_LATE = 2;

export const SOURCE_CODE = { gnss: 0, lbs: 1, wifi: 2 } as const;

export const toE6 = (deg: number) => Math.round(deg * 1e6);
const INT4_MAX = 2_147_483_647;
export const clampInt4 = (n: number) => Math.max(-INT4_MAX, Math.min(INT4_MAX, Math.round(n)));

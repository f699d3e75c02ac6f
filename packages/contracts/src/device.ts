import { z } from 'zod';
import { Latitude, Longitude } from './zones';

/**
 * Device ↔ platform contract over MQTT (v1): shared/contracts/device-mqtt.md.
 * Change only by adding optional fields or a new version prefix.
 */

/** clientId = username = device id. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{3,64}$/;
export const DeviceId = z
  .string()
  .regex(DEVICE_ID_PATTERN, 'device id must match [A-Za-z0-9_-]{3,64}');

export const DEVICE_KINDS = ['wristband', 'terminal', 'phone'] as const;
export const DeviceKind = z.enum(DEVICE_KINDS);
export type DeviceKind = z.infer<typeof DeviceKind>;

export const TOPIC_PREFIX = 'ccm/v1/dev';
export const MAX_MESSAGE_BYTES = 64 * 1024;
export const MAX_FIXES_PER_MESSAGE = 500;
/** Fixes further ahead of the receive time than this are quarantined. */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;
/** Fixes before this instant (2020-01-01T00:00:00Z) are quarantined. */
export const EARLIEST_FIX_TIME_MS = Date.UTC(2020, 0, 1);

/** Per-device message sequence: only grows, kept across reboots. */
const Seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** Integer milliseconds since the Unix epoch, UTC. */
const EpochMs = z.number().int().nonnegative().max(8.64e15);

export const FIX_SOURCES = ['gnss', 'lbs', 'wifi'] as const;
export const FixSource = z.enum(FIX_SOURCES);
export type FixSource = z.infer<typeof FixSource>;

export const Fix = z.object({
  t: EpochMs,
  lat: Latitude,
  lon: Longitude,
  /** Horizontal accuracy radius in metres (68 %). */
  acc: z.number().finite().positive().max(1_000_000),
  src: FixSource,
  /** m/s */
  spd: z.number().finite().min(0).max(1000).optional(),
  /** degrees, 0–360 */
  hdg: z.number().finite().min(0).max(360).optional(),
  sat: z.number().int().min(0).max(255).optional(),
});
export type Fix = z.infer<typeof Fix>;

export const FixMessage = z.object({
  seq: Seq,
  fixes: z.array(Fix).min(1).max(MAX_FIXES_PER_MESSAGE),
});
export type FixMessage = z.infer<typeof FixMessage>;

export const KNOWN_EVENT_TYPES = [
  'strap_open',
  'strap_closed',
  'case_open',
  'battery_low',
  'battery_critical',
  'charging_start',
  'charging_stop',
  'power_off',
  'power_on',
  'gnss_jamming',
  'sos',
  'fall',
] as const;
export type KnownEventType = (typeof KNOWN_EVENT_TYPES)[number];
export const isKnownEventType = (type: string): type is KnownEventType =>
  (KNOWN_EVENT_TYPES as readonly string[]).includes(type);

/** Unknown event types are stored and flagged, not dropped: the type is any short token. */
export const EventMessage = z.object({
  seq: Seq,
  t: EpochMs,
  type: z.string().regex(/^[a-z0-9_]{1,40}$/, 'event type must be a short lower-case token'),
  bat: z.number().min(0).max(100).optional(),
  lat: Latitude.optional(),
  lon: Longitude.optional(),
});
export type EventMessage = z.infer<typeof EventMessage>;

export const HeartbeatMessage = z.object({
  seq: Seq,
  t: EpochMs,
  bat: z.number().min(0).max(100).optional(),
  chg: z.boolean().optional(),
  rssi: z.number().int().min(-200).max(0).optional(),
  fw: z.string().min(1).max(40).optional(),
});
export type HeartbeatMessage = z.infer<typeof HeartbeatMessage>;

export const CHECKIN_METHODS = ['fingerprint', 'voiceprint', 'face'] as const;
export const CheckinMethod = z.enum(CHECKIN_METHODS);
export const CHECKIN_RESULTS = ['match', 'no_match', 'spoof_suspected'] as const;
export const CheckinResult = z.enum(CHECKIN_RESULTS);

export const CheckinMessage = z.object({
  seq: Seq,
  t: EpochMs,
  subjectId: z.string().min(1).max(64),
  method: CheckinMethod,
  result: CheckinResult,
  score: z.number().min(0).max(1),
  liveness: z.boolean().optional(),
  lat: Latitude.optional(),
  lon: Longitude.optional(),
});
export type CheckinMessage = z.infer<typeof CheckinMessage>;

export const COMMAND_RESULT_STATUSES = ['done', 'failed', 'rejected'] as const;
export const CommandResultMessage = z.object({
  seq: Seq,
  id: z.string().min(1).max(64),
  status: z.enum(COMMAND_RESULT_STATUSES),
});
export type CommandResultMessage = z.infer<typeof CommandResultMessage>;

/** Retained status topic, plain text (also the MQTT will). */
export const DeviceStatusText = z.enum(['online', 'offline']);

export const UPLINK_KINDS = ['fix', 'event', 'hb', 'checkin', 'cmd/result', 'status'] as const;
export type UplinkKind = (typeof UPLINK_KINDS)[number];

export const AckMessage = z.object({ seq: Seq });
export type AckMessage = z.infer<typeof AckMessage>;

export const COMMAND_TYPES = ['warn', 'locate', 'set_interval', 'checkin_request'] as const;
export const CommandType = z.enum(COMMAND_TYPES);
export type CommandType = z.infer<typeof CommandType>;

export const CommandParams = {
  warn: z.object({ text: z.string().min(1).max(200), vibrate: z.boolean().default(true) }),
  locate: z.object({}).strict(),
  set_interval: z.object({ seconds: z.number().int().min(5).max(3600) }),
  checkin_request: z.object({ method: CheckinMethod, deadline: EpochMs }),
} as const;

export const CommandMessage = z.discriminatedUnion('type', [
  z.object({
    id: z.string(),
    type: z.literal('warn'),
    params: CommandParams.warn,
    expires: EpochMs,
  }),
  z.object({
    id: z.string(),
    type: z.literal('locate'),
    params: CommandParams.locate,
    expires: EpochMs,
  }),
  z.object({
    id: z.string(),
    type: z.literal('set_interval'),
    params: CommandParams.set_interval,
    expires: EpochMs,
  }),
  z.object({
    id: z.string(),
    type: z.literal('checkin_request'),
    params: CommandParams.checkin_request,
    expires: EpochMs,
  }),
]);
export type CommandMessage = z.infer<typeof CommandMessage>;

export type ParsedTopic =
  | { ok: true; deviceId: string; kind: UplinkKind }
  | { ok: false; reason: 'bad_prefix' | 'bad_device_id' | 'unknown_kind' };

/** Parses an uplink topic `ccm/v1/dev/{id}/{kind}`. */
export function parseUplinkTopic(topic: string): ParsedTopic {
  const prefix = `${TOPIC_PREFIX}/`;
  if (!topic.startsWith(prefix)) return { ok: false, reason: 'bad_prefix' };
  const rest = topic.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return { ok: false, reason: 'unknown_kind' };
  const deviceId = rest.slice(0, slash);
  if (!DEVICE_ID_PATTERN.test(deviceId)) return { ok: false, reason: 'bad_device_id' };
  const kind = rest.slice(slash + 1);
  if (!(UPLINK_KINDS as readonly string[]).includes(kind))
    return { ok: false, reason: 'unknown_kind' };
  return { ok: true, deviceId, kind: kind as UplinkKind };
}

export const deviceTopic = (deviceId: string, kind: UplinkKind | 'ack' | 'cmd'): string =>
  `${TOPIC_PREFIX}/${deviceId}/${kind}`;

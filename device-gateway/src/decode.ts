import {
  CheckinMessage,
  CommandResultMessage,
  EventMessage,
  FixMessage,
  HeartbeatMessage,
  MAX_MESSAGE_BYTES,
  parseUplinkTopic,
  type CheckinMessage as Checkin,
  type CommandResultMessage as CommandResult,
  type EventMessage as Event,
  type FixMessage as Fixes,
  type HeartbeatMessage as Heartbeat,
} from '@ccm/contracts';
import type { z } from 'zod';

/** Stage 1 of the pipeline: bytes from the broker → a typed message or a rejection. */
export type Decoded =
  | { kind: 'fix'; deviceId: string; seq: number; receivedAtMs: number; body: Fixes }
  | { kind: 'event'; deviceId: string; seq: number; receivedAtMs: number; body: Event }
  | { kind: 'hb'; deviceId: string; seq: number; receivedAtMs: number; body: Heartbeat }
  | { kind: 'checkin'; deviceId: string; seq: number; receivedAtMs: number; body: Checkin }
  | { kind: 'cmd_result'; deviceId: string; seq: number; receivedAtMs: number; body: CommandResult }
  | { kind: 'status'; deviceId: string; receivedAtMs: number; online: boolean }
  | Rejected;

export type RejectReason =
  | 'oversize'
  | 'bad_topic'
  | 'invalid_json'
  | 'schema'
  | 'unknown_device'
  | 'inactive_device'
  | 'store_failed';

export interface Rejected {
  kind: 'rejected';
  /** As claimed by the topic; null when the topic names no valid device id. */
  deviceId: string | null;
  /** The message's seq when one could be read, so the rejection can still be acknowledged. */
  seq: number | null;
  receivedAtMs: number;
  topic: string;
  reason: RejectReason;
  detail: string;
  /** Raw bytes, at most 64 KiB. */
  raw: Uint8Array;
  sizeBytes: number;
}

const BODY_SCHEMAS = {
  fix: FixMessage,
  event: EventMessage,
  hb: HeartbeatMessage,
  checkin: CheckinMessage,
  'cmd/result': CommandResultMessage,
} as const satisfies Record<string, z.ZodType>;

// Reads `"seq": 123` from bytes that are not valid JSON (or too large to parse).
const SEQ_PATTERN = /"seq"\s*:\s*(\d{1,15})[\s,}]/;

function seqFromBytes(payload: Uint8Array): number | null {
  const head = Buffer.from(payload.buffer, payload.byteOffset, Math.min(payload.byteLength, 4096));
  const match = SEQ_PATTERN.exec(head.toString('latin1'));
  return match ? Number(match[1]) : null;
}

function seqFromValue(value: unknown): number | null {
  if (typeof value !== 'object' || value === null) return null;
  const seq = (value as { seq?: unknown }).seq;
  return typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0 ? seq : null;
}

function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/** The message as received, for a rejection (a function of its own: decode runs per message). */
interface Received {
  topic: string;
  payload: Uint8Array;
  receivedAtMs: number;
}

function rejection(
  { topic, payload, receivedAtMs }: Received,
  deviceId: string | null,
  reason: RejectReason,
  detail: string,
  seq: number | null,
): Rejected {
  return {
    kind: 'rejected',
    deviceId,
    seq,
    receivedAtMs,
    topic: topic.slice(0, 512),
    reason,
    detail: detail.slice(0, 1000),
    raw: payload.byteLength > MAX_MESSAGE_BYTES ? payload.subarray(0, MAX_MESSAGE_BYTES) : payload,
    sizeBytes: payload.byteLength,
  };
}

export function decode(topic: string, payload: Uint8Array, receivedAtMs: number): Decoded {
  const parsedTopic = parseUplinkTopic(topic);
  const msg: Received = { topic, payload, receivedAtMs };
  if (!parsedTopic.ok) return rejection(msg, null, 'bad_topic', parsedTopic.reason, null);
  const { deviceId, kind } = parsedTopic;

  if (payload.byteLength > MAX_MESSAGE_BYTES) {
    return rejection(
      msg,
      deviceId,
      'oversize',
      `${payload.byteLength} bytes > ${MAX_MESSAGE_BYTES}`,
      seqFromBytes(payload),
    );
  }

  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  if (kind === 'status') {
    if (text === 'online' || text === 'offline') {
      return { kind: 'status', deviceId, receivedAtMs, online: text === 'online' };
    }
    return rejection(msg, deviceId, 'schema', 'status must be "online" or "offline"', null);
  }

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return rejection(msg, deviceId, 'invalid_json', (err as Error).message, seqFromBytes(payload));
  }
  const schema = BODY_SCHEMAS[kind];
  const result = schema.safeParse(value);
  if (!result.success) {
    return rejection(msg, deviceId, 'schema', describeZodError(result.error), seqFromValue(value));
  }
  const body = result.data;
  switch (kind) {
    case 'fix':
      return { kind: 'fix', deviceId, seq: body.seq, receivedAtMs, body: body as Fixes };
    case 'event':
      return { kind: 'event', deviceId, seq: body.seq, receivedAtMs, body: body as Event };
    case 'hb':
      return { kind: 'hb', deviceId, seq: body.seq, receivedAtMs, body: body as Heartbeat };
    case 'checkin':
      return { kind: 'checkin', deviceId, seq: body.seq, receivedAtMs, body: body as Checkin };
    case 'cmd/result':
      return {
        kind: 'cmd_result',
        deviceId,
        seq: body.seq,
        receivedAtMs,
        body: body as CommandResult,
      };
  }
}

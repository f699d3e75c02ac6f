import type { AlertType } from '@ccm/contracts';
import { isKnownEventType } from '@ccm/contracts';
import { alertKey, eventFromRecord, lateness, raisedEvents } from './alerts';
import type { AlertRecord } from './state';
import type {
  AlertEvent,
  AlertEvidence,
  DeviceEventInput,
  EngineOptions,
  FixInput,
  HeartbeatInput,
} from './types';

/**
 * Device rules: events (strap, case, battery, power, jamming, SOS) open alerts; later
 * messages end them. Events may arrive late too: an opening event older than a signal
 * that would have ended it opens an alert that is already ended.
 */

interface Opener {
  type: AlertType;
  /** A point-in-time alert (nothing reports its end): raised already ended. */
  instant?: boolean;
}

const OPENERS: Readonly<Record<string, Opener>> = {
  strap_open: { type: 'strap_tamper' },
  case_open: { type: 'case_tamper', instant: true },
  battery_low: { type: 'battery_low' },
  battery_critical: { type: 'battery_critical' },
  power_off: { type: 'power_off' },
  gnss_jamming: { type: 'gnss_jamming' },
  sos: { type: 'sos', instant: true },
};

const CLOSERS: Readonly<Record<string, readonly AlertType[]>> = {
  strap_closed: ['strap_tamper'],
  charging_start: ['battery_low', 'battery_critical'],
  power_on: ['power_off'],
};

const BATTERY: readonly AlertType[] = ['battery_low', 'battery_critical'];

/** Anything the device sent, on the device's clock. */
interface Signal {
  atMs: number;
  label: string;
  batteryPct: number | null;
  closes: readonly AlertType[];
  event: DeviceEventInput | null;
}

/** What a fix closes: any message shows the device is on; GNSS shows the receiver works. */
const FIX_CLOSES: readonly AlertType[] = ['power_off'];
const GNSS_FIX_CLOSES: readonly AlertType[] = ['power_off', 'gnss_jamming'];

function recovered(pct: number | undefined, options: EngineOptions): boolean {
  return pct !== undefined && pct >= options.batteryRecoveredPct;
}

function signalsOf(
  events: readonly DeviceEventInput[],
  heartbeats: readonly HeartbeatInput[],
  fixes: readonly FixInput[],
  options: EngineOptions,
): Signal[] {
  const signals: Signal[] = [
    ...events.map((e): Signal => ({
      atMs: e.eventTimeMs,
      label: e.type,
      batteryPct: e.batteryPct ?? null,
      closes: [
        ...(CLOSERS[e.type] ?? []),
        ...(recovered(e.batteryPct, options) ? BATTERY : []),
        // Any later message shows the device is on again.
        ...(e.type === 'power_off' ? [] : (['power_off'] as const)),
      ],
      event: e,
    })),
    ...heartbeats.map((h): Signal => ({
      atMs: h.heartbeatTimeMs,
      label: 'heartbeat',
      batteryPct: h.batteryPct ?? null,
      closes: [
        'power_off',
        ...(h.charging === true || recovered(h.batteryPct, options) ? BATTERY : []),
      ],
      event: null,
    })),
    ...fixes.map((f): Signal => ({
      atMs: f.fixTimeMs,
      label: 'fix',
      batteryPct: null,
      closes: f.source === 'gnss' ? GNSS_FIX_CLOSES : FIX_CLOSES,
      event: null,
    })),
  ];
  return signals.sort((a, b) => a.atMs - b.atMs);
}

export interface DeviceRulesInput {
  subjectId: string;
  deviceId: string | null;
  events: readonly DeviceEventInput[];
  heartbeats: readonly HeartbeatInput[];
  fixes: readonly FixInput[];
  records: readonly AlertRecord[];
  endSignals: Partial<Record<AlertType, number>>;
  /** Where to place an alert whose event carries no position (last known fix). */
  lastPosition: { lat: number; lon: number } | null;
  options: EngineOptions;
}

export function applyDeviceRules(input: DeviceRulesInput): {
  events: AlertEvent[];
  records: readonly AlertRecord[];
  endSignals: Partial<Record<AlertType, number>>;
  unknownEvents: DeviceEventInput[];
} {
  const { subjectId, options } = input;
  // Copied on the first change: most batches (fixes, nothing open) change no record.
  let records: readonly AlertRecord[] = input.records;
  const endSignals = { ...input.endSignals };
  const events: AlertEvent[] = [];
  const unknownEvents: DeviceEventInput[] = [];

  for (const signal of signalsOf(input.events, input.heartbeats, input.fixes, options)) {
    for (const type of signal.closes) {
      endSignals[type] = Math.max(endSignals[type] ?? -Infinity, signal.atMs);
      const i = records.findIndex(
        (r) => r.type === type && r.zoneId === null && r.endedAtMs === null,
      );
      const open = records[i];
      if (!open || open.startedAtMs >= signal.atMs) continue;
      const ended = { ...open, endedAtMs: signal.atMs };
      records = records.with(i, ended);
      events.push(
        eventFromRecord(
          'end',
          ended,
          subjectId,
          {
            kind: 'event',
            eventType: signal.label,
            eventTimeMs: signal.atMs,
            batteryPct: signal.batteryPct,
          },
          options,
        ),
      );
    }
    const event = signal.event;
    if (!event) continue;
    const opener = OPENERS[event.type];
    if (!opener) {
      // Known types without an alert of their own (fall, charging_stop …) are not "unknown".
      if (!isKnownEventType(event.type)) unknownEvents.push(event);
      continue;
    }
    const record = openRecord(input, records, endSignals, opener, event);
    if (!record) continue;
    records = [...records, record];
    const opened: AlertEvidence = {
      kind: 'event',
      eventType: event.type,
      eventTimeMs: event.eventTimeMs,
      batteryPct: event.batteryPct ?? null,
    };
    // Instant alerts end when raised; a late opener may already have a later closing signal.
    const ended: AlertEvidence = opener.instant
      ? opened
      : {
          kind: 'event',
          eventType: 'later_signal',
          eventTimeMs: record.endedAtMs ?? 0,
          batteryPct: null,
        };
    events.push(...raisedEvents(record, subjectId, opened, ended, options));
  }
  return { events, records, endSignals, unknownEvents };
}

function openRecord(
  input: DeviceRulesInput,
  records: readonly AlertRecord[],
  endSignals: Partial<Record<AlertType, number>>,
  opener: Opener,
  event: DeviceEventInput,
): AlertRecord | null {
  const { type } = opener;
  const startedAtMs = event.eventTimeMs;
  const key = alertKey(input.subjectId, type, null, startedAtMs);
  // One violation, one alert: an open one absorbs repeats; a re-delivered event has its key.
  if (records.some((r) => r.key === key)) return null;
  if (records.some((r) => r.type === type && r.zoneId === null && r.endedAtMs === null))
    return null;
  if (
    opener.instant &&
    records.some(
      (r) =>
        r.type === type && Math.abs(r.startedAtMs - startedAtMs) < input.options.instantCoalesceMs,
    )
  ) {
    return null;
  }
  const laterEnd = endSignals[type];
  const endedAtMs = opener.instant
    ? startedAtMs
    : laterEnd !== undefined && laterEnd > startedAtMs
      ? laterEnd
      : null;
  const hasPosition = Number.isFinite(event.lat) && Number.isFinite(event.lon);
  return {
    key,
    type,
    zoneId: null,
    startedAtMs,
    endedAtMs,
    lat: hasPosition ? (event.lat ?? null) : (input.lastPosition?.lat ?? null),
    lon: hasPosition ? (event.lon ?? null) : (input.lastPosition?.lon ?? null),
    ...lateness(Math.max(0, event.receivedAtMs - startedAtMs), input.options),
    deviceId: input.deviceId,
    retracted: false,
  };
}

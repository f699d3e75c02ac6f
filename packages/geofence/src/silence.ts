import type { AlertType } from '@ccm/contracts';
import { alertKey, eventFromRecord, pruneRecords, sortEvents } from './alerts';
import { deriveCommands } from './commands';
import { resolveOptions } from './defaults';
import { assertTime } from './engine';
import type { AlertRecord, SubjectState } from './state';
import { cloneDerived } from './state';
import { deriveEpisodes, reconcile } from './track/episodes';
import type { Transition } from './track/step';
import { closeEndedWindows } from './track/step';
import type { AlertEvent, AlertEvidence, DeviceCommand, EngineOptions } from './types';

export interface SilenceOptions {
  /** The subject's reporting interval, seconds. */
  intervalS: number;
  /** Allowance on top of the interval before `no_signal`, seconds. */
  graceS: number;
  /** Messages keep coming but no fix for this long: `no_location`, seconds. */
  noLocationS: number;
  deviceId?: string | null;
  engine?: Partial<EngineOptions>;
}

export interface SilenceResult {
  state: SubjectState;
  alerts: AlertEvent[];
  commands: DeviceCommand[];
}

/**
 * The gateway's timer calls this (no clock inside): opens `no_signal` when nothing arrived
 * for interval + grace (started at the last message), `no_location` when messages arrive
 * but the newest fix is older than `noLocationS` (started at that fix), each at most once;
 * ends them if the condition has cleared. It also ends zone violations whose schedule
 * window has closed by `nowMs` (a curfew that ends at 06:00 ends at 06:00 even if the
 * device is silent), which needs no zones: the window end is in the state.
 */
export function checkSilence(
  state: SubjectState,
  nowMs: number,
  opts: SilenceOptions,
): SilenceResult {
  assertTime(nowMs);
  const options = resolveOptions(opts.engine);
  const deviceId = opts.deviceId ?? null;
  const head = cloneDerived(state.head);
  const transitions: Transition[] = [];
  closeEndedWindows(head, nowMs, transitions);
  const zones = reconcile(deriveEpisodes(state.head, transitions), state.alerts, {
    subjectId: state.subjectId,
    deviceId,
    options,
    horizonMs: Infinity,
  });
  let records = zones.records;
  const alerts = [...zones.events];

  const { lastMessageAtMs, lastFixTimeMs, sinceMs } = state.contact;
  const signalRef = lastMessageAtMs ?? sinceMs;
  const signalLimitS = opts.intervalS + opts.graceS;
  const silent = signalRef !== null && nowMs - signalRef > signalLimitS * 1000;
  const signal = toggle(records, 'no_signal', silent, signalRef, lastMessageAtMs, {
    kind: 'silence',
    lastMessageAtMs,
    thresholdS: signalLimitS,
  });
  records = signal.records;
  alerts.push(...signal.events);

  const fixRef = lastFixTimeMs ?? sinceMs;
  const lost = !silent && fixRef !== null && nowMs - fixRef > opts.noLocationS * 1000;
  // While the device is silent no_location is neither opened nor ended: no_signal covers it.
  if (!silent) {
    const location = toggle(records, 'no_location', lost, fixRef, lastFixTimeMs, {
      kind: 'no_location',
      lastFixTimeMs,
      thresholdS: opts.noLocationS,
    });
    records = location.records;
    alerts.push(...location.events);
  }

  function toggle(
    current: readonly AlertRecord[],
    type: AlertType,
    condition: boolean,
    startedAtMs: number | null,
    clearedAtMs: number | null,
    evidence: AlertEvidence,
  ): { records: readonly AlertRecord[]; events: AlertEvent[] } {
    const open = current.find((r) => r.type === type && r.endedAtMs === null);
    if (condition && !open && startedAtMs !== null) {
      const record: AlertRecord = {
        key: alertKey(state.subjectId, type, null, startedAtMs),
        type,
        zoneId: null,
        startedAtMs,
        endedAtMs: null,
        lat: state.head.anchor?.[1] ?? null,
        lon: state.head.anchor?.[2] ?? null,
        late: false,
        lateByMs: 0,
        deviceId,
        retracted: false,
      };
      if (current.some((r) => r.key === record.key)) return { records: current, events: [] };
      return {
        records: [...current, record],
        events: [eventFromRecord('open', record, state.subjectId, evidence, options)],
      };
    }
    if (!condition && open) {
      const ended = { ...open, endedAtMs: Math.max(open.startedAtMs, clearedAtMs ?? nowMs) };
      return {
        records: current.map((r) => (r === open ? ended : r)),
        events: [eventFromRecord('end', ended, state.subjectId, evidence, options)],
      };
    }
    return { records: current, events: [] };
  }

  const commands = deriveCommands(alerts, records, state.commandedIntervalS, options);
  return {
    state: {
      ...state,
      head,
      alerts: pruneRecords(records, options.alertLogMax),
      commandedIntervalS: commands.commandedIntervalS,
      clockMs: Math.max(nowMs, state.clockMs ?? -Infinity),
    },
    alerts: sortEvents(alerts),
    commands: commands.commands,
  };
}

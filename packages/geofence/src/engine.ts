import {
  alertKey,
  eventFromRecord,
  lateness,
  pruneRecords,
  raisedEvents,
  sortEvents,
} from './alerts';
import { deriveCommands } from './commands';
import { resolveOptions } from './defaults';
import { applyDeviceRules } from './device';
import type { AlertRecord, DerivedState, StoredFix, SubjectState } from './state';
import { emptyDerived, toStoredFix } from './state';
import type { Episode } from './track/episodes';
import { deriveEpisodes, reconcile } from './track/episodes';
import type { StepContext, Transition } from './track/step';
import { replay } from './track/step';
import type {
  AlertEvent,
  AlertEvidence,
  DeviceCommand,
  DeviceEventInput,
  EngineOptions,
  FixInput,
  HeartbeatInput,
  IgnoredFix,
} from './types';
import { FixWindow } from './window';
import type { SubjectZones } from './zones';

export interface BatchInput {
  /** The device that sent these messages (copied onto new alerts). */
  deviceId?: string | null;
  fixes?: readonly FixInput[];
  events?: readonly DeviceEventInput[];
  heartbeats?: readonly HeartbeatInput[];
  /** Platform time of the batch. Schedule windows that ended by then are closed. */
  nowMs: number;
}

export interface BatchResult {
  state: SubjectState;
  /** Changes to alerts, in time order. */
  alerts: AlertEvent[];
  commands: DeviceCommand[];
  /** Events of types this engine has no rule for: store and flag them, no alert. */
  unknownEvents: DeviceEventInput[];
  ignoredFixes: IgnoredFix[];
}

/**
 * One batch for one subject: fixes, events and heartbeats in, new state and alert changes
 * out. Pure: the input state is not modified and no clock is read.
 *
 * The pipeline: validate → de-duplicate → zone rules (in order: continue from `head`; out of
 * order: re-derive from `base` over the window) → fixes older than the window → trim the
 * window → contact → device rules → commands.
 */
export function processBatch(
  state: SubjectState,
  input: BatchInput,
  zones: SubjectZones,
  options?: Partial<EngineOptions>,
): BatchResult {
  assertTime(input.nowMs);
  const opts = resolveOptions(options);
  const ctx: StepContext = { subject: zones, options: opts };
  const deviceId = input.deviceId ?? null;
  const ignoredFixes: IgnoredFix[] = [];

  const valid = validFixes(input.fixes ?? [], ignoredFixes);
  const fresh = newFixes(valid, state.window, ignoredFixes);
  // Fixes at or before `baseUntilMs` were folded into base: they cannot join the window.
  const baseUntilMs = state.baseUntilMs ?? -Infinity;
  const tooOld = fresh.filter((f) => f[0] <= baseUntilMs);
  const inWindow = fresh.filter((f) => f[0] > baseUntilMs);

  // Platform time never goes backwards for the engine, or a closed schedule window could reopen.
  const clockMs = Math.max(input.nowMs, state.clockMs ?? -Infinity);
  const zonePass = runZoneRules(state, inWindow, clockMs, deviceId, ctx);
  ignoredFixes.push(...rejectedFixes(zonePass.transitions, inWindow));
  let records: readonly AlertRecord[] = zonePass.records;
  const alerts = [...zonePass.events];

  const isolated = evaluateTooOld(tooOld, records, state.subjectId, deviceId, ctx);
  records = isolated.records;
  alerts.push(...isolated.events);

  const trimmed = trimWindow(zonePass.window, zonePass.base, state.baseUntilMs, ctx);

  const contact = updateContact(state, valid, input, records, opts);
  records = contact.records;
  alerts.push(...contact.events);

  const device = applyDeviceRules({
    subjectId: state.subjectId,
    deviceId,
    events: input.events ?? [],
    heartbeats: input.heartbeats ?? [],
    fixes: valid,
    records,
    endSignals: state.device.endSignals,
    lastPosition: positionOf(zonePass.head.anchor),
    options: opts,
  });
  records = device.records;
  alerts.push(...device.events);

  const commands = deriveCommands(alerts, records, state.commandedIntervalS, opts);
  return {
    state: {
      ...state,
      window: trimmed.window,
      baseUntilMs: trimmed.baseUntilMs,
      base: trimmed.base,
      head: zonePass.head,
      alerts: pruneRecords(records, opts.alertLogMax),
      device: { endSignals: device.endSignals },
      contact: contact.contact,
      commandedIntervalS: commands.commandedIntervalS,
      clockMs,
    },
    alerts: sortEvents(alerts),
    commands: commands.commands,
    unknownEvents: device.unknownEvents,
    ignoredFixes,
  };
}

/** A bad `nowMs` is a caller bug; caught here it cannot reach the persisted state. */
export function assertTime(nowMs: number): void {
  if (!Number.isFinite(nowMs)) {
    throw new RangeError(`nowMs must be finite milliseconds since the epoch, got ${nowMs}`);
  }
}

function validFixes(fixes: readonly FixInput[], ignored: IgnoredFix[]): FixInput[] {
  return fixes.filter((f) => {
    const ok = isValidFix(f);
    if (!ok) ignored.push({ fixTimeMs: f.fixTimeMs, reason: 'invalid' });
    return ok;
  });
}

/** The engine's validity rule for a fix (restore.ts rebuilds windows with it too). */
export function isValidFix(f: FixInput): boolean {
  return (
    Number.isFinite(f.fixTimeMs) &&
    Number.isFinite(f.lat) &&
    Number.isFinite(f.lon) &&
    Math.abs(f.lat) <= 90 &&
    Math.abs(f.lon) <= 180 &&
    Number.isFinite(f.accuracyM) &&
    f.accuracyM >= 0 &&
    Number.isFinite(f.receivedAtMs) &&
    (f.source === 'gnss' || f.source === 'lbs' || f.source === 'wifi')
  );
}

/** Same device and fix time is the same fix (MQTT contract): the first one received wins. */
function newFixes(valid: readonly FixInput[], window: FixWindow, ignored: IgnoredFix[]) {
  const fresh: StoredFix[] = [];
  const byTime =
    valid.length < 2
      ? valid
      : [...valid].sort((a, b) => a.fixTimeMs - b.fixTimeMs || a.receivedAtMs - b.receivedAtMs);
  for (const fix of byTime) {
    const stored = toStoredFix(fix);
    const previous = fresh[fresh.length - 1];
    if ((previous && previous[0] === stored[0]) || window.has(stored[0])) {
      ignored.push({ fixTimeMs: fix.fixTimeMs, reason: 'duplicate' });
      continue;
    }
    fresh.push(stored);
  }
  return fresh;
}

function rejectedFixes(transitions: readonly Transition[], batch: readonly StoredFix[]) {
  const inBatch = new Set(batch.map((f) => f[0]));
  const rejected = new Set<number>();
  for (const t of transitions) {
    if (t.kind === 'rejected' && inBatch.has(t.fixTimeMs)) rejected.add(t.fixTimeMs);
    if (t.kind === 'reanchored') for (const ms of t.fixTimesMs) rejected.delete(ms);
  }
  return [...rejected].map((fixTimeMs): IgnoredFix => ({ fixTimeMs, reason: 'implausible_speed' }));
}

function lastTime(fixes: readonly StoredFix[]): number {
  return fixes[fixes.length - 1]?.[0] ?? -Infinity;
}

/**
 * Fixes newer than everything seen continue from `head`; any older one means the history
 * changed, so the whole window is replayed from `base` and reconciled with what was raised.
 */
function runZoneRules(
  state: SubjectState,
  fixes: readonly StoredFix[],
  nowMs: number,
  deviceId: string | null,
  ctx: StepContext,
) {
  const newest = state.window.lastTime();
  const inOrder = fixes.every((f) => f[0] > newest);
  // In order: only the new fixes are replayed, and appended (in place, see window.ts).
  const merged = inOrder ? null : mergeSorted(state.window.toArray(), fixes);
  const window = merged ? FixWindow.of(merged) : state.window.append(fixes);
  const start = inOrder ? state.head : state.base;
  const replayed = replay(start, merged ?? fixes, ctx, nowMs);
  // Continuing from head can only confirm or end what head knows: the open alerts. A
  // re-derivation from base revisits every alert that ended after base.
  const horizonMs = inOrder ? Infinity : (state.baseUntilMs ?? -Infinity);
  const { events, records } = reconcile(deriveEpisodes(start, replayed.transitions), state.alerts, {
    subjectId: state.subjectId,
    deviceId,
    options: ctx.options,
    horizonMs,
  });
  return {
    window,
    base: state.base,
    head: replayed.derived,
    transitions: replayed.transitions,
    events,
    records,
  };
}

function mergeSorted(a: readonly StoredFix[], b: readonly StoredFix[]): StoredFix[] {
  return [...a, ...b].sort((x, y) => x[0] - y[0]);
}

/**
 * Fixes older than the window cannot be replayed in context. They are evaluated on their
 * own, and only violations that overlap nothing already raised for that zone are reported
 * (late). A violation still open at the last of them ends there: the later history is in
 * `base` and was already evaluated.
 */
function evaluateTooOld(
  fixes: readonly StoredFix[],
  records: readonly AlertRecord[],
  subjectId: string,
  deviceId: string | null,
  ctx: StepContext,
): { events: AlertEvent[]; records: readonly AlertRecord[] } {
  if (fixes.length === 0) return { events: [], records };
  const start = emptyDerived();
  const { transitions } = replay(start, fixes, ctx, null);
  const lastMs = lastTime(fixes);
  const next = [...records];
  const events: AlertEvent[] = [];
  for (const episode of deriveEpisodes(start, transitions).episodes) {
    const ep: Episode = { ...episode, endedAtMs: episode.endedAtMs ?? lastMs };
    const clash = next.some(
      (r) =>
        !r.retracted &&
        r.type === ep.type &&
        r.zoneId === ep.zoneId &&
        r.startedAtMs <= (ep.endedAtMs ?? Infinity) &&
        ep.startedAtMs <= (r.endedAtMs ?? Infinity),
    );
    const key = alertKey(subjectId, ep.type, ep.zoneId, ep.startedAtMs);
    if (clash || next.some((r) => r.key === key)) continue;
    const record: AlertRecord = {
      key,
      type: ep.type,
      zoneId: ep.zoneId,
      startedAtMs: ep.startedAtMs,
      endedAtMs: ep.endedAtMs,
      lat: ep.lat,
      lon: ep.lon,
      ...lateness(ep.lateByMs, ctx.options),
      deviceId,
      retracted: false,
    };
    next.push(record);
    const note: AlertEvidence = {
      kind: 'revised',
      reason: 'evaluated alone: older than the window',
    };
    events.push(
      ...raisedEvents(
        record,
        subjectId,
        ep.openEvidence ?? note,
        ep.endEvidence ?? note,
        ctx.options,
      ),
    );
  }
  return { events, records: next };
}

/**
 * Keeps the window within `windowMs` of the newest fix and `windowMaxFixes`, folding what
 * leaves it into `base`. It trims with 1/8 slack so the fold runs once per many batches.
 */
function trimWindow(
  window: FixWindow,
  base: DerivedState,
  baseUntilMs: number | null,
  ctx: StepContext,
): { window: FixWindow; base: DerivedState; baseUntilMs: number | null } {
  const { windowMs, windowMaxFixes } = ctx.options;
  const newest = window.lastTime();
  const overCount = window.length > windowMaxFixes + Math.floor(windowMaxFixes / 8);
  const overAge = (window.firstTime() ?? newest) < newest - windowMs - windowMs / 8;
  if (!overCount && !overAge) return { window, base, baseUntilMs };
  let cut = 0;
  while (
    cut < window.length &&
    (window.length - cut > windowMaxFixes || window.timeAt(cut) < newest - windowMs)
  ) {
    cut++;
  }
  if (cut === 0) return { window, base, baseUntilMs };
  const folded = window.slice(0, cut);
  return {
    window: window.dropFirst(cut),
    base: replay(base, folded, ctx, null).derived,
    baseUntilMs: lastTime(folded),
  };
}

function positionOf(fix: StoredFix | null): { lat: number; lon: number } | null {
  return fix ? { lat: fix[1], lon: fix[2] } : null;
}

/**
 * Any message ends `no_signal` (at its receive time); a newer fix ends `no_location` (at its
 * fix time). Opening them is `checkSilence`'s job, on the gateway's timer. Runs for every
 * batch: the records are copied only when an alert ends.
 */
function updateContact(
  state: SubjectState,
  valid: readonly FixInput[],
  input: BatchInput,
  records: readonly AlertRecord[],
  options: EngineOptions,
): { contact: SubjectState['contact']; records: readonly AlertRecord[]; events: AlertEvent[] } {
  const received = { min: Infinity, max: -Infinity };
  widen(received, valid);
  widen(received, input.events);
  widen(received, input.heartbeats);
  const contact = { ...state.contact };
  let next = records;
  const events: AlertEvent[] = [];
  const ending = { subjectId: state.subjectId, options, events };
  if (received.max > -Infinity) {
    next = endOpen(next, 'no_signal', received.min, 'message', ending);
    contact.lastMessageAtMs = Math.max(contact.lastMessageAtMs ?? -Infinity, received.max);
  }
  const previousFixMs = contact.lastFixTimeMs ?? -Infinity;
  let newerMin = Infinity;
  let newerMax = -Infinity;
  for (const f of valid) {
    if (f.fixTimeMs <= previousFixMs) continue;
    newerMin = Math.min(newerMin, f.fixTimeMs);
    newerMax = Math.max(newerMax, f.fixTimeMs);
  }
  if (newerMax > -Infinity) {
    next = endOpen(next, 'no_location', newerMin, 'fix', ending);
    contact.lastFixTimeMs = newerMax;
  }
  return { contact, records: next, events };
}

/** The records with the open alert of this type (if any) ended at `atMs`, and its event. */
function endOpen(
  records: readonly AlertRecord[],
  type: AlertRecord['type'],
  atMs: number,
  eventType: string,
  out: { subjectId: string; options: EngineOptions; events: AlertEvent[] },
): readonly AlertRecord[] {
  const i = records.findIndex((r) => r.type === type && r.endedAtMs === null);
  if (i < 0) return records;
  const record = records[i]!;
  const ended = { ...record, endedAtMs: Math.max(atMs, record.startedAtMs) };
  const evidence = { kind: 'event', eventType, eventTimeMs: atMs, batteryPct: null } as const;
  out.events.push(eventFromRecord('end', ended, out.subjectId, evidence, out.options));
  return records.with(i, ended);
}

/** Widens [min, max] by the finite receive times of these messages. */
function widen(
  span: { min: number; max: number },
  messages: readonly { receivedAtMs: number }[] | undefined,
): void {
  for (const m of messages ?? []) {
    if (!Number.isFinite(m.receivedAtMs)) continue;
    span.min = Math.min(span.min, m.receivedAtMs);
    span.max = Math.max(span.max, m.receivedAtMs);
  }
}

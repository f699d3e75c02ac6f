import { describe, expect, it } from 'vitest';
import type {
  AlertEvent,
  DeviceCommand,
  FixInput,
  SubjectState,
  ZoneAssignment,
  ZoneInput,
} from '../src/index';
import { compileZones, createSubjectState, processBatch, zonesForSubject } from '../src/index';
import { HOUR_MS, MIN_MS, fix, offset } from './helpers';

/**
 * 外出审批: an approved leave suspends the home-county zone for its window and adds a
 * destination zone valid for part of it. Validity and suspensions are evaluated at each fix's
 * own time, so a late upload is judged by the rules in force when the fix was taken. What the
 * county would have raised during the leave is raised authorised by the leave: on record, no
 * violation, no warning.
 */
const home = { lat: 22.817, lon: 108.366 };
const destination = offset(home.lat, home.lon, 0, 150_000); // 150 km east
const T0 = Date.parse('2026-12-01T00:00:00Z');
const LEAVE = { fromMs: T0 + 2 * HOUR_MS, toMs: T0 + 50 * HOUR_MS, ref: 'leave-1' };

const ZONES: ZoneInput[] = [
  {
    id: 'county',
    kind: 'inclusion',
    purpose: 'county',
    geometry: { type: 'Circle', center: [home.lon, home.lat], radiusM: 20_000 },
  },
  {
    id: 'leave-dest',
    kind: 'inclusion',
    purpose: 'leave',
    geometry: { type: 'Circle', center: [destination.lon, destination.lat], radiusM: 5_000 },
  },
];
const index = compileZones(ZONES);

const withLeave: ZoneAssignment[] = [
  { zoneId: 'county', suspensions: [LEAVE] },
  {
    zoneId: 'leave-dest',
    // Travel time each way: the destination applies from arrival to departure.
    activeFromMs: LEAVE.fromMs + 6 * HOUR_MS,
    activeToMs: LEAVE.toMs - 6 * HOUR_MS,
  },
];

/** Fixes every 5 minutes from `fromMs` to `toMs` at `where(t)`. */
function track(fromMs: number, toMs: number, where: (tMs: number) => { lat: number; lon: number }) {
  const out: FixInput[] = [];
  for (let t = fromMs; t < toMs; t += 5 * MIN_MS) out.push(fix(t, where(t), 8));
  return out;
}

function live(assignments: ZoneAssignment[], fixes: FixInput[], commands: DeviceCommand[] = []) {
  const zones = zonesForSubject(index, assignments);
  let state: SubjectState = createSubjectState('s-1');
  const alerts: AlertEvent[] = [];
  for (const f of fixes) {
    const result = processBatch(state, { fixes: [f], nowMs: f.receivedAtMs }, zones);
    state = result.state;
    alerts.push(...result.alerts);
    commands.push(...result.commands);
  }
  return alerts;
}

const at = (tMs: number) => new Date(tMs).toISOString();
/** Violations only: what the leave authorised is left out. */
const violations = (alerts: AlertEvent[]) => alerts.filter((a) => a.authorisedBy === null);
const opened = (alerts: AlertEvent[]) =>
  violations(alerts)
    .filter((a) => a.action === 'open')
    .map((a) => `${a.zoneId}@${at(a.startedAtMs)}`);

// Home until the leave starts, travel 4 h, stay at the destination, travel back.
const away = (returnAtMs: number) => (t: number) => {
  if (t < LEAVE.fromMs) return home;
  if (t < LEAVE.fromMs + 4 * HOUR_MS) {
    const s = (t - LEAVE.fromMs) / (4 * HOUR_MS);
    return offset(home.lat, home.lon, 0, 150_000 * s);
  }
  if (t < returnAtMs - 4 * HOUR_MS) return destination;
  if (t < returnAtMs) {
    const s = (returnAtMs - t) / (4 * HOUR_MS);
    return offset(home.lat, home.lon, 0, 150_000 * s);
  }
  return home;
};

describe('approved leave', () => {
  it('without the leave, the same trip is a county exit (越界)', () => {
    const alerts = live([{ zoneId: 'county' }], track(T0, LEAVE.toMs, away(LEAVE.toMs)));
    expect(opened(alerts)).toEqual([expect.stringMatching(/^county@/)]);
  });

  it('a trip inside the approved window raises no violation: the exit is on record as authorised', () => {
    const commands: DeviceCommand[] = [];
    const alerts = live(withLeave, track(T0, LEAVE.toMs + 6 * HOUR_MS, away(LEAVE.toMs)), commands);
    expect(violations(alerts)).toEqual([]);
    // One authorised county exit: confirmed on the way out, ended when the subject was back.
    expect(alerts.map((a) => [a.action, a.zoneId, a.authorisedBy])).toEqual([
      ['open', 'county', 'leave-1'],
      ['end', 'county', 'leave-1'],
    ]);
    expect(alerts[0]!.startedAtMs).toBeGreaterThan(LEAVE.fromMs);
    expect(alerts[0]!.startedAtMs).toBeLessThan(LEAVE.fromMs + 4 * HOUR_MS);
    expect(alerts[1]!.endedAtMs).toBeLessThanOrEqual(LEAVE.toMs);
    // Nothing told the wearer to go back, nor sped the reporting up.
    expect(commands).toEqual([]);
  });

  it('not back by the end of the leave: the county applies again and the exit is raised', () => {
    const returnAt = LEAVE.toMs + 6 * HOUR_MS;
    const all = live(withLeave, track(T0, returnAt + HOUR_MS, away(returnAt)));
    // The authorised episode ends with the leave, at its end.
    const authorised = all.filter((a) => a.authorisedBy === 'leave-1');
    expect(authorised.map((a) => a.action)).toEqual(['open', 'end']);
    expect(authorised[1]!.endedAtMs).toBe(LEAVE.toMs);
    const alerts = violations(all);
    const opens = alerts.filter((a) => a.action === 'open');
    expect(opens.map((a) => a.zoneId)).toEqual(['county']);
    // Confirmed from the first fixes after the window: never before it ends.
    expect(opens[0]!.startedAtMs).toBeGreaterThanOrEqual(LEAVE.toMs);
    expect(opens[0]!.startedAtMs).toBeLessThan(LEAVE.toMs + 30 * MIN_MS);
    // Coming home ends it.
    const ends = alerts.filter((a) => a.action === 'end' && a.zoneId === 'county');
    expect(ends).toHaveLength(1);
    expect(ends[0]!.endedAtMs).toBeGreaterThanOrEqual(returnAt - 30 * MIN_MS);
  });

  it('leaving the destination during the stay is a zone exit of the leave zone', () => {
    const elsewhere = offset(home.lat, home.lon, 80_000, 150_000); // 80 km north of it
    const where = (t: number) =>
      t >= T0 + 20 * HOUR_MS && t < T0 + 24 * HOUR_MS ? elsewhere : away(LEAVE.toMs)(t);
    const alerts = live(withLeave, track(T0, LEAVE.toMs, where));
    expect(opened(alerts)).toEqual([expect.stringMatching(/^leave-dest@2026-12-01T20:/)]);
  });

  it('a county exit already open when the leave starts ends at its start', () => {
    const outside = offset(home.lat, home.lon, 0, 40_000);
    const where = (t: number) => (t < T0 + HOUR_MS ? home : outside);
    const all = live(withLeave, track(T0, T0 + 10 * HOUR_MS, where));
    const alerts = violations(all).filter((a) => a.zoneId === 'county');
    expect(alerts.map((a) => a.action)).toEqual(['open', 'end']);
    expect(alerts[1]!.endedAtMs).toBe(LEAVE.fromMs);
    expect(alerts[1]!.evidence).toEqual({ kind: 'schedule_end', windowEndMs: LEAVE.fromMs });
    // Still outside: from there on the same exit is authorised by the leave, a new record.
    const authorised = all.filter((a) => a.authorisedBy === 'leave-1');
    expect(authorised.map((a) => a.action)).toEqual(['open']);
    expect(authorised[0]!.startedAtMs).toBeGreaterThanOrEqual(LEAVE.fromMs);
    expect(authorised[0]!.key).not.toBe(alerts[0]!.key);
  });

  it('late uploads are judged by the rules in force at each fix time', () => {
    // The whole trip arrives in one backlog a day after the leave ended.
    const returnAt = LEAVE.toMs + 6 * HOUR_MS;
    const fixes = track(T0, returnAt + HOUR_MS, away(returnAt)).map((f) => ({
      ...f,
      receivedAtMs: returnAt + 24 * HOUR_MS,
    }));
    const zones = zonesForSubject(index, withLeave);
    const result = processBatch(
      createSubjectState('s-1'),
      { fixes, nowMs: returnAt + 24 * HOUR_MS },
      zones,
    );
    const opens = violations(result.alerts).filter((a) => a.action === 'open');
    expect(opens.map((a) => a.zoneId)).toEqual(['county']);
    expect(opens[0]!.startedAtMs).toBeGreaterThanOrEqual(LEAVE.toMs);
    expect(opens[0]!.late).toBe(true);
    // The trip itself: one authorised exit, inside the leave.
    const authorised = result.alerts.filter((a) => a.authorisedBy === 'leave-1');
    expect(authorised.map((a) => a.action)).toEqual(['open', 'end']);
    expect(authorised[1]!.endedAtMs).toBe(LEAVE.toMs);
  });
});

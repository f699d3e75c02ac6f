import { DAY_MS, HOUR_MS, MINUTE_MS, localDayNumber, localMidnight, localWeekday } from './clock';
import { legRoute, type DemoPlaces, type Persona, type PlaceName } from './demo-plan';
import { alongPath, polylineLengthM, type LonLat } from './geo';
import { Rng, seedOf } from './random';

/**
 * A subject's ordinary day, as a list of stays and journeys: home at night, the commute,
 * work, a lunch walk, errands, the weekly check-in at the office, home again well before the
 * 22:00 curfew. Pure: the same person and day always give the same plan, so nothing but the
 * current segment needs to be kept per device.
 *
 * With a routine speed S > 1 (time mode `compress`) stays last 1/S as long and several short
 * days follow each other between 06:30 and 21:30 China time, while journeys still take real
 * time at real speeds; nights stay nights.
 */
export type Env = 'indoor' | 'outdoor';

export interface Stay {
  kind: 'stay';
  place: PlaceName;
  startMs: number;
  endMs: number;
  env: Env;
  /** On the charger (at home, evenings). */
  charging: boolean;
  /** Routine time per device time: the routine speed for a compressed stay, else 1. */
  pace: number;
}

export interface Journey {
  kind: 'move';
  from: PlaceName;
  to: PlaceName;
  startMs: number;
  endMs: number;
  path: LonLat[];
  lengthM: number;
  speedMps: number;
  mode: 'walk' | 'vehicle';
}

export type Segment = Stay | Journey;

export interface Whereabouts {
  p: LonLat;
  env: Env;
  speedMps: number;
  hdg: number | null;
  charging: boolean;
  /** The place of a stay, or the destination of a journey. */
  place: PlaceName;
  moving: boolean;
  /** Routine time per device time here (battery drains and charges at this pace). */
  pace: number;
}

export interface RoutineSubject {
  index: number;
  places: DemoPlaces;
  persona: Persona;
}

const ENV: Record<PlaceName, Env> = {
  home: 'indoor',
  work: 'indoor',
  office: 'indoor',
  market: 'outdoor',
  park: 'outdoor',
};

/** Walk up to this distance; farther, take a bus, e-bike or car. */
const WALK_MAX_M = 1500;
const DAY_START = 6 * HOUR_MS + 30 * MINUTE_MS;
/** Home and on the charger from here; the curfew at 22:00 finds everyone at home. */
const HOME_BY = 21 * HOUR_MS + 30 * MINUTE_MS;
const CHARGE_UNTIL = 23 * HOUR_MS;
/** How long an office visit for the weekly check-in lasts (indoors). */
export const CHECKIN_VISIT_MS = 25 * MINUTE_MS;
/** The check-in happens this long after arriving at the office. */
export const CHECKIN_AFTER_ARRIVAL_MS = 10 * MINUTE_MS;

interface Step {
  place: PlaceName;
  /** Routine duration of the stay, ms (divided by the routine speed). */
  stayMs: number;
}

/** One "day" of activities away from the night at home (durations at routine speed 1). */
function daySteps(subject: RoutineSubject, rng: Rng): Step[] {
  const steps: Step[] = [];
  if (subject.places.work) {
    steps.push({ place: 'work', stayMs: rng.range(3.5, 4.5) * HOUR_MS });
    if (rng.chance(0.4)) {
      steps.push({ place: 'market', stayMs: rng.range(25, 45) * MINUTE_MS });
      steps.push({ place: 'work', stayMs: rng.range(3.5, 4.5) * HOUR_MS });
    } else {
      steps[0]!.stayMs += rng.range(4, 4.5) * HOUR_MS;
    }
    steps.push({ place: 'home', stayMs: rng.range(1, 2) * HOUR_MS });
    const evening = rng.next();
    if (evening < 0.3) steps.push({ place: 'market', stayMs: rng.range(20, 40) * MINUTE_MS });
    else if (evening < 0.5) steps.push({ place: 'park', stayMs: rng.range(30, 50) * MINUTE_MS });
  } else {
    steps.push({ place: 'home', stayMs: rng.range(1, 2.5) * HOUR_MS });
    steps.push({ place: 'market', stayMs: rng.range(40, 70) * MINUTE_MS });
    steps.push({ place: 'home', stayMs: rng.range(2, 4) * HOUR_MS });
    if (rng.chance(0.6)) steps.push({ place: 'park', stayMs: rng.range(45, 90) * MINUTE_MS });
    steps.push({ place: 'home', stayMs: rng.range(1, 2) * HOUR_MS });
    if (rng.chance(0.3)) steps.push({ place: 'market', stayMs: rng.range(20, 40) * MINUTE_MS });
  }
  return steps;
}

function journey(
  subject: RoutineSubject,
  from: PlaceName,
  to: PlaceName,
  startMs: number,
): Journey | null {
  const path = legRoute(subject.places, subject.index, from, to);
  if (!path) return null;
  const lengthM = polylineLengthM(path);
  const walk = lengthM <= WALK_MAX_M;
  const speedMps = walk ? subject.persona.walkMps : subject.persona.driveMps;
  // Vehicles stop at lights: add a minute per two kilometres.
  const extraMs = walk ? 0 : (lengthM / 2000) * MINUTE_MS;
  return {
    kind: 'move',
    from,
    to,
    startMs,
    endMs: startMs + Math.round((lengthM / speedMps) * 1000 + extraMs),
    path,
    lengthM,
    speedMps,
    mode: walk ? 'walk' : 'vehicle',
  };
}

/** Upper bound of a journey's duration (for planning ahead), ms. */
function journeyMs(subject: RoutineSubject, from: PlaceName, to: PlaceName): number {
  const j = journey(subject, from, to, 0);
  return j ? j.endMs : 0;
}

/**
 * The plan of the China-time day holding `atMs`: contiguous segments from local midnight to
 * the next midnight, starting and ending at home.
 */
export function dayPlan(subject: RoutineSubject, atMs: number, routineSpeed = 1): Segment[] {
  const midnight = localMidnight(atMs);
  const dayNo = localDayNumber(atMs);
  const rng = new Rng(seedOf('day', subject.index, dayNo));
  const speed = Math.max(1, routineSpeed);
  const segments: Segment[] = [];
  let at: PlaceName = 'home';
  let t = midnight;
  const stay = (place: PlaceName, endMs: number, charging = false, pace = 1) => {
    if (endMs <= t) return;
    const last = segments[segments.length - 1];
    if (
      last?.kind === 'stay' &&
      last.place === place &&
      last.charging === charging &&
      last.pace === pace
    ) {
      last.endMs = endMs;
    } else {
      segments.push({ kind: 'stay', place, startMs: t, endMs, env: ENV[place], charging, pace });
    }
    t = endMs;
  };
  const go = (to: PlaceName) => {
    if (to === at) return;
    const j = journey(subject, at, to, t);
    if (!j) return;
    segments.push(j);
    t = j.endMs;
    at = to;
  };

  // Night: at home; charged in the late evening, worn all night.
  stay('home', midnight + DAY_START + subject.persona.startOffsetMin * MINUTE_MS);
  const homeBy = midnight + HOME_BY;
  for (let cycle = 0; ; cycle++) {
    const steps = daySteps(
      subject,
      cycle === 0 ? rng : new Rng(seedOf('cycle', subject.index, dayNo, cycle)),
    );
    // Will this day (stays at routine speed, journeys in real time) end at home in time?
    // If not, drop its last activities; if nothing fits, the rest of the day is at home.
    const needed = () => {
      let total = 0;
      let from: PlaceName = at;
      for (const s of steps) {
        total += journeyMs(subject, from, s.place) + Math.max(2 * MINUTE_MS, s.stayMs / speed);
        from = s.place;
      }
      return total + journeyMs(subject, from, 'home');
    };
    while (steps.length > 0 && t + needed() > homeBy) steps.pop();
    if (steps.length === 0) break;
    for (const s of steps) {
      go(s.place);
      const ms = Math.max(2 * MINUTE_MS, s.stayMs / speed);
      stay(s.place, t + ms, false, s.stayMs / ms);
    }
    go('home');
    if (speed === 1) break;
    // A short night between short days: at home, on the charger.
    const chargeMs = Math.max(3 * MINUTE_MS, (1.5 * HOUR_MS) / speed);
    stay('home', t + chargeMs, true, (1.5 * HOUR_MS) / chargeMs);
    const nightMs = Math.max(3 * MINUTE_MS, (6.5 * HOUR_MS) / speed);
    stay('home', t + nightMs, false, (6.5 * HOUR_MS) / nightMs);
  }
  go('home');
  stay('home', Math.max(t, homeBy));
  stay('home', midnight + CHARGE_UNTIL, true);
  stay('home', midnight + DAY_MS);
  return insertCheckin(subject, segments, atMs);
}

/**
 * The weekly check-in: on the subject's weekday the subject goes to the office at
 * 09:00 + `checkinMinute` (or up to two hours later if that falls in a journey), stays
 * 25 minutes, and goes back. The terminal there reports the check-in 10 minutes after arrival.
 */
function insertCheckin(subject: RoutineSubject, segments: Segment[], atMs: number): Segment[] {
  const slot = checkinSlot(subject, atMs, segments);
  if (!slot) return segments;
  const { index, there, back, arriveMs } = slot;
  const host = segments[index] as Stay;
  const out: Segment[] = segments.slice(0, index);
  const leaveMs = arriveMs - (there.endMs - there.startMs);
  out.push({ ...host, endMs: leaveMs });
  out.push({ ...there, startMs: leaveMs, endMs: arriveMs });
  const departMs = arriveMs + CHECKIN_VISIT_MS;
  out.push({
    kind: 'stay',
    place: 'office',
    startMs: arriveMs,
    endMs: departMs,
    env: 'indoor',
    charging: false,
    pace: 1,
  });
  const backMs = departMs + (back.endMs - back.startMs);
  out.push({ ...back, startMs: departMs, endMs: backMs });
  out.push({ ...host, startMs: backMs });
  out.push(...segments.slice(index + 1));
  return out;
}

function checkinSlot(
  subject: RoutineSubject,
  atMs: number,
  segments: Segment[],
): { index: number; there: Journey; back: Journey; arriveMs: number } | null {
  if (localWeekday(atMs) !== subject.persona.checkinWeekday) return null;
  const base = localMidnight(atMs) + 9 * HOUR_MS + subject.persona.checkinMinute * MINUTE_MS;
  for (let shift = 0; shift <= 2 * HOUR_MS; shift += 10 * MINUTE_MS) {
    const arriveMs = base + shift;
    const index = segments.findIndex(
      (s) => s.kind === 'stay' && s.startMs <= arriveMs && s.endMs > arriveMs,
    );
    if (index < 0) continue;
    const host = segments[index] as Stay;
    if (host.place === 'office' || host.charging) continue;
    const there = journey(subject, host.place, 'office', 0);
    const back = journey(subject, 'office', host.place, 0);
    if (!there || !back) continue;
    const leaveMs = arriveMs - there.endMs;
    const returnMs = arriveMs + CHECKIN_VISIT_MS + back.endMs;
    if (leaveMs - MINUTE_MS > host.startMs && returnMs + MINUTE_MS < host.endMs) {
      return { index, there, back, arriveMs };
    }
  }
  return null;
}

/** When the subject's check-in at the office happens on the day holding `atMs`, or null. */
export function checkinTimeOn(
  subject: RoutineSubject,
  atMs: number,
  routineSpeed = 1,
): number | null {
  const office = dayPlan(subject, atMs, routineSpeed).find(
    (s): s is Stay => s.kind === 'stay' && s.place === 'office',
  );
  return office ? office.startMs + CHECKIN_AFTER_ARRIVAL_MS : null;
}

export function whereaboutsIn(segment: Segment, atMs: number, places: DemoPlaces): Whereabouts {
  if (segment.kind === 'stay') {
    return {
      p: places[segment.place] ?? places.home,
      env: segment.env,
      speedMps: 0,
      hdg: null,
      charging: segment.charging,
      place: segment.place,
      moving: false,
      pace: segment.pace,
    };
  }
  const travelled =
    ((atMs - segment.startMs) / Math.max(1, segment.endMs - segment.startMs)) * segment.lengthM;
  const { p, hdg } = alongPath(segment.path, travelled);
  return {
    p,
    env: 'outdoor',
    speedMps: segment.speedMps,
    hdg,
    charging: false,
    place: segment.to,
    moving: true,
    pace: 1,
  };
}

/**
 * Where a subject is, day after day. Keeps only the segment in use (a few hundred bytes per
 * device); a new day's plan is computed when the current segment runs out.
 */
export class Routine {
  #segment: Segment | undefined;
  constructor(
    readonly subject: RoutineSubject,
    readonly routineSpeed = 1,
  ) {}

  segmentAt(atMs: number): Segment {
    const cached = this.#segment;
    if (cached && cached.startMs <= atMs && atMs < cached.endMs) return cached;
    const plan = dayPlan(this.subject, atMs, this.routineSpeed);
    const found = plan.find((s) => s.startMs <= atMs && atMs < s.endMs) ?? plan[plan.length - 1]!;
    this.#segment = found;
    return found;
  }

  at(atMs: number): Whereabouts {
    return whereaboutsIn(this.segmentAt(atMs), atMs, this.subject.places);
  }
}

/** Charge rate on the charger, % per hour. */
export const CHARGE_PCT_PER_H = 45;

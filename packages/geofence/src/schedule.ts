import type { WeeklySchedule } from '@ccm/contracts';
import { DEFAULT_TIME_ZONE } from './defaults';

/**
 * Weekly schedules in a zone's own IANA time zone. Wall time comes from
 * `Intl.DateTimeFormat` (one cached formatter per zone); the UTC offset is cached per
 * 15-minute bucket, which is exact because every real offset change happens on a
 * quarter-hour boundary. No `Date.now()`: callers pass the instant.
 */

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
const QUARTER_HOUR_MS = 15 * MINUTE_MS;
const OFFSET_CACHE_MAX = 50_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsetCache = new Map<string, number>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** UTC offset of `timeZone` at `atMs`, in ms (Asia/Shanghai: +8 h). */
export function timeZoneOffsetMs(timeZone: string, atMs: number): number {
  const bucketStart = Math.floor(atMs / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
  const key = `${timeZone}|${bucketStart}`;
  const cached = offsetCache.get(key);
  if (cached !== undefined) return cached;
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(bucketStart)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const wallAsUtc = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  const offset = wallAsUtc - bucketStart;
  if (offsetCache.size >= OFFSET_CACHE_MAX) offsetCache.clear();
  offsetCache.set(key, offset);
  return offset;
}

export interface WallTime {
  /** ISO weekday, 1 = Monday … 7 = Sunday. */
  isoWeekday: number;
  /** Milliseconds since local midnight. */
  msOfDay: number;
  /** The local wall time expressed as if it were UTC (for day arithmetic). */
  wallMs: number;
}

export function wallTime(timeZone: string, atMs: number): WallTime {
  const wallMs = atMs + timeZoneOffsetMs(timeZone, atMs);
  const msOfDay = ((wallMs % DAY_MS) + DAY_MS) % DAY_MS;
  const weekday = new Date(wallMs - msOfDay).getUTCDay();
  return { isoWeekday: weekday === 0 ? 7 : weekday, msOfDay, wallMs };
}

/** Wall time (as if UTC) back to an instant, correct across offset changes. */
function wallToInstant(timeZone: string, wallMs: number): number {
  const guess = wallMs - timeZoneOffsetMs(timeZone, wallMs);
  return wallMs - timeZoneOffsetMs(timeZone, guess);
}

interface ParsedWindow {
  days: ReadonlySet<number>;
  startMs: number;
  endMs: number;
  /** end ≤ start: the window runs past midnight into the next day. */
  overnight: boolean;
}

const parsedCache = new WeakMap<WeeklySchedule, ParsedWindow[]>();

function parseClock(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return ((h ?? 0) * 60 + (m ?? 0)) * MINUTE_MS;
}

function parsed(schedule: WeeklySchedule): ParsedWindow[] {
  let windows = parsedCache.get(schedule);
  if (!windows) {
    windows = schedule.windows.map((w) => {
      const startMs = parseClock(w.start);
      const endMs = parseClock(w.end);
      return { days: new Set(w.days), startMs, endMs, overnight: endMs <= startMs };
    });
    parsedCache.set(schedule, windows);
  }
  return windows;
}

function previousDay(isoWeekday: number): number {
  return isoWeekday === 1 ? 7 : isoWeekday - 1;
}

/**
 * End instant of `w` if it contains the wall time, else null. A window belongs to the day
 * it starts on: 22:00–06:00 on day 5 covers Friday 22:00 to Saturday 06:00.
 */
function windowEndAt(w: ParsedWindow, wall: WallTime, timeZone: string): number | null {
  const midnight = wall.wallMs - wall.msOfDay;
  let endWall: number | null = null;
  if (!w.overnight) {
    if (w.days.has(wall.isoWeekday) && wall.msOfDay >= w.startMs && wall.msOfDay < w.endMs) {
      endWall = midnight + w.endMs;
    }
  } else if (w.days.has(wall.isoWeekday) && wall.msOfDay >= w.startMs) {
    endWall = midnight + DAY_MS + w.endMs;
  } else if (w.days.has(previousDay(wall.isoWeekday)) && wall.msOfDay < w.endMs) {
    endWall = midnight + w.endMs;
  }
  return endWall === null ? null : wallToInstant(timeZone, endWall);
}

function zoneOf(schedule: WeeklySchedule): string {
  return schedule.timeZone || DEFAULT_TIME_ZONE;
}

/** Is the schedule active at `atMs`? No schedule means always active. */
export function isScheduleActive(
  schedule: WeeklySchedule | null | undefined,
  atMs: number,
): boolean {
  if (!schedule) return true;
  const timeZone = zoneOf(schedule);
  const wall = wallTime(timeZone, atMs);
  return parsed(schedule).some((w) => windowEndAt(w, wall, timeZone) !== null);
}

/**
 * When the active period containing `atMs` ends (following back-to-back windows), or null
 * if the schedule is not active then. No schedule: null as well (never ends).
 */
export function activeWindowEndMs(
  schedule: WeeklySchedule | null | undefined,
  atMs: number,
): number | null {
  if (!schedule) return null;
  const timeZone = zoneOf(schedule);
  let end: number | null = null;
  let at = atMs;
  // Back-to-back or overlapping windows form one active period; 28 windows bound the chain.
  for (let hop = 0; hop <= 28; hop++) {
    const wall = wallTime(timeZone, at);
    let next: number | null = null;
    for (const w of parsed(schedule)) {
      const e = windowEndAt(w, wall, timeZone);
      if (e !== null && (next === null || e > next)) next = e;
    }
    if (next === null || (end !== null && next <= end)) break;
    end = next;
    at = next;
  }
  return end;
}

/**
 * Time for simulated devices.
 *
 * A device clock may never run ahead of the real clock: the platform quarantines fixes more
 * than 5 minutes in its future, and a fix "from the future" would be a lie anyway. So
 * "faster than real time" comes in two honest forms (see README, "Time"):
 *
 * - `compress` (default): the device clock IS the real clock and every fix is stamped now;
 *   only the daily routine runs `speed` times faster (shorter stays at home and at work,
 *   several short "days" per real day). Journeys still take real time at real speeds, so the
 *   engine's speed filter sees nothing strange, and nights (22:00–06:00 China time, the
 *   curfew window) are kept at home on the real clock.
 * - `backfill`: the device clock starts `backfillMs` in the past and runs `speed` times
 *   faster until it meets the real clock, then runs at real time. Fix times and device time
 *   move together and never pass now; the platform receives history, so anything found in it
 *   is raised `late`, and while fixes are more than 30 minutes old it raises `no_location`.
 */
export type TimeMode = 'compress' | 'backfill';

export interface ClockOptions {
  speed?: number;
  mode?: TimeMode;
  /** backfill: how far in the past the device clock starts, ms. */
  backfillMs?: number;
  /** The real clock (tests). */
  realNow?: () => number;
}

export class SimClock {
  readonly speed: number;
  readonly mode: TimeMode;
  readonly #realNow: () => number;
  readonly #realStart: number;
  readonly #simStart: number;
  /** Real instant at which a backfill clock meets the real clock. */
  readonly #meetReal: number;

  constructor(options: ClockOptions = {}) {
    this.speed = options.speed ?? 1;
    if (!(this.speed > 0) || !Number.isFinite(this.speed)) {
      throw new Error(`speed must be a positive number, got ${options.speed}`);
    }
    this.mode = options.mode ?? 'compress';
    this.#realNow = options.realNow ?? Date.now;
    this.#realStart = this.#realNow();
    const backfillMs = this.mode === 'backfill' ? Math.max(0, options.backfillMs ?? 0) : 0;
    if (this.mode === 'backfill' && this.speed > 1 && backfillMs === 0) {
      throw new Error('backfill with speed > 1 needs backfillMs > 0 (the past window to replay)');
    }
    this.#simStart = this.#realStart - backfillMs;
    this.#meetReal =
      this.mode === 'backfill' && this.speed > 1
        ? this.#realStart + backfillMs / (this.speed - 1)
        : this.mode === 'backfill' && backfillMs > 0
          ? Infinity // a slow backfill clock never catches up
          : this.#realStart;
  }

  realNow(): number {
    return this.#realNow();
  }

  /** The device clock: never ahead of the real clock. */
  now(): number {
    const real = this.#realNow();
    if (real >= this.#meetReal) return real;
    return Math.min(real, this.#simStart + (real - this.#realStart) * this.speed);
  }

  /** Real instant at which the device clock shows `deviceMs` (for sleeping until then). */
  realAt(deviceMs: number): number {
    if (this.mode !== 'backfill') return deviceMs;
    const sim = this.#simStart + (this.#meetReal - this.#realStart) * this.speed;
    if (deviceMs >= sim && this.#meetReal !== Infinity) return deviceMs;
    return this.#realStart + (deviceMs - this.#simStart) / this.speed;
  }

  /** How many times faster the daily routine runs than the device clock. */
  get routineSpeed(): number {
    return this.mode === 'compress' ? this.speed : 1;
  }

  /** How many device-clock ms pass per real ms right now (for the scheduler). */
  get rate(): number {
    return this.mode === 'backfill' && this.#realNow() < this.#meetReal ? this.speed : 1;
  }

  /** Still replaying the past (backfill only). */
  get behind(): boolean {
    return this.#realNow() < this.#meetReal;
  }
}

/** China Standard Time (Asia/Shanghai) has no daylight saving: UTC+8 all year. */
export const SHANGHAI_OFFSET_MS = 8 * 3_600_000;
export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

/** Local (China) midnight of the day holding `ms`, as an instant. */
export const localMidnight = (ms: number): number =>
  Math.floor((ms + SHANGHAI_OFFSET_MS) / DAY_MS) * DAY_MS - SHANGHAI_OFFSET_MS;

/** Local (China) time of day, ms since local midnight. */
export const localTimeOfDay = (ms: number): number =>
  (((ms + SHANGHAI_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS;

/** Local day number (days since 1970-01-01 China time): one seed per day of routine. */
export const localDayNumber = (ms: number): number =>
  Math.floor((ms + SHANGHAI_OFFSET_MS) / DAY_MS);

/** ISO weekday (1 = Monday … 7 = Sunday) of the local day holding `ms`. */
export const localWeekday = (ms: number): number => {
  const d = new Date(ms + SHANGHAI_OFFSET_MS).getUTCDay();
  return d === 0 ? 7 : d;
};

/** Local "HH:MM" of an instant, for logs. */
export const localClock = (ms: number): string =>
  new Date(ms + SHANGHAI_OFFSET_MS).toISOString().slice(11, 16);

/** The curfew window (22:00–06:00 China time) holding `ms`, or null outside it. */
export function curfewWindowAt(ms: number): { startMs: number; endMs: number } | null {
  const tod = localTimeOfDay(ms);
  const midnight = localMidnight(ms);
  if (tod >= 22 * HOUR_MS)
    return { startMs: midnight + 22 * HOUR_MS, endMs: midnight + DAY_MS + 6 * HOUR_MS };
  if (tod < 6 * HOUR_MS) return { startMs: midnight - 2 * HOUR_MS, endMs: midnight + 6 * HOUR_MS };
  return null;
}

/** The most recent curfew window that has ended by `ms`. */
export function lastEndedCurfewWindow(ms: number): { startMs: number; endMs: number } {
  const midnight = localMidnight(ms);
  const endToday = midnight + 6 * HOUR_MS;
  const endMs = ms >= endToday ? endToday : endToday - DAY_MS;
  return { startMs: endMs - 8 * HOUR_MS, endMs };
}

/** Does [fromMs, toMs] touch a curfew window (with `marginMs` around it)? */
export function overlapsCurfew(fromMs: number, toMs: number, marginMs = 15 * MINUTE_MS): boolean {
  for (let day = localMidnight(fromMs) - DAY_MS; day <= toMs; day += DAY_MS) {
    const start = day + 22 * HOUR_MS - marginMs;
    const end = day + DAY_MS + 6 * HOUR_MS + marginMs;
    if (fromMs < end && toMs > start) return true;
  }
  return false;
}

import { describe, expect, it } from 'vitest';
import type { WeeklySchedule } from '@ccm/contracts';
import { activeWindowEndMs, isScheduleActive, wallTime } from '../src/index';

// Tests run with TZ=UTC; every instant below is written in UTC. Shanghai is UTC+8.
const utc = (iso: string) => Date.parse(`${iso}Z`);

const nightly: WeeklySchedule = {
  timeZone: 'Asia/Shanghai',
  windows: [{ days: [1, 2, 3, 4, 5, 6, 7], start: '22:00', end: '06:00' }],
};

describe('schedules in the zone time zone', () => {
  it('runs the process in UTC (so local time cannot leak in)', () => {
    expect(new Date(0).getTimezoneOffset()).toBe(0);
  });

  it('derives Shanghai wall time and ISO weekday from a UTC instant', () => {
    // Friday 2026-11-27 17:00 UTC is Saturday 01:00 in Shanghai.
    const wall = wallTime('Asia/Shanghai', utc('2026-11-27T17:00:00'));
    expect(wall.isoWeekday).toBe(6);
    expect(wall.msOfDay).toBe(3_600_000);
  });

  it('covers 22:00–06:00 across midnight', () => {
    expect(isScheduleActive(nightly, utc('2026-11-27T13:59:59'))).toBe(false); // 21:59:59
    expect(isScheduleActive(nightly, utc('2026-11-27T14:00:00'))).toBe(true); // 22:00
    expect(isScheduleActive(nightly, utc('2026-11-27T16:00:00'))).toBe(true); // 00:00
    expect(isScheduleActive(nightly, utc('2026-11-27T21:59:59'))).toBe(true); // 05:59:59
    expect(isScheduleActive(nightly, utc('2026-11-27T22:00:00'))).toBe(false); // 06:00
    expect(isScheduleActive(nightly, utc('2026-11-28T04:00:00'))).toBe(false); // 12:00
  });

  it('gives the instant the window ends', () => {
    // Any time in the night of Fri→Sat ends at Sat 06:00 Shanghai = Fri 22:00 UTC.
    expect(activeWindowEndMs(nightly, utc('2026-11-27T14:00:00'))).toBe(utc('2026-11-27T22:00:00'));
    expect(activeWindowEndMs(nightly, utc('2026-11-27T20:30:00'))).toBe(utc('2026-11-27T22:00:00'));
    expect(activeWindowEndMs(nightly, utc('2026-11-28T04:00:00'))).toBeNull();
    expect(activeWindowEndMs(null, utc('2026-11-28T04:00:00'))).toBeNull();
  });

  it('assigns an overnight window to the day it starts on', () => {
    const fridayNight: WeeklySchedule = {
      timeZone: 'Asia/Shanghai',
      windows: [{ days: [5], start: '22:00', end: '06:00' }],
    };
    expect(isScheduleActive(fridayNight, utc('2026-11-27T14:30:00'))).toBe(true); // Fri 22:30
    expect(isScheduleActive(fridayNight, utc('2026-11-27T21:00:00'))).toBe(true); // Sat 05:00
    expect(isScheduleActive(fridayNight, utc('2026-11-28T14:30:00'))).toBe(false); // Sat 22:30
    expect(isScheduleActive(fridayNight, utc('2026-11-26T21:00:00'))).toBe(false); // Fri 05:00 (Thu's night)
  });

  it('uses the local weekday, not the UTC one', () => {
    const saturdayEarly: WeeklySchedule = {
      timeZone: 'Asia/Shanghai',
      windows: [{ days: [6], start: '00:00', end: '02:00' }],
    };
    // Still Friday in UTC, already Saturday 01:00 in Shanghai.
    expect(isScheduleActive(saturdayEarly, utc('2026-11-27T17:00:00'))).toBe(true);
    expect(isScheduleActive(saturdayEarly, utc('2026-11-28T17:00:00'))).toBe(false); // Sun 01:00
  });

  it('wraps Sunday night into Monday', () => {
    const sundayNight: WeeklySchedule = {
      timeZone: 'Asia/Shanghai',
      windows: [{ days: [7], start: '22:00', end: '06:00' }],
    };
    expect(isScheduleActive(sundayNight, utc('2026-11-29T21:00:00'))).toBe(true); // Mon 05:00
    expect(isScheduleActive(sundayNight, utc('2026-11-30T21:00:00'))).toBe(false); // Tue 05:00
  });

  it('joins back-to-back windows into one active period', () => {
    const split: WeeklySchedule = {
      timeZone: 'Asia/Shanghai',
      windows: [
        { days: [5], start: '22:00', end: '24:00' },
        { days: [6], start: '00:00', end: '06:00' },
      ],
    };
    expect(activeWindowEndMs(split, utc('2026-11-27T14:30:00'))).toBe(utc('2026-11-27T22:00:00'));
  });

  it('finds the end across a daylight-saving change', () => {
    const ny: WeeklySchedule = {
      timeZone: 'America/New_York',
      windows: [{ days: [6], start: '22:00', end: '06:00' }],
    };
    // Sat 2026-03-07 23:00 EST (04:00Z Sunday); clocks jump at 02:00, so 06:00 is EDT (UTC-4).
    expect(activeWindowEndMs(ny, utc('2026-03-08T04:00:00'))).toBe(utc('2026-03-08T10:00:00'));
  });
});

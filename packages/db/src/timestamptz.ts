import pg from 'pg';

/**
 * `timestamptz` text from PostgreSQL into a `Date`, as pg's own parser (postgres-date) does,
 * without its regular expressions. PostgreSQL sends every time as text
 * (`2026-11-29 08:30:05.123456+08`, the offset of the session's TimeZone, down to seconds for
 * old local mean times: `+08:05:43`); an API answer of 2,000 track points parsed them with
 * four regular expressions each, 6.9 % of the platform's CPU under the API benchmark.
 *
 * The fast path takes exactly what PostgreSQL writes with DateStyle ISO for years 1000–9999:
 * `YYYY-MM-DD HH:MM:SS[.f…][±HH[:MM[:SS]]]`. Anything else (`infinity`, BC dates, five-digit
 * years, another DateStyle) goes to postgres-date unchanged. Like postgres-date, digits past
 * the millisecond are dropped, not rounded.
 */
const fallback = pg.types.getTypeParser(1184, 'text') as (text: string) => Date | number | null;

const ZERO = 48;

/** Two ASCII digits at `i`, or -1. */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - ZERO;
  const b = s.charCodeAt(i + 1) - ZERO;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

export function parseTimestamptz(text: string): Date | number | null {
  const n = text.length;
  // "YYYY-MM-DD HH:MM:SS" is 19 characters, and an offset at least 3 more.
  if (n < 22 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return fallback(text);
  if (text.charCodeAt(10) !== 32 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) {
    return fallback(text);
  }
  const hi = two(text, 0);
  const lo = two(text, 2);
  const month = two(text, 5);
  const day = two(text, 8);
  const hour = two(text, 11);
  const minute = two(text, 14);
  const second = two(text, 17);
  if (hi < 10 || lo < 0 || month < 1 || day < 1 || hour < 0 || minute < 0 || second < 0) {
    return fallback(text);
  }
  let i = 19;
  let ms = 0;
  if (text.charCodeAt(i) === 46) {
    // Fraction: the first three digits are milliseconds, the rest is dropped.
    i++;
    const start = i;
    for (let scale = 100; i < n; i++, scale /= 10) {
      const d = text.charCodeAt(i) - ZERO;
      if (d < 0 || d > 9) break;
      if (scale >= 1) ms += d * scale;
    }
    if (i === start) return fallback(text);
  }
  const sign = text.charCodeAt(i);
  if (sign !== 43 && sign !== 45) return fallback(text);
  const oh = two(text, i + 1);
  if (oh < 0) return fallback(text);
  i += 3;
  let offsetS = oh * 3600;
  if (i < n) {
    if (text.charCodeAt(i) !== 58) return fallback(text);
    const om = two(text, i + 1);
    if (om < 0) return fallback(text);
    offsetS += om * 60;
    i += 3;
    if (i < n) {
      if (text.charCodeAt(i) !== 58) return fallback(text);
      const os = two(text, i + 1);
      if (os < 0) return fallback(text);
      offsetS += os;
      i += 3;
    }
  }
  if (i !== n) return fallback(text);
  const utc = Date.UTC(hi * 100 + lo, month - 1, day, hour, minute, second, ms);
  return new Date(sign === 45 ? utc + offsetS * 1000 : utc - offsetS * 1000);
}

import { z } from 'zod';

/**
 * Calendar months in China time. Assessments (动态考核) and monthly reports count what
 * happened in a month as an office in China sees it: Asia/Shanghai, UTC+8 all year (no
 * daylight saving since 1991), so the offset is a constant and no time-zone database is needed.
 */
export const CHINA_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;

/** 'YYYY-MM', from 2020-01 (the Community Corrections Law took effect in 2020). */
export const Month = z
  .string()
  .regex(
    /^20[2-9][0-9]-(0[1-9]|1[0-2])$/,
    '月份须为 YYYY-MM（2020 年起）/ month must be YYYY-MM, 2020 or later',
  );

export interface MonthRange {
  /** 'YYYY-MM'. */
  month: string;
  /** 'YYYY-MM-01': the `date` the database stores for this month. */
  firstDay: string;
  /** First day of the next month ('YYYY-MM-01'): exclusive end for `date` columns. */
  nextFirstDay: string;
  /** Last day of the month ('YYYY-MM-DD'). */
  lastDay: string;
  /** 00:00 China time on the first day. */
  from: Date;
  /** 00:00 China time on the first day of the next month (exclusive). */
  to: Date;
}

const pad = (n: number) => String(n).padStart(2, '0');

export function monthRange(month: string): MonthRange {
  const year = Number(month.slice(0, 4));
  const m = Number(month.slice(5, 7));
  const fromMs = Date.UTC(year, m - 1, 1) - CHINA_OFFSET_MS;
  const toMs = Date.UTC(year, m, 1) - CHINA_OFFSET_MS;
  return {
    month,
    firstDay: `${month}-01`,
    nextFirstDay: chinaDate(toMs),
    lastDay: chinaDate(toMs - DAY_MS),
    from: new Date(fromMs),
    to: new Date(toMs),
  };
}

/** The China calendar day of an instant, 'YYYY-MM-DD'. */
export function chinaDate(ms: number): string {
  const d = new Date(ms + CHINA_OFFSET_MS);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** The China calendar month of an instant, 'YYYY-MM'. */
export const monthOf = (ms: number): string => chinaDate(ms).slice(0, 7);

/** 'YYYY-MM' of the month before. */
export function previousMonth(month: string): string {
  const year = Number(month.slice(0, 4));
  const m = Number(month.slice(5, 7));
  return m === 1 ? `${year - 1}-12` : `${year}-${pad(m - 1)}`;
}

/** 'YYYY-MM-DD HH:mm' in China time, for printed reports and CSV. */
export function chinaDateTime(d: Date): string {
  const t = new Date(d.getTime() + CHINA_OFFSET_MS).toISOString();
  return `${t.slice(0, 10)} ${t.slice(11, 16)}`;
}

/** Whole and fractional days in a span of milliseconds, rounded to one decimal. */
export const daysOf = (ms: number): number => Math.round((ms / DAY_MS) * 10) / 10;

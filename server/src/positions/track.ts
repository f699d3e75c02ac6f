import { z } from 'zod';
import { FIX_SOURCES, type FixSource } from '@ccm/contracts';
import { IsoTime, iso } from '../http';

/**
 * Shapes of a position track shared by the officers' reads and the police partner query.
 * Fixes are stored compact (µdeg, decimetres, small-int enums: migrations/sql/0002); the API
 * speaks degrees, metres and words.
 */
export const MAX_WINDOW_DAYS = 31;
const DAY_MS = 86_400_000;

/** `fixes.src` (and `device_state.last_src`) is the index in the contract's FIX_SOURCES. */
export const sourceName = (src: number): FixSource => FIX_SOURCES[src] ?? 'gnss';

/** fixes.flags */
export const FLAG_LOW_ACCURACY = 1;
export const FLAG_LATE = 2;

/**
 * Checks a `from`/`to` pair: `to` after `from`, at most 31 days apart. Issues name `to`, so
 * the 400 says which field to fix.
 */
export function checkWindow(w: { from: string; to: string }, ctx: z.RefinementCtx): void {
  const from = Date.parse(w.from);
  const to = Date.parse(w.to);
  if (!(to > from))
    ctx.addIssue({
      code: 'custom',
      path: ['to'],
      message: 'to 须晚于 from / to must be after from',
    });
  else if (to - from > MAX_WINDOW_DAYS * DAY_MS)
    ctx.addIssue({
      code: 'custom',
      path: ['to'],
      message: `时间窗口最长 ${MAX_WINDOW_DAYS} 天 / the window may span at most ${MAX_WINDOW_DAYS} days`,
    });
}

export const WindowFields = {
  from: IsoTime.describe('window start (inclusive)'),
  to: IsoTime.describe(`window end (exclusive), at most ${MAX_WINDOW_DAYS} days after from`),
};

export const TrackPoint = z.object({
  t: z.string(),
  lat: z.number(),
  lon: z.number(),
  accuracyM: z.number(),
  source: z.enum(FIX_SOURCES),
  speedMps: z.number().nullable(),
  /** Arrived after newer fixes of the same device. */
  late: z.boolean(),
  lowAccuracy: z.boolean(),
});
export type TrackPoint = z.infer<typeof TrackPoint>;

export const OrderWindow = z.object({ startsAt: z.string(), endsAt: z.string() });

export interface FixRow {
  t: Date;
  lat_e6: number;
  lon_e6: number;
  acc_dm: number;
  src: number;
  spd_cms: number | null;
  flags: number;
}

export function trackPoint(f: FixRow): TrackPoint {
  return {
    t: iso(f.t),
    lat: f.lat_e6 / 1e6,
    lon: f.lon_e6 / 1e6,
    accuracyM: f.acc_dm / 10,
    source: sourceName(f.src),
    speedMps: f.spd_cms === null ? null : f.spd_cms / 100,
    late: (f.flags & FLAG_LATE) !== 0,
    lowAccuracy: (f.flags & FLAG_LOW_ACCURACY) !== 0,
  };
}

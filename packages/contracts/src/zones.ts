import { z } from 'zod';

/** WGS-84 longitude/latitude in decimal degrees; GeoJSON order is [lon, lat]. */
export const Longitude = z.number().finite().min(-180).max(180);
export const Latitude = z.number().finite().min(-90).max(90);
export const LonLat = z.tuple([Longitude, Latitude]);
export type LonLat = z.infer<typeof LonLat>;

/** A linear ring as given; closure and self-intersection are checked by the geofence engine. */
export const LinearRing = z.array(LonLat).min(4, 'a ring needs at least 4 positions (closed)');

export const PolygonGeometry = z.object({
  type: z.literal('Polygon'),
  coordinates: z.array(LinearRing).min(1),
});
export type PolygonGeometry = z.infer<typeof PolygonGeometry>;

export const MultiPolygonGeometry = z.object({
  type: z.literal('MultiPolygon'),
  coordinates: z.array(z.array(LinearRing).min(1)).min(1),
});
export type MultiPolygonGeometry = z.infer<typeof MultiPolygonGeometry>;

/** Not GeoJSON proper (GeoJSON has no circle): centre + radius in metres. */
export const CircleGeometry = z.object({
  type: z.literal('Circle'),
  center: LonLat,
  radiusM: z.number().finite().positive().max(200_000),
});
export type CircleGeometry = z.infer<typeof CircleGeometry>;

export const ZoneGeometry = z.discriminatedUnion('type', [
  PolygonGeometry,
  MultiPolygonGeometry,
  CircleGeometry,
]);
export type ZoneGeometry = z.infer<typeof ZoneGeometry>;

/** inclusion: must stay inside (活动区域); exclusion: must stay out (禁止区域). */
export const ZoneKind = z.enum(['inclusion', 'exclusion']);
export type ZoneKind = z.infer<typeof ZoneKind>;

/**
 * Why the zone exists. It picks the alert type: a `curfew` inclusion zone raises `curfew`,
 * other inclusion zones `zone_exit`, exclusion zones `zone_enter`.
 */
export const ZonePurpose = z.enum(['county', 'curfew', 'prohibited', 'border', 'leave', 'other']);
export type ZonePurpose = z.infer<typeof ZonePurpose>;

const isValidTimeZone = (tz: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

export const TimeZoneName = z
  .string()
  .min(1)
  .max(64)
  .refine(isValidTimeZone, { message: 'unknown IANA time zone' });

/** "HH:MM", 00:00–24:00 local time of the schedule's time zone. */
export const ClockTime = z
  .string()
  .regex(/^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'expected HH:MM (00:00–24:00)');

/**
 * One weekly window. `days` are ISO weekdays (1 = Monday … 7 = Sunday) on which the window
 * STARTS; a window whose end is not after its start crosses midnight into the next day
 * (22:00–06:00 on day 5 covers Friday 22:00 to Saturday 06:00).
 */
export const ScheduleWindow = z.object({
  days: z.array(z.number().int().min(1).max(7)).min(1).max(7),
  start: ClockTime,
  end: ClockTime,
});
export type ScheduleWindow = z.infer<typeof ScheduleWindow>;

/** A zone without a schedule is always active; with one, only inside its windows. */
export const WeeklySchedule = z.object({
  timeZone: TimeZoneName.default('Asia/Shanghai'),
  windows: z.array(ScheduleWindow).min(1).max(28),
});
export type WeeklySchedule = z.infer<typeof WeeklySchedule>;

/** Drift-killing confirmation rules, per zone (defaults in the engine). */
export const ZoneRules = z.object({
  /** Tolerance in the subject's favour beyond the fix accuracy, metres. */
  bufferM: z.number().finite().min(0).max(10_000),
  /** Consecutive qualifying fixes that confirm a violation (or its end). */
  confirmFixes: z.number().int().min(1).max(20),
  /** …or qualifying evidence spanning this many seconds. */
  confirmSeconds: z.number().int().min(0).max(3600),
});
export type ZoneRules = z.infer<typeof ZoneRules>;

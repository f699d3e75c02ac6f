import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import type { DB } from '@ccm/db';

/**
 * Supervision rules that vary by province (domain.md: "make it configuration, with these
 * values as defaults"). Stored as JSON in `supervision_settings`; a missing key means these
 * defaults, and a stored value is parsed again on every read, so a bad row cannot slip in.
 */
type Db = Kysely<DB> | Transaction<DB>;

const Level = z.enum(['strict', 'normal', 'lenient']);
const Method = z.enum(['fingerprint', 'voiceprint', 'face']);

/** One level's scheduled check-ins: `count` within every `periodDays`, evenly spaced. */
const Schedule = z.object({
  periodDays: z.number().int().min(1).max(90),
  count: z.number().int().min(1).max(14),
});

export const CheckinSettings = z
  .object({
    /** 信息化核查 by management level: 严管 twice a week, 普管 weekly, 宽管 every two weeks. */
    schedule: z.record(Level, Schedule).default({
      strict: { periodDays: 7, count: 2 },
      normal: { periodDays: 7, count: 1 },
      lenient: { periodDays: 14, count: 1 },
    }),
    /** Random requests per 30 days, by level, sent to the subject's check-in device. */
    randomPerMonth: z
      .record(Level, z.number().min(0).max(60))
      .default({ strict: 4, normal: 2, lenient: 0 }),
    /** Minutes the subject has to answer a random or officer's request, by device kind. */
    requestDeadlineMinutes: z
      .object({
        phone: z.number().int().min(5).max(1440),
        terminal: z.number().int().min(30).max(4320),
      })
      .default({ phone: 30, terminal: 1440 }),
    /** Method asked for by device kind (a phone check-in is a voiceprint call). */
    requestMethod: z
      .object({ phone: Method, terminal: Method })
      .default({ phone: 'voiceprint', terminal: 'fingerprint' }),
    /** Random requests only between these local hours (Asia/Shanghai). */
    randomHours: z
      .object({ from: z.number().int().min(0).max(23), to: z.number().int().min(1).max(24) })
      .refine((h) => h.to > h.from, { message: 'to must be after from' })
      .default({ from: 8, to: 20 }),
    /** A request is judged missed this long after its deadline (late uploads still count). */
    missedGraceMinutes: z.number().int().min(0).max(1440).default(10),
  })
  .strict();
export type CheckinSettings = z.infer<typeof CheckinSettings>;

export const SeparationSettings = z
  .object({
    /** Assumed accuracy of a check-in location (terminal or phone), metres. */
    checkinAccuracyM: z.number().min(1).max(5_000).default(100),
    /** Distance beyond both accuracies before the two places disagree, metres. */
    marginM: z.number().min(0).max(10_000).default(200),
    /** A wristband fix this close in time to the check-in is "where the band was", s. */
    fixWindowS: z.number().int().min(30).max(3_600).default(600),
    /**
     * With no fix that close, the last fix still counts when the band had not moved at all
     * (all fixes within `stationaryRadiusM`) for `stationaryHours` before the check-in.
     */
    stationaryHours: z.number().min(1).max(72).default(6),
    stationaryRadiusM: z.number().min(5).max(500).default(50),
  })
  .strict();
export type SeparationSettings = z.infer<typeof SeparationSettings>;

interface SettingsTypes {
  checkins: CheckinSettings;
  separation: SeparationSettings;
}
export type SettingsKey = keyof SettingsTypes;
const SCHEMAS: { [K in SettingsKey]: z.ZodType<SettingsTypes[K]> } = {
  checkins: CheckinSettings,
  separation: SeparationSettings,
};

export async function loadSettings<K extends SettingsKey>(
  db: Db,
  key: K,
): Promise<SettingsTypes[K]> {
  const row = await db
    .selectFrom('supervision_settings')
    .select('value')
    .where('key', '=', key)
    .executeTakeFirst();
  const schema = SCHEMAS[key];
  const parsed = schema.safeParse(row?.value ?? {});
  // A stored value that no longer parses (edited by hand) falls back to the defaults.
  return parsed.success ? parsed.data : schema.parse({});
}

export async function saveSettings<K extends SettingsKey>(
  db: Db,
  key: K,
  value: SettingsTypes[K],
  userId: string,
): Promise<void> {
  await db
    .insertInto('supervision_settings')
    .values({ key, value: JSON.stringify(value), updated_by: userId })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        value: JSON.stringify(value),
        updated_by: userId,
        updated_at: new Date(),
      }),
    )
    .execute();
}

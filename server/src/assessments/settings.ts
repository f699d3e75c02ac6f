import type { Kysely, Transaction } from 'kysely';
import type { DB } from '@ccm/db';
import { AssessmentRules, DEFAULT_ASSESSMENT_RULES } from './rules';

/**
 * The assessment rules in force: the stored value of `supervision_settings` key 'assessment'
 * parsed by the schema (keys it lacks take the defaults), or the defaults when none is stored.
 * A stored value that no longer parses (a hand edit) falls back to the defaults and says so,
 * rather than stopping the monthly run.
 */
type Db = Kysely<DB> | Transaction<DB>;

export interface StoredRules {
  rules: AssessmentRules;
  customised: boolean;
  updatedBy: string | null;
  updatedAt: Date | null;
  /** Why the stored value was ignored, when it was. */
  invalid?: string;
}

export async function loadAssessmentRules(db: Db): Promise<StoredRules> {
  const row = await db
    .selectFrom('supervision_settings')
    .select(['value', 'updated_by', 'updated_at'])
    .where('key', '=', 'assessment')
    .executeTakeFirst();
  if (!row) {
    return { rules: DEFAULT_ASSESSMENT_RULES, customised: false, updatedBy: null, updatedAt: null };
  }
  const parsed = AssessmentRules.safeParse(row.value);
  return parsed.success
    ? { rules: parsed.data, customised: true, updatedBy: row.updated_by, updatedAt: row.updated_at }
    : {
        rules: DEFAULT_ASSESSMENT_RULES,
        customised: true,
        updatedBy: row.updated_by,
        updatedAt: row.updated_at,
        invalid: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      };
}

/** Stores the complete rules (defaults filled in at the time of the change). */
export async function storeAssessmentRules(
  db: Db,
  rules: AssessmentRules,
  userId: string,
  now: Date,
): Promise<void> {
  const value = JSON.stringify(rules);
  await db
    .insertInto('supervision_settings')
    .values({ key: 'assessment', value, updated_by: userId, updated_at: now })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({ value, updated_by: userId, updated_at: now }),
    )
    .execute();
}

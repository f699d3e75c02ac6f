import { z } from 'zod';
import { ALERT_SEVERITIES, ALERT_TYPES, AlertType } from '@ccm/contracts';

/**
 * The rules of the monthly assessment (动态考核), as one documented schema: every field has
 * its default here, so `AssessmentRules.parse({})` is the built-in rule set. A province
 * stores its own values in `supervision_settings` (key 'assessment'); keys it never set take
 * these defaults. The values follow common practice in the provinces' 分类管理 and 考核奖惩
 * measures and the sanction ladder of the Implementing Measures (社区矫正法实施办法
 * Arts. 34–35, 46): 脱离监管 up to 10 days → 训诫, more than 10 days or two 训诫 → 警告,
 * more than a month or two 警告 → a request to revoke probation / parole (提请撤销).
 */
const Points = z.number().min(0).max(100);
const Count = z.number().int().min(1).max(100);
const Hours = z.number().min(0).max(744);

const SeverityPoints = z
  .object({
    critical: Points.default(10),
    high: Points.default(5),
    medium: Points.default(3),
    low: Points.default(1),
  })
  .describe('points deducted per violation alert of this severity');

export const AssessmentRules = z
  .object({
    baseScore: z.number().min(1).max(1000).default(100).describe('score before deductions'),
    violations: z
      .object({
        notViolationResolutions: z
          .array(z.string().min(1).max(40))
          .max(10)
          .default(['false_alarm', 'withdrawn', 'authorised'])
          .describe(
            'alerts closed with these resolutions are not violations (误报; withdrawn = the ' +
              'engine’s own retraction; authorised = covered by an approved leave or an ' +
              'officer’s permission); provinces may add device_fault',
          ),
        pointsBySeverity: SeverityPoints.prefault({}),
        pointsByType: z
          .partialRecord(AlertType, Points)
          .default({})
          .describe(
            'points per alert of a type, instead of its severity’s; merged over the built-in ' +
              'checkin_missed 0 (counted by the check-in rate), device_separation 0 (counted ' +
              'as separations) and sos 0 (a call for help is no violation)',
          ),
      })
      .prefault({}),
    checkins: z
      .object({
        pointsAtZeroRate: Points.default(30).describe(
          'deduction = (1 − check-in rate) × this; rate = met / (met + missed), 100 % when none was owed',
        ),
      })
      .prefault({}),
    separations: z
      .object({
        pointsEach: Points.default(10).describe(
          'per person–device separation (人机分离) confirmed as a violation or still unresolved',
        ),
      })
      .prefault({}),
    hours: z
      .object({
        educationRequired: Hours.default(8).describe('教育学习 hours expected per month'),
        communityServiceRequired: Hours.default(8).describe('公益活动 hours expected per month'),
        pointsPerMissingHour: Points.default(1),
      })
      .prefault({}),
    levels: z
      .object({
        lenientAtLeast: z.number().min(0).max(1000).default(90).describe('score ≥ this → 宽管'),
        strictBelow: z.number().min(0).max(1000).default(70).describe('score < this → 严管'),
        maxStepsLighter: z
          .number()
          .int()
          .min(1)
          .max(2)
          .default(1)
          .describe('a month moves a subject at most this many levels lighter (stricter: any)'),
        strictWhenSanctioned: z
          .boolean()
          .default(true)
          .describe('a recommended sanction also recommends 严管'),
      })
      .prefault({}),
    sanctions: z
      .object({
        outOfContactMinHours: z
          .number()
          .min(0)
          .max(720)
          .default(24)
          .describe('shorter losses of contact are not 脱离监管'),
        warningAfterDays: z.number().min(0).max(365).default(10).describe('脱离监管 > this → 警告'),
        revocationAfterDays: z
          .number()
          .min(0)
          .max(365)
          .default(30)
          .describe('脱离监管 > this (one month) → 提请撤销'),
        consecutiveMissedCheckins: Count.default(2).describe(
          'this many missed check-ins in a row count as out of contact from the first one’s window to the last one’s deadline',
        ),
        seriousSeverities: z
          .array(z.enum(ALERT_SEVERITIES))
          .max(4)
          .default(['critical', 'high'])
          .describe('violations of these severities are serious'),
        seriousExcludedTypes: z
          .array(AlertType)
          .max(ALERT_TYPES.length)
          .default(['no_signal', 'sos'])
          .describe('not counted as serious (no_signal counts as out of contact instead)'),
        seriousForAdmonition: Count.default(3).describe(
          'this many serious violations in a month → 训诫',
        ),
        admonitionsForWarning: Count.default(2).describe('prior 训诫 that make the next one 警告'),
        warningsForRevocation: Count.default(2).describe(
          'prior 警告 that make the next one 提请撤销',
        ),
        officerMayDecide: z
          .array(z.enum(['admonition', 'warning', 'revocation_request']))
          .max(3)
          .default(['admonition'])
          .describe(
            'sanctions a township officer may confirm; the others need the county bureau (社区矫正机构)',
          ),
      })
      .prefault({}),
  })
  .superRefine((r, ctx) => {
    if (r.levels.strictBelow > r.levels.lenientAtLeast) {
      ctx.addIssue({
        code: 'custom',
        path: ['levels', 'strictBelow'],
        message: 'strictBelow 不得高于 lenientAtLeast / strictBelow must not exceed lenientAtLeast',
      });
    }
    if (r.sanctions.warningAfterDays >= r.sanctions.revocationAfterDays) {
      ctx.addIssue({
        code: 'custom',
        path: ['sanctions', 'warningAfterDays'],
        message:
          'warningAfterDays 须小于 revocationAfterDays / warningAfterDays must be below revocationAfterDays',
      });
    }
  });
export type AssessmentRules = z.infer<typeof AssessmentRules>;

export const DEFAULT_ASSESSMENT_RULES: AssessmentRules = Object.freeze(AssessmentRules.parse({}));

/** Types whose alerts count elsewhere (or are no violation); a province may override them. */
export const BUILTIN_TYPE_POINTS: Readonly<Partial<Record<AlertType, number>>> = Object.freeze({
  checkin_missed: 0,
  device_separation: 0,
  sos: 0,
});

export const LEVELS = ['strict', 'normal', 'lenient'] as const;
export const ManagementLevel = z.enum(LEVELS).describe('strict 严管, normal 普管, lenient 宽管');
export type ManagementLevel = z.infer<typeof ManagementLevel>;

export const SANCTIONS = ['none', 'admonition', 'warning', 'revocation_request'] as const;
export const Sanction = z
  .enum(SANCTIONS)
  .describe(
    'none 无, admonition 训诫, warning 警告, revocation_request 提请撤销缓刑/假释/收监执行',
  );
export type Sanction = z.infer<typeof Sanction>;

export const LEVEL_LABELS: Readonly<Record<ManagementLevel, { zh: string; en: string }>> = {
  strict: { zh: '严管', en: 'strict' },
  normal: { zh: '普管', en: 'normal' },
  lenient: { zh: '宽管', en: 'lenient' },
};

export const SANCTION_LABELS: Readonly<Record<Sanction, { zh: string; en: string }>> = {
  none: { zh: '无', en: 'none' },
  admonition: { zh: '训诫', en: 'admonition' },
  warning: { zh: '警告', en: 'warning' },
  revocation_request: { zh: '提请撤销缓刑、假释或收监执行', en: 'revocation request' },
};

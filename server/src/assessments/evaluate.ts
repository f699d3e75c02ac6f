import { z } from 'zod';
import { ALERT_TYPE_LABELS, AlertSeverity, AlertType } from '@ccm/contracts';
import { daysOf } from './month';
import {
  AssessmentRules,
  BUILTIN_TYPE_POINTS,
  LEVEL_LABELS,
  LEVELS,
  ManagementLevel,
  Sanction,
  SANCTION_LABELS,
  SANCTIONS,
} from './rules';

/**
 * The monthly assessment as a pure function: one subject's month of facts and the rules in,
 * the score, the recommended level and sanction, and every count and rule behind them out.
 * No database and no clock: `periodEndMs` says up to when the month is counted.
 */
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export interface AlertGroup {
  type: AlertType;
  severity: AlertSeverity;
  status: 'open' | 'acknowledged' | 'resolved';
  resolution: string | null;
  count: number;
}

export interface AssessmentInput {
  month: string;
  /** Month start (China time) and the end of what is counted: min(month end, now). */
  periodStartMs: number;
  periodEndMs: number;
  /** True when the month is not over yet. */
  partial: boolean;
  currentLevel: ManagementLevel;
  /** The subject's alerts that started in the period, grouped. */
  alerts: AlertGroup[];
  /** no_signal alerts overlapping the period (their full span, not clipped). */
  noSignal: { startMs: number; endMs: number | null; resolution: string | null }[];
  /** Check-in requests due in the month. */
  checkinRequests: {
    windowStartMs: number;
    dueAtMs: number;
    status: 'pending' | 'met' | 'missed' | 'cancelled';
  }[];
  hours: { education: number; communityService: number };
  /** Sanctions decided before this month's assessment (see the repository for which). */
  priorSanctions: { admonition: number; warning: number; revocation_request: number };
}

export const Reason = z.object({
  /** Stable code of the rule (violations, checkin_rate, out_of_contact_warning …). */
  code: z.string(),
  zh: z.string(),
  en: z.string(),
  /** Points this fact deducted, when it is a deduction. */
  points: z.number().optional(),
});
export type Reason = z.infer<typeof Reason>;

const Interval = z.object({ from: z.string(), to: z.string() });

/** What the assessment stores in `assessments.facts` and the API shows. */
export const AssessmentFacts = z.object({
  version: z.literal(1),
  month: z.string(),
  period: z.object({ from: z.string(), to: z.string(), partial: z.boolean() }),
  currentLevel: ManagementLevel,
  violations: z.object({
    counted: z.number().int(),
    /** Closed as not a violation (false alarm, withdrawn …): listed, not counted. */
    excluded: z.number().int(),
    points: z.number(),
    byType: z.array(
      z.object({
        type: AlertType,
        severity: AlertSeverity,
        count: z.number().int(),
        pointsEach: z.number(),
        points: z.number(),
      }),
    ),
  }),
  checkins: z.object({
    met: z.number().int(),
    missed: z.number().int(),
    cancelled: z.number().int(),
    pending: z.number().int(),
    /** met / (met + missed); 1 when none was owed. */
    rate: z.number(),
    longestMissedRun: z.number().int(),
    points: z.number(),
  }),
  separations: z.object({ count: z.number().int(), points: z.number() }),
  hours: z.object({
    education: z.number(),
    communityService: z.number(),
    educationRequired: z.number(),
    communityServiceRequired: z.number(),
    missing: z.number(),
    points: z.number(),
  }),
  outOfContact: z.object({
    /** The longest continuous stretch touching the month (no_signal or missed check-ins). */
    longestDays: z.number(),
    longest: Interval.nullable(),
    noSignalAlerts: z.number().int(),
    /** Runs of consecutive missed check-ins long enough to count. */
    missedCheckinRuns: z.number().int(),
  }),
  seriousViolations: z.number().int(),
  priorSanctions: z.object({
    admonition: z.number().int(),
    warning: z.number().int(),
    revocation_request: z.number().int(),
  }),
  score: z.object({ base: z.number(), deductions: z.number(), final: z.number() }),
  level: z.object({
    current: ManagementLevel,
    byScore: ManagementLevel,
    recommended: ManagementLevel,
  }),
  sanction: z.object({ recommended: Sanction, grounds: z.array(z.string()) }),
  /** Every rule that produced the score, the level and the sanction, in zh-CN and English. */
  reasons: z.array(Reason),
  /** The rules in force when this was computed. */
  rules: AssessmentRules,
});
export type AssessmentFacts = z.infer<typeof AssessmentFacts>;

export interface AssessmentResult {
  score: number;
  recommendedLevel: ManagementLevel;
  recommendedSanction: Sanction;
  facts: AssessmentFacts;
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const fmt = (n: number) => String(round1(n));
const pct = (rate: number) => `${round1(rate * 100)}%`;

/** Merges intervals that overlap or touch; input order does not matter. */
export function mergeIntervals(spans: { fromMs: number; toMs: number }[]) {
  const sorted = spans.filter((s) => s.toMs > s.fromMs).sort((a, b) => a.fromMs - b.fromMs);
  const merged: { fromMs: number; toMs: number }[] = [];
  for (const s of sorted) {
    const last = merged.at(-1);
    if (last && s.fromMs <= last.toMs) last.toMs = Math.max(last.toMs, s.toMs);
    else merged.push({ ...s });
  }
  return merged;
}

/** Runs of consecutive missed requests (cancelled and pending ones are skipped over). */
function missedRuns(requests: AssessmentInput['checkinRequests']) {
  const decided = requests
    .filter((r) => r.status === 'met' || r.status === 'missed')
    .sort((a, b) => a.dueAtMs - b.dueAtMs);
  const runs: { fromMs: number; toMs: number; count: number }[] = [];
  let current: { fromMs: number; toMs: number; count: number } | undefined;
  for (const r of decided) {
    if (r.status === 'missed') {
      if (current) {
        current.toMs = r.dueAtMs;
        current.count++;
      } else {
        current = { fromMs: r.windowStartMs, toMs: r.dueAtMs, count: 1 };
        runs.push(current);
      }
    } else {
      current = undefined;
    }
  }
  return runs;
}

export function evaluateAssessment(
  input: AssessmentInput,
  rules: AssessmentRules,
): AssessmentResult {
  const reasons: Reason[] = [];
  const excludedResolutions = new Set(rules.violations.notViolationResolutions);
  const typePoints = { ...BUILTIN_TYPE_POINTS, ...rules.violations.pointsByType };
  const isViolation = (g: { resolution: string | null }) =>
    g.resolution === null || !excludedResolutions.has(g.resolution);

  // Violations by type and severity.
  const byKey = new Map<string, AssessmentFacts['violations']['byType'][number]>();
  let excluded = 0;
  let separations = 0;
  let serious = 0;
  const seriousSeverities = new Set<string>(rules.sanctions.seriousSeverities);
  const seriousExcluded = new Set<string>(rules.sanctions.seriousExcludedTypes);
  for (const g of input.alerts) {
    if (!isViolation(g)) {
      excluded += g.count;
      continue;
    }
    const pointsEach = typePoints[g.type] ?? rules.violations.pointsBySeverity[g.severity];
    const key = `${g.type}/${g.severity}`;
    const row = byKey.get(key) ?? {
      type: g.type,
      severity: g.severity,
      count: 0,
      pointsEach,
      points: 0,
    };
    row.count += g.count;
    row.points = round1(row.count * pointsEach);
    byKey.set(key, row);
    if (seriousSeverities.has(g.severity) && !seriousExcluded.has(g.type)) serious += g.count;
    if (
      g.type === 'device_separation' &&
      (g.resolution === 'confirmed_violation' || g.status !== 'resolved')
    ) {
      separations += g.count;
    }
  }
  const byType = [...byKey.values()].sort(
    (a, b) => b.count - a.count || a.type.localeCompare(b.type),
  );
  const counted = byType.reduce((n, r) => n + r.count, 0);
  const violationPoints = round1(byType.reduce((n, r) => n + r.points, 0));
  if (counted > 0) {
    const zh = byType.map((r) => `${ALERT_TYPE_LABELS[r.type].zh} ${r.count} 起`).join('、');
    const en = byType.map((r) => `${ALERT_TYPE_LABELS[r.type].en} ×${r.count}`).join(', ');
    reasons.push({
      code: 'violations',
      zh: `本月违规告警 ${counted} 起（${zh}），扣 ${fmt(violationPoints)} 分`,
      en: `${counted} violation alert(s) this month (${en}): −${fmt(violationPoints)} points`,
      points: violationPoints,
    });
  } else {
    reasons.push({
      code: 'violations',
      zh: '本月无违规告警',
      en: 'no violation alerts this month',
      points: 0,
    });
  }
  if (excluded > 0) {
    reasons.push({
      code: 'violations_excluded',
      zh: `另有 ${excluded} 起告警经核实为误报或已撤回，不计入`,
      en: `${excluded} more alert(s) closed as not a violation (false alarm, withdrawn …): not counted`,
    });
  }

  // Check-in rate.
  const status = { pending: 0, met: 0, missed: 0, cancelled: 0 };
  for (const r of input.checkinRequests) status[r.status]++;
  const owed = status.met + status.missed;
  const rate = owed === 0 ? 1 : status.met / owed;
  const checkinPoints = round1((1 - rate) * rules.checkins.pointsAtZeroRate);
  const runs = missedRuns(input.checkinRequests);
  const longestMissedRun = runs.reduce((n, r) => Math.max(n, r.count), 0);
  reasons.push(
    owed === 0
      ? {
          code: 'checkin_rate',
          zh: '本月无到期的核查要求，核查率按 100% 计',
          en: 'no check-in fell due this month: rate counted as 100%',
          points: 0,
        }
      : {
          code: 'checkin_rate',
          zh: `应核查 ${owed} 次，按时完成 ${status.met} 次，未按时 ${status.missed} 次，核查率 ${pct(rate)}，扣 ${fmt(checkinPoints)} 分`,
          en: `${owed} check-in(s) due: ${status.met} met, ${status.missed} missed, rate ${pct(rate)}: −${fmt(checkinPoints)} points`,
          points: checkinPoints,
        },
  );

  // Person–device separations.
  const separationPoints = round1(separations * rules.separations.pointsEach);
  if (separations > 0) {
    reasons.push({
      code: 'separations',
      zh: `人机分离 ${separations} 次（经确认或尚未处置），扣 ${fmt(separationPoints)} 分`,
      en: `${separations} person–device separation(s), confirmed or not yet resolved: −${fmt(separationPoints)} points`,
      points: separationPoints,
    });
  }

  // Education and community-service hours.
  const h = rules.hours;
  const missingEducation = Math.max(0, h.educationRequired - input.hours.education);
  const missingService = Math.max(0, h.communityServiceRequired - input.hours.communityService);
  const educationPoints = round1(missingEducation * h.pointsPerMissingHour);
  const servicePoints = round1(missingService * h.pointsPerMissingHour);
  reasons.push(
    {
      code: 'hours_education',
      zh:
        `教育学习 ${fmt(input.hours.education)} 小时（要求 ${fmt(h.educationRequired)} 小时）` +
        (missingEducation > 0
          ? `，差 ${fmt(missingEducation)} 小时，扣 ${fmt(educationPoints)} 分`
          : ''),
      en:
        `education ${fmt(input.hours.education)} h (expected ${fmt(h.educationRequired)} h)` +
        (missingEducation > 0
          ? `: ${fmt(missingEducation)} h short, −${fmt(educationPoints)} points`
          : ''),
      points: educationPoints,
    },
    {
      code: 'hours_community_service',
      zh:
        `公益活动 ${fmt(input.hours.communityService)} 小时（要求 ${fmt(h.communityServiceRequired)} 小时）` +
        (missingService > 0 ? `，差 ${fmt(missingService)} 小时，扣 ${fmt(servicePoints)} 分` : ''),
      en:
        `community service ${fmt(input.hours.communityService)} h (expected ${fmt(h.communityServiceRequired)} h)` +
        (missingService > 0
          ? `: ${fmt(missingService)} h short, −${fmt(servicePoints)} points`
          : ''),
      points: servicePoints,
    },
  );

  // Score.
  const deductions = round1(
    violationPoints + checkinPoints + separationPoints + educationPoints + servicePoints,
  );
  const score = round1(Math.max(0, rules.baseScore - deductions));
  reasons.push({
    code: 'score',
    zh: `得分 ${fmt(score)} = ${fmt(rules.baseScore)} − ${fmt(deductions)}`,
    en: `score ${fmt(score)} = ${fmt(rules.baseScore)} − ${fmt(deductions)}`,
  });

  // Out of contact (脱离监管): no_signal alerts and runs of missed check-ins, merged.
  const noSignal = input.noSignal.filter(isViolation);
  const longRuns = runs.filter((r) => r.count >= rules.sanctions.consecutiveMissedCheckins);
  const stretches = mergeIntervals([
    ...noSignal.map((a) => ({
      fromMs: a.startMs,
      toMs: Math.min(a.endMs ?? input.periodEndMs, input.periodEndMs),
    })),
    ...longRuns.map((r) => ({ fromMs: r.fromMs, toMs: Math.min(r.toMs, input.periodEndMs) })),
  ]).filter((s) => s.toMs > input.periodStartMs);
  const longest = stretches.reduce<{ fromMs: number; toMs: number } | undefined>(
    (best, s) => (!best || s.toMs - s.fromMs > best.toMs - best.fromMs ? s : best),
    undefined,
  );
  const longestMs = longest ? longest.toMs - longest.fromMs : 0;
  const longestDays = daysOf(longestMs);

  // The sanction ladder.
  const sr = rules.sanctions;
  const rank = (s: Sanction) => SANCTIONS.indexOf(s);
  // Widened on purpose: `raise` below changes it, which narrowing cannot see.
  let sanction = 'none' as Sanction;
  const grounds: string[] = [];
  const raise = (to: Sanction, code: string, zh: string, en: string) => {
    if (rank(to) > rank(sanction)) sanction = to;
    grounds.push(code);
    reasons.push({
      code,
      zh: `${zh}，建议${SANCTION_LABELS[to].zh}`,
      en: `${en}: ${SANCTION_LABELS[to].en}`,
    });
  };
  if (longest && longestMs >= sr.outOfContactMinHours * HOUR_MS) {
    const span = `${new Date(longest.fromMs).toISOString()} – ${new Date(longest.toMs).toISOString()}`;
    if (longestMs > sr.revocationAfterDays * DAY_MS) {
      raise(
        'revocation_request',
        'out_of_contact_revocation',
        `脱离监管 ${fmt(longestDays)} 天（${span}），超过 ${fmt(sr.revocationAfterDays)} 天`,
        `out of contact ${fmt(longestDays)} days (${span}), more than ${fmt(sr.revocationAfterDays)}`,
      );
    } else if (longestMs > sr.warningAfterDays * DAY_MS) {
      raise(
        'warning',
        'out_of_contact_warning',
        `脱离监管 ${fmt(longestDays)} 天（${span}），超过 ${fmt(sr.warningAfterDays)} 天`,
        `out of contact ${fmt(longestDays)} days (${span}), more than ${fmt(sr.warningAfterDays)}`,
      );
    } else {
      raise(
        'admonition',
        'out_of_contact_admonition',
        `脱离监管 ${fmt(longestDays)} 天（${span}），未超过 ${fmt(sr.warningAfterDays)} 天`,
        `out of contact ${fmt(longestDays)} days (${span}), at most ${fmt(sr.warningAfterDays)}`,
      );
    }
  }
  if (serious >= sr.seriousForAdmonition) {
    raise(
      'admonition',
      'serious_violations',
      `本月严重违规 ${serious} 起（达到 ${sr.seriousForAdmonition} 起）`,
      `${serious} serious violations this month (threshold ${sr.seriousForAdmonition})`,
    );
  }
  const prior = input.priorSanctions;
  if (sanction !== 'none') {
    if (prior.warning >= sr.warningsForRevocation && rank(sanction) < rank('revocation_request')) {
      raise(
        'revocation_request',
        'prior_warnings',
        `此前已受警告 ${prior.warning} 次，仍有应予处罚的情形`,
        `${prior.warning} prior warning(s) and a new ground this month`,
      );
    } else if (prior.admonition >= sr.admonitionsForWarning && rank(sanction) < rank('warning')) {
      raise(
        'warning',
        'prior_admonitions',
        `此前已受训诫 ${prior.admonition} 次，仍有应予处罚的情形`,
        `${prior.admonition} prior admonition(s) and a new ground this month`,
      );
    }
  } else {
    reasons.push({
      code: 'sanction_none',
      zh: '本月无应予训诫、警告或提请撤销的情形',
      en: 'nothing this month calls for an admonition, a warning or a revocation request',
    });
  }

  // Management level.
  const lv = rules.levels;
  const byScore: ManagementLevel =
    score >= lv.lenientAtLeast ? 'lenient' : score < lv.strictBelow ? 'strict' : 'normal';
  reasons.push({
    code: 'level_by_score',
    zh:
      byScore === 'lenient'
        ? `得分 ${fmt(score)} 不低于 ${fmt(lv.lenientAtLeast)}，按得分为宽管`
        : byScore === 'strict'
          ? `得分 ${fmt(score)} 低于 ${fmt(lv.strictBelow)}，按得分为严管`
          : `得分 ${fmt(score)} 介于 ${fmt(lv.strictBelow)} 与 ${fmt(lv.lenientAtLeast)} 之间，按得分为普管`,
    en:
      byScore === 'lenient'
        ? `score ${fmt(score)} ≥ ${fmt(lv.lenientAtLeast)}: lenient by score`
        : byScore === 'strict'
          ? `score ${fmt(score)} < ${fmt(lv.strictBelow)}: strict by score`
          : `score ${fmt(score)} between ${fmt(lv.strictBelow)} and ${fmt(lv.lenientAtLeast)}: normal by score`,
  });
  const idx = (l: ManagementLevel) => LEVELS.indexOf(l);
  let level = byScore;
  if (idx(byScore) - idx(input.currentLevel) > lv.maxStepsLighter) {
    level = LEVELS[idx(input.currentLevel) + lv.maxStepsLighter]!;
    reasons.push({
      code: 'level_step_limit',
      zh: `每月最多放宽 ${lv.maxStepsLighter} 级：由${LEVEL_LABELS[input.currentLevel].zh}调整为${LEVEL_LABELS[level].zh}`,
      en: `at most ${lv.maxStepsLighter} level(s) lighter a month: from ${LEVEL_LABELS[input.currentLevel].en} to ${LEVEL_LABELS[level].en}`,
    });
  }
  if (sanction !== 'none' && lv.strictWhenSanctioned && level !== 'strict') {
    level = 'strict';
    reasons.push({
      code: 'level_sanctioned',
      zh: `建议${SANCTION_LABELS[sanction].zh}，同时建议严管`,
      en: `a ${SANCTION_LABELS[sanction].en} is recommended, so is strict management`,
    });
  }
  reasons.push({
    code: 'level_recommended',
    zh:
      level === input.currentLevel
        ? `建议维持${LEVEL_LABELS[level].zh}`
        : `建议由${LEVEL_LABELS[input.currentLevel].zh}调整为${LEVEL_LABELS[level].zh}`,
    en:
      level === input.currentLevel
        ? `keep ${LEVEL_LABELS[level].en}`
        : `move from ${LEVEL_LABELS[input.currentLevel].en} to ${LEVEL_LABELS[level].en}`,
  });

  const facts: AssessmentFacts = {
    version: 1,
    month: input.month,
    period: {
      from: new Date(input.periodStartMs).toISOString(),
      to: new Date(input.periodEndMs).toISOString(),
      partial: input.partial,
    },
    currentLevel: input.currentLevel,
    violations: { counted, excluded, points: violationPoints, byType },
    checkins: {
      ...status,
      rate: Math.round(rate * 10_000) / 10_000,
      longestMissedRun,
      points: checkinPoints,
    },
    separations: { count: separations, points: separationPoints },
    hours: {
      education: round1(input.hours.education),
      communityService: round1(input.hours.communityService),
      educationRequired: h.educationRequired,
      communityServiceRequired: h.communityServiceRequired,
      missing: round1(missingEducation + missingService),
      points: round1(educationPoints + servicePoints),
    },
    outOfContact: {
      longestDays,
      longest: longest
        ? { from: new Date(longest.fromMs).toISOString(), to: new Date(longest.toMs).toISOString() }
        : null,
      noSignalAlerts: noSignal.length,
      missedCheckinRuns: longRuns.length,
    },
    seriousViolations: serious,
    priorSanctions: { ...prior },
    score: { base: rules.baseScore, deductions, final: score },
    level: { current: input.currentLevel, byScore, recommended: level },
    sanction: { recommended: sanction, grounds },
    reasons,
    rules,
  };
  return { score, recommendedLevel: level, recommendedSanction: sanction, facts };
}

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Role } from '@ccm/db';
import { currentUser } from '../auth/plugin';
import type { FeatureDeps } from '../context';
import { IsoTime } from '../http';
import { alertStatistics } from './service';

/**
 * Figures for supervision and oversight: officers, bureaus, the procuratorate (read-only) and
 * admins read them in their scope. Police partners see only their position query.
 */
const READERS: readonly Role[] = ['admin', 'bureau', 'officer', 'auditor'];
const DAY_MS = 86_400_000;

const TimeZone = z
  .string()
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, '未知时区 / unknown IANA time zone')
  .default('Asia/Shanghai');

const MAX_DAYS = 366;

/** `from`/`to` of a query: default the 30 days before `to` (default now). */
function resolveWindow(q: { from?: string | undefined; to?: string | undefined }) {
  const to = q.to ? new Date(q.to) : new Date();
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - 30 * DAY_MS);
  return { from, to };
}

const WindowQuery = {
  from: IsoTime.optional().describe('start (inclusive); default `to` minus 30 days'),
  to: IsoTime.optional().describe('end (exclusive); default now'),
};

function checkWindow(
  q: { from?: string | undefined; to?: string | undefined },
  ctx: z.RefinementCtx,
) {
  const { from, to } = resolveWindow(q);
  if (from >= to) {
    ctx.addIssue({ code: 'custom', path: ['from'], message: 'from 必须早于 to / from before to' });
  } else if (to.getTime() - from.getTime() > MAX_DAYS * DAY_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['to'],
      message: `窗口不超过 ${MAX_DAYS} 天 / a window of at most ${MAX_DAYS} days`,
    });
  }
}

const Count = z.number().int();
const Seconds = z.number().nullable();

const StatisticsView = z.object({
  from: z.string(),
  to: z.string(),
  timeZone: z.string(),
  total: Count,
  byType: z.array(z.object({ type: z.string(), severity: z.string(), count: Count })),
  byDay: z.array(z.object({ day: z.string(), count: Count })),
  byJurisdiction: z.array(
    z.object({ code: z.string(), nameZh: z.string(), nameEn: z.string(), count: Count }),
  ),
  resolutions: z.array(z.object({ resolution: z.string(), count: Count })),
  resolved: Count,
  falseAlarms: Count,
  falseAlarmShare: z.number().nullable(),
  timeToAcknowledge: z.object({
    count: Count,
    meanS: Seconds,
    medianS: Seconds,
    p90S: Seconds,
    openUnacknowledged: Count,
    bySeverity: z.array(
      z.object({
        severity: z.string(),
        count: Count,
        meanS: Seconds,
        medianS: Seconds,
        p90S: Seconds,
      }),
    ),
  }),
  subjectsByLevel: z.array(
    z.object({ level: z.enum(['strict', 'normal', 'lenient']), count: Count }),
  ),
});

export function registerStatisticsRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/v1/statistics/alerts',
    {
      config: { roles: READERS },
      schema: {
        summary:
          '决策分析 / alerts by type, day and jurisdiction, false-alarm share, time to acknowledge, subjects by management level',
        tags: ['statistics'],
        querystring: z.object({ ...WindowQuery, timeZone: TimeZone }).superRefine(checkWindow),
        response: { 200: StatisticsView },
      },
    },
    async (request) => {
      const q = request.query;
      const w = resolveWindow(q);
      return alertStatistics(deps.db, currentUser(request), { ...w, timeZone: q.timeZone });
    },
  );
}

import type { FastifyInstance } from 'fastify';
import { registerAuditRoutes } from './audit/routes';
import { registerAuthRoutes } from './auth/routes';
import type { ServerConfig } from './config';
import type { FeatureDeps, ServerSettings } from './context';
import { alertsPositionsRoutes } from './routes-alerts-positions';
import { assessmentReportRoutes } from './routes-assessment-reports';
import { ordersZonesRoutes } from './routes-orders-zones';
import { peopleRoutes } from './routes-people';
import { supervisionRoutes } from './routes-supervision';
import { registerStatisticsRoutes } from './statistics/routes';
import { registerStreamRoutes } from './stream/routes';

/** Every feature folder's routes, in one list: adding a feature is one line here. */
export function featureRoutes(
  deps: FeatureDeps,
): ((app: FastifyInstance) => void | Promise<void>)[] {
  return [
    (app) => registerAuthRoutes(app, deps),
    (app) => registerAuditRoutes(app, deps),
    ...peopleRoutes(deps),
    ...ordersZonesRoutes(deps),
    ...alertsPositionsRoutes(deps),
    ...supervisionRoutes(deps),
    ...assessmentReportRoutes(deps),
    (app) => registerStatisticsRoutes(app, deps),
    ...(deps.stream
      ? [(app: FastifyInstance) => registerStreamRoutes(app, deps, deps.stream!)]
      : []),
  ];
}

export function settingsFrom(config: ServerConfig): ServerSettings {
  return {
    auth: {
      sessionTtlHours: config.CCM_SESSION_TTL_HOURS,
      maxFailures: config.CCM_LOGIN_MAX_FAILURES,
      failureWindowMinutes: config.CCM_LOGIN_FAILURE_WINDOW_MINUTES,
      lockoutMinutes: config.CCM_LOCKOUT_MINUTES,
      totpRequiredRoles: config.CCM_TOTP_REQUIRED_ROLES,
    },
    idCardFullRoles: config.CCM_IDCARD_FULL_ROLES,
    escalateAfterMinutes: config.CCM_ESCALATE_AFTER_MINUTES,
  };
}

import type { FastifyInstance } from 'fastify';
import { registerActivityRoutes } from './activities/routes';
import { registerAssessmentRoutes } from './assessments/routes';
import type { FeatureDeps } from './context';
import { registerReportRoutes } from './reports/routes';

/** Route registrars of this feature group (owned by its feature folders). */
export function assessmentReportRoutes(
  deps: FeatureDeps,
): ((app: FastifyInstance) => void | Promise<void>)[] {
  return [
    (app) => registerActivityRoutes(app, deps),
    (app) => registerAssessmentRoutes(app, deps),
    (app) => registerReportRoutes(app, deps),
  ];
}

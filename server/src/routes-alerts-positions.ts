import type { FastifyInstance } from 'fastify';
import { registerAlertRoutes } from './alerts/routes';
import type { FeatureDeps } from './context';
import { registerPoliceRoutes } from './police/routes';
import { registerPositionRoutes } from './positions/routes';

/** Route registrars of this feature group (owned by its feature folders). */
export function alertsPositionsRoutes(
  deps: FeatureDeps,
): ((app: FastifyInstance) => void | Promise<void>)[] {
  return [
    (app) => registerAlertRoutes(app, deps),
    (app) => registerPositionRoutes(app, deps),
    (app) => registerPoliceRoutes(app, deps),
  ];
}

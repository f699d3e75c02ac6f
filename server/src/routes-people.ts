import type { FastifyInstance } from 'fastify';
import type { FeatureDeps } from './context';
import { registerDeviceRoutes } from './devices/routes';
import { registerJurisdictionRoutes } from './jurisdictions/routes';
import { registerSubjectRoutes } from './subjects/routes';
import { registerUserRoutes } from './users/routes';

/** Route registrars of this feature group (owned by its feature folders). */
export function peopleRoutes(
  deps: FeatureDeps,
): ((app: FastifyInstance) => void | Promise<void>)[] {
  return [
    (app) => registerJurisdictionRoutes(app, deps),
    (app) => registerUserRoutes(app, deps),
    (app) => registerSubjectRoutes(app, deps),
    (app) => registerDeviceRoutes(app, deps),
  ];
}

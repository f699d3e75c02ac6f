import type { FastifyInstance } from 'fastify';
import type { FeatureDeps } from './context';
import { registerLeaveRoutes } from './leaves/routes';
import { registerNotificationRoutes } from './notifications/routes';
import { registerCheckinRoutes } from './supervision/routes';

/** Supervision workflows (issue #9): check-ins, leave, notifications. */
export function supervisionRoutes(
  deps: FeatureDeps,
): ((app: FastifyInstance) => void | Promise<void>)[] {
  return [
    (app) => registerCheckinRoutes(app, deps),
    (app) => registerLeaveRoutes(app, deps),
    (app) => registerNotificationRoutes(app, deps),
  ];
}

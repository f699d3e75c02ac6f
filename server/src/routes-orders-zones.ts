import type { FastifyInstance } from 'fastify';
import type { FeatureDeps } from './context';
import { registerOrderRoutes } from './orders/routes';
import { registerZoneRoutes } from './zones/routes';

/** Route registrars of this feature group (owned by its feature folders). */
export function ordersZonesRoutes(
  deps: FeatureDeps,
): ((app: FastifyInstance) => void | Promise<void>)[] {
  return [(app) => registerOrderRoutes(app, deps), (app) => registerZoneRoutes(app, deps)];
}

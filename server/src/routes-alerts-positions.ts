import type { FastifyInstance } from 'fastify';
import type { FeatureDeps } from './context';

/** Route registrars of this feature group (owned by its feature folders). */
export function alertsPositionsRoutes(
  _deps: FeatureDeps,
): ((app: FastifyInstance) => void | Promise<void>)[] {
  return [];
}

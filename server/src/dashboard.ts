import { existsSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * Serves the built dashboard (`dashboard/dist`, made by `npm run build -w dashboard`) at `/`:
 * files as they are, hashed assets cached for a year, and `index.html` for every other GET
 * that is not an API path, so the browser's router handles deep links (/alerts/…).
 * Unknown /api paths keep their JSON 404 (the app's not-found handler).
 *
 * Two optional settings (server config):
 * - `CCM_DASHBOARD_DIR`: another build folder (default: the repository's dashboard/dist).
 * - `CCM_MAP_CONFIG`: a JSON file with this deployment's basemap (天地图 key, a self-hosted
 *   tile server, a PMTiles file; see dashboard/README.md), served as /map-config.json instead
 *   of the build's default (the bundled offline basemap).
 */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(
  new URL('../../dashboard/dist', import.meta.url),
);

export interface DashboardOptions {
  /** CCM_DASHBOARD_DIR. */
  dir?: string | undefined;
  /** CCM_MAP_CONFIG's content, checked by the config schema. */
  mapConfig?: unknown;
}

export async function registerDashboard(app: FastifyInstance, options: DashboardOptions = {}) {
  const root = resolve(options.dir || DEFAULT_DASHBOARD_DIR);
  const { mapConfig } = options;
  // Cache headers are set below per file kind.
  await app.register(fastifyStatic, { root, serve: false, cacheControl: false });

  const built = () => existsSync(join(root, 'index.html'));
  const isFile = (path: string) => {
    try {
      return statSync(path).isFile();
    } catch {
      return false;
    }
  };
  const sendIndex = (reply: FastifyReply) => {
    if (!built()) {
      return reply
        .status(503)
        .type('text/html; charset=utf-8')
        .send(
          '<!doctype html><meta charset="utf-8"><title>CCM</title><p>工作台尚未构建 / the dashboard is not built: run <code>npm run build -w dashboard</code> (npm start does it for you).</p>',
        );
    }
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  };

  if (mapConfig !== undefined) {
    app.get('/map-config.json', { schema: { hide: true } }, async (_request, reply) =>
      reply.header('cache-control', 'no-cache').send(mapConfig),
    );
  }

  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    const path = decodeURIComponent(request.url.split('?')[0] ?? '/');
    if (path === '/api' || path.startsWith('/api/') || path === '/metrics') {
      return reply.callNotFound();
    }
    const rel = normalize(path).replace(/^([/\\])+/, '');
    const file = resolve(root, rel);
    if (rel && (file === root || file.startsWith(root + sep)) && isFile(file)) {
      const immutable = rel.startsWith(`assets${sep}`);
      return reply
        .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
        .sendFile(rel);
    }
    // A missing file with an extension (a stale asset) is a 404, not the app's page.
    if (extname(rel) && extname(rel) !== '.html') return reply.callNotFound();
    return sendIndex(reply);
  });
}

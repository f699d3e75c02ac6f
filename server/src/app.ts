import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { registerDashboard, type DashboardOptions } from './dashboard';
import { AppError, type ErrorBody } from './errors';
import { HealthReport } from './health';

export interface AppDeps {
  /** Prometheus exposition of this process's metrics. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** Registers routes that need more than the app itself (feature folders). */
  routes?: ((app: FastifyInstance) => void | Promise<void>)[];
  /** Turns on sign-in for every non-public /api/v1 route (hook registered before any route). */
  auth?: (app: FastifyInstance) => void;
  /** Reports the components this process depends on; never throws. */
  health: () => Promise<HealthReport>;
  /** pino logger; none in tests. */
  logger?: FastifyBaseLogger;
  /** Where the built dashboard is and the deployment's basemap (server config). */
  dashboard?: DashboardOptions;
}

export const ErrorResponse = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

/**
 * Builds the HTTP application without listening: tests call `app.inject()`, main.ts listens.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    // Bodies larger than this are refused before parsing (zone polygons stay well below).
    bodyLimit: 2 * 1024 * 1024,
    requestTimeout: 30_000,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  deps.auth?.(app);

  app.setErrorHandler((err, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const first = err.validation[0];
      const field = first?.instancePath?.replace(/^\//, '').replace(/\//g, '.') || undefined;
      const body: ErrorBody = {
        error: {
          code: 'VALIDATION_FAILED',
          message: `请求参数无效 / invalid ${err.validationContext ?? 'request'}${field ? ` at ${field}` : ''}: ${first?.message ?? ''}`,
          details: err.validation.map((v) => ({
            in: err.validationContext,
            field: v.instancePath.replace(/^\//, '').replace(/\//g, '.'),
            message: v.message,
          })),
        },
      };
      return reply.status(400).send(body);
    }
    if (err instanceof AppError) {
      const body: ErrorBody = {
        error: {
          code: err.code,
          message: err.message,
          ...(err.details ? { details: err.details } : {}),
        },
      };
      return reply.status(err.statusCode).send(body);
    }
    const fastifyError = err as { statusCode?: number; code?: string; message?: string };
    const status = fastifyError.statusCode ?? 500;
    if (status < 500 && !isResponseSerializationError(err)) {
      // Fastify's own client errors (bad JSON, body too large, wrong content type).
      return reply.status(status).send({
        error: { code: fastifyError.code ?? 'BAD_REQUEST', message: fastifyError.message ?? '' },
      } satisfies ErrorBody);
    }
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send({
      error: { code: 'INTERNAL', message: '服务器内部错误 / internal server error' },
    } satisfies ErrorBody);
  });

  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: {
        code: 'ROUTE_NOT_FOUND',
        message: `无此接口 / no route ${request.method} ${request.url.split('?')[0]}`,
      },
    } satisfies ErrorBody),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'CCM 社区矫正监管平台 API',
        description: 'Community-correction monitoring platform: HTTP API v1',
        version: '1.0.0',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });

  app.get('/api/v1/openapi.json', { config: { public: true }, schema: { hide: true } }, async () =>
    app.swagger(),
  );

  app.get(
    '/api/v1/health',
    {
      config: { public: true },
      schema: {
        summary: '健康检查 / health of the database and the broker',
        tags: ['system'],
        response: { 200: HealthReport, 503: HealthReport },
      },
    },
    async (_request, reply) => {
      const report = await deps.health();
      return reply.status(report.status === 'ok' ? 200 : 503).send(report);
    },
  );

  if (deps.metrics) {
    const metrics = deps.metrics;
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      const { contentType, body } = await metrics();
      return reply.type(contentType).send(body);
    });
  }

  for (const register of deps.routes ?? []) await register(app);
  await registerDashboard(app, deps.dashboard); // the built dashboard at /, after the API routes

  return app;
}

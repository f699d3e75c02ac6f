import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import {
  BrokerAuthorizer,
  createGatewayMetrics,
  startCommandDispatcher,
  startGateway,
  type Gateway,
} from '@ccm/device-gateway';
import type { FastifyInstance } from 'fastify';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { openPGlite, openPostgres, type Database } from '@ccm/db';
import { applyTimescalePolicies, migrate } from '@ccm/migrations';
import { buildApp } from './app';
import { ensureFirstAdmin } from './bootstrap';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker';
import type { ServerConfig } from './config';
import { lockDataDir } from './datadir';
import type { HealthReport } from './health';
import { registerMqttHooks } from './mqtt/hooks';
import { registerAuth } from './auth/plugin';
import type { FeatureDeps } from './context';
import { featureRoutes, settingsFrom } from './features';
import { escalateOverdueAlerts, loadAlertViews } from './alerts';
import { StreamHub } from './stream/hub';
import { SupervisionWorker } from './supervision/worker';
import { runMonthlyAssessments } from './assessments';
import { demoPassword, runDemo } from './demo';

export const VERSION = '0.1.0';
/** Username of the platform's own clients on the in-process broker. */
export const PLATFORM_MQTT_USER = 'ccm-platform';
const HEALTH_TIMEOUT_MS = 2000;

export interface Platform {
  app: FastifyInstance;
  database: Database;
  /** The broker URL the platform's own clients use. */
  mqttUrl: string;
  /** Base URL of the HTTP server. */
  httpUrl: string;
  close(): Promise<void>;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Starts everything one CCM process runs: the database (embedded PGlite or a server) with
 * its migrations, the MQTT broker (in-process or external), and the HTTP API. Resources are
 * released in reverse order by close(), and on a failed start.
 */
export async function startPlatform(config: ServerConfig, logger: Logger): Promise<Platform> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        logger.warn({ err }, 'error during shutdown');
      }
    }
    cleanups.length = 0;
  };
  try {
    let database: Database;
    if (config.DATABASE_URL) {
      database = openPostgres({
        url: config.DATABASE_URL,
        poolSize: config.DB_POOL_SIZE,
        logger,
      });
    } else {
      const lock = lockDataDir(config.CCM_DATA_DIR);
      cleanups.push(() => lock.release());
      const dataDir = join(config.CCM_DATA_DIR, 'pglite');
      logger.info({ dataDir }, '使用内置数据库 / using the embedded PostgreSQL (PGlite)');
      database = await openPGlite({ dataDir });
    }
    cleanups.push(() => database.close());

    const migration = await migrate(database, { timescale: config.CCM_TIMESCALEDB, logger });
    await applyTimescalePolicies(database, {
      compressAfterDays: config.CCM_COMPRESS_AFTER_DAYS,
      retentionDays: config.CCM_RETENTION_DAYS,
    });
    logger.info(
      { applied: migration.applied.length, timescaledb: migration.timescale },
      '数据库已就绪 / database ready',
    );

    if (config.CCM_ADMIN_USERNAME && config.CCM_ADMIN_PASSWORD) {
      const created = await ensureFirstAdmin(database.db, {
        username: config.CCM_ADMIN_USERNAME,
        password: config.CCM_ADMIN_PASSWORD,
        rootCode: config.CCM_ROOT_JURISDICTION_CODE,
        rootName: config.CCM_ROOT_JURISDICTION_NAME,
      });
      if (created) {
        logger.info(
          { username: config.CCM_ADMIN_USERNAME },
          '已创建首个管理员 / first admin created',
        );
      }
    }

    // The platform's own broker account: generated per run for the in-process broker,
    // MQTT_USERNAME/MQTT_PASSWORD on an external one.
    const platformAccount =
      config.MQTT_URL === undefined
        ? { username: PLATFORM_MQTT_USER, password: randomBytes(24).toString('base64url') }
        : config.MQTT_USERNAME && config.MQTT_PASSWORD
          ? { username: config.MQTT_USERNAME, password: config.MQTT_PASSWORD }
          : undefined;
    const authorizer = new BrokerAuthorizer(
      database.db,
      platformAccount ?? {
        username: PLATFORM_MQTT_USER,
        password: randomBytes(24).toString('base64url'),
      },
    );

    let broker: EmbeddedBroker | undefined;
    let mqttUrl = config.MQTT_URL;
    if (!mqttUrl) {
      broker = await startEmbeddedBroker({
        port: config.MQTT_LISTEN_PORT,
        host: config.MQTT_LISTEN_HOST,
        auth: authorizer,
      });
      const embedded = broker;
      cleanups.push(() => embedded.close());
      mqttUrl = broker.url;
      logger.info({ url: broker.url }, '内置 MQTT 代理已启动 / in-process MQTT broker listening');
    }
    const credentials = platformAccount
      ? { username: platformAccount.username, password: platformAccount.password }
      : {};

    const metricsRegistry = new Registry();
    collectDefaultMetrics({ register: metricsRegistry, prefix: 'ccm_' });
    let gateway: Gateway | undefined;
    if (config.CCM_GATEWAY) {
      gateway = await startGateway({
        database,
        mqttUrl,
        mqttOptions: credentials,
        logger,
        metrics: createGatewayMetrics(metricsRegistry),
        options: {
          // The in-process broker has no shared subscriptions; one gateway runs there.
          sharedGroup: broker ? null : config.MQTT_SHARED_GROUP,
          maxBatchMessages: config.GATEWAY_MAX_BATCH_MESSAGES,
          maxQueuedMessages: config.GATEWAY_MAX_QUEUED_MESSAGES,
          commitLanes: config.GATEWAY_COMMIT_LANES,
        },
      });
      const started = gateway;
      cleanups.push(() => started.close());
    }

    // The platform's own connection to the broker: health now, downlink commands later.
    const client: MqttClient = mqtt.connect(mqttUrl, {
      clientId: `ccm-server-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      reconnectPeriod: 2000,
      // A refused CONNECT (EMQX asking our own HTTP hook before it listens) is retried too.
      reconnectOnConnackError: true,
      connectTimeout: 10_000,
      ...credentials,
    });
    let brokerError: string | undefined;
    client.on('error', (err) => {
      brokerError = err.message;
      logger.warn({ err: err.message }, 'MQTT 连接错误 / broker connection error');
    });
    client.on('connect', () => {
      brokerError = undefined;
    });
    cleanups.push(() => client.endAsync(true));
    const dispatcher = startCommandDispatcher(database.db, client, {
      onError: (err) =>
        logger.warn({ err }, '下发指令失败，将重试 / command dispatch failed, will retry'),
    });
    cleanups.push(() => dispatcher.close());

    const startedAt = Date.now();
    const health = async (): Promise<HealthReport> => {
      let dbStatus: HealthReport['database'];
      const t0 = performance.now();
      try {
        await withTimeout(database.ping(), HEALTH_TIMEOUT_MS, 'database ping');
        dbStatus = {
          status: 'up',
          kind: database.kind,
          timescaledb: migration.timescale,
          latencyMs: Math.round((performance.now() - t0) * 10) / 10,
        };
      } catch (err) {
        dbStatus = {
          status: 'down',
          kind: database.kind,
          timescaledb: migration.timescale,
          latencyMs: null,
          error: (err as Error).message,
        };
      }
      const brokerStatus: HealthReport['broker'] = {
        status: client.connected ? 'up' : 'down',
        mode: broker ? 'embedded' : 'external',
        ...(client.connected ? {} : { error: brokerError ?? 'not connected' }),
      };
      const gatewayStatus: HealthReport['gateway'] = gateway
        ? {
            status: gateway.connected() ? 'up' : 'down',
            queueDepth: gateway.queueDepth(),
            lagMs: gateway.lagMs(),
          }
        : { status: 'off', queueDepth: null, lagMs: null };
      const ok =
        dbStatus.status === 'up' && brokerStatus.status === 'up' && gatewayStatus.status !== 'down';
      return {
        status: ok ? 'ok' : 'degraded',
        version: VERSION,
        uptimeS: Math.round((Date.now() - startedAt) / 1000),
        database: dbStatus,
        gateway: gatewayStatus,
        broker: brokerStatus,
      };
    };

    const settings = settingsFrom(config);
    const stream = new StreamHub(database.db, {
      loadAlerts: loadAlertViews,
      onError: (err) => logger.warn({ err }, '实时推送出错 / live stream tick failed'),
    });
    const features: FeatureDeps = {
      db: database.db,
      settings,
      stream,
      ...(gateway ? { ingest: gateway.events } : {}),
    };
    const app = await buildApp({
      health,
      logger,
      dashboard: { dir: config.CCM_DASHBOARD_DIR, mapConfig: config.CCM_MAP_CONFIG?.value },
      auth: (a) => registerAuth(a, database.db),
      metrics: async () => ({
        contentType: metricsRegistry.contentType,
        body: await metricsRegistry.metrics(),
      }),
      routes: [
        ...featureRoutes(features),
        ...(config.MQTT_AUTH_HOOK_TOKEN
          ? [
              (a: FastifyInstance) =>
                registerMqttHooks(a, {
                  token: config.MQTT_AUTH_HOOK_TOKEN!,
                  auth: authorizer,
                  platformUsername: platformAccount?.username ?? PLATFORM_MQTT_USER,
                }),
            ]
          : []),
      ],
    });
    cleanups.push(() => app.close());
    await stream.start();
    cleanups.push(() => stream.stop());
    // Alert changes reach live clients at once (the outbox is also polled every second).
    const unlistenOutbox = await database.listen('ccm_outbox', () => void stream.tickAlerts());
    cleanups.push(() => unlistenOutbox());
    // An unacknowledged critical alert escalates to the bureau after the configured time.
    const escalation = setInterval(() => {
      escalateOverdueAlerts(database.db, {
        afterMinutes: settings.escalateAfterMinutes,
        now: new Date(),
      }).catch((err) => logger.warn({ err }, '告警升级失败 / alert escalation failed'));
    }, 30_000);
    cleanups.push(() => clearInterval(escalation));
    // Supervision rules that run on time (check-in schedules, missed deadlines, order
    // reminders and expiry, leave returns); a committed check-in triggers a pass at once.
    // The monthly assessment of the month before, in the first three days of a month (China
    // time), at most every six hours: recomputing keeps late data in, decided rows untouched.
    let assessedAtMs = -Infinity;
    const supervision = new SupervisionWorker(database.db, logger, {
      intervalS: config.CCM_SUPERVISION_INTERVAL_S,
      extraSteps: [
        {
          name: 'assessment',
          run: async (nowMs) => {
            const dayOfMonth = new Date(nowMs + 8 * 3_600_000).getUTCDate();
            if (dayOfMonth > 3 || nowMs - assessedAtMs < 6 * 3_600_000) return;
            assessedAtMs = nowMs;
            await runMonthlyAssessments(database.db, { nowMs });
          },
        },
      ],
    });
    supervision.start();
    cleanups.push(() => supervision.stop());
    const unlistenCheckins = await database.listen('ccm_checkin', () => supervision.kick());
    cleanups.push(() => unlistenCheckins());
    await app.listen({ port: config.PORT, host: config.HOST });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
    const httpUrl = `http://${host}:${port}`;
    if (config.CCM_SIMULATOR) {
      const demo = await runDemo({
        database,
        mqttUrl,
        dataDir: config.CCM_DATA_DIR,
        password: demoPassword(config.CCM_DATA_DIR, config.CCM_DEMO_PASSWORD),
        fleetSize: config.CCM_DEMO_FLEET_SIZE,
        logger,
        httpUrl,
      });
      cleanups.push(() => demo.stop());
    }
    return { app, database, mqttUrl, httpUrl, close };
  } catch (err) {
    await close();
    throw err;
  }
}

import { join } from 'node:path';
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

export const VERSION = '0.1.0';
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

    let broker: EmbeddedBroker | undefined;
    let mqttUrl = config.MQTT_URL;
    if (!mqttUrl) {
      broker = await startEmbeddedBroker({
        port: config.MQTT_LISTEN_PORT,
        host: config.MQTT_LISTEN_HOST,
      });
      const embedded = broker;
      cleanups.push(() => embedded.close());
      mqttUrl = broker.url;
      logger.info({ url: broker.url }, '内置 MQTT 代理已启动 / in-process MQTT broker listening');
    }

    // The platform's own connection to the broker: health now, downlink commands later.
    const client: MqttClient = mqtt.connect(mqttUrl, {
      clientId: `ccm-server-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      ...(config.MQTT_USERNAME
        ? { username: config.MQTT_USERNAME, password: config.MQTT_PASSWORD }
        : {}),
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
      const ok = dbStatus.status === 'up' && brokerStatus.status === 'up';
      return {
        status: ok ? 'ok' : 'degraded',
        version: VERSION,
        uptimeS: Math.round((Date.now() - startedAt) / 1000),
        database: dbStatus,
        broker: brokerStatus,
      };
    };

    const app = await buildApp({ health, logger });
    cleanups.push(() => app.close());
    await app.listen({ port: config.PORT, host: config.HOST });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
    return { app, database, mqttUrl, httpUrl: `http://${host}:${port}`, close };
  } catch (err) {
    await close();
    throw err;
  }
}

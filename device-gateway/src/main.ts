import pino from 'pino';
import { ConfigError } from '@ccm/contracts';
import { openPostgres } from '@ccm/db';
import { loadGatewayConfig } from './config';
import { startGateway } from './gateway';

/** `npm run gateway`: one device gateway process on a PostgreSQL/TimescaleDB and a broker. */
async function main() {
  let config;
  try {
    config = loadGatewayConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78);
    }
    throw err;
  }
  const logger = pino({ level: config.LOG_LEVEL, base: { service: 'ccm-gateway' } });
  const database = openPostgres({
    url: config.DATABASE_URL,
    poolSize: config.DB_POOL_SIZE,
    logger,
  });
  const gateway = await startGateway({
    database,
    mqttUrl: config.MQTT_URL,
    mqttOptions: config.MQTT_USERNAME
      ? { username: config.MQTT_USERNAME, password: config.MQTT_PASSWORD }
      : {},
    logger,
    options: {
      sharedGroup: config.MQTT_SHARED_GROUP === 'none' ? null : config.MQTT_SHARED_GROUP,
      maxBatchMessages: config.GATEWAY_MAX_BATCH_MESSAGES,
      maxBatchDelayMs: config.GATEWAY_MAX_BATCH_DELAY_MS,
      maxQueuedMessages: config.GATEWAY_MAX_QUEUED_MESSAGES,
      commitLanes: config.GATEWAY_COMMIT_LANES,
    },
  });
  await gateway.ready;
  logger.info('设备网关已就绪 / gateway ready');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, '正在停止 / shutting down');
    const force = setTimeout(() => process.exit(1), config.SHUTDOWN_TIMEOUT_MS);
    force.unref();
    await gateway.close();
    await database.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(
    '网关启动失败 / gateway start-up failed:',
    err instanceof Error ? err.message : err,
  );
  process.exit(1);
});

import pino from 'pino';
import { ConfigError } from '@ccm/contracts';
import { loadServerConfig } from './config';
import { startPlatform } from './platform';

/**
 * `npm start`: the whole platform in one process on embedded defaults, or on a real
 * PostgreSQL/TimescaleDB and MQTT broker when DATABASE_URL / MQTT_URL are set.
 */
async function main() {
  let config;
  try {
    // `npm start` passes --demo: the simulator is on unless CCM_SIMULATOR says otherwise.
    const defaults = process.argv.includes('--demo') ? { CCM_SIMULATOR: 'on' } : {};
    config = loadServerConfig({ ...defaults, ...process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = pino({ level: config.LOG_LEVEL, base: { service: 'ccm-server' } });
  const platform = await startPlatform(config, logger);
  logger.info(
    { url: platform.httpUrl, mqtt: platform.mqttUrl },
    `CCM 已启动 / CCM is running: ${platform.httpUrl}/api/v1/health`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, '正在停止 / shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    force.unref();
    await platform.close();
    clearTimeout(force);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('启动失败 / start-up failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});

/**
 * Diagnostic only (`ingest.ts --engine-off`): the gateway exactly as device-gateway/src/main.ts
 * starts it, but with the rules engine off (GatewayOptions.engine = false), to measure what
 * the engine stage and its per-batch state writes cost. Not a supported configuration.
 */
import pino from 'pino';
import { openPostgres } from '@ccm/db';
import { startGateway } from '@ccm/device-gateway';
import { loadGatewayConfig } from '../../../device-gateway/src/config';

const config = loadGatewayConfig();
const logger = pino({ level: config.LOG_LEVEL, base: { service: 'ccm-gateway-bench' } });
const database = openPostgres({ url: config.DATABASE_URL, poolSize: config.DB_POOL_SIZE, logger });
const gateway = await startGateway({
  database,
  mqttUrl: config.MQTT_URL,
  logger,
  options: {
    sharedGroup: config.MQTT_SHARED_GROUP === 'none' ? null : config.MQTT_SHARED_GROUP,
    maxBatchMessages: config.GATEWAY_MAX_BATCH_MESSAGES,
    maxBatchDelayMs: config.GATEWAY_MAX_BATCH_DELAY_MS,
    maxQueuedMessages: config.GATEWAY_MAX_QUEUED_MESSAGES,
    engine: false,
  },
});
await gateway.ready;
logger.info('gateway ready (engine off)');
const stop = async () => {
  await gateway.close();
  await database.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

import { z } from 'zod';
import { envUrl, parseEnv } from '@ccm/contracts';

/**
 * A gateway as its own process (large deployments run several, behind a shared
 * subscription; see docs/adr/0004). The single-process `npm start` runs one inside the server.
 */
export const GatewayConfigSchema = z
  .object({
    DATABASE_URL: envUrl(['postgres', 'postgresql']),
    DB_POOL_SIZE: z.coerce.number().int().min(1).max(50).default(4),
    MQTT_URL: envUrl(['mqtt', 'mqtts', 'tcp', 'ssl', 'ws', 'wss']),
    MQTT_USERNAME: z.string().min(1).max(64).optional(),
    MQTT_PASSWORD: z.string().min(1).max(256).optional(),
    /** Empty string is "unset": use `none` to subscribe without a shared group. */
    MQTT_SHARED_GROUP: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .default('ccm-gateway'),
    GATEWAY_MAX_BATCH_MESSAGES: z.coerce.number().int().min(1).max(50_000).default(2000),
    GATEWAY_MAX_BATCH_DELAY_MS: z.coerce.number().int().min(0).max(1000).default(20),
    GATEWAY_MAX_QUEUED_MESSAGES: z.coerce.number().int().min(100).max(1_000_000).default(20_000),
    /** Batches committing at once, over disjoint devices (1: one after the other). */
    GATEWAY_COMMIT_LANES: z.coerce.number().int().min(1).max(8).default(2),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1000).max(120_000).default(15_000),
  })
  .superRefine((c, ctx) => {
    if ((c.MQTT_USERNAME === undefined) !== (c.MQTT_PASSWORD === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [c.MQTT_USERNAME === undefined ? 'MQTT_USERNAME' : 'MQTT_PASSWORD'],
        message: 'MQTT_USERNAME and MQTT_PASSWORD are set together or not at all',
      });
    }
  });
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;

export const loadGatewayConfig = (env: Record<string, string | undefined> = process.env) =>
  parseEnv(GatewayConfigSchema, env);

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { envOnOff, envPort, envUrl, parseEnv, parseMapConfig } from '@ccm/contracts';

const ROLES = ['admin', 'bureau', 'officer', 'police', 'auditor'] as const;
const roleList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v) =>
      v
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(ROLES)));

/**
 * CCM_MAP_CONFIG names a JSON file with the deployment's basemap: read and checked against
 * the dashboard's own schema at start, so a wrong key name or kind stops the server with a
 * config error (exit 78) instead of every browser falling back to the offline map.
 */
const mapConfigFile = z
  .string()
  .min(1)
  .transform((file, ctx) => {
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        message: `cannot read ${file} as JSON (${err instanceof Error ? err.message : String(err)})`,
      });
      return z.NEVER;
    }
    const parsed = parseMapConfig(value);
    if (parsed.ok) return { file, value: parsed.config };
    for (const problem of parsed.problems) {
      ctx.addIssue({ code: 'custom', message: `${file}: ${problem}` });
    }
    return z.NEVER;
  });

/**
 * The server process's configuration: one schema, parsed once at start, frozen.
 * Documented in README.md (Configuration); every variable is optional.
 */
export const ServerConfigSchema = z
  .object({
    PORT: envPort(8080),
    HOST: z.string().min(1).default('0.0.0.0'),
    /** Unset: embedded PostgreSQL (PGlite) in CCM_DATA_DIR. */
    DATABASE_URL: envUrl(['postgres', 'postgresql']).optional(),
    DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    /** Unset: the in-process MQTT broker. */
    MQTT_URL: envUrl(['mqtt', 'mqtts', 'tcp', 'ssl', 'ws', 'wss']).optional(),
    MQTT_USERNAME: z.string().min(1).max(64).optional(),
    MQTT_PASSWORD: z.string().min(1).max(256).optional(),
    MQTT_LISTEN_PORT: envPort(1883),
    /** Interface of the in-process broker. Loopback unless devices must reach it directly. */
    MQTT_LISTEN_HOST: z.string().min(1).default('127.0.0.1'),
    CCM_DATA_DIR: z.string().min(1).default('./data'),
    /** Seed the demo data set and run simulated devices (`npm start` turns it on). */
    CCM_SIMULATOR: envOnOff('off'),
    /** Password of the demo accounts; unset: generated once, kept in CCM_DATA_DIR. */
    CCM_DEMO_PASSWORD: z.string().min(12, 'must be at least 12 characters').max(128).optional(),
    CCM_DEMO_FLEET_SIZE: z.coerce.number().int().min(1).max(100_000).default(20),
    /** Run the device gateway in this process (off when gateways run as their own processes). */
    CCM_GATEWAY: envOnOff('on'),
    /** Shared-subscription group of the gateways on an external broker. */
    MQTT_SHARED_GROUP: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .default('ccm-gateway'),
    GATEWAY_MAX_BATCH_MESSAGES: z.coerce.number().int().min(1).max(50_000).default(2000),
    GATEWAY_MAX_QUEUED_MESSAGES: z.coerce.number().int().min(100).max(1_000_000).default(20_000),
    /** Batches committing at once, over disjoint devices (1: one after the other). */
    GATEWAY_COMMIT_LANES: z.coerce.number().int().min(1).max(8).default(2),
    /** Token EMQX sends to /api/v1/mqtt/auth and /acl; unset = those endpoints are off. */
    MQTT_AUTH_HOOK_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
    CCM_ADMIN_USERNAME: z
      .string()
      .regex(/^[A-Za-z0-9_.@-]{3,64}$/, 'must be 3–64 of A-Z a-z 0-9 _ . @ -')
      .optional(),
    CCM_ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').max(256).optional(),
    /** The jurisdiction tree's root, created on first start for the first admin. */
    CCM_ROOT_JURISDICTION_CODE: z
      .string()
      .regex(/^[0-9]{6}$/, 'must be a six-digit GB/T 2260 code')
      .default('450000'),
    CCM_ROOT_JURISDICTION_NAME: z.string().min(1).max(100).default('广西壮族自治区'),
    CCM_SESSION_TTL_HOURS: z.coerce.number().min(0.25).max(720).default(12),
    CCM_LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
    CCM_LOGIN_FAILURE_WINDOW_MINUTES: z.coerce.number().int().min(1).max(1440).default(15),
    CCM_LOCKOUT_MINUTES: z.coerce.number().int().min(1).max(10_080).default(15),
    /** Roles that must use a TOTP second factor, comma-separated (e.g. `admin,bureau`). */
    CCM_TOTP_REQUIRED_ROLES: roleList(''),
    /** Roles that see ID-card numbers in full; everyone else sees them masked. */
    CCM_IDCARD_FULL_ROLES: roleList('officer,bureau,police'),
    CCM_ESCALATE_AFTER_MINUTES: z.coerce.number().int().min(1).max(1440).default(15),
    /** The built dashboard served at `/`; unset: the repository's dashboard/dist. */
    CCM_DASHBOARD_DIR: z.string().min(1).optional(),
    /** The dashboard's basemap (see dashboard/README.md); unset: the bundled offline one. */
    CCM_MAP_CONFIG: mapConfigFile.optional(),
    /** Seconds between passes of the supervision rules (check-ins, orders, leave returns). */
    CCM_SUPERVISION_INTERVAL_S: z.coerce.number().int().min(1).max(3600).default(60),
    CCM_TIMESCALEDB: z.enum(['auto', 'on', 'off']).default('auto'),
    CCM_COMPRESS_AFTER_DAYS: z.coerce.number().int().min(1).max(3650).default(7),
    CCM_RETENTION_DAYS: z.coerce.number().int().min(30).max(36500).default(730),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    /** Milliseconds to finish in-flight work on SIGTERM before exiting anyway. */
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1000).max(120_000).default(15_000),
  })
  .superRefine((c, ctx) => {
    if ((c.CCM_ADMIN_USERNAME === undefined) !== (c.CCM_ADMIN_PASSWORD === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [c.CCM_ADMIN_USERNAME === undefined ? 'CCM_ADMIN_USERNAME' : 'CCM_ADMIN_PASSWORD'],
        message: 'CCM_ADMIN_USERNAME and CCM_ADMIN_PASSWORD are set together or not at all',
      });
    }
    if ((c.MQTT_USERNAME === undefined) !== (c.MQTT_PASSWORD === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [c.MQTT_USERNAME === undefined ? 'MQTT_USERNAME' : 'MQTT_PASSWORD'],
        message: 'MQTT_USERNAME and MQTT_PASSWORD are set together or not at all',
      });
    }
  });

export type ServerConfig = z.infer<typeof ServerConfigSchema>;

export const loadServerConfig = (env: Record<string, string | undefined> = process.env) =>
  parseEnv(ServerConfigSchema, env);

import type pg from 'pg';
import { freePort } from '@ccm/test-support';
import { hashPassword } from '../../../server/src/auth/password';
import { startChild, type Child } from './child';

/**
 * The whole platform (`server/src/main.ts` → startPlatform) as a child process on the bench
 * database and broker, so its CPU is its own and the load generator does not share its event
 * loop. LOG_LEVEL warn: the per-request info lines would be measured too otherwise.
 */
export interface PlatformChild {
  httpUrl: string;
  child: Child;
  stop(): Promise<void>;
}

export async function startPlatformChild(options: {
  databaseUrl: string;
  mqttUrl: string;
  gateway: boolean;
  nodeArgs?: string[];
  env?: Record<string, string>;
}): Promise<PlatformChild> {
  const port = await freePort();
  const httpUrl = `http://127.0.0.1:${port}`;
  const child = await startChild({
    entry: 'server/src/main.ts',
    env: {
      DATABASE_URL: options.databaseUrl,
      MQTT_URL: options.mqttUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      CCM_GATEWAY: options.gateway ? 'on' : 'off',
      MQTT_SHARED_GROUP: 'ccm-gateway',
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    readyCheck: async () => (await fetch(`${httpUrl}/api/v1/health`)).ok,
    ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
  });
  return {
    httpUrl,
    child,
    async stop() {
      await child.stop();
    },
  };
}

export const BENCH_PASSWORD = 'Bench-passw0rd-2026';

/** Users with one shared password hash (argon2id takes ~20 ms each). */
export async function createUsers(
  pool: pg.Pool,
  users: { username: string; role: string; jurisdiction: string }[],
): Promise<void> {
  const hash = await hashPassword(BENCH_PASSWORD);
  for (const u of users) {
    await pool.query(
      `INSERT INTO users (username, display_name, role, jurisdiction_code, password_hash)
       VALUES ($1, $1, $2, $3, $4)`,
      [u.username, u.role, u.jurisdiction, hash],
    );
  }
}

export async function signIn(httpUrl: string, username: string): Promise<string> {
  const res = await fetch(`${httpUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: BENCH_PASSWORD }),
  });
  if (!res.ok) throw new Error(`sign-in ${username}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

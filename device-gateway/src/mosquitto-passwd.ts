import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, envUrl, parseEnv } from '@ccm/contracts';
import { openPostgres } from '@ccm/db';
import { hashDeviceSecret } from './secrets';

/**
 * `npm run mqtt:passwd -- <file>`: writes a Mosquitto password file with every active
 * device (its stored `$7$` hash, so no secret is ever needed here) and the platform's own
 * account (MQTT_USERNAME / MQTT_PASSWORD, hashed now). Pair it with deploy/mosquitto/acl and
 * send Mosquitto SIGHUP to reload after devices are registered or rotated.
 */
const Config = z.object({
  DATABASE_URL: envUrl(['postgres', 'postgresql']),
  MQTT_USERNAME: z.string().min(1).max(64),
  MQTT_PASSWORD: z.string().min(12, 'must be at least 12 characters'),
});

export async function renderPasswordFile(
  db: ReturnType<typeof openPostgres>['db'],
  platform: { username: string; password: string },
): Promise<string> {
  const devices = await db
    .selectFrom('devices')
    .select(['id', 'secret_hash'])
    .where('status', '!=', 'retired')
    .orderBy('id')
    .execute();
  const lines = [`${platform.username}:${hashDeviceSecret(platform.password)}`];
  for (const d of devices) {
    if (d.id === platform.username) continue; // the platform account wins; ids never clash
    lines.push(`${d.id}:${d.secret_hash}`);
  }
  return `${lines.join('\n')}\n`;
}

async function main() {
  const out = process.argv[2];
  if (!out) {
    console.error('用法 / usage: npm run mqtt:passwd -- <output file>');
    process.exit(64);
  }
  let config;
  try {
    config = parseEnv(Config, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78);
    }
    throw err;
  }
  const database = openPostgres({ url: config.DATABASE_URL, poolSize: 1 });
  try {
    const text = await renderPasswordFile(database.db, {
      username: config.MQTT_USERNAME,
      password: config.MQTT_PASSWORD,
    });
    writeFileSync(out, text, { mode: 0o600 });
    console.log(`已写入 / wrote ${text.trim().split('\n').length} accounts to ${out}`);
  } finally {
    await database.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

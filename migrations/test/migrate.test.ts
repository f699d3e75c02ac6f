import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TABLE_COLUMNS } from '@ccm/db';
import { ALL_BACKENDS, openTestDatabase, type TestDatabase } from '@ccm/test-support';
import { applyTimescalePolicies, loadMigrationFiles, migrate } from '../src/index';

describe.each(ALL_BACKENDS)('migrations on %s', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await openTestDatabase(backend);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('applies every migration once and chooses the variant that fits the database', async () => {
    const wantTimescale = backend === 'pglite-timescaledb';
    expect(t.migration?.timescale).toBe(wantTimescale);
    const rows = await t.database.db
      .selectFrom('schema_migrations')
      .select(['version', 'variant'])
      .orderBy('version')
      .execute();
    const versions = [...new Set(loadMigrationFiles().map((f) => f.version))];
    expect(rows.map((r) => r.version)).toEqual(versions);
    expect(rows.find((r) => r.version === '0004')?.variant).toBe(
      wantTimescale ? 'timescale' : 'plain',
    );
  });

  it('is safe to run twice', async () => {
    const again = await migrate(t.database);
    expect(again.applied).toEqual([]);
    expect(again.timescale).toBe(t.migration?.timescale);
  });

  it('has every table and column the code types name', async () => {
    const cols = await sql<{ table_name: string; column_name: string }>`
      select table_name, column_name from information_schema.columns
      where table_schema = 'public'`.execute(t.database.db);
    const byTable = new Map<string, Set<string>>();
    for (const r of cols.rows) {
      byTable.set(r.table_name, (byTable.get(r.table_name) ?? new Set()).add(r.column_name));
    }
    for (const [table, columns] of Object.entries(TABLE_COLUMNS)) {
      const actual = byTable.get(table);
      expect(actual, `table ${table}`).toBeDefined();
      expect([...actual!].sort(), `columns of ${table}`).toEqual([...columns].sort());
    }
  });

  it('leaves room on the state tables’ pages for in-place (HOT) updates', async () => {
    const { rows } = await sql<{ relname: string; reloptions: string[] | null }>`
      select relname, reloptions from pg_class
      where relname in ('device_state', 'engine_state') order by relname`.execute(t.database.db);
    expect(rows).toEqual([
      { relname: 'device_state', reloptions: ['fillfactor=50'] },
      { relname: 'engine_state', reloptions: ['fillfactor=50'] },
    ]);
  });

  it('stores a fix once per (device, fix time) and ignores duplicates', async () => {
    const db = t.database.db;
    await db
      .insertInto('jurisdictions')
      .values({
        code: '450000',
        parent_code: null,
        level: 'province',
        name_zh: '广西壮族自治区',
        path: '450000',
      })
      .execute();
    const row = {
      device_no: 1,
      t: new Date('2026-11-28T08:00:00Z'),
      subject_no: 1,
      lat_e6: 22_817_012,
      lon_e6: 108_366_543,
      acc_dm: 65,
      src: 0,
      spd_cms: 120,
      hdg_deg: 90,
      sat: 9,
      recv_lag_ms: 350,
    };
    for (let i = 0; i < 2; i++) {
      await db
        .insertInto('fixes')
        .values(row)
        .onConflict((oc) => oc.columns(['device_no', 't']).doNothing())
        .execute();
    }
    const { n } = await db
      .selectFrom('fixes')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(n).toBe(1);
    // The daily summary answers on both variants (continuous aggregate / plain view).
    const daily = await db.selectFrom('subject_daily').selectAll().execute();
    expect(daily).toHaveLength(1);
    expect(daily[0]!.fixes).toBe(1);
    expect(daily[0]!.gnss_fixes).toBe(1);
    // Day buckets are China Standard Time midnights.
    expect(daily[0]!.day.toISOString()).toBe('2026-11-27T16:00:00.000Z');
  });

  it('refuses a monitoring order longer than three months', async () => {
    const db = t.database.db;
    await db
      .insertInto('jurisdictions')
      .values({
        code: '450100',
        parent_code: '450000',
        level: 'city',
        name_zh: '南宁市',
        path: '450000.450100',
      })
      .execute();
    const subject = await db
      .insertInto('subjects')
      .values({
        name: '测试对象甲',
        id_card_no: '45010019900101001X',
        correction_type: 'probation',
        term_start: '2026-01-01',
        term_end: '2027-12-31',
        jurisdiction_code: '450100',
      })
      .returning(['id', 'no'])
      .executeTakeFirstOrThrow();
    expect(typeof subject.no).toBe('number');
    await db
      .insertInto('devices')
      .values({ id: 'wb-0001', kind: 'wristband', secret_hash: 'x', jurisdiction_code: '450100' })
      .execute();
    const order = (ends: string) =>
      db
        .insertInto('monitoring_orders')
        .values({
          subject_id: subject.id,
          device_id: 'wb-0001',
          legal_ground: 'left_without_approval',
          approver_name: '局长乙',
          approved_at: '2026-11-01T00:00:00Z',
          starts_at: '2026-11-01T00:00:00Z',
          initial_ends_at: ends,
          ends_at: ends,
        })
        .execute();
    await expect(order('2027-03-01T00:00:00Z')).rejects.toThrow(/check/i);
    await expect(order('2027-02-01T00:00:00Z')).resolves.toBeDefined();
  });

  it('keeps the audit log append-only', async () => {
    const db = t.database.db;
    await db
      .insertInto('audit_log')
      .values({
        action: 'test.entry',
        detail: JSON.stringify({}),
        prev_hash: '0'.repeat(64),
        hash: 'a'.repeat(64),
      })
      .execute();
    await expect(db.updateTable('audit_log').set({ action: 'edited' }).execute()).rejects.toThrow(
      /append-only/,
    );
    await expect(db.deleteFrom('audit_log').execute()).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_log`.execute(db)).rejects.toThrow(/append-only/);
  });

  it.runIf(backend === 'pglite-timescaledb')(
    'makes hypertables with compression, retention and the continuous aggregate',
    async () => {
      const db = t.database.db;
      const hypertables = await sql<{ hypertable_name: string; compression_enabled: boolean }>`
        select hypertable_name, compression_enabled from timescaledb_information.hypertables
        order by hypertable_name`.execute(db);
      expect(hypertables.rows).toEqual([
        { hypertable_name: 'checkins', compression_enabled: true },
        { hypertable_name: 'device_events', compression_enabled: true },
        { hypertable_name: 'fixes', compression_enabled: true },
        { hypertable_name: 'heartbeats', compression_enabled: true },
      ]);
      const jobs = await sql<{ proc_name: string; hypertable_name: string }>`
        select proc_name, hypertable_name from timescaledb_information.jobs
        where hypertable_name is not null order by proc_name, hypertable_name`.execute(db);
      const names = jobs.rows.map((j) => `${j.proc_name}:${j.hypertable_name}`);
      expect(names).toContain('policy_compression:fixes');
      expect(names).toContain('policy_retention:fixes');
      expect(names.some((n) => n.startsWith('policy_refresh_continuous_aggregate:'))).toBe(true);
      const caggs = await sql<{ view_name: string }>`
        select view_name from timescaledb_information.continuous_aggregates`.execute(db);
      expect(caggs.rows.map((r) => r.view_name)).toEqual(['subject_daily']);

      // Compression keeps fixes queryable and duplicates still ignored.
      await sql`select compress_chunk(c) from show_chunks('fixes') c`.execute(db);
      const back = await db.selectFrom('fixes').select(['lat_e6', 'lon_e6']).execute();
      expect(back).toEqual([{ lat_e6: 22_817_012, lon_e6: 108_366_543 }]);

      // Configured policies replace the defaults.
      await applyTimescalePolicies(t.database, { compressAfterDays: 3, retentionDays: 400 });
      const cfg = await sql<{ proc_name: string; config: Record<string, unknown> }>`
        select proc_name, config from timescaledb_information.jobs
        where hypertable_name = 'fixes' order by proc_name`.execute(db);
      const byProc = Object.fromEntries(cfg.rows.map((r) => [r.proc_name, r.config]));
      expect(byProc.policy_compression?.compress_after).toBe('3 days');
      expect(byProc.policy_retention?.drop_after).toBe('400 days');
    },
  );
});

describe('migration files', () => {
  it('are numbered, and variant pairs are complete', () => {
    const files = loadMigrationFiles();
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(f.version).toMatch(/^\d{4}$/);
  });

  it('refuses an applied migration that was edited', async () => {
    const t = await openTestDatabase('pglite');
    try {
      await t.database.withSession((s) =>
        s.exec(`update schema_migrations set checksum = 'edited' where version = '0001'`),
      );
      await expect(migrate(t.database)).rejects.toThrow(/was edited/);
    } finally {
      await t.dispose();
    }
  });
});

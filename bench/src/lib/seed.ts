import pg from 'pg';
import { openPostgres, type Database } from '@ccm/db';
import { migrate } from '@ccm/migrations';
import { createPostgresDatabase } from '@ccm/test-support';

/**
 * A fresh, migrated database on the machine's PostgreSQL for one benchmark case, dropped by
 * `drop()`. Devices, subjects and monitoring orders are inserted in bulk by SQL
 * (seedMonitoredDevice does one device at a time: minutes for 50,000).
 */
export interface BenchDatabase {
  url: string;
  database: Database;
  pg: pg.Pool;
  drop(): Promise<void>;
}

export async function createBenchDatabase(poolSize = 4): Promise<BenchDatabase> {
  const created = await createPostgresDatabase();
  const database = openPostgres({ url: created.url, poolSize: 2 });
  const pool = new pg.Pool({ connectionString: created.url, max: poolSize });
  try {
    await migrate(database);
  } catch (err) {
    await pool.end();
    await database.close();
    await created.drop();
    throw err;
  }
  return {
    url: created.url,
    database,
    pg: pool,
    async drop() {
      await pool.end();
      await database.close();
      await created.drop();
    },
  };
}

/** Township offices under 青秀区 (450103): 450103001, 450103002, … */
export const townshipCode = (k: number) => `450103${String(k).padStart(3, '0')}`;
export const PER_TOWNSHIP = 500;

export const benchDeviceId = (prefix: string, i: number) =>
  `${prefix}${String(i).padStart(6, '0')}`;

/**
 * Province → city → county → `townships` township offices, then `count` subjects, each with a
 * wristband `{prefix}000001…` and a monitoring order from 30 days ago to 30 days ahead,
 * `PER_TOWNSHIP` subjects per township office. Returns the device ids in order.
 */
export async function seedFleet(
  pool: pg.Pool,
  options: { count: number; prefix?: string; firstTownship?: number },
): Promise<{ deviceIds: string[]; townships: string[] }> {
  const prefix = options.prefix ?? 'bd';
  const first = options.firstTownship ?? 1;
  const townships = Math.ceil(options.count / PER_TOWNSHIP);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`
      INSERT INTO jurisdictions (code, parent_code, level, name_zh, name_en, path) VALUES
        ('450000', NULL, 'province', '广西壮族自治区', 'Guangxi', '450000'),
        ('450100', '450000', 'city', '南宁市', 'Nanning', '450000.450100'),
        ('450103', '450100', 'county', '青秀区', 'Qingxiu District', '450000.450100.450103')
      ON CONFLICT (code) DO NOTHING`);
    await client.query(
      `INSERT INTO jurisdictions (code, parent_code, level, name_zh, name_en, path)
       SELECT '450103' || lpad(k::text, 3, '0'), '450103', 'township', '基准司法所' || k, 'Bench office ' || k,
              '450000.450100.450103.450103' || lpad(k::text, 3, '0')
       FROM generate_series($1::int, $2::int) k
       ON CONFLICT (code) DO NOTHING`,
      [first, first + townships - 1],
    );
    // Subject i lives in township first + floor((i-1)/PER_TOWNSHIP); ID numbers are synthetic
    // (18 digits, unique per prefix), never a real person's.
    const prefixNo = [...prefix].reduce((a, c) => (a * 31 + c.charCodeAt(0)) % 90, 0) + 10;
    await client.query(
      `CREATE TEMP TABLE bench_seed ON COMMIT DROP AS
       SELECT g, gen_random_uuid() AS subject_id, $2 || lpad(g::text, 6, '0') AS device_id,
              '450103' || lpad(($3::int + (g - 1) / ${PER_TOWNSHIP})::text, 3, '0') AS township
       FROM generate_series(1, $1::int) g`,
      [options.count, prefix, first],
    );
    await client.query(
      `INSERT INTO subjects (id, name, id_card_no, correction_type, term_start, term_end, jurisdiction_code)
       SELECT subject_id, '基准对象' || $1 || g, '4501031990' || $2 || lpad(g::text, 6, '0'),
              'probation', '2026-01-01', '2028-12-31', township
       FROM bench_seed`,
      [prefix, String(prefixNo)],
    );
    await client.query(
      `INSERT INTO devices (id, kind, secret_hash, jurisdiction_code)
       SELECT device_id, 'wristband', 'bench-no-secret', township FROM bench_seed`,
    );
    await client.query(
      `INSERT INTO monitoring_orders (subject_id, device_id, legal_ground, approver_name, approved_at,
         starts_at, initial_ends_at, ends_at)
       SELECT subject_id, device_id, 'left_without_approval', '基准审批人',
              now() - interval '30 days', now() - interval '30 days',
              now() + interval '30 days', now() + interval '30 days'
       FROM bench_seed`,
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
  await pool.query('ANALYZE');
  return {
    deviceIds: Array.from({ length: options.count }, (_, i) => benchDeviceId(prefix, i + 1)),
    townships: Array.from({ length: townships }, (_, k) => townshipCode(first + k)),
  };
}

/** Per-device stored fix counts, by device id. */
export async function storedFixesPerDevice(pool: pg.Pool): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ id: string; n: number }>(
    `SELECT d.id, count(f.*)::int AS n FROM devices d LEFT JOIN fixes f ON f.device_no = d.no GROUP BY d.id`,
  );
  return new Map(rows.map((r) => [r.id, r.n]));
}

/** PIDs of the PostgreSQL backends connected to this database (for their CPU time). */
export async function backendPids(pool: pg.Pool): Promise<number[]> {
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
  );
  return rows.map((r) => r.pid);
}

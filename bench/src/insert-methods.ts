/**
 * Which batch insert is fastest for fixes? `npm run bench:insert [-- --quick]`
 *
 * The same batches of fixes, with the same duplicate rule (ON CONFLICT DO NOTHING), written
 * three ways into a fresh database on the real PostgreSQL:
 *   unnest  — one INSERT … SELECT FROM unnest($arrays) per batch (what the gateway does)
 *   values  — one multi-row INSERT … VALUES ($1, …), (…) per batch
 *   copy    — COPY into a temp table, then INSERT … SELECT … ON CONFLICT DO NOTHING
 * Each batch is one transaction, as in the gateway. Reports rows/s and the ratio to unnest.
 */
import { writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openPostgres } from '@ccm/db';
import { migrate } from '@ccm/migrations';
import { createPostgresDatabase } from '@ccm/test-support';
import { persistPlan, emptyPlan, type FixRow } from '@ccm/device-gateway';

const quick = process.argv.includes('--quick');
const BATCH = 2000;
const BATCHES = quick ? 20 : 60;
/** Methods run interleaved, ROUNDS times each; the median is reported (the machine is shared). */
const ROUNDS = quick ? 1 : 3;

function makeBatches(deviceOffset: number): FixRow[][] {
  const base = Date.UTC(2026, 10, 28);
  const batches: FixRow[][] = [];
  for (let b = 0; b < BATCHES; b++) {
    const rows: FixRow[] = [];
    for (let i = 0; i < BATCH; i++) {
      const n = b * BATCH + i;
      rows.push({
        deviceNo: deviceOffset + (n % 5000),
        tMs: base + Math.floor(n / 5000) * 60_000,
        subjectNo: 1 + (n % 5000),
        latE6: 22_800_000 + (n % 997),
        lonE6: 108_300_000 + (n % 991),
        accDm: 65,
        src: 0,
        spdCms: 120,
        hdgDeg: 90,
        sat: 9,
        flags: 0,
        recvLagMs: 300,
      });
    }
    batches.push(rows);
  }
  return batches;
}

const COLS =
  'device_no, t, subject_no, lat_e6, lon_e6, acc_dm, src, spd_cms, hdg_deg, sat, flags, recv_lag_ms';

async function main() {
  const created = await createPostgresDatabase();
  const database = openPostgres({ url: created.url, poolSize: 2 });
  const raw = new pg.Pool({ connectionString: created.url, max: 1 });
  try {
    await migrate(database);
    const samples: Record<string, number[]> = {};
    let offset = 0;
    const time = async (name: string, run: (rows: FixRow[]) => Promise<void>) => {
      const batches = makeBatches(offset);
      offset += 10_000; // new devices each time: every row is a real insert
      await run(batches[0]!); // warm-up (plans, connections)
      const t0 = performance.now();
      for (const rows of batches.slice(1)) await run(rows);
      const s = (performance.now() - t0) / 1000;
      (samples[name] ??= []).push(Math.round(((batches.length - 1) * BATCH) / s));
    };

    for (let round = 0; round < ROUNDS; round++) {
      await time('unnest', async (rows) => {
        const plan = emptyPlan();
        plan.fixes = rows;
        await persistPlan(database.db, plan);
      });

      await time('values', async (rows) => {
        await database.db.transaction().execute(async (trx) => {
          await trx
            .insertInto('fixes')
            .values(
              rows.map((r) => ({
                device_no: r.deviceNo,
                t: new Date(r.tMs),
                subject_no: r.subjectNo,
                lat_e6: r.latE6,
                lon_e6: r.lonE6,
                acc_dm: r.accDm,
                src: r.src,
                spd_cms: r.spdCms,
                hdg_deg: r.hdgDeg,
                sat: r.sat,
                flags: r.flags,
                recv_lag_ms: r.recvLagMs,
              })),
            )
            .onConflict((oc) => oc.columns(['device_no', 't']).doNothing())
            .execute();
        });
      });

      await time('copy', async (rows) => {
        const client = await raw.connect();
        try {
          await client.query('BEGIN');
          await client.query(
            `CREATE TEMP TABLE fix_stage (LIKE fixes INCLUDING DEFAULTS) ON COMMIT DROP`,
          );
          const text = rows
            .map((r) =>
              [
                r.deviceNo,
                new Date(r.tMs).toISOString(),
                r.subjectNo,
                r.latE6,
                r.lonE6,
                r.accDm,
                r.src,
                r.spdCms,
                r.hdgDeg,
                r.sat,
                r.flags,
                r.recvLagMs,
              ].join('\t'),
            )
            .join('\n');
          await pipeline(
            Readable.from([`${text}\n`]),
            client.query(copyFrom(`COPY fix_stage (${COLS}) FROM STDIN`)),
          );
          await client.query(
            `INSERT INTO fixes (${COLS}) SELECT ${COLS} FROM fix_stage ON CONFLICT (device_no, t) DO NOTHING`,
          );
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      });
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const results = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));

    const { rows } = await sql<{ n: number }>`select count(*)::int n from fixes`.execute(
      database.db,
    );
    const expected = 3 * ROUNDS * BATCHES * BATCH;
    if (rows[0]!.n !== expected)
      throw new Error(`stored ${rows[0]!.n} fixes, expected ${expected}`);

    console.log(
      `batch ${BATCH} fixes, ${BATCHES - 1} timed batches, median of ${ROUNDS} interleaved rounds`,
    );
    console.log('method   fixes/s   ratio to unnest');
    for (const [name, rate] of Object.entries(results)) {
      console.log(
        `${name.padEnd(8)} ${String(rate).padStart(8)}   ${(rate / results.unnest!).toFixed(2)}`,
      );
    }
    writeFileSync(
      new URL('../results/insert-methods.json', import.meta.url),
      JSON.stringify(
        {
          at: new Date().toISOString(),
          quick,
          batch: BATCH,
          batches: BATCHES,
          rounds: ROUNDS,
          fixesPerSecond: results,
          samples,
        },
        null,
        2,
      ),
    );
  } finally {
    await raw.end();
    await database.close();
    await created.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

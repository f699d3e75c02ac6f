/**
 * Bytes per fix on disk (issue #8, item 5), for the same realistic tracks (lib/tracks.ts: one
 * fix a minute, smooth movement, GNSS accuracy) written by the gateway's own insert
 * (`persistPlan`, INSERT … SELECT FROM unnest):
 *   plain PostgreSQL — pg_total_relation_size('fixes') / rows (heap, primary key, subject
 *                      index, BRIN), and the heap alone;
 *   TimescaleDB      — PGlite with TimescaleDB (the migrations' hypertable, segmented by
 *                      device, ordered by time), every chunk compressed with compress_chunk,
 *                      then hypertable_detailed_size('fixes') / rows, and chunk_compression_stats.
 *
 *   node --import tsx bench/src/storage.ts [--quick]
 */
import { sql } from 'kysely';
import { openPGlite, type Database } from '@ccm/db';
import { emptyPlan, persistPlan } from '@ccm/device-gateway';
import { migrate } from '@ccm/migrations';
import { createTimescalePGlite } from '@ccm/test-support';
import { log, round, table, writeResult } from './lib/report';
import { createBenchDatabase } from './lib/seed';
import { track } from './lib/tracks';

export interface StorageSettings {
  quick: boolean;
  devices: number;
  days: number;
}

export const storageSettings = (quick: boolean): StorageSettings =>
  quick ? { quick, devices: 60, days: 2 } : { quick, devices: 500, days: 4 };

const FROM_MS = Date.UTC(2026, 9, 1); // whole days: 1-day chunks are filled completely

async function load(database: Database, s: StorageSettings): Promise<number> {
  let rows = 0;
  for (let d = 1; d <= s.devices; d++) {
    const fixes = track({
      deviceNo: d,
      subjectNo: d,
      fromMs: FROM_MS - 60_000,
      count: s.days * 1440,
    });
    for (let i = 0; i < fixes.length; i += 5_000) {
      const plan = emptyPlan();
      plan.fixes = fixes.slice(i, i + 5_000);
      rows += (await persistPlan(database.db, plan)).fixesInserted;
    }
  }
  return rows;
}

export interface StorageResult {
  settings: StorageSettings;
  rows: number;
  plain: { totalBytes: number; heapBytes: number; bytesPerFix: number; heapBytesPerFix: number };
  timescale: {
    chunks: number;
    beforeBytes: number;
    afterBytes: number;
    bytesPerFixBefore: number;
    bytesPerFixCompressed: number;
    hypertableTotalBytes: number;
    hypertableBytesPerFix: number;
    compressSeconds: number;
  };
}

export async function runStorage(s: StorageSettings): Promise<StorageResult> {
  log(`storage: ${s.devices} devices × ${s.days} days × 1,440 fixes, plain PostgreSQL`);
  const pgdb = await createBenchDatabase(1);
  let plain: StorageResult['plain'];
  let rows: number;
  try {
    rows = await load(pgdb.database, s);
    await pgdb.pg.query('VACUUM ANALYZE fixes');
    const { rows: size } = await pgdb.pg.query<{ total: string; heap: string }>(
      `SELECT pg_total_relation_size('fixes') AS total, pg_relation_size('fixes') AS heap`,
    );
    const total = Number(size[0]!.total);
    const heap = Number(size[0]!.heap);
    plain = {
      totalBytes: total,
      heapBytes: heap,
      bytesPerFix: round(total / rows, 1),
      heapBytesPerFix: round(heap / rows, 1),
    };
  } finally {
    await pgdb.drop();
  }

  log('storage: TimescaleDB (PGlite build), compress every chunk');
  const ts = await openPGlite({ instance: await createTimescalePGlite() });
  let timescale: StorageResult['timescale'];
  try {
    await migrate(ts, { timescale: 'on' });
    const tsRows = await load(ts, s);
    if (tsRows !== rows) throw new Error(`timescale stored ${tsRows} rows, plain ${rows}`);
    const t0 = performance.now();
    const chunks = await sql<{
      c: string;
    }>`SELECT compress_chunk(c)::text AS c FROM show_chunks('fixes') c`.execute(ts.db);
    const compressSeconds = (performance.now() - t0) / 1000;
    const stats = await sql<{ before: string; after: string }>`
      SELECT sum(before_compression_total_bytes)::int8 AS before, sum(after_compression_total_bytes)::int8 AS after
      FROM chunk_compression_stats('fixes')`.execute(ts.db);
    const size = await sql<{
      total: string;
    }>`SELECT total_bytes AS total FROM hypertable_detailed_size('fixes')`.execute(ts.db);
    const count = await sql<{ n: string }>`SELECT count(*) AS n FROM fixes`.execute(ts.db);
    if (Number(count.rows[0]!.n) !== rows) throw new Error('rows changed by compression');
    const before = Number(stats.rows[0]!.before);
    const after = Number(stats.rows[0]!.after);
    const total = Number(size.rows[0]!.total);
    timescale = {
      chunks: chunks.rows.length,
      beforeBytes: before,
      afterBytes: after,
      bytesPerFixBefore: round(before / rows, 1),
      bytesPerFixCompressed: round(after / rows, 2),
      hypertableTotalBytes: total,
      hypertableBytesPerFix: round(total / rows, 2),
      compressSeconds: round(compressSeconds, 1),
    };
  } finally {
    await ts.close();
  }
  return { settings: s, rows, plain, timescale };
}

export function printStorage(r: StorageResult) {
  console.log(
    `\nStorage per fix, ${r.rows.toLocaleString()} realistic fixes (${r.settings.devices} devices × ${r.settings.days} days, 1/min):`,
  );
  console.log(
    table([
      {
        store: 'PostgreSQL 15, plain table (heap + PK + subject index + BRIN)',
        bytes: r.plain.totalBytes,
        'B/fix': r.plain.bytesPerFix,
      },
      {
        store: 'PostgreSQL 15, heap only',
        bytes: r.plain.heapBytes,
        'B/fix': r.plain.heapBytesPerFix,
      },
      {
        store: `TimescaleDB, before compression (${r.timescale.chunks} chunks)`,
        bytes: r.timescale.beforeBytes,
        'B/fix': r.timescale.bytesPerFixBefore,
      },
      {
        store: 'TimescaleDB, compressed (chunk_compression_stats, after)',
        bytes: r.timescale.afterBytes,
        'B/fix': r.timescale.bytesPerFixCompressed,
      },
      {
        store: "TimescaleDB, hypertable_detailed_size('fixes') after compression",
        bytes: r.timescale.hypertableTotalBytes,
        'B/fix': r.timescale.hypertableBytesPerFix,
      },
    ]),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runStorage(storageSettings(process.argv.includes('--quick')));
  printStorage(r);
  console.log(writeResult('storage', { measuredAt: new Date().toISOString(), ...r }));
}

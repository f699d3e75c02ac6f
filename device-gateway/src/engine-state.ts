import { sql, type Kysely, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import { FIX_SOURCES } from '@ccm/contracts';
import { prepared, type DB } from '@ccm/db';
import {
  createSubjectState,
  decisionOf,
  parseStateProgress,
  parseStoredState,
  persistedDecision,
  progressOf,
  restoreSubjectState,
  sameDecision,
  windowBounds,
  type DecisionState,
  type FixInput,
  type StateProgress,
  type SubjectState,
} from '@ccm/geofence';

/**
 * The rules engine's per-subject state in `engine_state` (migrations 0005, 0007, 0010).
 *
 * A row holds the subject's decision state (`state`: zone tracks, open violations,
 * confirmation evidence, the window's base, alert records) and its progress (`progress`:
 * clock, last message and fix times, end signals), with a version bumped on every write.
 * Every batch writes the progress of its subjects, a few numbers each; the decision state
 * is rewritten only when it changed. The fix window is not stored here: it is the
 * subject's fixes newer than the base, read back from `fixes` when a state is loaded
 * (`restoreSubjectState`), because every fix the engine takes commits there in the same
 * transaction. Rows written before 0010 hold a whole state and no progress; they are read
 * as they are and rewritten in the new form on the subject's next batch.
 */

/** A state as the gateway caches it, with what the database has for it. */
export interface StoredState {
  state: SubjectState;
  /** The row's version (0: no row yet). */
  version: number;
  /** The decision state the row holds, or null when it holds none (no row, a whole state). */
  decision: DecisionState | null;
}

/**
 * A stored fix (plan row or `fixes` row) as the engine takes it. Live evaluation and the
 * window rebuilt after a restart both go through here, so they see the same numbers.
 */
export function engineFix(row: {
  tMs: number;
  latE6: number;
  lonE6: number;
  accDm: number;
  src: number;
  spdCms?: number | null;
  recvLagMs: number;
}): FixInput {
  return {
    fixTimeMs: row.tMs,
    lat: row.latE6 / 1e6,
    lon: row.lonE6 / 1e6,
    accuracyM: row.accDm / 10,
    source: FIX_SOURCES[row.src] ?? 'lbs',
    ...(row.spdCms == null ? {} : { speedMps: row.spdCms / 100 }),
    receivedAtMs: row.tMs + row.recvLagMs,
  };
}

const EPOCH_MS = sql`timestamptz 'epoch' + interval '1 millisecond' *`;

/**
 * Loads the states of these subjects: one query for the rows, one for the windows of the
 * decision states among them. A subject without a row starts fresh; an unreadable row is
 * logged and starts fresh too (its next write replaces it).
 */
export async function loadEngineStates(
  db: Kysely<DB>,
  subjects: readonly { no: number; id: string }[],
  log: Logger,
): Promise<Map<number, StoredState>> {
  const out = new Map<number, StoredState>();
  if (subjects.length === 0) return out;
  const rows = await db
    .selectFrom('engine_state')
    .select(['subject_no', 'state', 'version', 'progress'])
    .where(
      'subject_no',
      'in',
      subjects.map((s) => s.no),
    )
    .execute();
  const found = new Map(rows.map((r) => [r.subject_no, r]));
  const pending: { no: number; decision: DecisionState; progress: StateProgress }[] = [];
  for (const s of subjects) {
    const row = found.get(s.no);
    const fresh: StoredState = {
      state: createSubjectState(s.id),
      version: row?.version ?? 0,
      decision: null,
    };
    if (!row) {
      out.set(s.no, fresh);
      continue;
    }
    try {
      const stored = parseStoredState(row.state);
      if (stored.kind === 'full') {
        out.set(s.no, { state: stored.state, version: row.version, decision: null });
      } else {
        if (row.progress === null) throw new Error('decision state without progress');
        const progress = parseStateProgress(row.progress);
        pending.push({ no: s.no, decision: stored.decision, progress });
        out.set(s.no, { state: fresh.state, version: row.version, decision: stored.decision });
      }
    } catch (err) {
      log.warn(
        { err, subjectNo: s.no },
        '引擎状态无法读取，重新开始 / engine state unreadable, starting afresh',
      );
      out.set(s.no, fresh);
    }
  }
  if (pending.length > 0) {
    const windows = await readWindows(
      db,
      pending.map((p) => ({ no: p.no, ...windowBounds(p.decision, p.progress) })),
    );
    for (const p of pending) {
      const state = restoreSubjectState(p.decision, p.progress, windows.get(p.no) ?? []);
      out.set(p.no, { ...out.get(p.no)!, state });
    }
  }
  return out;
}

/** The stored fixes that can be in each subject's window (see `windowBounds`). */
async function readWindows(
  db: Kysely<DB>,
  wanted: readonly {
    no: number;
    afterMs: number | null;
    fromMs: number | null;
    maxFixes: number;
  }[],
): Promise<Map<number, FixInput[]>> {
  const out = new Map<number, FixInput[]>();
  const read = wanted.filter((w) => w.fromMs !== null);
  if (read.length === 0) return out;
  // Twice the window's size: two devices of one subject may both have stored a fix time.
  const spec = JSON.stringify(
    read.map((w) => ({ s: w.no, a: w.afterMs, f: w.fromMs, n: 2 * w.maxFixes })),
  );
  const { rows } = await sql<{
    subject_no: number;
    t_ms: number;
    lat_e6: number;
    lon_e6: number;
    acc_dm: number;
    src: number;
    recv_lag_ms: number;
  }>`
    SELECT u.s AS subject_no, (extract(epoch FROM f.t) * 1000)::int8 AS t_ms,
      f.lat_e6, f.lon_e6, f.acc_dm, f.src, f.recv_lag_ms
    FROM jsonb_to_recordset(${spec}::jsonb) AS u(s int4, a int8, f int8, n int4)
    CROSS JOIN LATERAL (
      SELECT t, lat_e6, lon_e6, acc_dm, src, recv_lag_ms FROM fixes
      WHERE subject_no = u.s AND t >= ${EPOCH_MS} u.f
        AND (u.a IS NULL OR t > ${EPOCH_MS} u.a)
      ORDER BY t DESC, device_no
      LIMIT u.n
    ) f`.execute(db);
  for (const r of rows) {
    let list = out.get(r.subject_no);
    if (!list) out.set(r.subject_no, (list = []));
    list.push(
      engineFix({
        tMs: Number(r.t_ms),
        latE6: r.lat_e6,
        lonE6: r.lon_e6,
        accDm: r.acc_dm,
        src: r.src,
        recvLagMs: r.recv_lag_ms,
      }),
    );
  }
  return out;
}

/** One engine state to write with the batch. */
export interface StateWrite {
  subjectNo: number;
  state: SubjectState;
  /** What the state was computed from (plain batch writes). */
  basis?: { version: number; decision: DecisionState | null };
  /** Compare-and-set: write only if the row still has this version (silence check). */
  expectedVersion?: number;
  /** After the write: the stored version, or null when the compare-and-set refused it. */
  writtenVersion?: number | null;
}

/**
 * Writes the states inside the batch's transaction, setting `writtenVersion` on each.
 *
 * Batch states (no `expectedVersion`) whose decision state is the one their row already
 * holds get only their progress written (and the version bumped), if the row is still the
 * version they were computed from; the others, and any whose row another writer changed
 * meanwhile, are written whole (decision and progress), last writer wins, as before.
 * Silence states are written whole with compare-and-set.
 */
export async function writeEngineStates(
  trx: Transaction<DB>,
  writes: readonly StateWrite[],
): Promise<void> {
  const plain = writes.filter((w) => w.expectedVersion === undefined);
  const light = plain.filter(
    (w) =>
      w.basis !== undefined &&
      w.basis.version > 0 &&
      w.basis.decision !== null &&
      sameDecision(w.basis.decision, decisionOf(w.state)),
  );
  const lightSet = new Set(light);
  // One statement for both kinds (they are different subjects): the light updates, and the
  // whole writes of the states whose decision changed. A light update refused because the
  // row moved on meanwhile (another writer) is written whole after it, a second statement.
  const first = plain.filter((w) => !lightSet.has(w));
  const refused: StateWrite[] = [];
  if (plain.length > 0) {
    const { rows } = await prepared(sql<{ subject_no: number; version: number }>`
      WITH light AS (
        UPDATE engine_state AS es SET progress = u.p, version = es.version + 1, updated_at = now()
        FROM jsonb_to_recordset(${lightSpec(light)}::jsonb) AS u(s int4, v int8, p jsonb)
        WHERE es.subject_no = u.s AND es.version = u.v
        RETURNING es.subject_no, es.version),
      whole AS (${upsertWhole(first)})
      SELECT subject_no, version FROM light UNION ALL SELECT subject_no, version FROM whole`).execute(
      trx,
    );
    const versions = new Map(rows.map((r) => [r.subject_no, r.version]));
    for (const w of light) {
      const version = versions.get(w.subjectNo);
      if (version !== undefined) w.writtenVersion = version;
      else refused.push(w);
    }
    for (const w of first) w.writtenVersion = versions.get(w.subjectNo) ?? null;
  }
  if (refused.length > 0) {
    const { rows } = await upsertWhole(refused).execute(trx);
    const versions = new Map(rows.map((r) => [r.subject_no, r.version]));
    for (const w of refused) w.writtenVersion = versions.get(w.subjectNo) ?? null;
  }
  // Silence states: each only if its row is still the version it was computed from.
  for (const w of writes) {
    if (w.expectedVersion === undefined) continue;
    const decision = JSON.stringify(persistedDecision(decisionOf(w.state)));
    const progress = JSON.stringify(progressOf(w.state));
    const written =
      w.expectedVersion === 0
        ? // Never stored yet: insert, or update a row still at version 0.
          await sql<{ version: number }>`
            INSERT INTO engine_state AS es (subject_no, state, progress, updated_at, version)
            VALUES (${w.subjectNo}, ${decision}::jsonb, ${progress}::jsonb, now(), 1)
            ON CONFLICT (subject_no) DO UPDATE SET
              state = excluded.state, progress = excluded.progress, updated_at = now(), version = es.version + 1
              WHERE es.version = 0
            RETURNING version`.execute(trx)
        : await sql<{ version: number }>`
            UPDATE engine_state SET state = ${decision}::jsonb, progress = ${progress}::jsonb,
              updated_at = now(), version = version + 1
            WHERE subject_no = ${w.subjectNo} AND version = ${w.expectedVersion}
            RETURNING version`.execute(trx);
    w.writtenVersion = written.rows[0]?.version ?? null;
  }
}

/** The light writes' rows: subject, the version they were computed from, progress. */
function lightSpec(light: readonly StateWrite[]): string {
  return JSON.stringify(
    light.map((w) => ({ s: w.subjectNo, v: w.basis!.version, p: progressOf(w.state) })),
  );
}

/** Writes these states whole (decision and progress), last writer wins. */
function upsertWhole(whole: readonly StateWrite[]) {
  const spec = JSON.stringify(
    whole.map((w) => ({
      s: w.subjectNo,
      d: persistedDecision(decisionOf(w.state)),
      p: progressOf(w.state),
    })),
  );
  return prepared(sql<{ subject_no: number; version: number }>`
    INSERT INTO engine_state AS es (subject_no, state, progress, updated_at, version)
    SELECT u.s, u.d, u.p, now(), 1 FROM jsonb_to_recordset(${spec}::jsonb) AS u(s int4, d jsonb, p jsonb)
    ON CONFLICT (subject_no) DO UPDATE SET
      state = excluded.state, progress = excluded.progress, updated_at = now(), version = es.version + 1
    RETURNING subject_no, version`);
}

/** What the cache holds after a successful write: the row now has this state's decision. */
export function afterWrite(state: SubjectState, version: number): StoredState {
  return { state, version, decision: decisionOf(state) };
}

import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { Kysely, PostgresDialect, sql, type RawBuilder } from 'kysely';
import pg from 'pg';
import { PGliteDialect, type PGliteLike } from './pglite-dialect';
import { parseTimestamptz } from './timestamptz';
import type { DB } from './types';

/** A SQL session on one connection: what the migration runner and scripts need. */
export interface SqlSession {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** Runs a multi-statement script (simple query protocol). */
  exec(script: string): Promise<void>;
}

export interface Database {
  readonly db: Kysely<DB>;
  readonly kind: 'pg' | 'pglite';
  /** Runs `fn` on one dedicated connection (advisory locks, multi-statement scripts). */
  withSession<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>;
  /** Round-trip to the database; throws when it is unreachable. */
  ping(): Promise<void>;
  /**
   * LISTEN on a channel. `onNotify` also fires with payload null after a lost connection was
   * re-established (notifications may have been missed: reload). Returns an unlisten function.
   */
  listen(channel: string, onNotify: (payload: string | null) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface Logger {
  warn(obj: object, msg: string): void;
}

const INT8_OID = 20;
const DATE_OID = 1082;
const TIMESTAMPTZ_OID = 1184;

/**
 * int8 as JS number: our int8 values (seq, ids, counts) stay below 2^53; a larger one is a
 * bug we want to hear about rather than silently round.
 */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${text} exceeds 2^53`);
  return n;
}
const parseDate = (text: string): string => text;

export interface PgOptions {
  url: string;
  poolSize?: number;
  logger?: Logger;
  /** Statement timeout in ms for every connection (0 = none). */
  statementTimeoutMs?: number;
}

/** The mark `prepared()` puts first in a statement's text. */
const PREPARE_MARK = '/* ccm:prepared */ ';
/** More distinct marked texts than this is a bug (a text that varies): the rest run unprepared. */
const MAX_PREPARED = 256;

/**
 * Marks a statement whose text does not vary with its data (rows go in as arrays or JSON
 * recordsets): on PostgreSQL it is then a named prepared statement, parsed once per
 * connection and, after five runs, planned once (PostgreSQL's generic plan) instead of on
 * every run. For the gateway's per-batch statements parsing and planning were a fifth of
 * their time in the server. On PGlite the mark is only a comment.
 */
export function prepared<T>(query: RawBuilder<T>): RawBuilder<T> {
  return sql<T>`${sql.raw(PREPARE_MARK)}${query}`;
}

/** Sends `prepared()` statements as named statements (pg parses each once per connection). */
function namePreparedStatements(
  client: pg.PoolClient,
  names: { byText: Map<string, string>; warned: boolean },
  log?: Logger,
) {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
    const [text, values] = args;
    if (typeof text !== 'string' || !text.startsWith(PREPARE_MARK) || !Array.isArray(values)) {
      return query(...args);
    }
    let name = names.byText.get(text);
    if (name === undefined) {
      if (names.byText.size >= MAX_PREPARED) {
        if (!names.warned) {
          names.warned = true;
          log?.warn(
            { limit: MAX_PREPARED },
            '预备语句过多，其余不再预备 / too many distinct prepared statements; the rest run unprepared',
          );
        }
        return query(...args);
      }
      name = `ccm_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      names.byText.set(text, name);
    }
    return query({ name, text, values }, ...args.slice(2));
  };
}

/** Real PostgreSQL/TimescaleDB through a pg Pool. */
export function openPostgres(options: PgOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    types: {
      getTypeParser: ((oid: number, format?: string) => {
        if (oid === INT8_OID) return parseInt8;
        if (oid === DATE_OID) return parseDate;
        if (oid === TIMESTAMPTZ_OID) return parseTimestamptz;
        return pg.types.getTypeParser(oid, format as 'text');
      }) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client whose connection drops emits 'error' on the pool; without a listener
  // Node would crash the whole process. The pool discards that client and makes a new one.
  pool.on('error', (err) => {
    options.logger?.warn({ err: err.message }, '数据库连接中断 / idle database connection lost');
  });
  // A client checked out (say, idle in a transaction between two statements) whose backend
  // is terminated emits 'error' on the client itself, not the pool: without a listener Node
  // crashes the process. With one, the transaction fails on its next statement and the pool
  // drops the client on release (it is no longer queryable).
  const statementNames = { byText: new Map<string, string>(), warned: false };
  pool.on('connect', (client) => {
    namePreparedStatements(client, statementNames, options.logger);
    client.on('error', (err) => {
      options.logger?.warn({ err: err.message }, '数据库连接中断 / database connection lost');
    });
  });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    kind: 'pg',
    async withSession(fn) {
      const client = await pool.connect();
      try {
        return await fn({
          async query(text, params) {
            return (await client.query(text, params)).rows;
          },
          async exec(script) {
            await client.query(script);
          },
        });
      } finally {
        client.release();
      }
    },
    async ping() {
      await sql`select 1`.execute(db);
    },
    async listen(channel, onNotify) {
      if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name ${channel}`);
      let closed = false;
      let client: pg.Client | undefined;
      let retryTimer: NodeJS.Timeout | undefined;
      const connect = async (isRetry: boolean): Promise<void> => {
        const c = new pg.Client({ connectionString: options.url });
        client = c;
        c.on('notification', (msg) => {
          if (msg.channel === channel) onNotify(msg.payload ?? '');
        });
        c.on('error', (err) => {
          options.logger?.warn(
            { err: err.message, channel },
            'LISTEN 连接中断 / listen connection lost',
          );
          c.end().catch(() => undefined);
          scheduleRetry();
        });
        try {
          await c.connect();
          await c.query(`LISTEN ${channel}`);
          if (isRetry) onNotify(null);
        } catch {
          c.end().catch(() => undefined);
          scheduleRetry();
        }
      };
      const scheduleRetry = () => {
        if (closed || retryTimer) return;
        retryTimer = setTimeout(() => {
          retryTimer = undefined;
          void connect(true);
        }, 1000);
      };
      await connect(false);
      return async () => {
        closed = true;
        clearTimeout(retryTimer);
        await client?.end().catch(() => undefined);
      };
    },
    async close() {
      await db.destroy();
    },
  };
}

export interface PGliteOptions {
  /** Folder for the data (kept across restarts); undefined = in memory. */
  dataDir?: string;
  /**
   * Supply an already-created PGlite (e.g. the TimescaleDB build in tests). It must have been
   * created with `pgliteParsers` so types come back as they do from pg.
   */
  instance?: PGliteLike;
}

/** Parsers to pass to `new PGlite({ parsers })` so rows look the same as from pg. */
export const pgliteParsers = { [INT8_OID]: parseInt8, [DATE_OID]: parseDate };

/** Embedded PostgreSQL (PGlite, WASM) in this process: the zero-install default. */
export async function openPGlite(options: PGliteOptions = {}): Promise<Database> {
  let pglite = options.instance;
  if (!pglite) {
    const { PGlite } = await import('@electric-sql/pglite');
    if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
    pglite = (await PGlite.create({
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      parsers: pgliteParsers,
    })) as unknown as PGliteLike;
  }
  const instance = pglite;
  const db = new Kysely<DB>({ dialect: new PGliteDialect(instance) });
  return {
    db,
    kind: 'pglite',
    async withSession(fn) {
      // Holding a Kysely connection holds PGlite's single-user mutex for the whole session.
      return db.connection().execute(() =>
        fn({
          async query(text, params) {
            return (await instance.query<never>(text, params)).rows;
          },
          async exec(script) {
            await instance.exec(script);
          },
        }),
      );
    },
    async ping() {
      await sql`select 1`.execute(db);
    },
    async listen(channel, onNotify) {
      const unlisten = await instance.listen(channel, (payload) => onNotify(payload));
      return async () => {
        if (!instance.closed) await unlisten();
      };
    },
    async close() {
      await db.destroy();
    },
  };
}

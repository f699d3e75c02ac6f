import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { TEST_DATABASE_URL } from '@ccm/test-support';
import { openPGlite, openPostgres, prepared, type Database } from '../src/index';

/** The named statements PostgreSQL holds for the one pooled connection (not SQL PREPAREs). */
const held = async (database: Database) =>
  (
    await sql<{ name: string; statement: string }>`
      SELECT name, statement FROM pg_prepared_statements WHERE NOT from_sql ORDER BY name`.execute(
      database.db,
    )
  ).rows;

describe('prepared(): a statement parsed once per connection', () => {
  let database: Database;
  beforeAll(() => {
    // One connection, so every statement below runs on the session it inspects.
    database = openPostgres({ url: TEST_DATABASE_URL, poolSize: 1 });
  });
  afterAll(async () => {
    await database?.close();
  });

  const sum = (a: number, b: number) =>
    prepared(sql<{ n: number }>`SELECT ${a}::int4 + ${b}::int4 AS n`).execute(database.db);

  it('is a named statement on PostgreSQL, run with each call’s own values', async () => {
    expect((await sum(1, 2)).rows).toEqual([{ n: 3 }]);
    expect((await sum(40, 2)).rows).toEqual([{ n: 42 }]);
    // Inside a transaction too (the gateway's batches).
    const inTx = await database.db
      .transaction()
      .execute(async (trx) =>
        prepared(sql<{ n: number }>`SELECT ${5}::int4 + ${6}::int4 AS n`).execute(trx),
      );
    expect(inTx.rows).toEqual([{ n: 11 }]);
    // An unmarked statement with parameters stays unnamed.
    await sql`SELECT ${7}::int4 AS unmarked`.execute(database.db);
    const statements = await held(database);
    expect(statements).toHaveLength(1);
    expect(statements[0]!.name).toMatch(/^ccm_[0-9a-f]{20}$/);
    expect(statements[0]!.statement).toBe('/* ccm:prepared */ SELECT $1::int4 + $2::int4 AS n');
  });

  it('a failing run leaves the statement usable', async () => {
    await expect(sum(2_147_483_647, 1)).rejects.toThrow(/out of range/);
    expect((await sum(2, 2)).rows).toEqual([{ n: 4 }]);
  });
});

describe('prepared() on PGlite', () => {
  it('is only a comment there', async () => {
    const database = await openPGlite();
    try {
      const r = await prepared(sql<{ n: number }>`SELECT ${1}::int4 + ${2}::int4 AS n`).execute(
        database.db,
      );
      expect(r.rows).toEqual([{ n: 3 }]);
    } finally {
      await database.close();
    }
  });
});

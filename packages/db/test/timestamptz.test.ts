import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from '@ccm/test-support';
import { parseTimestamptz } from '../src/timestamptz';

/** pg's own parser (postgres-date), which parseTimestamptz must agree with everywhere. */
const postgresDate = pg.types.getTypeParser(1184, 'text') as (text: string) => Date | number;
const same = (a: Date | number | null, b: Date | number | null) =>
  a instanceof Date && b instanceof Date
    ? a.getTime() === b.getTime() || (isNaN(+a) && isNaN(+b))
    : Object.is(a, b);

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Writes a time the way PostgreSQL does (DateStyle ISO): the given offset, fraction trimmed. */
function pgText(epochMs: number, micros: number, offsetS: number): string {
  const local = new Date(epochMs + offsetS * 1000);
  const frac = (local.getUTCMilliseconds() * 1000 + micros).toString().padStart(6, '0');
  const trimmed = frac.replace(/0+$/, '');
  const abs = Math.abs(offsetS);
  const [h, m, s] = [Math.floor(abs / 3600), Math.floor((abs % 3600) / 60), abs % 60];
  const offset = `${offsetS < 0 ? '-' : '+'}${pad(h)}${m || s ? `:${pad(m)}` : ''}${s ? `:${pad(s)}` : ''}`;
  return (
    `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())} ` +
    `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}` +
    `${trimmed ? `.${trimmed}` : ''}${offset}`
  );
}

describe('parseTimestamptz', () => {
  it('reads what PostgreSQL writes, to the millisecond, as postgres-date does', () => {
    const MIN = Date.UTC(1000, 0, 2);
    const MAX = Date.UTC(9999, 11, 30);
    fc.assert(
      fc.property(
        fc.integer({ min: MIN, max: MAX }),
        fc.integer({ min: 0, max: 999 }),
        fc.oneof(
          fc.constant(0),
          fc.integer({ min: -15, max: 15 }).map((h) => h * 3600),
          fc.integer({ min: -57_599, max: 57_599 }),
        ),
        (epochMs, micros, offsetS) => {
          const text = pgText(epochMs, micros, offsetS);
          const parsed = parseTimestamptz(text);
          expect(parsed, text).toBeInstanceOf(Date);
          expect((parsed as Date).getTime(), text).toBe(epochMs);
          expect(same(parsed, postgresDate(text)), text).toBe(true);
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it.each([
    '2026-11-29 08:30:05+08',
    '2026-11-29 08:30:05.1+08',
    '2026-11-29 08:30:05.123456-03:30',
    '1900-01-01 00:00:00+08:05:43',
    '2026-03-29 02:30:00+01',
    // Not the fast path: left to postgres-date, with the same result.
    'infinity',
    '-infinity',
    '0044-03-15 12:00:00+00 BC',
    '0099-01-01 00:00:00+00',
    '12026-01-01 00:00:00+00',
    '2026-11-29 08:30:05',
    '2026-11-29T08:30:05Z',
    '2026-11-29 08:30:05.+08',
    '2026-11-29 08:30:05+8',
    '2026-11-29 08:30:05+08:3',
    '2026-11-29 08:30:05+08 ',
    'garbage',
    '',
  ])('agrees with postgres-date on %j', (text) => {
    expect(same(parseTimestamptz(text), postgresDate(text))).toBe(true);
  });
});

describe('parseTimestamptz on a real PostgreSQL', () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
  });

  // Zones with half-hour offsets, negative ones, and local mean time of the 19th century
  // (offsets in seconds) before standard time.
  it.each(['UTC', 'Asia/Shanghai', 'Asia/Kathmandu', 'America/St_Johns', 'Europe/Amsterdam'])(
    'every time the server writes in %s',
    async (zone) => {
      await client.query(`SET TimeZone = '${zone}'`);
      const { rows } = await client.query<{ t: string }>(
        `SELECT t::text AS t FROM (
           SELECT timestamptz '1850-06-01 00:00:00.000001+00' + g * interval '7 days 3 hours 17 minutes 11.123457 seconds' AS t
           FROM generate_series(0, 9000) g
           UNION ALL SELECT 'infinity' UNION ALL SELECT '-infinity'
           UNION ALL SELECT '0044-03-15 12:00:00+00 BC'
         ) s`,
      );
      expect(rows.length).toBe(9004);
      for (const { t } of rows) expect(same(parseTimestamptz(t), postgresDate(t)), t).toBe(true);
    },
  );
});

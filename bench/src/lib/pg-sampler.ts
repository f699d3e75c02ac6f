import type pg from 'pg';

/**
 * Poor man's wait-event profile of the database side: samples pg_stat_activity of this
 * database's other backends every `everyMs` and counts (what, statement) pairs, where `what`
 * is "cpu" for an active backend with no wait event, the wait event otherwise, and "idle in
 * transaction" while the client (the gateway) holds a transaction open without a statement.
 * Answers "which statement is the database busy with, and is it waiting on I/O or locks?".
 */
export function samplePostgres(pool: pg.Pool, everyMs = 25) {
  const counts = new Map<string, number>();
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const { rows } = await pool.query<{ state: string; wait: string | null; query: string }>(
          `SELECT state, wait_event_type || ':' || wait_event AS wait, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS query
           FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
             AND state <> 'idle'`,
        );
        samples++;
        for (const r of rows) {
          const what =
            r.state === 'active'
              ? (r.wait ?? 'cpu')
              : r.state === 'idle in transaction'
                ? 'idle in transaction'
                : r.state;
          const key = `${what}\t${r.state === 'active' ? r.query : '(between statements)'}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
      } catch {
        // the database may be going away at the end of a case
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop(top = 12) {
      stopped = true;
      await loop;
      return [...counts.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([key, n]) => {
          const [what, query] = key.split('\t');
          return {
            what: what!,
            statement: query!,
            share: Math.round((n / Math.max(1, samples)) * 100) / 100,
          };
        });
    },
  };
}

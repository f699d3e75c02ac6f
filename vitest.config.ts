import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'dashboard/**'],
    // Schedules and day boundaries are tested in UTC; zones carry their own IANA zone.
    env: { TZ: 'UTC' },
    // PGlite (WASM) and real sockets behave best in separate processes.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Dashboard component tests are .tsx (each names its DOM environment in a comment).
    include: ['**/test/**/*.test.ts', '**/test/**/*.test.tsx'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    // Schedules and day boundaries are tested in UTC; zones carry their own IANA zone.
    env: { TZ: 'UTC' },
    // PGlite (WASM) and real sockets behave best in separate processes.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // chDB is one engine per process and PGlite wants one connection: run files in separate forks, one at a time.
    pool: 'forks',
    fileParallelism: false,
  },
});

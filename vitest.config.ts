import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Tests start real servers (Redis, Postgres, origins) on port 0; two cores here.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    env: { METADATA_SERVER_DETECTION: 'none' },
  },
});

import { defineConfig } from 'vitest/config';

// `pnpm test:chaos` (also the last step of `npm test`): crash, fault and database-restart tests of
// the whole system with real API and worker processes (apps/api/test/chaos, docs/reliability.md).
// One file at a time (each starts its own processes), long timeouts; the shared embedded Postgres
// of the node project, except the database-restart scenario, which runs a cluster of its own.
// biome-ignore lint/style/noDefaultExport: vitest reads the default export
export default defineConfig({
  test: {
    name: 'chaos',
    include: ['apps/api/test/chaos/*.chaos.ts'],
    globalSetup: ['./packages/db/src/testing/global-setup.ts', './apps/api/test/chaos/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});

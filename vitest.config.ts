import { defineConfig } from 'vitest/config';

// One run for the whole workspace: a single real Postgres (embedded unless DATABASE_URL) is started
// once; every integration suite clones its own database from a migrated template.
export default defineConfig({
  test: {
    include: ['{packages,apps,seeds,community-plugins}/*/{src,test}/**/*.test.ts'],
    globalSetup: ['./packages/db/src/testing/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});

import { defineConfig } from 'vitest/config';

// One run for the whole workspace. The node project: a single real Postgres (embedded unless
// DATABASE_URL) is started once; every integration suite clones its own database from a migrated
// template (the web UI's end-to-end test, apps/web/test, is one of them). The web project runs the
// UI's component tests in jsdom.
export default defineConfig({
  test: {
    reporters: ['default', './scripts/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'node',
          include: [
            '{packages,internal-packages,apps,seeds,community-plugins,examples}/*/{src,test}/**/*.test.ts',
            'scripts/*.test.ts',
          ],
          exclude: ['**/node_modules/**', '**/*.security.test.ts'],
          globalSetup: ['./packages/db/src/testing/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
      './apps/web/vitest.config.ts',
    ],
  },
});

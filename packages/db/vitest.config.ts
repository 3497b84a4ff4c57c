// Runs this package's tests on their own: `pnpm exec vitest run --root packages/db`.
// globalSetup starts an embedded Postgres (or uses DATABASE_URL) and builds the
// migrated template database that createTestDatabase() clones.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['./src/testing/global-setup.ts'],
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

import { defineConfig } from 'vitest/config';

// `pnpm test:security` (also a step of `npm test`): the adversarial suite. Each test is an attack an
// outside audit reproduced against a running stack (docs/security.md lists them with their fixes);
// each failed on the code that had the hole. Files are `*.security.test.ts` beside the code they
// attack; they use the node project's real Postgres setup.
// biome-ignore lint/style/noDefaultExport: vitest reads the default export
export default defineConfig({
  test: {
    name: 'security',
    include: ['{packages,internal-packages,apps,community-plugins}/*/{src,test}/**/*.security.test.ts'],
    globalSetup: ['./packages/db/src/testing/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

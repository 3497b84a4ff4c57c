/**
 * Vitest globalSetup of the chaos suite: bundle the API and the worker once (`scripts/build-app.mjs`,
 * what `pnpm build` runs: `apps/<app>/dist/main.js`), so the many restarts of a scenario start in
 * about a second each instead of transpiling the sources through tsx every time.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './lib.js';

export function setup(): void {
  for (const app of ['api', 'worker']) {
    execFileSync(process.execPath, ['../../scripts/build-app.mjs', 'src/main.ts'], {
      cwd: path.join(ROOT, 'apps', app),
      stdio: 'inherit',
    });
  }
}

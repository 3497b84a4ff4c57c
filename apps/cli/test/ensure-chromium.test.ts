/**
 * scripts/ensure-chromium.mjs, the first step of `npm test`: on a machine with only Node and npm (no
 * system Chromium, not root), the e2e test gets its browser from the npm registry alone —
 * @sparticuz/chromium, a Chromium build shipped inside the package, with its bundled libraries. This
 * test forces that path (`--registry`, whatever the machine has) and drives the browser it installed
 * with playwright-core, launched as apps/web/test/e2e.test.ts launches it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** What this test uses of playwright-core (a dependency of apps/web, not of the CLI). */
interface Page {
  setContent(html: string): Promise<void>;
  textContent(selector: string): Promise<string | null>;
}
interface Playwright {
  chromium: {
    launchPersistentContext(
      profile: string,
      options: { executablePath: string; headless: boolean; args: string[] },
    ): Promise<{ pages(): Page[]; newPage(): Promise<Page>; close(): Promise<void> }>;
  };
}

it('installs a working Chromium from the npm registry alone', async () => {
  const wrapper = execFileSync(process.execPath, ['scripts/ensure-chromium.mjs', '--registry'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  }).trim();
  expect(wrapper).toBe(path.join(ROOT, '.tools/chromium/chromium'));
  // playwright-core as the web app depends on it (the e2e test's own import).
  const require = createRequire(path.join(ROOT, 'apps/web/package.json'));
  const { chromium } = (await import(require.resolve('playwright-core'))) as Playwright;
  const profile = await mkdtemp(path.join(os.tmpdir(), 'calseta-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: wrapper,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.setContent('<p id="p">static</p><script>document.getElementById("p").textContent = "scripted"</script>');
    expect(await page.textContent('#p')).toBe('scripted');
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}, 360_000);

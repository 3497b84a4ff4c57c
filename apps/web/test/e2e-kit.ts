/**
 * What the Chromium end-to-end files share: the build of the UI the API serves, the browser, and the
 * checks every page passes (fits the viewport, no serious axe-core violation in the dark theme, no
 * contrast violation in the light one) with screenshots at 390/1280/1440/1920 px (+ light at 1280) in
 * apps/web/test-artifacts/ (git-ignored).
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AxeResults } from 'axe-core';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build } from 'vite';

// The functions given to `page.evaluate` run in the browser. This file is compiled with the Node
// test suite (no DOM library, which would change Node's fetch/Blob types for every file), so the
// few browser globals they use are declared here, loosely.
type BrowserElement = {
  getBoundingClientRect(): { width: number; right: number };
  checkVisibility(options: object): boolean;
  parentElement: BrowserElement | null;
  querySelectorAll(selector: string): Iterable<BrowserElement>;
  tagName: string;
  className: string;
};
type Document = {
  getElementById(id: string): BrowserElement | null;
  documentElement: BrowserElement & { clientWidth: number; scrollWidth: number };
  querySelectorAll(selector: string): Iterable<BrowserElement>;
};
declare const document: Document;
declare const window: object;
declare function getComputedStyle(element: BrowserElement): { overflowX: string };
declare function requestAnimationFrame(callback: (time: number) => void): number;

export const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ARTIFACTS = path.join(WEB, 'test-artifacts');
const DIST = path.join(WEB, 'dist');
// process.env is read here on purpose: test infrastructure only.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// The machine's closed network: no background traffic, no QUIC, nothing phoning home.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const WIDTHS = [1280, 1440, 1920] as const;
export const MOBILE = 390;

/**
 * Build the UI into a scratch folder, then copy it into apps/web/dist file by file, each copy an
 * atomic rename: another end-to-end file running at the same time, whose pages load chunks from
 * dist/, never finds a file missing or half written (the same sources build to the same names).
 */
export async function buildWebInPlace(): Promise<void> {
  const out = await mkdtemp(path.join(os.tmpdir(), 'calseta-web-build-'));
  try {
    await build({
      root: WEB,
      logLevel: 'warn',
      configFile: path.join(WEB, 'vite.config.ts'),
      build: { outDir: out, emptyOutDir: true },
    });
    for (const rel of await readdir(out, { recursive: true })) {
      const from = path.join(out, rel);
      if (!(await stat(from)).isFile()) continue;
      const to = path.join(DIST, rel);
      await mkdir(path.dirname(to), { recursive: true });
      const partial = `${to}.${process.pid}.partial`;
      await copyFile(from, partial);
      await rename(partial, to);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Chromium with a fresh profile; uncaught page errors go to `errors`. */
export async function openBrowser(errors: string[]): Promise<Browser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'calseta-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1440, height: 900 },
    colorScheme: 'dark',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (e) => errors.push(String(e)));
  return {
    context,
    page,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** No element of the main content extends past the viewport's right edge (a horizontal scroller must fit). */
export function overflowing(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const main = document.getElementById('main');
    if (!main) return ['no #main'];
    const limit = document.documentElement.clientWidth;
    const out: string[] = [];
    if (document.documentElement.scrollWidth > limit + 1)
      out.push(`page scrolls sideways (${document.documentElement.scrollWidth} > ${limit})`);
    for (const el of main.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= limit + 1) continue;
      // Closed <details> keep their content's boxes (content-visibility): not shown, not counted.
      if (!el.checkVisibility({ contentVisibilityAuto: true, visibilityProperty: true })) continue;
      let clipped = false;
      for (let p = el.parentElement; p && p !== main; p = p.parentElement) {
        if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(p).overflowX)) {
          clipped = true;
          break;
        }
      }
      if (!clipped)
        out.push(`${el.tagName.toLowerCase()}.${String(el.className).split(' ')[0]} right=${Math.round(r.right)}`);
      if (out.length >= 5) break;
    }
    return out;
  });
}

type Violation = { id: string; impact: string | null | undefined; nodes: string[] };
let axeSource: Promise<string> | undefined;

/** Serious and critical axe-core violations (all rules, or only `rules`) of the page as it is now. */
export async function axe(page: Page, rules?: string[]): Promise<Violation[]> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Injected through the devtools protocol: the app's CSP stays on.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(await axeSource);
  const results = (await page.evaluate(
    (only) =>
      (window as unknown as { axe: { run(ctx: Document, o: object): Promise<unknown> } }).axe.run(document, {
        resultTypes: ['violations'],
        ...(only ? { runOnly: { type: 'rule', values: only } } : {}),
      }),
    rules ?? null,
  )) as AxeResults;
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.slice(0, 4).map((n) => `${n.target.join(' ')}: ${n.any[0]?.message ?? n.failureSummary ?? ''}`),
    }));
}

/** After a resize or theme switch: two frames, so resize observers and media listeners have re-rendered. */
export const settle = (page: Page) =>
  page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));

export const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

/**
 * The page as loaded now, at every width and at 390 px: what overflows and what axe finds (dark, and
 * contrast in light), keyed `name@width`; screenshots of each. Leaves the page dark at 1280 px.
 */
export async function checkLayouts(page: Page, name: string): Promise<Record<string, unknown>> {
  const problems: Record<string, unknown> = {};
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    await settle(page);
    const over = await overflowing(page);
    const dark = await axe(page);
    await page.emulateMedia({ colorScheme: 'light' });
    await settle(page);
    const light = await axe(page, ['color-contrast']);
    if (width === WIDTHS[0]) await shot(page, `${name}-${width}-light`);
    await page.emulateMedia({ colorScheme: 'dark' });
    await settle(page);
    await shot(page, `${name}-${width}`);
    if (over.length + dark.length + light.length > 0) problems[`${name}@${width}`] = { over, dark, light };
  }
  // Narrow: the navigation wraps above the content, tables scroll inside their box, the page does not.
  await page.setViewportSize({ width: MOBILE, height: 844 });
  await settle(page);
  const narrow = await overflowing(page);
  if (narrow.length > 0) problems[`${name}@${MOBILE}`] = { over: narrow };
  await shot(page, `${name}-${MOBILE}`);
  await page.setViewportSize({ width: WIDTHS[0], height: 900 });
  return problems;
}

/**
 * The web UI end to end: the real API (serving the built UI) on a real Postgres, the worker, the mock
 * providers, and Debian's chromium driven by playwright-core. An analyst (a person's key) signs in, an
 * alert is ingested and enriched, its verdicts and runbook are shown, a workflow that needs approval is
 * run from the alert (approving one's own request is refused, and the page says why), an agent key
 * asks through the API for another run, the analyst approves it and the run succeeds. Screenshots of the main pages
 * go to apps/web/test-artifacts/ (git-ignored).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../api/test/fixtures.js';
import { createHarness, type Harness } from '../../api/test/harness.js';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ARTIFACTS = path.join(WEB, 'test-artifacts');
// process.env is read here on purpose: test infrastructure only. Else the browser `npm test`
// provided (scripts/ensure-chromium.mjs writes its path when it is not Debian's), else Debian's.
const PROVIDED = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../.tools/chromium/path');
const CHROMIUM =
  process.env.CHROMIUM_PATH ?? (existsSync(PROVIDED) ? readFileSync(PROVIDED, 'utf8').trim() : '/usr/bin/chromium');
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
const RUNBOOK = `## Contain the host

1. Isolate the endpoint.
2. Reset the user's credentials.`;
const CODE = `export async function run(ctx) {
  ctx.log.info('blocking ' + ctx.indicator.value);
  return WorkflowResult.ok('blocked ' + ctx.indicator.value, { value: ctx.indicator.value });
}`;

describe('web UI end to end (chromium)', () => {
  let h: Harness;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let workflowUuid: string;
  let analystKey: string;
  let agentKey: string;

  beforeAll(async () => {
    const started = Date.now();
    const [harness] = await Promise.all([
      createHarness({ mockProviders: true }),
      build({ root: WEB, logLevel: 'warn', configFile: path.join(WEB, 'vite.config.ts') }),
      mkdir(ARTIFACTS, { recursive: true }),
    ]);
    h = harness;
    await h.startWorker();
    const doc = await h.request('POST', '/v1/context-documents', {
      json: { title: 'Endpoint compromise runbook', document_type: 'runbook', is_global: true, content: RUNBOOK },
    });
    expect(doc.status).toBe(201);
    const wf = await h.request('POST', '/v1/workflows', {
      json: {
        name: 'Block IP at the firewall',
        code: CODE,
        state: 'active',
        indicator_types: ['ip'],
        approval_mode: 'always',
        risk_level: 'high',
      },
    });
    expect(wf.status).toBe(201);
    workflowUuid = wf.body.data.uuid;
    // A person signs into the UI; an agent works through the API with its own key.
    [analystKey, agentKey] = await Promise.all([
      h.createKey({ name: 'analyst', scopes: ['admin'] }),
      h.createKey({ name: 'triage agent', key_type: 'agent', scopes: ['alerts:read', 'workflows:execute'] }),
    ]);
    profile = await mkdtemp(path.join(os.tmpdir(), 'calseta-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1440, height: 900 },
      colorScheme: 'dark',
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(30_000);
    console.log(`e2e setup ${Date.now() - started} ms`);
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await h?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  it('sign in, watch an alert get enriched, read verdicts and runbook, approve an agent’s gated run (not one’s own)', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));

    // Sign in.
    await page.goto(`${h.baseUrl}/`);
    await page.getByLabel('API key').fill(analystKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByText('API healthy').waitFor();

    // A SIEM sends an alert.
    const ingested = await h.request('POST', '/v1/ingest/sentinel', {
      json: fixture('01_sentinel_brute_force_tor.json'),
    });
    expect(ingested.status).toBe(202);
    const uuid = ingested.body.data.alert_uuid as string;
    const title = (await h.request('GET', `/v1/alerts/${uuid}`)).body.data.title as string;

    // It shows up in the list (live refresh), and becomes enriched.
    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await page.getByRole('link', { name: title }).click();
    await page.getByRole('heading', { name: title }).waitFor();
    await page.locator('.page-header').getByText('Enriched', { exact: true }).waitFor({ timeout: 45_000 });

    // Verdicts with their explanation.
    await page.getByRole('tab', { name: /Indicators/ }).click();
    const indicators = page.getByRole('table', { name: 'Indicators' });
    await indicators.getByText('Malicious').first().waitFor();
    // Each verdict says why: provider, field, operator, expected and actual value.
    await indicators
      .locator('.explanation', { hasText: /\(actual .+\)/ })
      .first()
      .waitFor();
    await shot('alert-indicators');

    // The runbook that applies.
    await page.getByRole('tab', { name: /Context/ }).click();
    await page.getByRole('heading', { name: 'Contain the host' }).waitFor();
    await shot('alert-context');
    // An analyst overrides one indicator's verdict on its page.
    await page.getByRole('tab', { name: /Indicators/ }).click();
    await indicators.getByRole('link', { name: '185.220.101.34' }).click();
    await page.getByRole('heading', { name: /185\.220\.101\.34/ }).waitFor();
    await shot('indicator-detail');
    await page.getByLabel('Malice override').selectOption('Suspicious');
    await page.getByText('(analyst)').waitFor();
    await page.goBack();
    await page.getByRole('tab', { name: 'Graph' }).click();
    await page.getByRole('img', { name: /Relationship graph/ }).waitFor();
    await shot('alert-graph');

    // The analyst runs the workflow from the alert: it needs approval — by someone else.
    await page.getByRole('button', { name: 'Run workflow' }).click();
    const dialog = page.getByRole('dialog', { name: 'Run workflow' });
    await dialog.getByLabel('Workflow').selectOption(workflowUuid);
    await dialog.getByRole('button', { name: 'Run workflow' }).click();
    await dialog.getByText('Approval required').waitFor();
    await dialog.getByRole('link', { name: 'Open the approvals queue' }).click();
    await page.getByRole('heading', { name: 'Approvals' }).waitFor();
    // Approving one's own request is refused (403), and the page says why instead of failing.
    await page.getByRole('button', { name: /^Approve Block IP at the firewall/ }).click();
    await page
      .getByRole('alert')
      .getByText(/you requested this run/i)
      .waitFor();

    // The agent asks, through the API, to block another IP of the alert.
    const asked = await h.request('POST', `/v1/workflows/${workflowUuid}/execute`, {
      key: agentKey,
      json: {
        indicator_type: 'ip',
        indicator_value: '203.0.113.7',
        alert_uuid: uuid,
        reason: 'Brute force from this address against the VPN gateway.',
        confidence: 0.92,
      },
    });
    expect(asked.status).toBe(202);
    expect(asked.body.data.status).toBe('pending_approval');

    // The analyst approves the agent's request.
    const approve = page.getByRole('button', { name: 'Approve Block IP at the firewall on 203.0.113.7' });
    await approve.waitFor();
    await shot('approvals');
    await approve.click();
    await page.getByText('Approved: the run is queued.').waitFor();

    // The run succeeds.
    await page.goto(`${h.baseUrl}/workflows/${workflowUuid}?tab=runs`);
    await page
      .getByRole('table', { name: 'Workflow runs' })
      .getByText('succeeded', { exact: true })
      .waitFor({ timeout: 30_000 });
    await shot('workflow-runs');

    // Screenshots of the other main pages.
    for (const [name, url, heading] of [
      ['dashboard', '/', 'Dashboard'],
      ['alerts', '/alerts', 'Alerts'],
      ['workflows', '/workflows', 'Workflows'],
      ['providers', '/providers', 'Enrichment providers'],
      ['context-docs', '/context-docs', 'Context documents'],
      ['detection-rules', '/detection-rules', 'Detection rules'],
      ['indicator-mappings', '/settings/indicator-mappings', 'Indicator mappings'],
    ] as const) {
      await page.goto(`${h.baseUrl}${url}`);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await page.locator('.loading').first().waitFor({ state: 'detached' });
      await shot(name);
    }
    // A provider's configuration: the HTTP steps and malice rules builders.
    await page.goto(`${h.baseUrl}/providers`);
    await page.getByRole('link', { name: 'AbuseIPDB' }).click();
    await page
      .getByRole('heading', { name: 'Malice rules (first match wins)' })
      .or(page.getByText('Malice rules (first match wins)'))
      .first()
      .waitFor();
    await shot('provider-detail');
    // Narrow screens: the navigation wraps above the content, tables scroll sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${h.baseUrl}/alerts`);
    await page.getByRole('link', { name: title }).waitFor();
    await shot('alerts-mobile');
    expect(errors).toEqual([]);
  }, 180_000);
});

/**
 * The golden corpus (packages/integrations/corpus/<source>/<name>.json + <name>.expected.json): every
 * payload, as its vendor sends it, is ingested through the real API at /v1/ingest/<source>, the worker
 * runs all extraction passes (plugin, system and custom mappings, validation), and the stored alert must
 * have exactly the expected title, severity and indicator set (order-free). Optional expected keys
 * (`severity_unmapped`, `severity_raw`, `occurred_at`, `description`) are checked when present.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePluginList } from '@calseta/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

const CORPUS = fileURLToPath(new URL('../../../packages/integrations/corpus', import.meta.url));
// Community sources, loaded by package name as CALSETA_PLUGINS names them, for their corpus folders.
const PLUGINS = parsePluginList('@calseta-community/crowdstrike-falcon @calseta-community/cortex-xdr');
const OPTIONAL = ['severity_unmapped', 'severity_raw', 'occurred_at', 'description'] as const;

interface Expected {
  origin: string;
  title: string;
  severity: string;
  indicators: Array<{ type: string; value: string }>;
  [key: string]: unknown;
}

interface Case {
  file: string;
  source: string;
  body: string;
  expected: Expected;
}

function corpus(): Case[] {
  const cases: Case[] = [];
  for (const source of readdirSync(CORPUS).sort()) {
    for (const name of readdirSync(join(CORPUS, source)).sort()) {
      if (!name.endsWith('.json') || name.endsWith('.expected.json')) continue;
      const expectedFile = join(CORPUS, source, name.replace(/\.json$/, '.expected.json'));
      cases.push({
        file: `${source}/${name}`,
        source,
        body: readFileSync(join(CORPUS, source, name), 'utf8'),
        expected: JSON.parse(readFileSync(expectedFile, 'utf8')) as Expected,
      });
    }
  }
  return cases;
}

const CASES = corpus();
const key = (i: { type: string; value: string }) => `${i.type} ${i.value}`;

let h: Harness;
beforeAll(async () => {
  // A window of 0: payloads that share a title and indicators are still separate alerts here.
  h = await createHarness({ plugins: PLUGINS, dedupWindowHours: 0 });
  await h.startWorker(1);
});
afterAll(() => h.close());

describe('golden corpus', () => {
  it('holds at least 40 payloads, each with an expected file naming its origin', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    for (const c of CASES) {
      expect(c.expected.origin, c.file).toMatch(/\S/);
      expect(Array.isArray(c.expected.indicators), c.file).toBe(true);
    }
  });

  it.each(CASES.map((c) => [c.file, c] as const))('%s', async (file, c) => {
    // One alert at a time, so the next pipeline outcome is this alert's.
    const processed = h.nextJob();
    const res = await h.request('POST', `/v1/ingest/${c.source}`, {
      body: c.body,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status, `${file}: ${JSON.stringify(res.body)}`).toBe(202);
    const uuid: string = res.body.data.alert_uuid;
    const outcome = await processed;
    expect(outcome.state, file).toBe('completed');

    const detail = await h.request('GET', `/v1/alerts/${uuid}`);
    expect(detail.status).toBe(200);
    const alert = detail.body.data;
    const actual: Record<string, unknown> = {
      title: alert.title,
      severity: alert.severity,
      indicators: (alert.indicators as Array<{ type: string; value: string }>).map(key).sort(),
    };
    const wanted: Record<string, unknown> = {
      title: c.expected.title,
      severity: c.expected.severity,
      indicators: c.expected.indicators.map(key).sort(),
    };
    for (const field of OPTIONAL) {
      if (field in c.expected) {
        actual[field] = alert[field];
        wanted[field] = c.expected[field];
      }
    }
    expect(actual, `${file} differs from its .expected.json`).toEqual(wanted);
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installPluginProviders, loadPlugins, ProcessEnvSchema, parsePluginList } from '@calseta/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

// The community plugins, loaded by package name exactly as CALSETA_PLUGINS names them: core is not
// edited to know them.
const PLUGINS = parsePluginList(
  '@calseta-community/crowdstrike-falcon, @calseta-community/cortex-xdr @calseta-community/greynoise',
);

const fixture = (path: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../../community-plugins/${path}`, import.meta.url), 'utf8'));

describe('plugins configured by package name load and ingest through the real API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ plugins: PLUGINS });
  });
  afterAll(() => h.close());

  it('a Falcon detection is accepted, normalized by the plugin and its indicators extracted by the pipeline', async () => {
    const res = await h.request('POST', '/v1/ingest/crowdstrike_falcon', {
      json: fixture('crowdstrike-falcon/fixtures/event-stream-detection-summary.json'),
    });
    expect(res.status).toBe(202);
    const uuid: string = res.body.data.alert_uuid;
    const row = await h.deps.db.selectFrom('alerts').select('id').where('uuid', '=', uuid).executeTakeFirstOrThrow();
    const done = h.nextJob((o) => (o.data as { alert_id?: number }).alert_id === row.id);
    await h.startWorker(1);
    expect((await done).state).toBe('completed');

    const alert = (await h.request('GET', `/v1/alerts/${uuid}`)).body.data;
    expect(alert).toMatchObject({
      title: 'Credential Dumping on FIN-WS-0142',
      severity: 'Critical',
      source_name: 'crowdstrike_falcon',
      occurred_at: '2025-11-23T09:46:50.000Z',
    });
    const indicators = (await h.request('GET', `/v1/alerts/${uuid}/indicators`)).body.data.map(
      (i: { type: string; value: string }) => `${i.type} ${i.value}`,
    );
    expect(indicators).toEqual(
      expect.arrayContaining([
        'ip 185.220.101.34',
        'account jsmith',
        'hash_sha256 a0e2b6bd2e0f6e3c5d74b3a1c9c3b5a8e2f64a1d9b7c4e3f2a1b0c9d8e7f6a5b',
        'domain update-cdn-check.net',
      ]),
    );
  });

  it('a Cortex XDR incident is accepted; an invalid one is a 422 with the plugin’s issues', async () => {
    const ok = await h.request('POST', '/v1/ingest/cortex_xdr', {
      json: fixture('cortex-xdr/fixtures/incident-extra-data.json'),
    });
    expect(ok.status).toBe(202);
    const bad = await h.request('POST', '/v1/ingest/cortex_xdr', { json: { incident: { incident_name: 'x' } } });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body.error)).toContain('incident.incident_id');
  });

  it('the GreyNoise provider is installed as if imported, and a second install leaves it alone', async () => {
    const providers = (await h.request('GET', '/v1/enrichments/providers')).body.data;
    expect(providers.map((p: { provider_name: string }) => p.provider_name)).toContain('greynoise_community');
    const extractions = await h.query<{ n: string }>(
      "SELECT count(*) AS n FROM enrichment_field_extractions WHERE provider_name = 'greynoise_community'",
    );
    expect(Number(extractions[0]?.n)).toBe(6);

    const again = await installPluginProviders(h.deps, await loadPlugins(PLUGINS));
    expect(again).toEqual({ installed: [], existing: ['greynoise_community'] });
  });

  it('builtin sources are still there next to the plugins', async () => {
    const res = await h.request('POST', '/v1/ingest/generic', { json: { title: 'still here', severity: 'low' } });
    expect(res.status).toBe(202);
  });
});

describe('without the plugin configured', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(() => h.close());

  it('the same source is unknown', async () => {
    const res = await h.request('POST', '/v1/ingest/crowdstrike_falcon', {
      json: fixture('crowdstrike-falcon/fixtures/alerts-api-v2-alert.json'),
    });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('UNKNOWN_SOURCE');
  });
});

describe('plugin configuration', () => {
  it('CALSETA_PLUGINS parses to a list of package names', () => {
    const env = ProcessEnvSchema.parse({ DATABASE_URL: 'postgres://x', CALSETA_PLUGINS: ' a, b\nc,a ' });
    expect(env.CALSETA_PLUGINS).toEqual(['a', 'b', 'c']);
    expect(ProcessEnvSchema.parse({ DATABASE_URL: 'postgres://x' }).CALSETA_PLUGINS).toEqual([]);
  });

  it('a package that cannot be found stops startup, naming it', async () => {
    await expect(loadPlugins(['@calseta-community/does-not-exist'])).rejects.toThrow(
      /Plugin "@calseta-community\/does-not-exist" \(CALSETA_PLUGINS\): cannot be imported/,
    );
  });

  it('a module without a `plugin` export, or with an invalid source, is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'calseta-plugin-'));
    writeFileSync(join(dir, 'none.mjs'), 'export const something = 1;\n');
    writeFileSync(
      join(dir, 'bad.mjs'),
      "export const plugin = { name: 'bad', providers: [], sources: [{ name: 'Bad Name', displayName: 'x', documentedExtractions: [] }] };\n",
    );
    await expect(loadPlugins(['./none.mjs'], { resolveFrom: dir })).rejects.toThrow(/no named export `plugin`/);
    await expect(loadPlugins(['./bad.mjs'], { resolveFrom: dir })).rejects.toThrow(
      /a source lacks validate, normalize, extractIndicators/,
    );
    writeFileSync(
      join(dir, 'badname.mjs'),
      "const m = () => ({ ok: true }); export const plugin = { name: 'bad', providers: [], sources: [{ name: 'Bad Name', displayName: 'x', validate: m, normalize: m, extractIndicators: () => [], documentedExtractions: [] }] };\n",
    );
    await expect(loadPlugins(['./badname.mjs'], { resolveFrom: dir })).rejects.toThrow(/"Bad Name" must match/);
  });

  it('a path plugin loads from its file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'calseta-plugin-'));
    writeFileSync(
      join(dir, 'p.mjs'),
      `export const plugin = { name: 'local', sources: [], providers: [${JSON.stringify(
        fixture('greynoise/provider.json'),
      )}] };\n`,
    );
    const loaded = await loadPlugins([join(dir, 'p.mjs')]);
    expect(loaded.providers.map((p) => p.provider.provider_name)).toEqual(['greynoise_community']);
  });
});

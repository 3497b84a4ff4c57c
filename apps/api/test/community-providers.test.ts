import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

// Every community plugin that ships a provider keeps it as data in `community-plugins/<name>/provider.json`.
const DIR = new URL('../../../community-plugins/', import.meta.url);
const FILES = readdirSync(DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(new URL(`${d.name}/provider.json`, DIR)))
  .map((d) => `${d.name}/provider.json`);

describe('community provider files import through the API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(() => h.close());

  it('there is at least one', () => {
    expect(FILES.length).toBeGreaterThan(0);
  });

  it.each(FILES)('%s imports with its extractions and is listed as active', async (file) => {
    const body = JSON.parse(readFileSync(new URL(file, DIR), 'utf8'));
    const res = await h.request('POST', '/v1/enrichment-providers/import', { json: body });
    expect(res.status).toBe(201);
    expect(res.body.data.provider).toMatchObject({ provider_name: body.provider.provider_name, is_active: true });
    expect(res.body.data.field_extractions).toHaveLength(body.field_extractions.length);
    const providers = (await h.request('GET', '/v1/enrichments/providers')).body.data;
    expect(providers.map((p: { provider_name: string }) => p.provider_name)).toContain(body.provider.provider_name);
  });
});

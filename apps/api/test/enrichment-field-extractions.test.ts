import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
  const res = await h.request('POST', '/v1/enrichment-providers', {
    json: {
      provider_name: 'intel',
      display_name: 'Intel',
      supported_indicator_types: ['ip', 'domain'],
      http_config: { steps: [{ url: 'https://intel.example.com/{{indicator.type}}/{{indicator.value}}' }] },
    },
  });
  expect(res.status).toBe(201);
});
afterAll(() => h.close());

interface ExtractionView {
  uuid: string;
  provider_name: string;
  indicator_type: string;
  source_path: string;
  target_key: string;
  value_type: string;
  is_system: boolean;
  is_active: boolean;
  description: string | null;
}

const URL = '/v1/enrichment-field-extractions';

const item = (source_path: string, extra: Record<string, unknown> = {}) => ({
  provider_name: 'intel',
  indicator_type: 'ip',
  source_path,
  target_key: source_path.replaceAll('.', '_'),
  ...extra,
});

async function count(where = "provider_name = 'intel'"): Promise<number> {
  const rows = await h.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM enrichment_field_extractions WHERE ${where}`,
  );
  return rows[0]?.n ?? 0;
}

async function systemExtraction(): Promise<ExtractionView> {
  const res = await h.request('GET', `${URL}?provider_name=virustotal&indicator_type=ip&is_system=true`);
  const first = (res.body.data as ExtractionView[])[0];
  if (!first) throw new Error('no system extraction');
  return first;
}

async function loadedTargetKeys(provider: string): Promise<string[]> {
  const loaded = await h.deps.enrichment.registry.byName(provider);
  return (loaded?.definition.field_extractions ?? []).map((e) => `${e.indicator_type}:${e.target_key}`);
}

describe('GET /v1/enrichment-field-extractions', () => {
  it("lists the builtins' system extractions with filters, oldest first, paginated", async () => {
    const all = await h.request('GET', `${URL}?provider_name=virustotal&page_size=500`);
    expect(all.status).toBe(200);
    const rows = all.body.data as ExtractionView[];
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.every((r) => r.provider_name === 'virustotal' && r.is_system)).toBe(true);
    expect(all.body.meta).toMatchObject({ total: rows.length, page: 1, page_size: 500, total_pages: 1 });

    const ip = await h.request('GET', `${URL}?provider_name=virustotal&indicator_type=ip&page_size=500`);
    const ipRows = ip.body.data as ExtractionView[];
    expect(ipRows.length).toBeGreaterThan(0);
    expect(ipRows.every((r) => r.indicator_type === 'ip')).toBe(true);
    expect(ipRows.map((r) => r.uuid)).toEqual(rows.filter((r) => r.indicator_type === 'ip').map((r) => r.uuid));

    const page2 = await h.request('GET', `${URL}?provider_name=virustotal&page=2&page_size=3`);
    expect((page2.body.data as ExtractionView[]).map((r) => r.uuid)).toEqual(rows.slice(3, 6).map((r) => r.uuid));
    expect(page2.body.meta.total_pages).toBe(Math.ceil(rows.length / 3));

    expect((await h.request('GET', `${URL}?is_system=false`)).body.meta.total).toBe(await count('NOT is_system'));
    expect((await h.request('GET', `${URL}?indicator_type=mac`)).status).toBe(422);
  });
});

describe('custom extractions', () => {
  it('create, get, patch and delete, each reaching the registry', async () => {
    const created = await h.request('POST', URL, { json: item('data.country', { description: 'Country code' }) });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({
      provider_name: 'intel',
      indicator_type: 'ip',
      source_path: 'data.country',
      target_key: 'data_country',
      value_type: 'string',
      is_system: false,
      is_active: true,
      description: 'Country code',
    });
    const { uuid } = created.body.data as ExtractionView;
    expect(await loadedTargetKeys('intel')).toContain('ip:data_country');

    const got = await h.request('GET', `${URL}/${uuid}`);
    expect(got.body.data).toEqual(created.body.data);

    const patched = await h.request('PATCH', `${URL}/${uuid}`, {
      json: { target_key: 'country', indicator_type: 'domain', value_type: 'any' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toMatchObject({ target_key: 'country', indicator_type: 'domain', value_type: 'any' });
    expect(await loadedTargetKeys('intel')).toContain('domain:country');

    expect((await h.request('DELETE', `${URL}/${uuid}`)).status).toBe(204);
    expect((await h.request('GET', `${URL}/${uuid}`)).status).toBe(404);
    expect(await loadedTargetKeys('intel')).not.toContain('domain:country');

    const events = await h.query<{ event_type: string }>(
      `SELECT event_type FROM activity_events WHERE event_type LIKE 'enrichment_extraction_%'
        AND ("references"->>'extraction_uuid' = $1 OR "references"->'extractions'->0->>'extraction_uuid' = $1) ORDER BY id`,
      [uuid],
    );
    expect(events.map((e) => e.event_type)).toEqual([
      'enrichment_extraction_created',
      'enrichment_extraction_updated',
      'enrichment_extraction_deleted',
    ]);
  });

  it('needs an existing provider (PROVIDER_NOT_FOUND) that supports the type', async () => {
    const missing = await h.request('POST', URL, { json: item('a.b', { provider_name: 'no_such_provider' }) });
    expect(missing.status).toBe(422);
    expect(missing.body.error.code).toBe('PROVIDER_NOT_FOUND');

    const unsupported = await h.request('POST', URL, { json: item('a.b', { indicator_type: 'account' }) });
    expect(unsupported.status).toBe(422);
    expect(unsupported.body.error.code).toBe('VALIDATION_ERROR');
    expect(unsupported.body.error.details.errors).toEqual([expect.objectContaining({ path: 'indicator_type' })]);

    const badKey = await h.request('POST', URL, { json: item('a.b', { target_key: '1bad key' }) });
    expect(badKey.status).toBe(422);
    expect(badKey.body.error.details.errors[0].path).toBe('target_key');
  });

  it('refuses a duplicate (provider, type, source path) with 409, on create and on patch', async () => {
    const first = await h.request('POST', URL, { json: item('dup.path') });
    expect(first.status).toBe(201);
    const again = await h.request('POST', URL, { json: item('dup.path', { target_key: 'other' }) });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'CONFLICT', details: { existing_uuid: first.body.data.uuid } });

    const second = await h.request('POST', URL, { json: item('dup.other') });
    const clash = await h.request('PATCH', `${URL}/${second.body.data.uuid}`, { json: { source_path: 'dup.path' } });
    expect(clash.status).toBe(409);
    // Same path for another type is a different extraction.
    expect((await h.request('POST', URL, { json: item('dup.path', { indicator_type: 'domain' }) })).status).toBe(201);
  });
});

describe('POST /v1/enrichment-field-extractions/bulk', () => {
  it('creates all items in order', async () => {
    const res = await h.request('POST', `${URL}/bulk`, {
      json: {
        extractions: [
          item('bulk.a'),
          item('bulk.b', { value_type: 'int' }),
          item('bulk.c', { indicator_type: 'domain' }),
        ],
      },
    });
    expect(res.status).toBe(201);
    expect((res.body.data as ExtractionView[]).map((e) => e.source_path)).toEqual(['bulk.a', 'bulk.b', 'bulk.c']);
    expect(res.body.meta).toEqual({});
    expect(await loadedTargetKeys('intel')).toEqual(
      expect.arrayContaining(['ip:bulk_a', 'ip:bulk_b', 'domain:bulk_c']),
    );
  });

  it('is all or nothing', async () => {
    const before = await count();
    const cases: Array<[unknown[], number, string]> = [
      [[item('bulk.new1'), item('bulk.a')], 409, 'CONFLICT'], // bulk.a exists
      [[item('bulk.new1'), item('bulk.new1')], 409, 'CONFLICT'], // twice in the request
      [[item('bulk.new1'), item('bulk.new2', { provider_name: 'ghost' })], 422, 'PROVIDER_NOT_FOUND'],
      [[item('bulk.new1'), item('bulk.new2', { indicator_type: 'email' })], 422, 'VALIDATION_ERROR'],
    ];
    for (const [extractions, status, code] of cases) {
      const res = await h.request('POST', `${URL}/bulk`, { json: { extractions } });
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
    }
    const unsupported = await h.request('POST', `${URL}/bulk`, {
      json: { extractions: [item('bulk.new1'), item('bulk.new2', { indicator_type: 'email' })] },
    });
    expect(unsupported.body.error.details.errors[0].path).toBe('extractions.1.indicator_type');
    expect(await count()).toBe(before);
  });

  it('takes 1 to 100 items', async () => {
    expect((await h.request('POST', `${URL}/bulk`, { json: { extractions: [] } })).status).toBe(422);
    const many = Array.from({ length: 101 }, (_, i) => item(`many.p${i}`));
    expect((await h.request('POST', `${URL}/bulk`, { json: { extractions: many } })).status).toBe(422);
    const hundred = await h.request('POST', `${URL}/bulk`, { json: { extractions: many.slice(0, 100) } });
    expect(hundred.status).toBe(201);
    expect(hundred.body.data).toHaveLength(100);
  });
});

describe('system extractions', () => {
  it('may only be activated or deactivated', async () => {
    const sys = await systemExtraction();
    const key = `${sys.indicator_type}:${sys.target_key}`;
    expect(await loadedTargetKeys('virustotal')).toContain(key);

    const off = await h.request('PATCH', `${URL}/${sys.uuid}`, { json: { is_active: false } });
    expect(off.status).toBe(200);
    expect(off.body.data).toMatchObject({ is_active: false, is_system: true });
    expect(await loadedTargetKeys('virustotal')).not.toContain(key);

    const edit = await h.request('PATCH', `${URL}/${sys.uuid}`, { json: { target_key: 'mine', is_active: true } });
    expect(edit.status).toBe(403);
    expect(edit.body.error).toMatchObject({
      code: 'SYSTEM_EXTRACTION_RESTRICTED',
      details: { fields: ['target_key'] },
    });

    const del = await h.request('DELETE', `${URL}/${sys.uuid}`);
    expect(del.status).toBe(403);
    expect(del.body.error.code).toBe('SYSTEM_EXTRACTION_RESTRICTED');

    expect((await h.request('PATCH', `${URL}/${sys.uuid}`, { json: { is_active: true } })).body.data.is_active).toBe(
      true,
    );
    expect(await loadedTargetKeys('virustotal')).toContain(key);
  });
});

describe('scopes', () => {
  it('enrichments:read may read but not write', async () => {
    const reader = await h.createKey({ scopes: ['enrichments:read'] });
    const alertsOnly = await h.createKey({ scopes: ['alerts:read'] });
    const sys = await systemExtraction();
    expect((await h.request('GET', URL, { key: reader })).status).toBe(200);
    expect((await h.request('GET', `${URL}/${sys.uuid}`, { key: reader })).status).toBe(200);
    expect((await h.request('GET', URL, { key: alertsOnly })).status).toBe(403);
    const writes = await Promise.all([
      h.request('POST', URL, { key: reader, json: item('scope.x') }),
      h.request('POST', `${URL}/bulk`, { key: reader, json: { extractions: [item('scope.x')] } }),
      h.request('PATCH', `${URL}/${sys.uuid}`, { key: reader, json: { is_active: false } }),
      h.request('DELETE', `${URL}/${sys.uuid}`, { key: reader }),
    ]);
    for (const res of writes) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
  });
});

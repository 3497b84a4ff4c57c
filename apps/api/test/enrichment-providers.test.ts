import { contextFor, createEnrichmentProvider, PROVIDERS_CHANNEL, SYSTEM } from '@calseta/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

const BUILTINS = ['virustotal', 'abuseipdb', 'okta', 'entra'];
const VT_KEY = 'mock-virustotal-key';
const STORED_SECRET = 'stored-secret-9f8e7d6c5b4a';

let h: Harness;
beforeAll(async () => {
  // The mock insists on the key, so a passing test run proves the credential reached the request.
  h = await createHarness({ mockProviders: { apiKeys: { virustotal: VT_KEY } } });
});
afterAll(() => h.close());

interface ProviderView {
  uuid: string;
  provider_name: string;
  is_builtin: boolean;
  is_active: boolean;
  has_credentials: boolean;
  credential_source: string;
  is_configured: boolean;
  quota: { minute_remaining: number | null; day_remaining: number | null; paused_until: string | null };
  [key: string]: unknown;
}

/** A custom provider on the mock VirusTotal API, credentials stored with the provider. */
function vtLike(name: string, extra: Record<string, unknown> = {}) {
  return {
    provider_name: name,
    display_name: `Custom ${name}`,
    supported_indicator_types: ['ip'],
    http_config: {
      steps: [
        {
          name: 'lookup',
          url: '{{auth.base_url | raw}}/api/v3/ip_addresses/{{indicator.value}}',
          headers: { 'x-apikey': '{{auth.api_key}}' },
          not_found_status: [404],
        },
      ],
    },
    auth_type: 'api_key',
    auth_config: { api_key: VT_KEY, base_url: h.mock?.baseUrls.virustotal },
    malice_rules: {
      rules: [
        { field: 'data.attributes.last_analysis_stats.malicious', operator: '>=', value: 1, verdict: 'Malicious' },
      ],
      default_verdict: 'Benign',
    },
    ...extra,
  };
}

async function create(body: unknown): Promise<ProviderView> {
  const res = await h.request('POST', '/v1/enrichment-providers', { json: body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.data;
}

async function builtin(name: string): Promise<ProviderView> {
  const res = await h.request('GET', '/v1/enrichment-providers?is_builtin=true');
  const found = (res.body.data as ProviderView[]).find((p) => p.provider_name === name);
  if (!found) throw new Error(`no builtin ${name}`);
  return found;
}

const errorPaths = (body: { error: { details?: { errors?: Array<{ path: string }> } } }) =>
  (body.error.details?.errors ?? []).map((e) => e.path);

describe('GET /v1/enrichment-providers', () => {
  it('lists the seeded builtins, configured from the mock providers, without credentials', async () => {
    const res = await h.request('GET', '/v1/enrichment-providers');
    expect(res.status).toBe(200);
    const builtins = (res.body.data as ProviderView[]).filter((p) => p.is_builtin);
    expect(builtins.map((p) => p.provider_name)).toEqual(BUILTINS);
    for (const p of builtins) {
      expect(p).toMatchObject({
        is_active: true,
        has_credentials: true,
        is_configured: true,
        // The harness points them at the mock providers (CALSETA_MOCK_ENV): demo data, said so.
        credential_source: 'mock',
      });
      expect(p.quota).toEqual({ minute_remaining: null, day_remaining: null, paused_until: null });
      expect(p).not.toHaveProperty('auth_config');
    }
    expect(res.body.meta).toMatchObject({ total: res.body.data.length, page: 1, page_size: 50 });
    expect(JSON.stringify(res.body)).not.toContain(VT_KEY);
  });

  it('shows builtins as unconfigured when no credentials are set anywhere', async () => {
    const bare = await createHarness();
    try {
      const res = await bare.request('GET', '/v1/enrichment-providers?is_builtin=true');
      expect((res.body.data as ProviderView[]).map((p) => p.provider_name)).toEqual(BUILTINS);
      for (const p of res.body.data as ProviderView[]) {
        expect(p).toMatchObject({
          is_active: true,
          has_credentials: false,
          is_configured: false,
          credential_source: 'none',
        });
      }
    } finally {
      await bare.close();
    }
  });

  it('filters by is_active and is_builtin', async () => {
    const custom = await create(vtLike('filter_probe'));
    await h.request('POST', `/v1/enrichment-providers/${custom.uuid}/deactivate`);
    const inactive = await h.request('GET', '/v1/enrichment-providers?is_active=false');
    expect((inactive.body.data as ProviderView[]).map((p) => p.provider_name)).toEqual(['filter_probe']);
    const customs = await h.request('GET', '/v1/enrichment-providers?is_builtin=false');
    expect((customs.body.data as ProviderView[]).every((p) => !p.is_builtin)).toBe(true);
    expect((customs.body.data as ProviderView[]).map((p) => p.provider_name)).toContain('filter_probe');
  });
});

describe('custom provider lifecycle', () => {
  it('creates, reads, patches and deletes, storing credentials only encrypted', async () => {
    const created = await h.request('POST', '/v1/enrichment-providers', {
      json: vtLike('intel_one', { auth_config: { api_key: STORED_SECRET, base_url: 'https://intel.example.com' } }),
    });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({
      provider_name: 'intel_one',
      is_builtin: false,
      is_active: true,
      has_credentials: true,
      credential_source: 'stored',
      is_configured: true,
      env_var_mapping: null,
      timeout_ms: 10_000,
      default_cache_ttl_seconds: 3600,
    });
    const { uuid } = created.body.data as ProviderView;

    const [stored] = await h.query<{ auth_config: Record<string, unknown> }>(
      'SELECT auth_config FROM enrichment_providers WHERE uuid = $1',
      [uuid],
    );
    expect(Object.keys(stored?.auth_config ?? {})).toEqual(['_encrypted']);
    expect(JSON.stringify(stored)).not.toContain(STORED_SECRET);

    const got = await h.request('GET', `/v1/enrichment-providers/${uuid}`);
    expect(got.status).toBe(200);
    expect(got.body.data).toEqual(created.body.data);

    const patched = await h.request('PATCH', `/v1/enrichment-providers/${uuid}`, {
      json: { display_name: 'Intel One', rate_limit_per_minute: 7, supported_indicator_types: ['ip', 'ip'] },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toMatchObject({
      display_name: 'Intel One',
      rate_limit_per_minute: 7,
      supported_indicator_types: ['ip'],
      credential_source: 'stored',
    });
    expect(patched.body.data.quota.minute_remaining).toBe(7);

    // Credentials may be replaced (still write-only) and cleared with null.
    const cleared = await h.request('PATCH', `/v1/enrichment-providers/${uuid}`, { json: { auth_config: null } });
    expect(cleared.body.data).toMatchObject({
      has_credentials: false,
      credential_source: 'none',
      is_configured: false,
    });
    const [after] = await h.query<{ auth_config: unknown }>(
      'SELECT auth_config FROM enrichment_providers WHERE uuid = $1',
      [uuid],
    );
    expect(after?.auth_config).toBeNull();

    for (const res of [created, got, patched, cleared]) {
      expect(JSON.stringify(res.body)).not.toContain(STORED_SECRET);
      expect(JSON.stringify(res.body)).not.toContain('auth_config');
      expect(JSON.stringify(res.body)).not.toContain('_encrypted');
    }

    const extraction = await h.request('POST', '/v1/enrichment-field-extractions', {
      json: { provider_name: 'intel_one', indicator_type: 'ip', source_path: 'data.id', target_key: 'id' },
    });
    expect(extraction.status).toBe(201);

    expect((await h.request('DELETE', `/v1/enrichment-providers/${uuid}`)).status).toBe(204);
    expect((await h.request('GET', `/v1/enrichment-providers/${uuid}`)).status).toBe(404);
    const left = await h.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM enrichment_field_extractions WHERE provider_name = 'intel_one'",
    );
    expect(left[0]?.n).toBe(0);

    const events = await h.query<{ event_type: string; references: Record<string, unknown> }>(
      `SELECT event_type, "references" FROM activity_events
        WHERE "references"->>'provider_name' = 'intel_one' AND event_type LIKE 'enrichment_provider_%' ORDER BY id`,
    );
    expect(events.map((e) => e.event_type)).toEqual([
      'enrichment_provider_created',
      'enrichment_provider_updated',
      'enrichment_provider_updated',
      'enrichment_provider_deleted',
    ]);
    expect(events[2]?.references.fields).toEqual(['auth_config']);
    expect(JSON.stringify(events)).not.toContain(STORED_SECRET);
  });

  it('refuses a duplicate provider name with 409', async () => {
    await create(vtLike('dup_probe'));
    for (const name of ['dup_probe', 'virustotal']) {
      const again = await h.request('POST', '/v1/enrichment-providers', { json: vtLike(name) });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('CONFLICT');
      expect(again.body.error.message).toMatch(/duplicate provider/i);
    }
  });

  it('accepts CALSETA_PROVIDER_* environment mappings only', async () => {
    const withEnv = {
      ...vtLike('env_probe'),
      auth_config: null,
      env_var_mapping: { api_key: 'CALSETA_PROVIDER_ENV_PROBE' },
    };
    const bad = await h.request('POST', '/v1/enrichment-providers', {
      json: { ...withEnv, env_var_mapping: { api_key: 'DATABASE_URL' } },
    });
    expect(bad.status).toBe(422);
    expect(errorPaths(bad.body)).toEqual(['env_var_mapping.api_key']);
    const ok = await create(withEnv);
    // Not set in this process's provider environment (and no base_url), so not configured.
    expect(ok).toMatchObject({ env_var_mapping: { api_key: 'CALSETA_PROVIDER_ENV_PROBE' }, has_credentials: false });
  });

  it('refuses storing credentials without an encryption key (ENCRYPTION_NOT_CONFIGURED)', async () => {
    const ctx = contextFor({ ...h.deps, secrets: null }, SYSTEM);
    await expect(createEnrichmentProvider(ctx, vtLike('no_key_probe') as never)).rejects.toMatchObject({
      code: 'ENCRYPTION_NOT_CONFIGURED',
    });
    // Without credentials the same provider is fine.
    const created = await createEnrichmentProvider(ctx, { ...vtLike('no_key_probe'), auth_config: null } as never);
    expect(created).toMatchObject({ provider_name: 'no_key_probe', has_credentials: false });
  });
});

describe('validation', () => {
  const cases: Array<[string, Record<string, unknown>, string[]]> = [
    ['no steps', { http_config: { steps: [] } }, ['http_config.steps']],
    [
      'unknown step field',
      { http_config: { steps: [{ url: 'https://x.example.com', verb: 'GET' }] } },
      ['http_config.steps.0'],
    ],
    [
      'unterminated placeholder',
      { http_config: { steps: [{ url: 'https://x.example.com/{{indicator.value' }] } },
      ['http_config.steps.0.url'],
    ],
    [
      'reference to a later step',
      {
        http_config: {
          steps: [
            { name: 'a', url: 'https://x.example.com/{{steps.b.response.id}}' },
            { name: 'b', url: 'https://x.example.com/b' },
          ],
        },
      },
      ['http_config.steps.0.url'],
    ],
    [
      'a supported type without a URL',
      {
        supported_indicator_types: ['ip', 'domain'],
        http_config: { steps: [{ url_by_type: { ip: 'https://x.example.com/{{indicator.value}}' } }] },
      },
      ['http_config.steps.0.url'],
    ],
    [
      'unknown malice operator',
      { malice_rules: { rules: [{ field: 'a.b', operator: 'matches', value: 1, verdict: 'Malicious' }] } },
      ['malice_rules.rules.0.operator'],
    ],
    [
      "'in' without a list",
      { malice_rules: { rules: [{ field: 'a.b', operator: 'in', value: 'x', verdict: 'Malicious' }] } },
      ['malice_rules.rules.0.value'],
    ],
    ['bad provider name', { provider_name: 'Bad-Name' }, ['provider_name']],
    ['no indicator types', { supported_indicator_types: [] }, ['supported_indicator_types']],
  ];
  it.each(cases)('refuses %s with 422 and the path', async (_label, override, paths) => {
    const res = await h.request('POST', '/v1/enrichment-providers', {
      json: { ...vtLike('invalid_probe'), ...override },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    expect(errorPaths(res.body)).toEqual(paths);
  });

  it('validates a patched http_config against the provider types', async () => {
    const p = await create(vtLike('patch_validation'));
    const res = await h.request('PATCH', `/v1/enrichment-providers/${p.uuid}`, {
      json: {
        supported_indicator_types: ['ip', 'domain'],
        http_config: { steps: [{ url_by_type: { ip: 'https://x.example.com' } }] },
      },
    });
    expect(res.status).toBe(422);
    expect(errorPaths(res.body)).toEqual(['http_config.steps.0.url']);
    const template = await h.request('PATCH', `/v1/enrichment-providers/${p.uuid}`, {
      json: { http_config: { steps: [{ url: 'https://x.example.com/{{nope.value}}' }] } },
    });
    expect(template.status).toBe(422);
    expect(errorPaths(template.body)).toEqual(['http_config.steps.0.url']);
  });
});

describe('builtin providers', () => {
  it('only allow operational fields to change', async () => {
    const vt = await builtin('virustotal');
    const res = await h.request('PATCH', `/v1/enrichment-providers/${vt.uuid}`, {
      json: { display_name: 'VT', http_config: { steps: [{ url: 'https://evil.example.com' }] }, is_active: true },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'BUILTIN_RESTRICTED',
      details: { fields: ['display_name', 'http_config'] },
    });

    const ok = await h.request('PATCH', `/v1/enrichment-providers/${vt.uuid}`, {
      json: { description: 'tuned', rate_limit_per_minute: 4, rate_limit_per_day: 500, timeout_ms: 20_000 },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toMatchObject({ description: 'tuned', timeout_ms: 20_000, display_name: 'VirusTotal' });
    expect(ok.body.data.quota).toMatchObject({ minute_remaining: 4, day_remaining: 500 });
  });

  it('cannot be deleted, only deactivated', async () => {
    const abuse = await builtin('abuseipdb');
    const res = await h.request('DELETE', `/v1/enrichment-providers/${abuse.uuid}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BUILTIN_RESTRICTED');
    expect(res.body.error.message).toMatch(/deactivate/);
  });
});

describe('scopes', () => {
  it('reading needs enrichments:read, writing needs admin', async () => {
    const alertsOnly = await h.createKey({ scopes: ['alerts:read'] });
    const reader = await h.createKey({ scopes: ['enrichments:read'] });
    const vt = await builtin('virustotal');
    expect((await h.request('GET', '/v1/enrichment-providers', { key: alertsOnly })).status).toBe(403);
    expect((await h.request('GET', '/v1/enrichment-providers', { key: reader })).status).toBe(200);
    expect((await h.request('GET', `/v1/enrichment-providers/${vt.uuid}`, { key: reader })).status).toBe(200);
    const attempts = [
      h.request('POST', '/v1/enrichment-providers', { key: reader, json: vtLike('scope_probe') }),
      h.request('PATCH', `/v1/enrichment-providers/${vt.uuid}`, { key: reader, json: { is_active: false } }),
      h.request('POST', `/v1/enrichment-providers/${vt.uuid}/deactivate`, { key: reader }),
      h.request('POST', `/v1/enrichment-providers/${vt.uuid}/test`, {
        key: reader,
        json: { indicator_type: 'ip', indicator_value: '8.8.8.8' },
      }),
      h.request('POST', '/v1/enrichment-providers/import', { key: reader, json: { provider: vtLike('scope_probe') } }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
    expect((await builtin('virustotal')).is_active).toBe(true);
  });
});

describe('POST /v1/enrichment-providers/{uuid}/test', () => {
  const testRun = (uuid: string, indicator_value = '185.220.101.34', indicator_type = 'ip') =>
    h.request('POST', `/v1/enrichment-providers/${uuid}/test`, { json: { indicator_type, indicator_value } });

  it('runs a builtin against the mock API with masked credentials and per-step debug, storing nothing', async () => {
    const vt = await builtin('virustotal');
    const res = await testRun(vt.uuid);
    expect(res.status).toBe(200);
    const data = res.body.data;
    expect(data).toMatchObject({
      provider_name: 'virustotal',
      indicator_type: 'ip',
      indicator_value: '185.220.101.34',
      success: true,
    });
    expect(data.result.status).toBe('success');
    expect(data.result.extracted).toHaveProperty('malicious_count');
    expect(data.steps).toHaveLength(1);
    expect(data.steps[0]).toMatchObject({ step_name: 'lookup', status: 200, outcome: 'ok' });
    expect(data.steps[0].request_headers['x-apikey']).not.toBe(VT_KEY);
    expect(JSON.stringify(res.body)).not.toContain(VT_KEY);
    const cached = await h.query<{ n: number }>('SELECT count(*)::int AS n FROM enrichment_cache');
    expect(cached[0]?.n).toBe(0);
  });

  it('uses stored credentials of a custom provider, masked the same way', async () => {
    const p = await create(vtLike('stored_run'));
    const res = await testRun(p.uuid);
    expect(res.status).toBe(200);
    expect(res.body.data.success).toBe(true);
    expect(res.body.data.result.verdict).toMatch(/Malicious|Benign/);
    expect(res.body.data.steps[0].status).toBe(200);
    expect(JSON.stringify(res.body)).not.toContain(VT_KEY);
  });

  it('reports an SSRF-blocked URL as a failed run', async () => {
    // The API's own port: a live local listener, but not allow-listed (only the mock's port is).
    const port = new URL(h.baseUrl).port;
    const p = await create({
      provider_name: 'loopback_probe',
      display_name: 'Loopback',
      supported_indicator_types: ['ip'],
      http_config: { steps: [{ url: `http://127.0.0.1:${port}/x` }] },
    });
    expect(p).toMatchObject({ has_credentials: true, credential_source: 'not_needed' });
    const res = await testRun(p.uuid, '8.8.8.8');
    expect(res.status).toBe(200);
    expect(res.body.data.success).toBe(false);
    expect(res.body.data.result.status).toBe('failed');
    expect(res.body.data.result.error_message).toMatch(/SSRF|blocked|refused/i);
    expect(res.body.data.result.error_message).toMatch(/loopback/i);
  });

  it('needs an active provider (PROVIDER_NOT_LOADED), and works again once activated', async () => {
    const p = await create(vtLike('toggle_probe'));
    const off = await h.request('POST', `/v1/enrichment-providers/${p.uuid}/deactivate`);
    expect(off.status).toBe(200);
    expect(off.body.data).toMatchObject({ is_active: false, is_configured: false, has_credentials: true });
    const refused = await testRun(p.uuid);
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('PROVIDER_NOT_LOADED');
    const on = await h.request('POST', `/v1/enrichment-providers/${p.uuid}/activate`);
    expect(on.body.data).toMatchObject({ is_active: true, is_configured: true });
    expect((await testRun(p.uuid)).body.data.success).toBe(true);
  });

  it('validates the indicator type and the provider uuid', async () => {
    const vt = await builtin('virustotal');
    const badType = await h.request('POST', `/v1/enrichment-providers/${vt.uuid}/test`, {
      json: { indicator_type: 'mac', indicator_value: 'x' },
    });
    expect(badType.status).toBe(422);
    expect((await testRun('00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await testRun('not-a-uuid')).status).toBe(422);
  });
});

describe('provider changes reach other processes', () => {
  it("without a restart: another core's registry sees a created and a deactivated provider", async () => {
    const second = h.otherProcess();
    const other = second.core;
    try {
      // Registered after the registry's own handler (createCore), so it runs once the registry is invalidated.
      let notified: () => void = () => {};
      await other.notifications.listen(PROVIDERS_CHANNEL, () => notified());
      const nextNotification = () => new Promise<void>((resolve) => (notified = resolve));
      // Confirm the LISTEN is live before relying on it.
      const ready = nextNotification();
      await h.query("SELECT pg_notify($1, '')", [PROVIDERS_CHANNEL]);
      await ready;

      const names = async () => (await other.enrichment.registry.active()).map((p) => p.definition.provider_name);
      expect(await names()).not.toContain('propagated');

      let changed = nextNotification();
      const created = await create(vtLike('propagated'));
      await changed;
      expect(await names()).toContain('propagated');

      changed = nextNotification();
      await h.request('POST', `/v1/enrichment-providers/${created.uuid}/deactivate`);
      await changed;
      expect(await names()).not.toContain('propagated');
    } finally {
      await second.close();
    }
  });
});

describe('POST /v1/enrichment-providers/import', () => {
  const extractions = [
    { indicator_type: 'ip', source_path: 'data.attributes.country', target_key: 'country' },
    { indicator_type: 'ip', source_path: 'data.attributes.asn', target_key: 'asn', value_type: 'int' },
  ];

  it('creates the provider and its extractions together', async () => {
    const res = await h.request('POST', '/v1/enrichment-providers/import', {
      json: { provider: vtLike('community_one'), field_extractions: extractions },
    });
    expect(res.status).toBe(201);
    expect(res.body.data.provider).toMatchObject({
      provider_name: 'community_one',
      is_builtin: false,
      credential_source: 'stored',
    });
    expect(res.body.data.field_extractions).toHaveLength(2);
    expect(res.body.data.field_extractions[1]).toMatchObject({
      provider_name: 'community_one',
      target_key: 'asn',
      value_type: 'int',
      is_system: false,
    });
    expect(JSON.stringify(res.body)).not.toContain(VT_KEY);
    const loaded = await h.deps.enrichment.registry.byName('community_one');
    expect(loaded?.definition.field_extractions.map((e) => e.target_key)).toEqual(['country', 'asn']);
  });

  it('rolls the provider back when an extraction is bad', async () => {
    const cases: Array<[unknown[], number]> = [
      [[...extractions, { indicator_type: 'domain', source_path: 'x', target_key: 'y' }], 422], // unsupported type
      [[extractions[0], extractions[0]], 409], // the same extraction twice
      [[{ ...extractions[0], provider_name: 'someone_else' }], 422],
    ];
    for (const [items, status] of cases) {
      const res = await h.request('POST', '/v1/enrichment-providers/import', {
        json: { provider: vtLike('community_bad'), field_extractions: items },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(status);
    }
    const rows = await h.query<{ n: number }>(
      "SELECT (SELECT count(*) FROM enrichment_providers WHERE provider_name = 'community_bad')::int + (SELECT count(*) FROM enrichment_field_extractions WHERE provider_name = 'community_bad')::int AS n",
    );
    expect(rows[0]?.n).toBe(0);
  });

  it('refuses an existing provider name with 409', async () => {
    const res = await h.request('POST', '/v1/enrichment-providers/import', {
      json: { provider: vtLike('community_one'), field_extractions: [] },
    });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('CONFLICT');
  });
});

describe('OpenAPI', () => {
  it('documents the provider and extraction routes', async () => {
    const res = await h.request('GET', '/openapi.json', { key: null });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/enrichment-providers',
        '/v1/enrichment-providers/import',
        '/v1/enrichment-providers/{provider_uuid}/test',
        '/v1/enrichment-field-extractions/bulk',
      ]),
    );
    expect(res.body.components.schemas.EnrichmentProvider.properties).not.toHaveProperty('auth_config');
  });
});

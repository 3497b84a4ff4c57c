import { createHmac } from 'node:crypto';
import { contextFor, createSource, ServiceError, SYSTEM, sourceIngestPolicy } from '@calseta/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureText } from './fixtures.js';
import { createHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

const SECRET = 'whsec_0123456789abcdef0123456789abcdef';
const hmac = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('hex');
const alertCount = async () => Number((await h.query<{ n: string }>('SELECT count(*) AS n FROM alerts'))[0]?.n);

/** Make `body` unique (no dedup) while keeping it a valid payload of its source. */
function variant(file: string, marker: string): string {
  const payload = JSON.parse(fixtureText(file)) as Record<string, unknown>;
  return JSON.stringify({ ...payload, calseta_test_marker: marker });
}

async function configure(sourceName: string, secret: string | null, extra: Record<string, unknown> = {}) {
  const res = await h.request('POST', '/v1/sources', {
    json: {
      source_name: sourceName,
      display_name: `${sourceName} (test)`,
      ...(secret ? { auth_type: 'webhook_secret', auth_config: { webhook_secret: secret } } : {}),
      ...extra,
    },
  });
  expect(res.status).toBe(201);
  return res.body.data as { uuid: string };
}

describe('sources CRUD', () => {
  it('creates, reads, lists, patches and deletes; the secret is never returned', async () => {
    const created = await h.request('POST', '/v1/sources', {
      json: {
        source_name: 'generic',
        display_name: 'Generic webhook',
        auth_type: 'hmac',
        auth_config: { webhook_secret: SECRET, note_token: 'tok_should_not_leak_1234' },
        documentation: 'how to wire it',
      },
    });
    expect(created.status).toBe(201);
    const source = created.body.data;
    expect(source).toMatchObject({
      source_name: 'generic',
      display_name: 'Generic webhook',
      is_active: true,
      auth_type: 'hmac',
      has_auth_config: true,
      has_webhook_secret: true,
      auth_config_fields: ['note_token', 'webhook_secret'],
      webhook_path: '/v1/ingest/generic',
    });
    expect(source).not.toHaveProperty('auth_config');

    const reader = await h.createKey({ scopes: ['alerts:read'] });
    const got = await h.request('GET', `/v1/sources/${source.uuid}`, { key: reader });
    expect(got.status).toBe(200);
    const list = await h.request('GET', '/v1/sources?page_size=10', { key: reader });
    expect(list.status).toBe(200);
    expect(list.body.meta).toMatchObject({ total: 1, page: 1, page_size: 10, total_pages: 1 });
    for (const body of [created.body, got.body, list.body]) {
      const text = JSON.stringify(body);
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('tok_should_not_leak_1234');
    }
    // Stored encrypted: the plaintext is not in the row either.
    const [row] = await h.query<{ auth_config: unknown }>('SELECT auth_config FROM source_integrations');
    expect(JSON.stringify(row?.auth_config)).not.toContain(SECRET);
    expect(row?.auth_config).toHaveProperty('_encrypted');

    // Read scope cannot write.
    const denied = await h.request('POST', '/v1/sources', {
      key: reader,
      json: { source_name: 'elastic', display_name: 'x' },
    });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('FORBIDDEN');

    const patched = await h.request('PATCH', `/v1/sources/${source.uuid}`, {
      json: { display_name: 'Renamed', auth_config: null },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toMatchObject({
      display_name: 'Renamed',
      has_auth_config: false,
      has_webhook_secret: false,
      auth_config_fields: [],
    });

    const duplicate = await h.request('POST', '/v1/sources', {
      json: { source_name: 'generic', display_name: 'again' },
    });
    expect(duplicate.status).toBe(409);

    expect((await h.request('DELETE', `/v1/sources/${source.uuid}`)).status).toBe(204);
    expect((await h.request('GET', `/v1/sources/${source.uuid}`)).status).toBe(404);
    expect((await h.request('DELETE', `/v1/sources/${source.uuid}`)).status).toBe(404);
  });

  it('refuses credentials without ENCRYPTION_KEY (400 ENCRYPTION_NOT_CONFIGURED), not a 500', async () => {
    const ctx = contextFor({ ...h.deps, secrets: null }, SYSTEM);
    const attempt = createSource(ctx, {
      source_name: 'splunk',
      display_name: 'Splunk',
      auth_config: { webhook_secret: SECRET },
    });
    await expect(attempt).rejects.toBeInstanceOf(ServiceError);
    await expect(attempt).rejects.toMatchObject({ code: 'ENCRYPTION_NOT_CONFIGURED' });
    expect(await h.query('SELECT 1 FROM source_integrations WHERE source_name = $1', ['splunk'])).toEqual([]);
  });

  it('refuses a source that is not a registered plugin, and bad bodies', async () => {
    const res = await h.request('POST', '/v1/sources', { json: { source_name: 'qradar', display_name: 'QRadar' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_SOURCE');
    expect(res.body.request_id).toEqual(expect.any(String));
    const long = await h.request('POST', '/v1/sources', {
      json: { source_name: 'generic', display_name: 'x'.repeat(256) },
    });
    expect(long.status).toBe(422);
    expect(long.body.error.code).toBe('VALIDATION_ERROR');
    const shortSecret = await h.request('POST', '/v1/sources', {
      json: { source_name: 'generic', display_name: 'x', auth_config: { webhook_secret: 'short' } },
    });
    expect(shortSecret.status).toBe(422);
  });
});

describe('ingest signature verification per source', () => {
  const cases = [
    {
      source: 'sentinel',
      file: '01_sentinel_brute_force_tor.json',
      sign: (body: string) => ({ 'x-sentinel-signature': `sha256=${hmac(SECRET, body)}` }),
      wrong: (body: string) => ({ 'x-sentinel-signature': `sha256=${hmac('another-secret-0123456789', body)}` }),
    },
    {
      source: 'elastic',
      file: '02_elastic_malware_hash.json',
      sign: (body: string) => ({ 'x-elastic-signature': hmac(SECRET, body) }),
      wrong: (body: string) => ({ 'x-elastic-signature': hmac(SECRET, `${body} `) }),
    },
    {
      source: 'splunk',
      file: '03_splunk_anomalous_data_transfer.json',
      sign: () => ({ 'x-splunk-webhook-secret': SECRET }),
      wrong: () => ({ 'x-splunk-webhook-secret': `${SECRET.slice(0, -1)}X` }),
    },
  ];

  for (const c of cases) {
    it(`${c.source}: signed ingest is accepted; missing or bad signature is 401 and stores nothing`, async () => {
      const src = await configure(c.source, SECRET);
      try {
        const body = variant(c.file, `${c.source}-${Date.now()}`);
        const before = await alertCount();
        for (const headers of [{}, c.wrong(body)]) {
          const res = await h.request('POST', `/v1/ingest/${c.source}`, {
            body,
            headers: { 'content-type': 'application/json', ...headers },
          });
          expect(res.status).toBe(401);
          expect(res.body.error.code).toBe('INVALID_SIGNATURE');
          expect(res.body.request_id).toBe(res.headers.get('x-request-id'));
        }
        expect(await alertCount()).toBe(before);

        const ok = await h.request('POST', `/v1/ingest/${c.source}`, {
          body,
          headers: { 'content-type': 'application/json', ...c.sign(body) },
        });
        expect(ok.status).toBe(202);
        expect(await alertCount()).toBe(before + 1);

        // The signature covers the exact bytes: the same JSON re-serialized differently fails
        // (Splunk's shared secret does not cover the body, so it has nothing to check here).
        if (c.source !== 'splunk') {
          const reformatted = JSON.stringify(JSON.parse(body), null, 2);
          const res = await h.request('POST', `/v1/ingest/${c.source}`, {
            body: reformatted,
            headers: { 'content-type': 'application/json', ...c.sign(body) },
          });
          expect(res.status).toBe(401);
        }
      } finally {
        await h.request('DELETE', `/v1/sources/${src.uuid}`);
      }
    });
  }

  it('generic: X-Calseta-Signature', async () => {
    const src = await configure('generic', SECRET);
    try {
      const body = JSON.stringify({ title: `generic signed ${Date.now()}`, severity: 'High' });
      const bad = await h.request('POST', '/v1/ingest/generic', {
        body,
        headers: { 'content-type': 'application/json', 'x-calseta-signature': 'sha256=00' },
      });
      expect(bad.status).toBe(401);
      const ok = await h.request('POST', '/v1/ingest/generic', {
        body,
        headers: { 'content-type': 'application/json', 'x-calseta-signature': `sha256=${hmac(SECRET, body)}` },
      });
      expect(ok.status).toBe(202);
    } finally {
      await h.request('DELETE', `/v1/sources/${src.uuid}`);
    }
  });

  it('without a configured source (and no env secret) ingest stays open; a secretless integration too', async () => {
    const body = variant('02_elastic_malware_hash.json', `open-${Date.now()}`);
    const open = await h.request('POST', '/v1/ingest/elastic', {
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(open.status).toBe(202);
    const src = await configure('elastic', null);
    try {
      const again = await h.request('POST', '/v1/ingest/elastic', {
        body: variant('02_elastic_malware_hash.json', `open2-${Date.now()}`),
        headers: { 'content-type': 'application/json' },
      });
      expect(again.status).toBe(202);
      // Disabled integration: every webhook is refused, nothing stored.
      await h.request('PATCH', `/v1/sources/${src.uuid}`, { json: { is_active: false } });
      const before = await alertCount();
      const refused = await h.request('POST', '/v1/ingest/elastic', {
        body: variant('02_elastic_malware_hash.json', `off-${Date.now()}`),
        headers: { 'content-type': 'application/json' },
      });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('SOURCE_NOT_ALLOWED');
      expect(await alertCount()).toBe(before);
    } finally {
      await h.request('DELETE', `/v1/sources/${src.uuid}`);
    }
  });

  it('a secret set through the API takes effect at once (the cached row is dropped)', async () => {
    const src = await configure('elastic', null);
    try {
      // Unsigned and accepted: the row without a secret is now what this process has read (and cached).
      const open = await h.request('POST', '/v1/ingest/elastic', {
        body: variant('02_elastic_malware_hash.json', `open-${Date.now()}`),
        headers: { 'content-type': 'application/json' },
      });
      expect(open.status).toBe(202);
      await h.request('PATCH', `/v1/sources/${src.uuid}`, { json: { auth_config: { webhook_secret: SECRET } } });
      const res = await h.request('POST', '/v1/ingest/elastic', {
        body: variant('02_elastic_malware_hash.json', `late-${Date.now()}`),
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(401);
    } finally {
      await h.request('DELETE', `/v1/sources/${src.uuid}`);
    }
  });
});

describe('source integration changes', () => {
  it('reach another process as soon as they commit, and it caches rows in between', async () => {
    const second = h.otherProcess();
    const other = second.core;
    const src = await configure('splunk', null);
    try {
      await other.notifications.listen('calseta_sources', () => {});
      const ctx = contextFor(other, SYSTEM);
      expect(await sourceIngestPolicy(ctx, 'splunk')).toEqual({ configured: true, active: true, secret: null });
      // Changed behind the API's back (no notification): the other process still answers from its cache.
      await h.query('UPDATE source_integrations SET is_active = false WHERE uuid = $1', [src.uuid]);
      expect(await sourceIngestPolicy(ctx, 'splunk')).toMatchObject({ active: true });
      // Registered after the cache's own handler, so it runs once the cache has been dropped.
      const notified = new Promise<void>((resolve) => {
        void other.notifications.listen('calseta_sources', () => resolve());
      });
      const patched = await h.request('PATCH', `/v1/sources/${src.uuid}`, {
        json: { auth_config: { webhook_secret: SECRET } },
      });
      expect(patched.status).toBe(200);
      await notified;
      expect(await sourceIngestPolicy(ctx, 'splunk')).toEqual({ configured: true, active: false, secret: SECRET });
    } finally {
      await h.request('DELETE', `/v1/sources/${src.uuid}`);
      await second.close();
    }
  });
});

describe('allowed_sources', () => {
  it('a key limited to some sources gets 403 SOURCE_NOT_ALLOWED for others and stores nothing', async () => {
    const key = await h.createKey({ scopes: ['alerts:write'], allowed_sources: ['splunk'] });
    const before = await alertCount();
    const refused = await h.request('POST', '/v1/ingest/elastic', {
      key,
      body: variant('02_elastic_malware_hash.json', `allowed-${Date.now()}`),
      headers: { 'content-type': 'application/json' },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('SOURCE_NOT_ALLOWED');
    expect(refused.body.error.details.allowed_sources).toEqual(['splunk']);
    const programmatic = await h.request('POST', '/v1/alerts', {
      key,
      json: { source_name: 'elastic', payload: JSON.parse(variant('02_elastic_malware_hash.json', 'p')) },
    });
    expect(programmatic.status).toBe(403);
    expect(await alertCount()).toBe(before);
    const allowed = await h.request('POST', '/v1/ingest/splunk', {
      key,
      body: variant('03_splunk_anomalous_data_transfer.json', `allowed-${Date.now()}`),
      headers: { 'content-type': 'application/json' },
    });
    expect(allowed.status).toBe(202);
  });
});

describe('settings', () => {
  it('approval defaults are admin-only and carry no secrets', async () => {
    const res = await h.request('GET', '/v1/settings/approval-defaults');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({
      notifier: 'none',
      default_channel: null,
      default_timeout_seconds: 3600,
      slack_configured: false,
      teams_configured: false,
    });
    const reader = await h.createKey({ scopes: ['alerts:read', 'workflows:read', 'approvals:write'] });
    expect((await h.request('GET', '/v1/settings/approval-defaults', { key: reader })).status).toBe(403);
  });
});

describe('field size limits', () => {
  it('bounds an ingested title and description; the raw payload keeps the originals', async () => {
    const title = `T${'x'.repeat(4_999)}`;
    const res = await h.request('POST', '/v1/ingest/generic', {
      json: { title, severity: 'Low', description: 'd'.repeat(70_000) },
    });
    expect(res.status).toBe(202);
    const [row] = await h.query<{ title: string; description: string; raw: string }>(
      `SELECT title, description, raw_payload->>'title' AS raw FROM alerts WHERE uuid = $1`,
      [res.body.data.alert_uuid],
    );
    expect(row?.title).toHaveLength(1_000);
    expect(row?.description).toHaveLength(65_536);
    expect(row?.raw).toBe(title);
  });

  it('refuses an agent trigger filter over 64 KB with 422 VALIDATION_ERROR', async () => {
    const res = await h.request('POST', '/v1/agents', {
      json: {
        name: 'big filter',
        endpoint_url: 'https://agent.example/hook',
        trigger_filter: { match_any: [{ field: 'title', op: 'contains', value: 'x'.repeat(70_000) }] },
      },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    expect(res.body.error.details.errors.map((e: { path: string }) => e.path)).toEqual(['trigger_filter']);
  });

  it('refuses provider credentials over 256 KB serialized with 422 VALIDATION_ERROR', async () => {
    const auth_config = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, 'v'.repeat(9_999)]));
    const res = await h.request('POST', '/v1/enrichment-providers', {
      json: {
        provider_name: 'huge_creds',
        display_name: 'Huge',
        supported_indicator_types: ['ip'],
        http_config: { steps: [{ name: 'lookup', method: 'GET', url: 'https://intel.example/{{value}}' }] },
        auth_config,
      },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.details.errors.map((e: { path: string }) => e.path)).toEqual(['auth_config']);
  });
});

import type { FailureReason, ProviderDefinition, ProviderDefinitionInput } from '@calseta/schema';
import { describe, expect, it } from 'vitest';
import {
  cacheKey,
  cacheTtlSeconds,
  defineProvider,
  type EnrichOptions,
  enrichIndicator,
  runProvider,
  testProvider,
} from './engine.js';
import { type HttpRequest, type IndicatorRef, PortError } from './ports.js';
import { type FakeHandler, fakeHttp, hangingHandler, jsonResponse, manualClock, memoryPorts } from './testing.js';

const vtInput: ProviderDefinitionInput = {
  provider_name: 'virustotal',
  display_name: 'VirusTotal',
  supported_indicator_types: ['ip', 'domain', 'hash_md5', 'hash_sha1', 'hash_sha256', 'url'],
  http_config: {
    url_templates_by_type: {
      ip: 'https://vt.test/api/v3/ip_addresses/{{indicator.value}}',
      domain: 'https://vt.test/api/v3/domains/{{indicator.value}}',
      hash_md5: 'https://vt.test/api/v3/files/{{indicator.value}}',
      hash_sha1: 'https://vt.test/api/v3/files/{{indicator.value}}',
      hash_sha256: 'https://vt.test/api/v3/files/{{indicator.value}}',
      url: 'https://vt.test/api/v3/urls/{{indicator.value | base64url}}',
    },
    steps: [{ name: 'lookup', headers: { 'x-apikey': '{{auth.api_key}}' }, not_found_status: [404] }],
  },
  malice_rules: {
    rules: [
      { field: 'data.attributes.last_analysis_stats.malicious', operator: '>', value: 0, verdict: 'Malicious' },
      { field: 'data.attributes.last_analysis_stats.suspicious', operator: '>', value: 0, verdict: 'Suspicious' },
    ],
    default_verdict: 'Benign',
    not_found_verdict: 'Pending',
  },
  field_extractions: [
    {
      indicator_type: 'ip',
      source_path: 'data.attributes.last_analysis_stats.malicious',
      target_key: 'malicious_count',
      value_type: 'int',
    },
    { indicator_type: 'ip', source_path: 'data.attributes.country', target_key: 'country', value_type: 'string' },
    { indicator_type: 'domain', source_path: 'data.attributes.registrar', target_key: 'registrar' },
  ],
  cache_ttl_by_type: { ip: 3600, domain: 21_600 },
};
const vt = defineProvider(vtInput);

const abuse = defineProvider({
  provider_name: 'abuseipdb',
  display_name: 'AbuseIPDB',
  supported_indicator_types: ['ip'],
  http_config: {
    steps: [
      {
        name: 'lookup',
        url: 'https://abuse.test/api/v2/check',
        headers: { Key: '{{auth.api_key}}', Accept: 'application/json' },
        query_params: { ipAddress: '{{indicator.value}}', maxAgeInDays: 90 },
      },
    ],
  },
  malice_rules: {
    rules: [
      { field: 'data.abuseConfidenceScore', operator: '>=', value: 75, verdict: 'Malicious' },
      { field: 'data.abuseConfidenceScore', operator: '>=', value: 25, verdict: 'Suspicious' },
    ],
    default_verdict: 'Benign',
  },
});

const slow = defineProvider({
  provider_name: 'slow_intel',
  display_name: 'Slow Intel',
  supported_indicator_types: ['ip'],
  http_config: { steps: [{ url: 'https://slow.test/ip/{{value}}' }] },
  timeout_ms: 40,
});

const okta = defineProvider({
  provider_name: 'okta',
  display_name: 'Okta',
  supported_indicator_types: ['account'],
  http_config: {
    steps: [{ name: 'user_lookup', url: 'https://{{auth.domain | raw}}/api/v1/users/{{value}}' }],
  },
});

const TOR = '185.220.101.32';
const ip: IndicatorRef = { type: 'ip', value: TOR };
const vtMalicious = { data: { attributes: { last_analysis_stats: { malicious: 14, suspicious: 1 }, country: 'DE' } } };

const keys: Record<string, Record<string, string>> = {
  virustotal: { api_key: 'vt-secret-key-000' },
  abuseipdb: { api_key: 'abuse-secret-key-000' },
  slow_intel: {},
  okta: {},
};
const auth = (provider: ProviderDefinition) => keys[provider.provider_name] ?? {};

function setup(handler: FakeHandler, limits = {}) {
  const clock = manualClock('2026-03-01T12:00:00.000Z');
  const http = fakeHttp(handler);
  const ports = memoryPorts(http.port, { clock: clock.now, limits });
  const enrich = (indicator: IndicatorRef, providers: ProviderDefinition[], options?: EnrichOptions) =>
    enrichIndicator({ indicator, providers, ports, auth, ...(options ? { options } : {}) });
  return { clock, http, ports, enrich };
}

const host = (req: HttpRequest) => new URL(req.url).host;

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('parallel providers', () => {
  it('one succeeds, one fails, one times out: every status is truthful', async () => {
    // VirusTotal answers only once the slow provider has been called: a sequential engine would never get there.
    const slowCalled = deferred();
    const { enrich, http } = setup(async (req) => {
      if (host(req) === 'slow.test') {
        slowCalled.resolve();
        return hangingHandler(req);
      }
      if (host(req) === 'abuse.test') return jsonResponse({ errors: [{ detail: 'boom' }] }, 500);
      await slowCalled.promise;
      return jsonResponse(vtMalicious);
    });
    const outcome = await enrich(ip, [vt, abuse, slow]);
    expect(outcome.enrichable).toBe(true);
    expect(outcome.results.map((r) => [r.provider_name, r.status])).toEqual([
      ['virustotal', 'success'],
      ['abuseipdb', 'failed'],
      ['slow_intel', 'failed'],
    ]);
    const [ok, failed, timedOut] = outcome.results;
    expect(ok).toMatchObject({
      verdict: 'Malicious',
      extracted: { malicious_count: 14, country: 'DE' },
      fetched_at: '2026-03-01T12:00:00.000Z',
      error_message: null,
      cache_hit: false,
    });
    expect(failed).toMatchObject({ verdict: null, extracted: null, error_message: "Step 'lookup' returned HTTP 500" });
    expect(timedOut).toMatchObject({ verdict: null, error_message: 'timed out after 40 ms', rate_limited: false });
    expect(outcome.verdict).toBe('Malicious');
    expect(outcome.explanation).toMatchObject({ provider: 'virustotal', rule_index: 0, actual: 14 });
    // The slow provider's request was aborted.
    expect(http.calls.find((c) => host(c) === 'slow.test')?.signal.aborted).toBe(true);
  });

  it('a provider whose port ignores the abort still times out', async () => {
    const { enrich } = setup(() => new Promise(() => {}));
    const outcome = await enrich(ip, [slow]);
    expect(outcome.results[0]).toMatchObject({ status: 'failed', error_message: 'timed out after 40 ms' });
  });

  it('the caller-wide callTimeoutMs applies when the provider sets none', async () => {
    const { enrich } = setup(hangingHandler);
    const outcome = await enrich(ip, [vt], { callTimeoutMs: 25 });
    expect(outcome.results[0]).toMatchObject({ status: 'failed', error_message: 'timed out after 25 ms' });
  });

  it('sends what the provider config says', async () => {
    const { enrich, http } = setup((req) =>
      host(req) === 'abuse.test' ? jsonResponse({ data: { abuseConfidenceScore: 30 } }) : jsonResponse(vtMalicious),
    );
    const outcome = await enrich(ip, [abuse]);
    expect(http.calls[0]).toMatchObject({
      method: 'GET',
      url: 'https://abuse.test/api/v2/check?ipAddress=185.220.101.32&maxAgeInDays=90',
      headers: { Key: 'abuse-secret-key-000', Accept: 'application/json' },
    });
    expect(outcome.results[0]).toMatchObject({ status: 'success', verdict: 'Suspicious', extracted: {} });
  });
});

describe('skips', () => {
  it('a provider that does not support the type is skipped without a call', async () => {
    const { enrich, http } = setup(() => jsonResponse(vtMalicious));
    const outcome = await enrich({ type: 'hash_md5', value: 'd41d8cd98f00b204e9800998ecf8427e' }, [abuse]);
    expect(outcome.results).toEqual([
      expect.objectContaining({
        provider_name: 'abuseipdb',
        status: 'skipped',
        skip_reason: 'unsupported_type',
        error_message: "AbuseIPDB does not support 'hash_md5'",
      }),
    ]);
    expect(http.calls).toHaveLength(0);
    // Enrichment ran and no provider could judge the value: Unknown, not "not enriched yet".
    expect(outcome.verdict).toBe('Unknown');
  });

  it('a non-enrichable indicator calls nobody and says why', async () => {
    const { enrich, http, ports } = setup(() => jsonResponse(vtMalicious));
    const outcome = await enrich({ type: 'ip', value: '10.0.0.55' }, [vt, okta]);
    expect(outcome).toMatchObject({
      enrichable: false,
      reason: 'non-global IP address: Private-Use (RFC 1918) 10.0.0.0/8',
    });
    expect(outcome.results.map((r) => [r.provider_name, r.status, r.skip_reason])).toEqual([
      ['virustotal', 'skipped', 'not_enrichable'],
      ['okta', 'skipped', 'unsupported_type'],
    ]);
    expect(outcome.results[0]?.error_message).toBe(
      'Enrichment skipped: non-global IP address: Private-Use (RFC 1918) 10.0.0.0/8',
    );
    expect(http.calls).toHaveLength(0);
    expect(ports.cache.gets).toBe(0);
  });

  it('extra internal suffixes reach the gate', async () => {
    const { enrich, http } = setup(() => jsonResponse({}));
    const outcome = await enrich({ type: 'domain', value: 'dc1.corp.acme.com' }, [vt], {
      internalDomainSuffixes: ['corp.acme.com'],
    });
    expect(outcome.results[0]?.skip_reason).toBe('not_enrichable');
    expect(http.calls).toHaveLength(0);
  });

  it('a provider missing a credential its required steps use is not configured', async () => {
    const { enrich, http } = setup(() => jsonResponse({ id: 'u' }));
    const outcome = await enrich({ type: 'account', value: 'jdoe' }, [okta]);
    expect(outcome.results[0]).toMatchObject({
      status: 'skipped',
      skip_reason: 'not_configured',
      error_message: 'Okta is not configured (missing auth.domain)',
    });
    expect(http.calls).toHaveLength(0);
  });

  it('a failing credential resolver fails only that provider', async () => {
    const { ports } = setup(() => jsonResponse(vtMalicious));
    const outcome = await enrichIndicator({
      indicator: ip,
      providers: [vt, abuse],
      ports,
      auth: async (provider) => {
        if (provider.provider_name === 'abuseipdb') throw new Error('cannot decrypt auth_config');
        return keys.virustotal ?? {};
      },
    });
    expect(outcome.results.map((r) => [r.status, r.error_message])).toEqual([
      ['success', null],
      ['failed', 'could not resolve credentials: cannot decrypt auth_config'],
    ]);
  });
});

describe('cache', () => {
  it('a second lookup is served from the cache without calling the provider', async () => {
    const { enrich, http, clock, ports } = setup(() => jsonResponse(vtMalicious));
    const first = await enrich(ip, [vt]);
    clock.advance(60_000);
    const second = await enrich(ip, [vt]);
    expect(http.calls).toHaveLength(1);
    expect(first.results[0]?.cache_hit).toBe(false);
    expect(second.results[0]).toMatchObject({
      status: 'success',
      cache_hit: true,
      verdict: 'Malicious',
      extracted: { malicious_count: 14, country: 'DE' },
      fetched_at: '2026-03-01T12:00:00.000Z',
    });
    expect(second.verdict).toBe('Malicious');
    expect(ports.cache.sets).toEqual([
      { key: 'enrichment:virustotal:ip:185.220.101.32', ttlSeconds: 3600, status: 'success' },
    ]);
  });

  it('slim results leave out the raw response, which the cache still stores', async () => {
    const { enrich, ports } = setup(() => jsonResponse(vtMalicious));
    const slim = await enrich(ip, [vt], { slim: true });
    expect(slim.results[0]).toMatchObject({ status: 'success', verdict: 'Malicious', raw: null });
    expect(slim.results[0]?.extracted).toMatchObject({ malicious_count: 14 });
    const cached = ports.cache.store.get('enrichment:virustotal:ip:185.220.101.32')?.value;
    expect(cached?.raw).toMatchObject({ data: { attributes: { country: 'DE' } } });
    const full = await enrich(ip, [vt], { bypassCache: true });
    expect(full.results[0]?.raw).toEqual(cached?.raw);
  });

  it('entries expire after their TTL', async () => {
    const { enrich, http, clock } = setup(() => jsonResponse(vtMalicious));
    await enrich(ip, [vt]);
    clock.advance(3_600_000);
    const again = await enrich(ip, [vt]);
    expect(http.calls).toHaveLength(2);
    expect(again.results[0]?.cache_hit).toBe(false);
  });

  it('not_found is cached (negative cache) with a shorter TTL', async () => {
    const { enrich, http, ports } = setup(() => jsonResponse({ error: { code: 'NotFoundError' } }, 404));
    const hash = { type: 'hash_sha256', value: 'a'.repeat(64) } as const;
    const first = await enrich(hash, [vt]);
    const second = await enrich(hash, [vt]);
    expect(first.results[0]).toMatchObject({
      status: 'not_found',
      verdict: 'Unknown',
      extracted: { found: false },
      explanation: { reason: 'not_found', provider: 'virustotal' },
      cache_hit: false,
    });
    expect(second.results[0]).toMatchObject({ status: 'not_found', cache_hit: true });
    expect(http.calls).toHaveLength(1);
    expect(ports.cache.sets).toEqual([
      { key: cacheKey('virustotal', 'hash_sha256', 'a'.repeat(64)), ttlSeconds: 600, status: 'not_found' },
    ]);
  });

  it('failures are never cached', async () => {
    const { enrich, http, ports } = setup(() => jsonResponse({}, 503));
    await enrich(ip, [vt]);
    const second = await enrich(ip, [vt]);
    expect(http.calls).toHaveLength(2);
    expect(second.results[0]?.status).toBe('failed');
    expect(ports.cache.sets).toEqual([]);
  });

  it('skipped results are never cached', async () => {
    const { enrich, ports } = setup(() => jsonResponse({}));
    await enrich({ type: 'account', value: 'jdoe' }, [okta]);
    expect(ports.cache.sets).toEqual([]);
  });

  it('bypassCache forces a live call and refreshes the entry', async () => {
    const { enrich, http, ports } = setup(() => jsonResponse(vtMalicious));
    await enrich(ip, [vt]);
    const forced = await enrich(ip, [vt], { bypassCache: true });
    expect(http.calls).toHaveLength(2);
    expect(forced.results[0]?.cache_hit).toBe(false);
    expect(ports.cache.sets).toHaveLength(2);
  });

  it('a broken cache degrades to live calls', async () => {
    const { ports, http } = setup(() => jsonResponse(vtMalicious));
    ports.cache.get = () => Promise.reject(new Error('cache down'));
    ports.cache.set = () => Promise.reject(new Error('cache down'));
    const outcome = await enrichIndicator({ indicator: ip, providers: [vt], ports, auth });
    expect(outcome.results[0]?.status).toBe('success');
    expect(http.calls).toHaveLength(1);
  });

  it('TTL: by type, then the provider default, then the built-in default; negative capped at 600', () => {
    const p = defineProvider({ ...vtInput, default_cache_ttl_seconds: 120 });
    expect(cacheTtlSeconds(vt, 'ip', 'success')).toBe(3600);
    expect(cacheTtlSeconds(vt, 'domain', 'success')).toBe(21_600);
    expect(cacheTtlSeconds(vt, 'hash_md5', 'success')).toBe(86_400);
    expect(cacheTtlSeconds(vt, 'url', 'success')).toBe(1800);
    expect(cacheTtlSeconds(p, 'hash_md5', 'success')).toBe(120);
    expect(cacheTtlSeconds(p, 'ip', 'success')).toBe(3600);
    expect(cacheTtlSeconds(p, 'hash_md5', 'not_found')).toBe(120);
    expect(cacheTtlSeconds(vt, 'ip', 'not_found')).toBe(600);
    expect(cacheTtlSeconds(defineProvider({ ...vtInput, negative_cache_ttl_seconds: 30 }), 'ip', 'not_found')).toBe(30);
    expect(cacheTtlSeconds(vt, 'ip', 'failed')).toBe(0);
    expect(cacheTtlSeconds(vt, 'ip', 'skipped')).toBe(0);
  });

  it('a TTL of 0 disables caching', async () => {
    const { enrich, ports } = setup(() => jsonResponse(vtMalicious));
    await enrich(ip, [defineProvider({ ...vtInput, cache_ttl_by_type: { ip: 0 } })]);
    expect(ports.cache.sets).toEqual([]);
  });
});

describe('coalescing', () => {
  it('two concurrent identical lookups make one call', async () => {
    const release = deferred();
    const { enrich, http, ports } = setup(async () => {
      await release.promise;
      return jsonResponse(vtMalicious);
    });
    const a = enrich(ip, [vt]);
    const b = enrich(ip, [vt]);
    // Let both reach the coalescer before the response arrives.
    await new Promise((resolve) => setImmediate(resolve));
    release.resolve();
    const [ra, rb] = await Promise.all([a, b]);
    expect(http.calls).toHaveLength(1);
    expect(ports.coalesce.joined).toBe(1);
    expect(ra.results[0]).toMatchObject({ status: 'success', verdict: 'Malicious' });
    expect(rb.results[0]).toMatchObject({ status: 'success', verdict: 'Malicious' });
    expect(ra.results[0]).not.toBe(rb.results[0]);
  });

  it('different values are not coalesced', async () => {
    const { enrich, http } = setup(() => jsonResponse(vtMalicious));
    await Promise.all([enrich(ip, [vt]), enrich({ type: 'ip', value: '45.33.32.156' }, [vt])]);
    expect(http.calls).toHaveLength(2);
  });
});

describe('rate governor', () => {
  it('a denied acquire skips the provider with rate_limited and retry_after', async () => {
    const { enrich, http } = setup(() => jsonResponse(vtMalicious), { virustotal: { limit: 1, windowMs: 60_000 } });
    const first = await enrich(ip, [vt]);
    const second = await enrich({ type: 'ip', value: '45.33.32.156' }, [vt]);
    expect(first.results[0]?.status).toBe('success');
    expect(second.results[0]).toMatchObject({
      status: 'skipped',
      skip_reason: 'rate_limited',
      rate_limited: true,
      retry_after_ms: 60_000,
      error_message: 'VirusTotal is rate limited; retry in 60000 ms',
    });
    expect(http.calls).toHaveLength(1);
  });

  it('a 429 pauses the provider for Retry-After and fails with rate_limited', async () => {
    const { enrich, http, ports, clock } = setup(() =>
      jsonResponse({ error: 'QuotaExceededError' }, 429, { 'Retry-After': '30' }),
    );
    const first = await enrich(ip, [vt]);
    expect(first.results[0]).toMatchObject({
      status: 'failed',
      rate_limited: true,
      retry_after_ms: 30_000,
      error_message: "Step 'lookup' returned HTTP 429",
    });
    expect(ports.rate.pauses).toEqual([{ provider: 'virustotal', ms: 30_000 }]);
    expect(ports.cache.sets).toEqual([]);

    clock.advance(10_000);
    const second = await enrich(ip, [vt]);
    expect(second.results[0]).toMatchObject({ status: 'skipped', skip_reason: 'rate_limited', retry_after_ms: 20_000 });
    expect(http.calls).toHaveLength(1);

    clock.advance(20_000);
    await enrich(ip, [vt]);
    expect(http.calls).toHaveLength(2);
  });

  it('a broken governor does not stop enrichment', async () => {
    const { ports } = setup(() => jsonResponse(vtMalicious));
    ports.rate.acquire = () => Promise.reject(new Error('governor down'));
    const outcome = await enrichIndicator({ indicator: ip, providers: [vt], ports, auth });
    expect(outcome.results[0]?.status).toBe('success');
  });
});

describe('per-type behaviour', () => {
  it('only the extractions of the indicator type are applied', async () => {
    const { enrich } = setup(() =>
      jsonResponse({
        data: { attributes: { last_analysis_stats: { malicious: 0 }, country: 'US', registrar: 'NameCheap' } },
      }),
    );
    const domain = await enrich({ type: 'domain', value: 'c2-relay.darkops.net' }, [vt]);
    expect(domain.results[0]?.extracted).toEqual({ registrar: 'NameCheap' });
    const addr = await enrich({ type: 'ip', value: '45.33.32.156' }, [vt]);
    expect(addr.results[0]?.extracted).toEqual({ malicious_count: 0, country: 'US' });
    expect(addr.results[0]?.verdict).toBe('Benign');
  });

  it('URLs go to VirusTotal as unpadded base64url ids', async () => {
    const { enrich, http } = setup(() => jsonResponse(vtMalicious));
    await enrich({ type: 'url', value: 'https://evil.example.com/payload/stage2.ps1' }, [vt]);
    expect(http.calls[0]?.url).toBe(
      'https://vt.test/api/v3/urls/aHR0cHM6Ly9ldmlsLmV4YW1wbGUuY29tL3BheWxvYWQvc3RhZ2UyLnBzMQ',
    );
  });
});

describe('reference builtin shapes', () => {
  it('Entra: a token step feeds the bearer header; optional steps may fail; multi-step raw', async () => {
    const entra = defineProvider({
      provider_name: 'entra',
      display_name: 'Microsoft Entra ID',
      supported_indicator_types: ['account'],
      http_config: {
        steps: [
          {
            name: 'token',
            method: 'POST',
            url: 'https://login.test/{{auth.tenant_id}}/oauth2/v2.0/token',
            form_body: {
              client_id: '{{auth.client_id}}',
              client_secret: '{{auth.client_secret}}',
              scope: 'https://graph.test/.default',
              grant_type: 'client_credentials',
            },
          },
          {
            name: 'user_lookup',
            url: 'https://graph.test/v1.0/users/{{indicator.value | urlencode}}?$select=id,displayName,accountEnabled',
            headers: { Authorization: 'Bearer {{steps.token.access_token}}' },
            not_found_status: [404],
          },
          {
            name: 'user_groups',
            url: 'https://graph.test/v1.0/users/{{steps.user_lookup.id}}/memberOf?$select=displayName',
            headers: { Authorization: 'Bearer {{steps.token.response.access_token}}' },
            optional: true,
          },
        ],
      },
      field_extractions: [
        { indicator_type: 'account', source_path: 'user_lookup.id', target_key: 'object_id' },
        {
          indicator_type: 'account',
          source_path: 'user_lookup.accountEnabled',
          target_key: 'account_enabled',
          value_type: 'bool',
        },
        {
          indicator_type: 'account',
          source_path: 'user_groups.value.*.displayName',
          target_key: 'groups',
          value_type: 'list',
        },
      ],
    });
    const http = fakeHttp((req) => {
      if (req.url.includes('/oauth2/')) return jsonResponse({ access_token: 'graph-token', token_type: 'Bearer' });
      if (req.url.includes('/memberOf')) return jsonResponse({ error: 'Authorization_RequestDenied' }, 403);
      return jsonResponse({ id: 'obj-1', displayName: 'R Chen', accountEnabled: true });
    });
    const run = await runProvider({
      provider: entra,
      indicator: { type: 'account', value: 'r.chen@contoso.com' },
      auth: { tenant_id: 'tenant-1', client_id: 'client-1', client_secret: 'shh-client-secret' },
      http: http.port,
      clock: () => new Date('2026-03-01T12:00:00.000Z'),
    });
    // No `result` flags here (a definition written before them): the token step, read by the later
    // steps' Authorization headers, is an authentication step and is never kept; no rules: Unknown.
    expect(run.result).toMatchObject({
      status: 'success',
      extracted: { object_id: 'obj-1', account_enabled: true },
      verdict: 'Unknown',
    });
    expect(run.result.raw).toEqual({ user_lookup: { id: 'obj-1', displayName: 'R Chen', accountEnabled: true } });
    expect(JSON.stringify(run.result)).not.toContain('graph-token');
    expect(http.calls.map((c) => c.url)).toEqual([
      'https://login.test/tenant-1/oauth2/v2.0/token',
      'https://graph.test/v1.0/users/r.chen%40contoso.com?$select=id,displayName,accountEnabled',
      'https://graph.test/v1.0/users/obj-1/memberOf?$select=displayName',
    ]);
    expect(http.calls[1]?.headers.Authorization).toBe('Bearer graph-token');
    expect(http.calls[0]?.body).toContain('client_secret=shh-client-secret');
  });

  it('internal_ip_intel: a base URL from auth works with | raw (reference quirk 18/19)', async () => {
    const intel = defineProvider({
      provider_name: 'internal_ip_intel',
      display_name: 'Internal IP Intelligence',
      supported_indicator_types: ['ip'],
      http_config: {
        steps: [
          {
            url: '{{auth.base_url | raw}}/api/v1/ip/{{indicator.value}}',
            headers: { Authorization: 'Bearer {{auth.api_key}}' },
            timeout_seconds: 15,
            not_found_status: [404],
          },
        ],
      },
      malice_rules: {
        rules: [{ field: 'classification', operator: '==', value: 'external_unknown', verdict: 'Suspicious' }],
      },
    });
    const http = fakeHttp(() => jsonResponse({ classification: 'external_unknown' }));
    const run = await runProvider({
      provider: intel,
      indicator: ip,
      auth: { base_url: 'https://ipintel.acme.test', api_key: 'k-123456' },
      http: http.port,
      clock: () => new Date(),
    });
    expect(http.calls[0]).toMatchObject({ url: `https://ipintel.acme.test/api/v1/ip/${TOR}`, timeoutMs: 15_000 });
    expect(run.result).toMatchObject({ status: 'success', verdict: 'Suspicious' });
  });
});

describe('testProvider', () => {
  it('returns masked step debug and never touches cache or governor', async () => {
    const http = fakeHttp(() => jsonResponse(vtMalicious));
    const run = await testProvider({
      provider: vt,
      indicator: ip,
      auth: { api_key: 'vt-secret-key-000' },
      http: http.port,
      clock: () => new Date('2026-03-01T12:00:00.000Z'),
    });
    expect(run.result).toMatchObject({ status: 'success', verdict: 'Malicious', raw: vtMalicious });
    expect(run.steps).toHaveLength(1);
    expect(run.steps[0]).toMatchObject({
      step_name: 'lookup',
      url: `https://vt.test/api/v3/ip_addresses/${TOR}`,
      request_headers: { 'x-apikey': '***' },
      status: 200,
      outcome: 'ok',
    });
    expect(JSON.stringify(run)).not.toContain('vt-secret-key-000');
  });

  it('is bounded by the call timeout', async () => {
    const http = fakeHttp(hangingHandler);
    const run = await testProvider({
      provider: vt,
      indicator: ip,
      auth: { api_key: 'x' },
      http: http.port,
      clock: () => new Date(),
      callTimeoutMs: 20,
    });
    expect(run.result).toMatchObject({ status: 'failed', error_message: 'timed out after 20 ms' });
  });

  it('reports unsupported types without calling', async () => {
    const http = fakeHttp(() => jsonResponse({}));
    const run = await testProvider({
      provider: abuse,
      indicator: { type: 'domain', value: 'evil.com' },
      auth: {},
      http: http.port,
      clock: () => new Date(),
    });
    expect(run.result.skip_reason).toBe('unsupported_type');
    expect(http.calls).toHaveLength(0);
  });
});

describe('failure_reason: why a result failed, as data (callers never parse error_message)', () => {
  const twoSteps = defineProvider({
    provider_name: 'two_steps',
    display_name: 'Two steps',
    supported_indicator_types: ['ip'],
    http_config: {
      steps: [
        { name: 'token', url: 'https://two.test/token' },
        { name: 'lookup', url: 'https://two.test/ip/{{value}}?t={{steps.token.access_token}}' },
      ],
    },
  });
  const stepTimeout = defineProvider({
    ...vtInput,
    http_config: { steps: [{ url: 'https://vt.test/ip/{{value}}', timeout_ms: 20 }] },
  });
  const cases: Array<[string, FailureReason, FakeHandler, ProviderDefinition]> = [
    ['an unexpected status', 'provider_http', () => jsonResponse({}, 500), vt],
    ['a 429 (rate_limited too)', 'provider_http', () => jsonResponse({}, 429), vt],
    [
      'malformed JSON',
      'malformed_response',
      () => ({ headers: { 'content-type': 'application/json' }, body: '{"data": ' }),
      vt,
    ],
    [
      'no answer (network error)',
      'transport',
      () => {
        throw new Error('connect ECONNREFUSED 203.0.113.5:443');
      },
      vt,
    ],
    ['a step timeout', 'timeout', hangingHandler, stepTimeout],
    ['the whole call timing out', 'timeout', hangingHandler, slow],
    ['a template value missing from an earlier answer', 'template', () => jsonResponse({}), twoSteps],
  ];
  it.each(cases)('%s → %s', async (_, reason, handler, provider) => {
    const { enrich } = setup(handler);
    const outcome = await enrich(ip, [provider]);
    expect(outcome.results[0]).toMatchObject({ status: 'failed', failure_reason: reason });
  });

  it('a failing credential resolver → credentials', async () => {
    const { ports } = setup(() => jsonResponse(vtMalicious));
    const outcome = await enrichIndicator({
      indicator: ip,
      providers: [vt],
      ports,
      auth: () => Promise.reject(new Error('cannot decrypt')),
    });
    expect(outcome.results[0]).toMatchObject({ status: 'failed', failure_reason: 'credentials' });
  });

  it.each([
    [new PortError('unavailable', 'Connection terminated unexpectedly'), 'port_unavailable'],
    [new PortError('shared_call_lost', 'coalesced_call_lost: gone'), 'shared_call_lost'],
    // Untagged: the text does not matter, even when it reads like a database outage.
    [new Error('Connection terminated unexpectedly'), 'internal'],
  ] as const)('a port throwing %s → %s, message kept', async (error, reason) => {
    const { ports, http } = setup(() => jsonResponse(vtMalicious));
    ports.coalesce.run = () => Promise.reject(error);
    const outcome = await enrichIndicator({ indicator: ip, providers: [vt], ports, auth });
    expect(outcome.results[0]).toMatchObject({
      status: 'failed',
      failure_reason: reason,
      error_message: `unexpected error: ${error.message}`,
    });
    expect(http.calls).toHaveLength(0);
  });

  it('null on every result that did not fail, cache hits included', async () => {
    const { enrich } = setup(() => jsonResponse(vtMalicious));
    const first = await enrich(ip, [vt, okta]);
    const cached = await enrich(ip, [vt]);
    const skippedType = await enrich({ type: 'hash_md5', value: 'a'.repeat(32) }, [abuse]);
    for (const r of [...first.results, ...cached.results, ...skippedType.results]) {
      expect(r.failure_reason, `${r.provider_name} ${r.status}`).toBeNull();
    }
    expect(cached.results[0]?.cache_hit).toBe(true);
  });

  it('testProvider and runProvider report the same reasons', async () => {
    const http = fakeHttp(() => jsonResponse({}, 503));
    const clock = manualClock();
    const run = await runProvider({
      provider: vt,
      indicator: ip,
      auth: keys.virustotal ?? {},
      http: http.port,
      clock: clock.now,
    });
    expect(run.result.failure_reason).toBe('provider_http');
    const timedOut = await testProvider({
      provider: slow,
      indicator: ip,
      auth: {},
      http: fakeHttp(hangingHandler).port,
      clock: clock.now,
    });
    expect(timedOut.result).toMatchObject({ status: 'failed', failure_reason: 'timeout' });
  });
});

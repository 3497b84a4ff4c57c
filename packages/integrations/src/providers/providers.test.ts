// Relative imports until `@calseta/enrichment-engine` and `@calseta/mock-providers` are devDependencies
// of @calseta/integrations; then these become package imports (`@calseta/enrichment-engine/testing`).

import {
  checkHttpConfig,
  enrichIndicator,
  type HttpPort,
  requiredAuthKeys,
  runProvider,
} from '@calseta/enrichment-engine';
import { type MemoryPorts, memoryPorts } from '@calseta/enrichment-engine/testing';
import { type MockProvidersServer, startMockProviders } from '@calseta/mock-providers';
import type { IndicatorType, ProviderDefinition } from '@calseta/schema';
import { ProviderDefinitionSchema } from '@calseta/schema';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  abuseipdbAuth,
  abuseipdbProvider,
  builtinProviderSpecs,
  builtinProviders,
  entraProvider,
  oktaProvider,
  virustotalProvider,
} from './index.js';

/** The engine's HttpPort over real HTTP (global fetch). */
const fetchHttp: HttpPort = async (request) => {
  const started = performance.now();
  const response = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    signal: request.signal,
  });
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name.toLowerCase()] = value;
  });
  const body = await response.text();
  return { status: response.status, headers, body, durationMs: performance.now() - started };
};

function authFor(mock: MockProvidersServer) {
  const byProvider: Record<string, Record<string, string>> = {
    virustotal: { base_url: mock.baseUrls.virustotal, api_key: 'test' },
    abuseipdb: { base_url: mock.baseUrls.abuseipdb, api_key: 'test' },
    okta: { base_url: mock.baseUrls.okta, api_token: 'test' },
    entra: {
      login_base_url: mock.baseUrls.entraLogin,
      graph_base_url: mock.baseUrls.graph,
      tenant_id: 'contoso-tenant',
      client_id: 'calseta-test',
      client_secret: 'test',
    },
  };
  return (provider: ProviderDefinition) => byProvider[provider.provider_name] ?? {};
}

async function enrich(
  mock: MockProvidersServer,
  ports: MemoryPorts,
  provider: ProviderDefinition,
  type: IndicatorType,
  value: string,
) {
  const outcome = await enrichIndicator({
    indicator: { type, value },
    providers: [provider],
    ports,
    auth: authFor(mock),
  });
  expect(outcome.enrichable).toBe(true);
  expect(outcome.results).toHaveLength(1);
  const result = outcome.results[0];
  if (result === undefined) throw new Error('no result');
  return { outcome, result };
}

describe('builtin provider definitions', () => {
  it('are valid ProviderDefinitions with well-formed templates', () => {
    expect(builtinProviders.map((p) => p.provider_name)).toEqual(['virustotal', 'abuseipdb', 'okta', 'entra']);
    for (const provider of builtinProviders) {
      expect(ProviderDefinitionSchema.parse(provider)).toEqual(provider);
      expect(checkHttpConfig(provider.http_config)).toEqual([]);
    }
    expect(Object.isFrozen(builtinProviders)).toBe(true);
    expect(builtinProviderSpecs.map((s) => s.definition)).toEqual([...builtinProviders]);
  });

  it('support the documented types with an extraction set for each', () => {
    expect(virustotalProvider.supported_indicator_types).toEqual([
      'ip',
      'domain',
      'hash_md5',
      'hash_sha1',
      'hash_sha256',
      'url',
    ]);
    expect(abuseipdbProvider.supported_indicator_types).toEqual(['ip']);
    expect(oktaProvider.supported_indicator_types).toEqual(['account', 'email']);
    expect(entraProvider.supported_indicator_types).toEqual(['account', 'email']);
    for (const provider of builtinProviders) {
      for (const type of provider.supported_indicator_types) {
        const keys = provider.field_extractions.filter((e) => e.indicator_type === type).map((e) => e.target_key);
        expect(keys.length, `${provider.provider_name}/${type}`).toBeGreaterThan(3);
        expect(new Set(keys).size, `${provider.provider_name}/${type} duplicate keys`).toBe(keys.length);
      }
      const types = new Set(provider.field_extractions.map((e) => e.indicator_type));
      expect([...types].every((t) => provider.supported_indicator_types.includes(t))).toBe(true);
    }
  });

  it('use the reference cache TTLs', () => {
    expect(virustotalProvider.cache_ttl_by_type).toEqual({
      ip: 3600,
      domain: 21_600,
      hash_md5: 86_400,
      hash_sha1: 86_400,
      hash_sha256: 86_400,
      url: 1800,
    });
    expect(abuseipdbProvider.cache_ttl_by_type).toEqual({ ip: 3600 });
    expect(oktaProvider.cache_ttl_by_type).toEqual({ account: 900, email: 900 });
    expect(entraProvider.cache_ttl_by_type).toEqual({ account: 900, email: 900 });
  });

  it('take every base URL from auth config', () => {
    for (const spec of builtinProviderSpecs) {
      const config = spec.definition.http_config;
      const urls = config.steps.flatMap((step) => [
        ...(step.url === undefined ? [] : [step.url]),
        ...Object.values(step.url_by_type ?? {}),
      ]);
      expect(urls.length).toBeGreaterThan(0);
      for (const url of urls) expect(url).toMatch(/^\{\{auth\.([a-z]+_)?base_url \| raw\}\}\//);
      for (const type of spec.definition.supported_indicator_types) {
        const required = requiredAuthKeys(spec.definition.http_config, type);
        expect([...required].sort(), `${spec.definition.provider_name}/${type}`).toEqual(
          [...spec.auth.required].sort(),
        );
      }
    }
  });
});

describe('builtin providers against the mock server over HTTP', () => {
  let mock: MockProvidersServer;
  let ports: MemoryPorts;

  beforeAll(async () => {
    mock = await startMockProviders({ port: 0 });
  });
  afterAll(async () => {
    await mock.close();
  });
  beforeEach(() => {
    mock.reset();
    ports = memoryPorts(fetchHttp);
  });

  it('VirusTotal: known-bad IP is Malicious, explained by the malicious-count rule', async () => {
    const { outcome, result } = await enrich(mock, ports, virustotalProvider, 'ip', '185.220.101.32');
    expect(result.status).toBe('success');
    expect(result.verdict).toBe('Malicious');
    expect(result.explanation).toMatchObject({
      provider: 'virustotal',
      rule_index: 0,
      field: 'data.attributes.last_analysis_stats.malicious',
      operator: '>=',
      expected: 5,
      reason: 'rule',
      verdict: 'Malicious',
    });
    const extracted = result.extracted ?? {};
    expect(extracted.malicious_count).toBe(result.explanation?.actual);
    expect(extracted.malicious_count).toBeGreaterThanOrEqual(5);
    expect(extracted).toMatchObject({ country: 'DE' });
    expect(typeof extracted.as_owner).toBe('string');
    expect(Array.isArray(extracted.tags)).toBe(true);
    expect(outcome.verdict).toBe('Malicious');
    expect(mock.stats().byEndpoint['virustotal GET /api/v3/ip_addresses/{ip}']).toBe(1);
    expect(ports.cache.sets).toEqual([
      { key: 'enrichment:virustotal:ip:185.220.101.32', ttlSeconds: 3600, status: 'success' },
    ]);
  });

  it('VirusTotal: benign IP is Benign by default', async () => {
    const { result } = await enrich(mock, ports, virustotalProvider, 'ip', '8.8.8.8');
    expect(result.status).toBe('success');
    expect(result.verdict).toBe('Benign');
    expect(result.explanation).toMatchObject({ reason: 'default', rule_index: null });
    expect(result.extracted).toMatchObject({ malicious_count: 0, suspicious_count: 0 });
  });

  it('VirusTotal: known-bad URL (base64url id) is Malicious', async () => {
    const url = 'https://evil.example.com/payload/stage2.ps1';
    const { result } = await enrich(mock, ports, virustotalProvider, 'url', url);
    expect(result.status).toBe('success');
    expect(result.verdict).toBe('Malicious');
    expect(result.extracted).toMatchObject({ last_final_url: url });
    expect(mock.stats().byEndpoint['virustotal GET /api/v3/urls/{url_id}']).toBe(1);
    expect(mock.stats().byValue[`virustotal:${url}`]).toBe(1);
  });

  it('VirusTotal: known-bad sha256 is Malicious with the threat label', async () => {
    const hash = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2';
    const { result } = await enrich(mock, ports, virustotalProvider, 'hash_sha256', hash);
    expect(result.status).toBe('success');
    expect(result.verdict).toBe('Malicious');
    expect(result.extracted).toMatchObject({ meaningful_name: 'svchost_update.exe' });
    expect(typeof result.extracted?.popular_threat_label).toBe('string');
    expect(result.extracted).not.toHaveProperty('country');
  });

  it('VirusTotal: 3 suspicious engines is Suspicious; fewer (and no malicious) is Benign', async () => {
    const three = await enrich(mock, ports, virustotalProvider, 'domain', 'login-microsoftonline-verify.com');
    expect(three.result.status).toBe('success');
    expect(three.result.extracted).toMatchObject({ malicious_count: 0, suspicious_count: 3 });
    expect(three.result.verdict).toBe('Suspicious');
    expect(three.result.explanation).toMatchObject({
      rule_index: 2,
      field: 'data.attributes.last_analysis_stats.suspicious',
    });
    // The mock lists this domain as suspicious (2 engines); the builtin thresholds need 3.
    const two = await enrich(mock, ports, virustotalProvider, 'domain', 'cdn-update-check.net');
    expect(two.result.extracted).toMatchObject({ malicious_count: 0, suspicious_count: 2 });
    expect(two.result.verdict).toBe('Benign');
    expect(typeof two.result.extracted?.registrar).toBe('string');
  });

  it('VirusTotal: unknown hash is not_found (Unknown), negatively cached', async () => {
    const hash = '0'.repeat(64);
    const { result } = await enrich(mock, ports, virustotalProvider, 'hash_sha256', hash);
    expect(result.status).toBe('not_found');
    expect(result.verdict).toBe('Unknown');
    expect(ports.cache.sets).toEqual([
      { key: `enrichment:virustotal:hash_sha256:${hash}`, ttlSeconds: 600, status: 'not_found' },
    ]);
    expect(mock.stats().byStatus['404']).toBe(1);
  });

  it('AbuseIPDB: known-bad IP is Malicious, benign IP Benign', async () => {
    const bad = await enrich(mock, ports, abuseipdbProvider, 'ip', '185.220.101.32');
    expect(bad.result.status).toBe('success');
    expect(bad.result.verdict).toBe('Malicious');
    expect(bad.result.explanation).toMatchObject({ field: 'data.abuseConfidenceScore', actual: 100, rule_index: 0 });
    expect(bad.result.extracted).toMatchObject({ abuse_confidence_score: 100, is_tor: true, country_code: 'DE' });
    // verbose: the reports' category ids (what the address was reported for).
    expect((bad.result.extracted?.categories as number[] | undefined)?.length).toBeGreaterThan(0);
    expect(typeof bad.result.extracted?.total_reports).toBe('number');

    // The mock's suspicious IPs are documentation addresses the enrichability gate refuses: run the provider directly.
    const suspicious = await runProvider({
      provider: abuseipdbProvider,
      indicator: { type: 'ip', value: '198.51.100.42' },
      auth: authFor(mock)(abuseipdbProvider),
      http: fetchHttp,
      clock: () => new Date(),
    });
    expect(suspicious.result.verdict).toBe('Suspicious');
    expect(suspicious.result.extracted?.abuse_confidence_score).toBe(41);

    const benign = await enrich(mock, ports, abuseipdbProvider, 'ip', '8.8.8.8');
    expect(benign.result.status).toBe('success');
    expect(benign.result.verdict).toBe('Benign');
    expect(mock.stats().byProvider.abuseipdb).toBe(3);
  });

  it('Okta: known user in 4 calls with department, status, groups, MFA factors and the manager', async () => {
    const { result } = await enrich(mock, ports, oktaProvider, 'email', 'j.martinez@contoso.com');
    expect(result.status).toBe('success');
    expect(result.verdict).toBe('Context');
    const extracted = result.extracted ?? {};
    expect(extracted).toMatchObject({
      login: 'j.martinez@contoso.com',
      department: 'Finance',
      title: 'Senior Financial Analyst',
      status: 'ACTIVE',
    });
    expect(Array.isArray(extracted.groups)).toBe(true);
    expect((extracted.groups as unknown[]).length).toBeGreaterThan(0);
    expect(extracted.manager).toBe('Dana Whitfield');
    // The manager's own record (profile.managerId), for the email.
    expect(extracted.manager_email).toBe('d.whitfield@contoso.com');
    expect(extracted.mfa_factors).toEqual(['push', 'sms']);
    const stats = mock.stats();
    expect(stats.byProvider.okta).toBe(4);
    expect(stats.byEndpoint['okta GET /api/v1/users/{id}']).toBe(2);
    expect(stats.byEndpoint['okta GET /api/v1/users/{id}/groups']).toBe(1);
    expect(stats.byEndpoint['okta GET /api/v1/users/{id}/factors']).toBe(1);
  });

  it('Okta: a second lookup is a cache hit (no calls)', async () => {
    await enrich(mock, ports, oktaProvider, 'account', 'r.chen@contoso.com');
    const again = await enrich(mock, ports, oktaProvider, 'account', 'r.chen@contoso.com');
    expect(again.result.cache_hit).toBe(true);
    expect(again.result.extracted?.groups).toContain('Okta-Super-Admins');
    expect(mock.stats().byProvider.okta).toBe(4);
    expect(ports.cache.sets[0]?.ttlSeconds).toBe(900);
  });

  it('Okta: unknown user is not_found after one call', async () => {
    const { result } = await enrich(mock, ports, oktaProvider, 'account', 'ghost.user@contoso.com');
    expect(result.status).toBe('not_found');
    expect(result.verdict).toBe('Unknown');
    expect(mock.stats().byProvider.okta).toBe(1);
  });

  it('Entra: token step then user, groups, manager and authentication methods', async () => {
    const { result } = await enrich(mock, ports, entraProvider, 'email', 'r.chen@contoso.com');
    expect(result.status, result.error_message ?? '').toBe('success');
    expect(result.verdict).toBe('Context');
    // The token step is authentication only: never part of the result.
    expect(Object.keys(result.raw as object).sort()).toEqual([
      'user_auth_methods',
      'user_groups',
      'user_lookup',
      'user_manager',
    ]);
    expect(JSON.stringify(result)).not.toMatch(/access_token|eyJ/);
    expect(result.extracted).toMatchObject({
      object_id: 'f9e8d7c6-b5a4-3210-9876-543210fedcba',
      user_principal_name: 'r.chen@contoso.com',
      account_enabled: true,
      department: 'IT',
      job_title: 'Director of IT Infrastructure',
    });
    expect(result.extracted?.groups).toContain('Global Administrator');
    const stats = mock.stats();
    expect(stats.byEndpoint['entra POST /{tenant}/oauth2/v2.0/token']).toBe(1);
    expect(stats.byEndpoint['entra GET /v1.0/users/{id}']).toBe(1);
    expect(stats.byEndpoint['entra GET /v1.0/users/{id}/memberOf']).toBe(1);
    expect(stats.byEndpoint['entra GET /v1.0/users/{id}/manager']).toBe(1);
    expect(stats.byEndpoint['entra GET /v1.0/users/{id}/authentication/methods']).toBe(1);
    expect(stats.byProvider.entra).toBe(5);
    // Registered authentication methods as Graph lists them (kind in `@odata.type`).
    const methods = ((result.extracted?.mfa_methods ?? []) as Array<Record<string, unknown>>).map(
      (m) => m['@odata.type'],
    );
    expect(methods).toContain('#microsoft.graph.passwordAuthenticationMethod');
    expect(methods.length).toBeGreaterThan(1);
  });

  it('Entra: user with a manager gets manager fields; one without still succeeds', async () => {
    const withManager = await enrich(mock, ports, entraProvider, 'email', 'j.martinez@contoso.com');
    expect(withManager.result.status).toBe('success');
    expect(withManager.result.extracted?.manager_email).toBe('d.whitfield@contoso.com');
    const noManager = await enrich(mock, ports, entraProvider, 'email', 'd.whitfield@contoso.com');
    expect(noManager.result.status).toBe('success');
    expect(noManager.result.extracted).not.toHaveProperty('manager');
  });

  it('Entra: deprovisioned user reads account_enabled false; unknown user is not_found', async () => {
    const former = await enrich(mock, ports, entraProvider, 'email', 'former.employee@contoso.com');
    expect(former.result.extracted?.account_enabled).toBe(false);
    const unknown = await enrich(mock, ports, entraProvider, 'account', 'unknown.user@contoso.com');
    expect(unknown.result.status).toBe('not_found');
    expect(mock.stats().byEndpoint['entra GET /v1.0/users/{id}/memberOf']).toBe(1);
  });

  it('a wrong credential fails the provider without leaking it', async () => {
    mock.setOptions({ apiKeys: { virustotal: 'right-key' } });
    try {
      const outcome = await enrichIndicator({
        indicator: { type: 'ip', value: '185.220.101.32' },
        providers: [virustotalProvider],
        ports,
        auth: () => ({ base_url: mock.baseUrls.virustotal, api_key: 'wrong-key' }),
      });
      const result = outcome.results[0];
      expect(result?.status).toBe('failed');
      expect(result?.error_message).toContain('401');
      expect(JSON.stringify(result)).not.toContain('wrong-key');
    } finally {
      mock.setOptions({ apiKeys: {} });
    }
  });

  it('missing credentials skip the provider as not_configured without a call', async () => {
    const outcome = await enrichIndicator({
      indicator: { type: 'ip', value: '185.220.101.32' },
      providers: [abuseipdbProvider],
      ports,
      auth: () => ({ ...abuseipdbAuth.defaults }), // no credential: the default base URL only
    });
    expect(outcome.results[0]).toMatchObject({ status: 'skipped', skip_reason: 'not_configured' });
    expect(mock.stats().requests).toBe(0);
  });
});

describe('provider 429 from the mock', () => {
  let mock: MockProvidersServer;
  beforeAll(async () => {
    mock = await startMockProviders({ port: 0, rateLimit: { every: 1, retryAfterSeconds: 7 } });
  });
  afterAll(async () => {
    await mock.close();
  });

  it('fails with rate_limited and Retry-After, pauses the provider, caches nothing', async () => {
    const ports = memoryPorts(fetchHttp);
    const { result } = await enrich(mock, ports, virustotalProvider, 'ip', '185.220.101.32');
    expect(result.status).toBe('failed');
    expect(result.rate_limited).toBe(true);
    expect(result.retry_after_ms).toBe(7000);
    expect(ports.rate.pauses).toEqual([{ provider: 'virustotal', ms: 7000 }]);
    expect(ports.cache.sets).toEqual([]);
    expect(mock.stats().byStatus['429']).toBe(1);

    // The governor now refuses the next call locally: skipped, no outbound request.
    const next = await enrich(mock, ports, virustotalProvider, 'ip', '45.33.32.156');
    expect(next.result).toMatchObject({ status: 'skipped', skip_reason: 'rate_limited', rate_limited: true });
    expect(mock.stats().requests).toBe(1);
  });

  it('Entra token endpoint 429 fails the run at the first step', async () => {
    mock.setOptions({ rateLimit: { every: 1, retryAfterSeconds: 3 } });
    const ports = memoryPorts(fetchHttp);
    const { result } = await enrich(mock, ports, entraProvider, 'email', 'r.chen@contoso.com');
    expect(result).toMatchObject({ status: 'failed', rate_limited: true, retry_after_ms: 3000 });
    expect(mock.stats().byEndpoint['entra POST /{tenant}/oauth2/v2.0/token']).toBeGreaterThanOrEqual(1);
    expect(mock.stats().byEndpoint['entra GET /v1.0/users/{id}']).toBeUndefined();
  });
});

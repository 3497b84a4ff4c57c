import {
  EnrichmentProviderResultSchema,
  HttpConfigSchema,
  ProviderDefinitionSchema,
  VerdictExplanationSchema,
} from '@calseta/schema';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkHttpConfig, requiredAuthKeys } from './check.js';
import { defineProvider, runProvider } from './engine.js';
import { resultSteps } from './steps.js';
import { fakeHttp, jsonResponse, MemoryCache, MemoryCoalescer, MemoryRateGovernor, manualClock } from './testing.js';

const issues = (input: unknown) => {
  const parsed = HttpConfigSchema.safeParse(input);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('HttpConfigSchema', () => {
  it('fills reference defaults', () => {
    const config = HttpConfigSchema.parse({ steps: [{ url: 'https://x.test/{{value}}' }] });
    expect(config.steps[0]).toEqual({
      url: 'https://x.test/{{value}}',
      method: 'GET',
      headers: {},
      query_params: {},
      expected_status: [200],
      not_found_status: [],
      optional: false,
    });
  });

  it('rejects empty steps, unknown keys, duplicate names, missing URLs, two bodies, overlapping statuses', () => {
    expect(issues({ steps: [] })).toEqual(['steps: No steps defined in http_config']);
    expect(issues({ steps: [{ url: 'https://x', query: { a: '1' } }] })[0]).toContain('steps.0');
    expect(issues({ steps: [{ url: 'https://x' }, { name: 'step_0', url: 'https://y' }] })).toEqual([
      "steps.1.name: duplicate step name 'step_0'",
    ]);
    expect(issues({ steps: [{ headers: { a: 'b' } }] })).toEqual(['steps.0.url: a step needs url or url_by_type']);
    expect(issues({ steps: [{ url: 'https://x', json_body: {}, form_body: {} }] })).toEqual([
      'steps.0.form_body: json_body and form_body are exclusive',
    ]);
    expect(issues({ steps: [{ url: 'https://x', not_found_status: [200] }] })).toEqual([
      'steps.0.not_found_status: status 200 is both expected and not found',
    ]);
    expect(issues({ steps: [{ name: 'has.dot', url: 'https://x' }] })).toHaveLength(1);
    expect(issues({ steps: [{ url: 'https://x', method: 'TRACE' }] })).toHaveLength(1);
    expect(issues({ steps: [{ url: 'https://x', headers: { 'Bad Header': 'x' } }] })).toHaveLength(1);
  });

  it('the first step may take its URL from url_templates_by_type alone; later steps may not', () => {
    expect(issues({ url_templates_by_type: { ip: 'https://x/{{value}}' }, steps: [{}] })).toEqual([]);
    expect(issues({ url_templates_by_type: { ip: 'https://x/{{value}}' }, steps: [{}, {}] })).toEqual([
      'steps.1.url: a step needs url or url_by_type',
    ]);
  });

  it('provider definitions validate names and types and default the rest', () => {
    const ok = ProviderDefinitionSchema.parse({
      provider_name: 'my_intel',
      display_name: 'My Intel',
      supported_indicator_types: ['ip'],
      http_config: { steps: [{ url: 'https://x' }] },
    });
    expect(ok).toMatchObject({
      malice_rules: null,
      field_extractions: [],
      cache_ttl_by_type: {},
      default_cache_ttl_seconds: null,
      negative_cache_ttl_seconds: null,
      timeout_ms: null,
    });
    const bad = ProviderDefinitionSchema.safeParse({
      provider_name: 'My-Intel',
      display_name: 'x',
      supported_indicator_types: ['ipv4'],
      http_config: { steps: [{ url: 'https://x' }] },
    });
    expect(bad.success).toBe(false);
  });

  it('schemas carry OpenAPI component ids and convert to JSON Schema', () => {
    expect(HttpConfigSchema.meta()?.id).toBe('EnrichmentHttpConfig');
    expect(EnrichmentProviderResultSchema.meta()?.id).toBe('EnrichmentProviderResult');
    expect(VerdictExplanationSchema.meta()?.id).toBe('VerdictExplanation');
    expect(() => z.toJSONSchema(ProviderDefinitionSchema, { io: 'input' })).not.toThrow();
    expect(() => z.toJSONSchema(EnrichmentProviderResultSchema)).not.toThrow();
  });

  it('engine results parse with the result schema', async () => {
    const provider = defineProvider({
      provider_name: 'p',
      display_name: 'P',
      supported_indicator_types: ['ip'],
      http_config: { steps: [{ url: 'https://x.test/{{value}}' }] },
      malice_rules: { rules: [{ field: 'score', operator: '>', value: 1, verdict: 'Malicious' }] },
    });
    const http = fakeHttp(() => jsonResponse({ score: 5 }));
    const run = await runProvider({
      provider,
      indicator: { type: 'ip', value: '8.8.8.8' },
      auth: {},
      http: http.port,
      clock: () => new Date('2026-03-01T00:00:00.000Z'),
    });
    expect(EnrichmentProviderResultSchema.parse(run.result)).toEqual(run.result);
  });
});

describe('checkHttpConfig', () => {
  it('accepts the reference Okta shape', () => {
    const config = HttpConfigSchema.parse({
      steps: [
        { name: 'user_lookup', url: 'https://{{auth.domain | raw}}/api/v1/users/{{indicator.value | urlencode}}' },
        {
          name: 'user_groups',
          url: 'https://{{auth.domain | raw}}/api/v1/users/{{steps.user_lookup.response.id}}/groups',
          optional: true,
        },
      ],
    });
    expect(checkHttpConfig(config)).toEqual([]);
  });

  it('finds syntax errors, unknown variables and filters, and forward step references', () => {
    const config = HttpConfigSchema.parse({
      steps: [
        {
          name: 'a',
          url: 'https://x/{{steps.b.id}}',
          headers: { 'X-K': '{{auth_token}}' },
          json_body: { q: ['{{value | shout}}'] },
        },
        { name: 'b', url: 'https://x/{{value', query_params: { ok: '{{steps.a.id}}' } },
      ],
    });
    expect(checkHttpConfig(config)).toEqual([
      "steps[0] (a) url: {{steps.b.id}} refers to step 'b', which does not run before it",
      "steps[0] (a) headers.X-K: unknown template variable 'auth_token'",
      "steps[0] (a) json_body: unknown template filter 'shout' in {{value | shout}}",
      "steps[1] (b) url: unclosed '{{' in template 'https://x/{{value'",
    ]);
  });
});

describe('requiredAuthKeys', () => {
  const config = HttpConfigSchema.parse({
    url_templates_by_type: { ip: 'https://x/ip?k={{auth.ip_key}}' },
    steps: [
      {
        url_by_type: { domain: 'https://x/d?k={{auth.domain_key}}' },
        url: 'https://x/{{auth.base}}',
        headers: { A: '{{auth.api_key}}' },
      },
      { url: 'https://x/{{auth.optional_key}}', optional: true },
      { url: 'https://x/b', form_body: { s: '{{auth.secret}}' } },
    ],
  });

  it('lists the credentials of required steps for the type', () => {
    expect(requiredAuthKeys(config, 'ip').sort()).toEqual(['api_key', 'ip_key', 'secret']);
    expect(requiredAuthKeys(config, 'domain').sort()).toEqual(['api_key', 'domain_key', 'secret']);
    expect(requiredAuthKeys(config, 'account').sort()).toEqual(['api_key', 'base', 'secret']);
  });
});

describe('in-memory ports', () => {
  it('MemoryCache expires by the injected clock and clones values', async () => {
    const clock = manualClock();
    const cache = new MemoryCache(clock.now);
    const value = EnrichmentProviderResultSchema.parse({
      provider_name: 'p',
      status: 'success',
      extracted: { a: 1 },
      verdict: 'Benign',
      explanation: null,
      raw: null,
      fetched_at: null,
      error_message: null,
      duration_ms: 1,
      cache_hit: false,
      skip_reason: null,
      rate_limited: false,
      retry_after_ms: null,
    });
    await cache.set('k', value, 10);
    value.extracted = { mutated: true };
    expect((await cache.get('k'))?.extracted).toEqual({ a: 1 });
    clock.advance(9_999);
    expect(await cache.get('k')).toBeDefined();
    clock.advance(1);
    expect(await cache.get('k')).toBeUndefined();
  });

  it('MemoryCoalescer shares in-flight runs and forgets them afterwards (also after failure)', async () => {
    const co = new MemoryCoalescer();
    let runs = 0;
    // Held open until all three calls are made, so the two 'k' calls overlap (no timer).
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const fn = async () => {
      runs++;
      await gate;
      return runs;
    };
    const pending = [co.run('k', fn), co.run('k', fn), co.run('other', fn)];
    release();
    expect(await Promise.all(pending)).toEqual([2, 2, 2]);
    expect(runs).toBe(2);
    expect(await co.run('k', fn)).toBe(3);
    await expect(co.run('bad', () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(await co.run('bad', async () => 'fine')).toBe('fine');
  });

  it('MemoryRateGovernor: fixed window per provider, pauses win', async () => {
    const clock = manualClock();
    const gov = new MemoryRateGovernor({ p: { limit: 2, windowMs: 1000 } }, clock.now);
    expect(await gov.acquire('p')).toEqual({ ok: true });
    expect(await gov.acquire('p')).toEqual({ ok: true });
    clock.advance(400);
    expect(await gov.acquire('p')).toEqual({ ok: false, retryAfterMs: 600 });
    expect(await gov.acquire('unlimited')).toEqual({ ok: true });
    clock.advance(600);
    expect(await gov.acquire('p')).toEqual({ ok: true });
    await gov.pause('unlimited', 5000);
    expect(await gov.acquire('unlimited')).toEqual({ ok: false, retryAfterMs: 5000 });
    clock.advance(5000);
    expect(await gov.acquire('unlimited')).toEqual({ ok: true });
  });
});

describe('result steps', () => {
  const token = { name: 'token', method: 'POST' as const, url: 'https://login.test/token' };
  const lookup = (headers: Record<string, string>) => ({
    name: 'lookup',
    url: 'https://api.test/u/{{indicator.value}}',
    headers,
  });

  it('a step read by a later header is authentication unless it says otherwise; others are results', () => {
    const inferred = HttpConfigSchema.parse({
      steps: [token, lookup({ Authorization: 'Bearer {{steps.token.access_token}}' })],
    });
    expect(resultSteps(inferred)).toEqual([false, true]);
    // Read by a later URL (an id, not a credential): still a result.
    const byUrl = HttpConfigSchema.parse({
      steps: [
        { name: 'find', url: 'https://api.test/find' },
        { name: 'detail', url: 'https://api.test/{{steps.find.id}}' },
      ],
    });
    expect(resultSteps(byUrl)).toEqual([true, true]);
    const explicit = HttpConfigSchema.parse({
      steps: [
        { ...token, result: true },
        { ...lookup({}), result: false },
        { name: 'more', url: 'https://api.test/m' },
      ],
    });
    expect(resultSteps(explicit)).toEqual([true, false, true]);
  });

  it('a config without any result step is refused', () => {
    const none = HttpConfigSchema.parse({ steps: [{ ...token, result: false }] });
    expect(checkHttpConfig(none)).toEqual([expect.stringContaining('no step is a result')]);
  });
});

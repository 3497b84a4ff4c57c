import { type HttpConfigInput, HttpConfigSchema } from '@calseta/schema';
import { describe, expect, it } from 'vitest';
import type { HttpRequest, IndicatorRef } from './ports.js';
import { decodeBody, parseRetryAfter, runSteps, type StepsOutcome } from './steps.js';
import { type FakeHandler, fakeHttp, hangingHandler, jsonResponse, manualClock } from './testing.js';

const clock = manualClock('2026-03-01T12:00:00.000Z');
const ip: IndicatorRef = { type: 'ip', value: '185.220.101.32' };
const auth = { api_key: 'sk-LIVE-1234567890', base_url: 'https://intel.acme.test/base' };

function run(config: HttpConfigInput, handler: FakeHandler, extra: Partial<Parameters<typeof runSteps>[0]> = {}) {
  const http = fakeHttp(handler);
  const promise = runSteps({
    config: HttpConfigSchema.parse(config),
    indicator: ip,
    auth,
    http: http.port,
    clock: clock.now,
    ...extra,
  });
  return { http, promise };
}

function expectFailed(outcome: StepsOutcome): string {
  expect(outcome.status).toBe('failed');
  return outcome.status === 'failed' ? outcome.error : '';
}

describe('two-step provider', () => {
  const config: HttpConfigInput = {
    steps: [
      {
        name: 'first',
        url: 'https://api.test/search?q={{indicator.value}}',
        headers: { 'x-apikey': '{{auth.api_key}}' },
      },
      {
        name: 'second',
        method: 'POST',
        url: 'https://api.test/objects/{{steps.first.data.id}}/details',
        query_params: { limit: 5, kind: '{{indicator.type}}' },
        json_body: { id: '{{steps.first.data.id}}', ids: '{{steps.first.data.related}}', note: 'for {{value}}' },
      },
    ],
  };

  it('feeds the first response into the second request and keys raw by step name', async () => {
    const { http, promise } = run(config, (req) =>
      req.url.startsWith('https://api.test/search')
        ? jsonResponse({ data: { id: 'obj 7/x', related: [1, 2] } })
        : jsonResponse({ verdict: 'bad' }),
    );
    const outcome = await promise;
    expect(outcome.status).toBe('success');
    expect(http.calls).toHaveLength(2);
    const [first, second] = http.calls as [HttpRequest, HttpRequest];
    expect(first.method).toBe('GET');
    expect(first.url).toBe('https://api.test/search?q=185.220.101.32');
    expect(first.headers).toEqual({ 'x-apikey': 'sk-LIVE-1234567890' });
    expect(first.body).toBeUndefined();
    expect(second.method).toBe('POST');
    // The id is path-encoded; query params are appended (RFC 3986 encoding).
    expect(second.url).toBe('https://api.test/objects/obj%207%2Fx/details?limit=5&kind=ip');
    expect(second.headers['content-type']).toBe('application/json');
    expect(JSON.parse(second.body ?? '')).toEqual({ id: 'obj 7/x', ids: [1, 2], note: 'for 185.220.101.32' });
    expect(outcome.raw).toEqual({ first: { data: { id: 'obj 7/x', related: [1, 2] } }, second: { verdict: 'bad' } });
  });

  it('appends query params to a URL that already has a query', async () => {
    const { http, promise } = run(
      { steps: [{ url: 'https://api.test/check?x=1', query_params: { ipAddress: '{{value}}', maxAgeInDays: 90 } }] },
      () => jsonResponse({}),
    );
    await promise;
    expect(http.calls[0]?.url).toBe('https://api.test/check?x=1&ipAddress=185.220.101.32&maxAgeInDays=90');
  });

  it('a single-step config returns that body as raw', async () => {
    const { promise } = run({ steps: [{ url: 'https://api.test/{{value}}' }] }, () => jsonResponse({ a: 1 }));
    const outcome = await promise;
    expect(outcome).toMatchObject({ status: 'success', raw: { a: 1 } });
  });

  it('sends form bodies form-encoded with their content type', async () => {
    const { http, promise } = run(
      {
        steps: [
          {
            method: 'POST',
            url: 'https://login.test/token',
            form_body: { client_secret: '{{auth.api_key}}', scope: 'https://graph.test/.default', n: 1 },
          },
        ],
      },
      () => jsonResponse({ access_token: 't' }),
    );
    await promise;
    expect(http.calls[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(http.calls[0]?.body).toBe('client_secret=sk-LIVE-1234567890&scope=https%3A%2F%2Fgraph.test%2F.default&n=1');
  });

  it('keeps an explicit content-type header', async () => {
    const { http, promise } = run(
      {
        steps: [
          {
            method: 'POST',
            url: 'https://api.test/q',
            headers: { 'Content-Type': 'application/graphql+json' },
            json_body: { q: 1 },
          },
        ],
      },
      () => jsonResponse({}),
    );
    await promise;
    expect(http.calls[0]?.headers).toEqual({ 'Content-Type': 'application/graphql+json' });
  });
});

describe('URL selection', () => {
  const config: HttpConfigInput = {
    url_templates_by_type: { ip: 'https://top.test/ip/{{value}}' },
    steps: [
      { name: 'a', url: 'https://fallback.test/{{value}}', url_by_type: { domain: 'https://a.test/domain/{{value}}' } },
      { name: 'b', url_by_type: { ip: 'https://b.test/ip/{{value}}' } },
    ],
  };

  it('url_templates_by_type overrides the first step only; url_by_type is per step', async () => {
    const { http, promise } = run(config, () => jsonResponse({}));
    await promise;
    expect(http.calls.map((c) => c.url)).toEqual([
      'https://top.test/ip/185.220.101.32',
      'https://b.test/ip/185.220.101.32',
    ]);
  });

  it('falls back to url, and fails a required step without a URL for the type', async () => {
    const { http, promise } = run(config, () => jsonResponse({}), {
      indicator: { type: 'hash_md5', value: 'd41d8cd98f00b204e9800998ecf8427e' },
    });
    const error = expectFailed(await promise);
    expect(http.calls.map((c) => c.url)).toEqual(['https://fallback.test/d41d8cd98f00b204e9800998ecf8427e']);
    expect(error).toBe("Step 'b': no URL for indicator type 'hash_md5'");
  });

  it('an injected base URL works through | raw', async () => {
    const { http, promise } = run({ steps: [{ url: '{{auth.base_url | raw}}/api/v1/ip/{{indicator.value}}' }] }, () =>
      jsonResponse({}),
    );
    expect((await promise).status).toBe('success');
    expect(http.calls[0]?.url).toBe('https://intel.acme.test/base/api/v1/ip/185.220.101.32');
  });

  it('without | raw the base URL is encoded and the request is refused as not a URL', async () => {
    const { http, promise } = run({ steps: [{ url: '{{auth.base_url}}/api/v1/ip/{{value}}' }] }, () =>
      jsonResponse({}),
    );
    expect(expectFailed(await promise)).toBe("Step 'step_0': the URL is not a valid absolute URL");
    expect(http.calls).toHaveLength(0);
  });

  it('refuses non-http schemes', async () => {
    const { promise } = run({ steps: [{ url: 'file:///etc/{{value}}' }] }, () => jsonResponse({}));
    expect(expectFailed(await promise)).toBe("Step 'step_0': URL scheme 'file:' is not http or https");
  });

  it('refuses header values with line breaks (header injection from indicator values)', async () => {
    const { http, promise } = run(
      { steps: [{ url: 'https://api.test/x', headers: { 'X-Q': '{{value}}' } }] },
      () => jsonResponse({}),
      { indicator: { type: 'account', value: 'bob\r\nX-Evil: 1' } },
    );
    expect(expectFailed(await promise)).toBe("Step 'step_0': header 'X-Q' would contain a line break");
    expect(http.calls).toHaveLength(0);
  });

  it('an unknown variable fails the step with the template error', async () => {
    const { promise } = run({ steps: [{ name: 'lookup', url: 'https://api.test/{{auth.nope}}' }] }, () =>
      jsonResponse({}),
    );
    expect(expectFailed(await promise)).toBe("Step 'lookup': credential 'auth.nope' is not configured");
  });
});

describe('statuses', () => {
  it('not_found_status stops the run with not_found and records the status', async () => {
    const { http, promise } = run(
      {
        steps: [
          { name: 'lookup', url: 'https://api.test/{{value}}', not_found_status: [404] },
          { name: 'more', url: 'https://api.test/more' },
        ],
      },
      () => jsonResponse({ error: 'NotFoundError' }, 404),
    );
    const outcome = await promise;
    expect(outcome).toMatchObject({ status: 'not_found', step: 'lookup', httpStatus: 404 });
    expect(outcome.raw).toEqual({ lookup: { status_code: 404 } });
    expect(http.calls).toHaveLength(1);
  });

  it('an unexpected status fails a required step with the status in the message', async () => {
    const { promise } = run({ steps: [{ name: 'lookup', url: 'https://api.test/{{value}}' }] }, () =>
      jsonResponse({ error: 'boom' }, 500),
    );
    expect(expectFailed(await promise)).toBe("Step 'lookup' returned HTTP 500");
  });

  it('a 404 that is not listed as not found is a failure', async () => {
    const { promise } = run({ steps: [{ name: 'lookup', url: 'https://api.test/{{value}}' }] }, () =>
      jsonResponse({}, 404),
    );
    expect(expectFailed(await promise)).toBe("Step 'lookup' returned HTTP 404");
  });

  it('expected_status may list other codes', async () => {
    const { promise } = run({ steps: [{ url: 'https://api.test/{{value}}', expected_status: [200, 202] }] }, () =>
      jsonResponse({ queued: true }, 202),
    );
    expect(await promise).toMatchObject({ status: 'success', raw: { queued: true } });
  });

  it('an optional step may fail without failing the provider; its body is absent and later steps see no value', async () => {
    const config: HttpConfigInput = {
      steps: [
        { name: 'user', url: 'https://api.test/users/{{value}}' },
        { name: 'groups', url: 'https://api.test/users/{{steps.user.id}}/groups', optional: true },
        { name: 'uses_groups', url: 'https://api.test/g/{{steps.groups.0.id}}', optional: true },
        { name: 'manager', url: 'https://api.test/users/{{steps.user.id}}/manager', optional: true },
      ],
    };
    const { http, promise } = run(
      config,
      (req) => {
        if (req.url.endsWith('/groups')) return jsonResponse({ error: 'forbidden' }, 403);
        if (req.url.endsWith('/manager')) return jsonResponse({ name: 'Boss' });
        return jsonResponse({ id: 'u1' });
      },
      { debug: true },
    );
    const outcome = await promise;
    expect(outcome.status).toBe('success');
    expect(outcome.raw).toEqual({ user: { id: 'u1' }, manager: { name: 'Boss' } });
    expect(http.calls.map((c) => c.url)).toEqual([
      'https://api.test/users/185.220.101.32',
      'https://api.test/users/u1/groups',
      'https://api.test/users/u1/manager',
    ]);
    expect(outcome.steps.map((s) => [s.step_name, s.outcome, s.status])).toEqual([
      ['user', 'ok', 200],
      ['groups', 'skipped', 403],
      ['uses_groups', 'skipped', null],
      ['manager', 'ok', 200],
    ]);
    expect(outcome.steps[1]?.error).toBe("Step 'groups' returned HTTP 403");
    expect(outcome.steps[2]?.error).toContain("step 'groups' has no response");
  });

  it('a required step after a failed optional one that needs its value fails', async () => {
    const { promise } = run(
      {
        steps: [
          { name: 'a', url: 'https://api.test/a', optional: true },
          { name: 'b', url: 'https://api.test/b/{{steps.a.id}}' },
        ],
      },
      (req) => (req.url.endsWith('/a') ? jsonResponse({}, 500) : jsonResponse({})),
    );
    expect(expectFailed(await promise)).toContain("Step 'b': step 'a' has no response");
  });
});

describe('bodies', () => {
  it('malformed JSON fails with a clear message', async () => {
    const { promise } = run({ steps: [{ name: 'lookup', url: 'https://api.test/{{value}}' }] }, () => ({
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: '{"data": {"id": ',
    }));
    expect(expectFailed(await promise)).toMatch(/^Step 'lookup' returned malformed JSON in response \(.+\)$/);
  });

  it('text that looks like JSON but is not is malformed too', async () => {
    const { promise } = run({ steps: [{ url: 'https://api.test/{{value}}' }] }, () => ({ body: '[1, 2' }));
    expect(expectFailed(await promise)).toContain('malformed JSON');
  });

  it('an optional step with malformed JSON is skipped', async () => {
    const { promise } = run(
      {
        steps: [
          { name: 'a', url: 'https://api.test/a' },
          { name: 'b', url: 'https://api.test/b', optional: true },
        ],
      },
      (req) =>
        req.url.endsWith('/a')
          ? jsonResponse({ ok: 1 })
          : { headers: { 'content-type': 'application/json' }, body: 'nope' },
    );
    expect(await promise).toMatchObject({ status: 'success', raw: { a: { ok: 1 } } });
  });

  it('plain text becomes { _raw_text } cut at 2000 characters', async () => {
    const { promise } = run({ steps: [{ url: 'https://api.test/{{value}}' }] }, () => ({
      headers: { 'content-type': 'text/plain' },
      body: 'x'.repeat(2500),
    }));
    const outcome = await promise;
    expect(outcome.raw).toEqual({ _raw_text: 'x'.repeat(2000) });
  });

  it('decodeBody: parsed values pass through, empty JSON is null', () => {
    expect(decodeBody({ headers: {}, body: { a: 1 } })).toEqual({ ok: true, value: { a: 1 } });
    expect(decodeBody({ headers: { 'content-type': 'application/json' }, body: '' })).toEqual({
      ok: true,
      value: null,
    });
    expect(decodeBody({ headers: { 'Content-Type': 'application/vnd.api+json' }, body: '{"a":2}' })).toEqual({
      ok: true,
      value: { a: 2 },
    });
  });
});

describe('transport errors and timeouts', () => {
  it('a rejected request fails the step with the error', async () => {
    const { promise } = run({ steps: [{ name: 'lookup', url: 'https://api.test/{{value}}' }] }, () => {
      throw new Error('connect ECONNREFUSED 10.1.1.1:443');
    });
    expect(expectFailed(await promise)).toBe("Step 'lookup' failed: connect ECONNREFUSED 10.1.1.1:443");
  });

  it('a server that never answers times out; the port sees its signal aborted', async () => {
    const { http, promise } = run(
      { steps: [{ name: 'lookup', url: 'https://api.test/{{value}}', timeout_ms: 20 }] },
      hangingHandler,
    );
    expect(expectFailed(await promise)).toBe("Step 'lookup' failed: timed out after 20 ms");
    expect(http.calls[0]?.timeoutMs).toBe(20);
    expect(http.calls[0]?.signal.aborted).toBe(true);
  });

  it('times out even when the port ignores the signal', async () => {
    const { promise } = run(
      { steps: [{ name: 'lookup', url: 'https://api.test/{{value}}', timeout_ms: 15 }] },
      () => new Promise(() => {}),
    );
    expect(expectFailed(await promise)).toBe("Step 'lookup' failed: timed out after 15 ms");
  });

  it('timeout_seconds (reference) is honoured; timeout_ms wins', async () => {
    const { http, promise } = run(
      {
        steps: [
          { url: 'https://api.test/a', timeout_seconds: 15 },
          { url: 'https://api.test/b', timeout_seconds: 15, timeout_ms: 250 },
          { url: 'https://api.test/c' },
        ],
      },
      () => jsonResponse({}),
    );
    await promise;
    expect(http.calls.map((c) => c.timeoutMs)).toEqual([15_000, 250, 30_000]);
  });

  it('an optional step that times out is skipped', async () => {
    const { promise } = run(
      {
        steps: [
          { name: 'a', url: 'https://api.test/a' },
          { name: 'slow', url: 'https://api.test/slow', optional: true, timeout_ms: 10 },
        ],
      },
      (req) => (req.url.endsWith('/slow') ? hangingHandler(req) : jsonResponse({ ok: true })),
    );
    expect(await promise).toMatchObject({ status: 'success', raw: { a: { ok: true } } });
  });

  it('an aborted outer signal cancels the step', async () => {
    const outer = new AbortController();
    const { promise } = run({ steps: [{ name: 'lookup', url: 'https://api.test/{{value}}' }] }, hangingHandler, {
      signal: outer.signal,
    });
    outer.abort();
    expect(expectFailed(await promise)).toBe("Step 'lookup' failed: cancelled (provider call timed out)");
  });
});

describe('429', () => {
  it('reports Retry-After seconds as a rate-limit hint', async () => {
    const { promise } = run({ steps: [{ name: 'lookup', url: 'https://api.test/{{value}}' }] }, () =>
      jsonResponse({ error: 'QuotaExceeded' }, 429, { 'Retry-After': '7' }),
    );
    const outcome = await promise;
    expect(expectFailed(outcome)).toBe("Step 'lookup' returned HTTP 429");
    expect(outcome.rateLimit).toEqual({ retryAfterMs: 7000 });
  });

  it('an optional step answering 429 still reports the hint', async () => {
    const { promise } = run(
      {
        steps: [
          { name: 'a', url: 'https://api.test/a' },
          { name: 'b', url: 'https://api.test/b', optional: true },
        ],
      },
      (req) => (req.url.endsWith('/b') ? jsonResponse({}, 429) : jsonResponse({})),
    );
    const outcome = await promise;
    expect(outcome.status).toBe('success');
    expect(outcome.rateLimit).toEqual({ retryAfterMs: 60_000 });
  });

  it('parseRetryAfter reads delta-seconds and HTTP dates', () => {
    const now = new Date('2026-03-01T12:00:00.000Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Sun, 01 Mar 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});

describe('debug records', () => {
  const secret = auth.api_key;
  const config: HttpConfigInput = {
    steps: [
      {
        name: 'token',
        method: 'POST',
        url: 'https://login.test/{{auth.base_url | base64url}}/token',
        form_body: { client_secret: '{{auth.api_key}}', grant_type: 'client_credentials' },
      },
      {
        name: 'lookup',
        url: 'https://api.test/ip/{{value}}?key={{auth.api_key}}',
        headers: {
          Authorization: 'Bearer {{steps.token.access_token}}',
          'X-Custom': 'k={{auth.api_key}}',
          Accept: 'application/json',
        },
        json_body: { apiKey: '{{auth.api_key}}', q: '{{value}}' },
      },
    ],
  };

  it('masks credentials everywhere and keeps the rest', async () => {
    const { promise } = run(
      config,
      (req) =>
        req.url.includes('/token')
          ? jsonResponse({ access_token: 'eyJ-bearer-from-step', expires_in: 3600 })
          : jsonResponse({ echo: `you sent ${secret}`, data: { country: 'DE' } }, 200, { 'x-request-id': 'r1' }),
      { debug: true },
    );
    const outcome = await promise;
    expect(outcome.status).toBe('success');
    const dump = JSON.stringify(outcome.steps);
    expect(dump).not.toContain(secret);
    expect(dump).not.toContain(encodeURIComponent(secret));
    expect(dump).not.toContain('eyJ-bearer-from-step');
    expect(dump).not.toContain('intel.acme.test');
    const [token, lookup] = outcome.steps;
    expect(token).toMatchObject({
      step_name: 'token',
      step_index: 0,
      method: 'POST',
      url: 'https://login.test/***/token',
      request_body: { client_secret: '***', grant_type: 'client_credentials' },
      status: 200,
      response_body: { access_token: '***', expires_in: 3600 },
      outcome: 'ok',
      error: null,
    });
    expect(lookup).toMatchObject({
      url: 'https://api.test/ip/185.220.101.32?key=***',
      request_headers: { Authorization: '***', 'X-Custom': 'k=***', Accept: 'application/json' },
      request_body: { apiKey: '***', q: '185.220.101.32' },
      response_headers: { 'content-type': 'application/json', 'x-request-id': 'r1' },
      response_body: { echo: 'you sent ***', data: { country: 'DE' } },
    });
    expect(typeof lookup?.duration_ms).toBe('number');
  });

  it('collects nothing unless asked', async () => {
    const { promise } = run(config, () => jsonResponse({ access_token: 'x' }));
    expect((await promise).steps).toEqual([]);
  });

  it('records failed and timed-out steps with masked URLs', async () => {
    const { promise } = run(
      { steps: [{ name: 'lookup', url: 'https://api.test/{{value}}?key={{auth.api_key}}', timeout_ms: 10 }] },
      hangingHandler,
      { debug: true },
    );
    const outcome = await promise;
    expect(outcome.steps).toEqual([
      expect.objectContaining({
        url: 'https://api.test/185.220.101.32?key=***',
        status: null,
        outcome: 'failed',
        error: "Step 'lookup' failed: timed out after 10 ms",
      }),
    ]);
  });

  it('never puts a credential into an error message', async () => {
    const { promise } = run({ steps: [{ url: '{{auth.api_key | raw}}/x' }] }, () => jsonResponse({}));
    const error = expectFailed(await promise);
    expect(error).not.toContain(secret);
  });
});

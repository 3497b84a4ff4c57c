import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MockProvidersServer, mockBaseUrls, startMockProviders, toMockUrl } from './index.js';

let server: MockProvidersServer;

beforeAll(async () => {
  server = await startMockProviders();
});
afterAll(() => server.close());
beforeEach(() => {
  server.setOptions({
    latencyMs: undefined,
    errorRate: undefined,
    rateLimit: undefined,
    malformedRate: undefined,
    providers: undefined,
    apiKeys: {},
  });
  server.reset();
});

const VT_HEADERS = { 'x-apikey': 'k' };
const vtIp = (ip = '8.8.8.8') =>
  fetch(`${server.baseUrls.virustotal}/api/v3/ip_addresses/${ip}`, { headers: VT_HEADERS });
const abuse = (ip = '8.8.8.8') =>
  fetch(`${server.baseUrls.abuseipdb}/api/v2/check?ipAddress=${ip}&maxAgeInDays=90`, { headers: { Key: 'k' } });
const oktaUser = () =>
  fetch(`${server.baseUrls.okta}/api/v1/users/jdoe%40corp.com`, { headers: { Authorization: 'SSWS t' } });
const graphUser = () =>
  fetch(`${server.baseUrls.graph}/v1.0/users/jdoe%40corp.com`, { headers: { Authorization: 'Bearer t' } });

async function statuses(n: number, call: () => Promise<Response>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await call();
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

describe('rate limiting', () => {
  it('every: N → every Nth request to a provider is a 429 with Retry-After', async () => {
    server.setOptions({ rateLimit: { every: 3, retryAfterSeconds: 7 } });
    expect(await statuses(7, () => vtIp())).toEqual([200, 200, 429, 200, 200, 429, 200]);
    const res = await vtIp();
    expect(res.status).toBe(200); // 8th
    const ninth = await vtIp();
    expect(ninth.status).toBe(429);
    expect(ninth.headers.get('retry-after')).toBe('7');
    expect(ninth.headers.get('x-mock-fault')).toBe('rate-limit');
    expect(await ninth.json()).toEqual({ error: { code: 'QuotaExceededError', message: 'Quota exceeded' } });
  });

  it('counts each provider separately and uses each provider’s 429 shape', async () => {
    server.setOptions({ rateLimit: { every: 2 } });
    expect(await statuses(2, () => vtIp())).toEqual([200, 429]);
    expect(await statuses(1, () => abuse())).toEqual([200]);
    const a = await abuse();
    expect(a.status).toBe(429);
    expect(a.headers.get('retry-after')).toBe('1');
    expect(a.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(a.headers.get('x-ratelimit-reset')).toMatch(/^\d+$/);
    expect(((await a.json()) as any).errors[0].status).toBe(429);
    await (await oktaUser()).arrayBuffer();
    const o = await oktaUser();
    expect(o.status).toBe(429);
    expect(((await o.json()) as any).errorCode).toBe('E0000047');
    expect(o.headers.get('x-rate-limit-remaining')).toBe('0');
    await (await graphUser()).arrayBuffer();
    const g = await graphUser();
    expect(g.status).toBe(429);
    expect(((await g.json()) as any).error.code).toBe('TooManyRequests');
    expect(g.headers.get('retry-after')).toBe('1');
  });

  it('perMinute: requests beyond the window limit get 429 with Retry-After', async () => {
    server.setOptions({ rateLimit: { perMinute: 2 } });
    expect(await statuses(4, () => vtIp())).toEqual([200, 200, 429, 429]);
    const res = await vtIp();
    expect(res.status).toBe(429);
    const retry = Number(res.headers.get('retry-after'));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect(await statuses(1, () => abuse())).toEqual([200]);
  });

  it('per-provider overrides apply only to that provider', async () => {
    server.setOptions({ providers: { okta: { rateLimit: { every: 1 } } } });
    expect(await statuses(2, oktaUser)).toEqual([429, 429]);
    expect(await statuses(2, () => vtIp())).toEqual([200, 200]);
  });
});

describe('server errors and malformed bodies', () => {
  it('errorRate spreads 500s evenly and deterministically', async () => {
    server.setOptions({ errorRate: 0.25 });
    expect(await statuses(8, () => vtIp())).toEqual([200, 200, 200, 500, 200, 200, 200, 500]);
    server.setOptions({ errorRate: 1 });
    const res = await vtIp();
    expect(res.status).toBe(500);
    expect(res.headers.get('x-mock-fault')).toBe('server-error');
    expect(((await res.json()) as any).error.code).toBe('TransientError');
  });

  it('500 bodies follow each provider’s error shape', async () => {
    server.setOptions({ errorRate: 1 });
    expect(((await (await abuse()).json()) as any).errors[0].status).toBe(500);
    expect(((await (await oktaUser()).json()) as any).errorCode).toBe('E0000009');
    expect(((await (await graphUser()).json()) as any).error.code).toBe('generalException');
  });

  it('malformedRate truncates 200 bodies so they no longer parse', async () => {
    server.setOptions({ malformedRate: 0.5 });
    const first = await vtIp();
    expect(JSON.parse(await first.text())).toBeTruthy();
    const second = await vtIp();
    expect(second.status).toBe(200);
    expect(second.headers.get('x-mock-fault')).toBe('malformed');
    const text = await second.text();
    expect(Number(second.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(() => JSON.parse(text)).toThrow();
  });

  it('leaves error responses alone when malformed', async () => {
    server.setOptions({ malformedRate: 1 });
    const res = await fetch(`${server.baseUrls.virustotal}/api/v3/ip_addresses/8.8.8.8`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'AuthenticationRequiredError' } });
  });
});

describe('latency', () => {
  it('applies a fixed delay and reports it in x-mock-latency-ms', async () => {
    server.setOptions({ latencyMs: 30 });
    const started = performance.now();
    const res = await vtIp();
    expect(res.headers.get('x-mock-latency-ms')).toBe('30');
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('draws a range deterministically per request sequence', async () => {
    server.setOptions({ latencyMs: { min: 1, max: 9 } });
    const run = async () => {
      const out: number[] = [];
      for (let i = 0; i < 5; i++) out.push(Number((await vtIp()).headers.get('x-mock-latency-ms')));
      return out;
    };
    const first = await run();
    server.reset();
    expect(await run()).toEqual(first);
    for (const v of first) {
      expect(v).toBeGreaterThanOrEqual(1);
      expect(v).toBeLessThanOrEqual(9);
    }
  });

  it('reports zero without latency', async () => {
    expect((await vtIp()).headers.get('x-mock-latency-ms')).toBe('0');
  });
});

describe('stats', () => {
  it('counts exactly the requests made, by provider, endpoint, path, value and status', async () => {
    await statuses(3, () => vtIp('185.220.101.34'));
    await statuses(2, () => abuse('185.220.101.34'));
    await statuses(1, oktaUser);
    await statuses(1, () => fetch(`${server.url}/no/such/path`));
    const s = server.stats();
    expect(s.requests).toBe(7);
    expect(s.byProvider).toEqual({ virustotal: 3, abuseipdb: 2, okta: 1, entra: 0, unmatched: 1 });
    expect(s.byEndpoint['virustotal GET /api/v3/ip_addresses/{ip}']).toBe(3);
    expect(s.byEndpoint['abuseipdb GET /api/v2/check']).toBe(2);
    expect(s.byEndpoint['okta GET /api/v1/users/{id}']).toBe(1);
    expect(s.byValue['virustotal:185.220.101.34']).toBe(3);
    expect(s.byValue['abuseipdb:185.220.101.34']).toBe(2);
    expect(s.byValue['okta:jdoe@corp.com']).toBe(1);
    expect(s.byPath['/virustotal/api/v3/ip_addresses/185.220.101.34']).toBe(3);
    expect(s.byStatus).toEqual({ '200': 6, '404': 1 });
  });

  it('counts faults and concurrent requests exactly; reset clears everything', async () => {
    // 429 on multiples of 5; 500 on multiples of 4 that are not multiples of 5 (the 429 wins).
    server.setOptions({ rateLimit: { every: 5 }, errorRate: 0.25 });
    await Promise.all(Array.from({ length: 50 }, () => vtIp().then((r) => r.arrayBuffer())));
    const s = server.stats();
    expect(s.requests).toBe(50);
    expect(s.faults.rateLimited).toBe(10);
    expect(s.faults.serverErrors).toBe(10);
    expect(s.byStatus).toEqual({ '200': 30, '429': 10, '500': 10 });
    server.reset();
    expect(server.stats().requests).toBe(0);
    expect(server.stats().byValue).toEqual({});
  });

  it('does not count control endpoints, which expose stats, options and reset over HTTP', async () => {
    await statuses(2, () => vtIp());
    const viaHttp = (await (await fetch(`${server.url}/__mock/stats`)).json()) as any;
    expect(viaHttp.requests).toBe(2);
    const opts = await fetch(`${server.url}/__mock/options`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rateLimit: { every: 1 } }),
    });
    expect(((await opts.json()) as any).rateLimit).toEqual({ every: 1 });
    expect((await vtIp()).status).toBe(429);
    const bad = await fetch(`${server.url}/__mock/options`, { method: 'POST', body: '{"errorRate": 3}' });
    expect(bad.status).toBe(400);
    await fetch(`${server.url}/__mock/reset`, { method: 'POST' });
    expect(server.stats().requests).toBe(0);
    expect((await fetch(`${server.url}/__mock/health`)).status).toBe(200);
  });
});

describe('options and URL mapping', () => {
  it('validates options', async () => {
    expect(() => server.setOptions({ errorRate: 2 })).toThrow(RangeError);
    expect(() => server.setOptions({ rateLimit: { every: 0 } })).toThrow(RangeError);
    expect(() => server.setOptions({ latencyMs: { min: 5, max: 1 } })).toThrow(RangeError);
    await expect(startMockProviders({ malformedRate: -1 })).rejects.toThrow(RangeError);
  });

  it('maps real provider URLs onto the mock', () => {
    const b = mockBaseUrls('http://127.0.0.1:8090/');
    expect(b).toEqual({
      virustotal: 'http://127.0.0.1:8090/virustotal',
      abuseipdb: 'http://127.0.0.1:8090/abuseipdb',
      okta: 'http://127.0.0.1:8090/okta',
      entraLogin: 'http://127.0.0.1:8090/entra-login',
      graph: 'http://127.0.0.1:8090/graph',
    });
    const m = 'http://127.0.0.1:8090';
    expect(toMockUrl('https://www.virustotal.com/api/v3/files/abc', m)).toBe(`${m}/virustotal/api/v3/files/abc`);
    expect(toMockUrl('https://api.abuseipdb.com/api/v2/check?ipAddress=1.2.3.4', m)).toBe(
      `${m}/abuseipdb/api/v2/check?ipAddress=1.2.3.4`,
    );
    expect(toMockUrl('https://acme.okta.com/api/v1/users/x', m)).toBe(`${m}/okta/api/v1/users/x`);
    expect(toMockUrl('https://login.microsoftonline.com/t/oauth2/v2.0/token', m)).toBe(
      `${m}/entra-login/t/oauth2/v2.0/token`,
    );
    expect(toMockUrl('https://graph.microsoft.com/v1.0/users/x?$select=id', m)).toBe(
      `${m}/graph/v1.0/users/x?$select=id`,
    );
    expect(toMockUrl('https://example.com/x', m)).toBeNull();
  });

  it('runs the reference Okta and Entra step chains against the mock', async () => {
    const via = (real: string) => toMockUrl(real, server.url) as string;
    const value = encodeURIComponent('j.martinez@contoso.com');
    // okta: user_lookup → user_groups → user_manager
    const okta = { Authorization: 'SSWS token', Accept: 'application/json' };
    const u = (await (
      await fetch(via(`https://acme.okta.com/api/v1/users/${value}`), { headers: okta })
    ).json()) as any;
    const groups = await fetch(via(`https://acme.okta.com/api/v1/users/${u.id}/groups`), { headers: okta });
    const manager = await fetch(via(`https://acme.okta.com/api/v1/users/${u.id}/linkedObjects/manager`), {
      headers: okta,
    });
    expect([groups.status, manager.status]).toEqual([200, 200]);
    // entra: token → user_lookup → user_groups → user_manager
    const tok = (await (
      await fetch(via('https://login.microsoftonline.com/00000000-1111-2222-3333-444444444444/oauth2/v2.0/token'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: 'c',
          client_secret: 's',
          scope: 'https://graph.microsoft.com/.default',
          grant_type: 'client_credentials',
        }),
      })
    ).json()) as any;
    const g = { Authorization: `Bearer ${tok.access_token}` };
    const gu = (await (
      await fetch(
        via(
          `https://graph.microsoft.com/v1.0/users/${value}?$select=id,displayName,userPrincipalName,mail,accountEnabled,department,jobTitle,lastPasswordChangeDateTime`,
        ),
        { headers: g },
      )
    ).json()) as any;
    const mo = await fetch(via(`https://graph.microsoft.com/v1.0/users/${gu.id}/memberOf?$select=displayName`), {
      headers: g,
    });
    const mg = await fetch(
      via(`https://graph.microsoft.com/v1.0/users/${gu.id}/manager?$select=displayName,mail,jobTitle`),
      {
        headers: g,
      },
    );
    expect([mo.status, mg.status]).toEqual([200, 200]);
    const s = server.stats();
    expect(s.byProvider.okta).toBe(3);
    expect(s.byProvider.entra).toBe(4);
  });
});

describe('CLI flags', () => {
  it('parses the documented flags', async () => {
    const { parseCliOptions } = await import('./main.js');
    expect(
      parseCliOptions(['--port', '0', '--latency', '20-80', '--error-rate', '0.1', '--rate-limit-every', '5']),
    ).toEqual({
      port: 0,
      host: '127.0.0.1',
      latencyMs: { min: 20, max: 80 },
      errorRate: 0.1,
      malformedRate: undefined,
      rateLimit: { every: 5, perMinute: undefined, retryAfterSeconds: undefined },
      apiKeys: {},
    });
    expect(parseCliOptions(['--latency', '50', '--virustotal-key', 'k'])).toMatchObject({
      port: 8090,
      latencyMs: 50,
      apiKeys: { virustotal: 'k' },
    });
    expect(parseCliOptions(['-h'])).toBe('help');
    expect(() => parseCliOptions(['--error-rate', 'lots'])).toThrow(/--error-rate/);
    expect(() => parseCliOptions(['--bogus'])).toThrow();
  });
});

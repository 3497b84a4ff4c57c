import net from 'node:net';
import { type CoreDeps, createCore, createLogger } from '@calseta/core';
import { createDb, type DbHandle } from '@calseta/db';
import { firstParty } from '@calseta/integrations';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { createHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const APP_OPTIONS = { version: 'db-down', maxIngestBytes: 1_048_576, maxBodyBytes: 1_048_576, logRequests: false };

/** An app whose database is `url` (unreachable), sharing the harness's working queue. */
function appWithDatabase(
  url: string,
  connectionTimeoutMillis?: number,
): { app: ReturnType<typeof createApp>; handle: DbHandle } {
  const handle = createDb({ url, max: 2, ...(connectionTimeoutMillis !== undefined && { connectionTimeoutMillis }) });
  const deps: CoreDeps = createCore({
    integrations: firstParty,
    db: handle.db,
    queue: h.deps.queue,
    logger: createLogger({ service: 'test', level: 'silent' }),
    config: { dedupWindowHours: 24, webhookSecrets: {} },
  });
  return { app: createApp(deps, APP_OPTIONS), handle };
}

const SECURITY_HEADERS = (headers: Headers) => {
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  expect(headers.get('x-frame-options')).toBe('DENY');
  expect(headers.get('content-security-policy')).toEqual(expect.stringContaining("frame-ancestors 'none'"));
};

describe('/health', () => {
  it('200 with database and queue status, no key needed', async () => {
    const res = await h.request('GET', '/health', { key: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      version: 'test',
      database: 'ok',
      queue: 'ok',
      queue_depth: expect.any(Number),
      mocked_providers: [],
    });
    expect(Number.isInteger(res.body.queue_depth)).toBe(true);
    // A bad key does not matter either: /health is not authenticated.
    const withBadKey = await h.request('GET', '/health', { key: null, headers: { authorization: 'Bearer nope' } });
    expect(withBadKey.status).toBe(200);
  });

  it('queue_depth counts jobs waiting for a worker', async () => {
    const before = (await h.request('GET', '/health', { key: null })).body.queue_depth;
    const res = await h.request('POST', '/v1/ingest/generic', { json: { title: 'Waiting job', src_ip: '192.0.2.50' } });
    expect(res.status).toBe(202);
    const after = (await h.request('GET', '/health', { key: null })).body.queue_depth;
    expect(after).toBe(before + 1);
  });
});

describe('when the database is unreachable', () => {
  let down: ReturnType<typeof appWithDatabase>;
  beforeAll(() => {
    down = appWithDatabase('postgres://x:y@127.0.0.1:1/none');
  });
  afterAll(() => down.handle.db.destroy());

  it('/health answers 503 status down, the queue still ok', async () => {
    const res = await down.app.request('/health');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: 'down',
      version: 'db-down',
      database: 'error',
      queue: 'ok',
      queue_depth: expect.any(Number),
      mocked_providers: expect.any(Array),
    });
  });

  it.each([
    ['GET', '/v1/alerts', undefined],
    ['GET', '/v1/api-keys', undefined],
    ['GET', '/v1/indicator-mappings', undefined],
    ['POST', '/v1/ingest/generic', { title: 'lost?' }],
  ])('%s %s answers 503 SERVICE_UNAVAILABLE, not 500', async (method, path, json) => {
    const res = await down.app.request(path, {
      method,
      headers: { authorization: `Bearer ${h.adminKey}`, 'content-type': 'application/json', 'x-request-id': 'down-1' },
      ...(json !== undefined && { body: JSON.stringify(json) }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    const body = await res.json();
    expect(body).toEqual({
      error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) },
      request_id: 'down-1',
    });
    expect(res.headers.get('x-request-id')).toBe('down-1');
  });

  it('the OpenAPI document does not need the database', async () => {
    const res = await down.app.request('/openapi.json');
    expect(res.status).toBe(200);
  });

  // A host that does not resolve (e.g. the compose `db` service is stopped) is "database down" too.
  it('an unresolvable database host also gives 503, not 500', async () => {
    const dns = appWithDatabase('postgres://x:y@calseta-db.invalid:5432/none');
    try {
      const res = await dns.app.request('/v1/alerts', { headers: { authorization: `Bearer ${h.adminKey}` } });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      await dns.handle.db.destroy();
    }
  });

  // Postgres out of connection slots ("sorry, too many clients already", 53300) means "retry", not
  // "bug": found by `pnpm bench pipeline` with 4 workers and the API on one default server.
  it('a database out of connection slots gives 503, not 500', async () => {
    const role = `no_slots_${Math.random().toString(36).slice(2, 10)}`;
    await h.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw' CONNECTION LIMIT 0`);
    const url = new URL(h.databaseUrl);
    url.username = role;
    url.password = 'pw';
    const full = appWithDatabase(url.toString());
    try {
      const res = await full.app.request('/v1/alerts', { headers: { authorization: `Bearer ${h.adminKey}` } });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      await full.handle.db.destroy();
      await h.query(`DROP ROLE ${role}`);
    }
  });

  // A server that accepts the connection but never answers must fail the request, not hang it.
  it('answers 503 when the database accepts connections but never replies', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const stuck = appWithDatabase(`postgres://x:y@127.0.0.1:${port}/none`, 300);
    try {
      const res = await stuck.app.request('/v1/alerts', { headers: { authorization: `Bearer ${h.adminKey}` } });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SERVICE_UNAVAILABLE');
      expect(createDb({ url: 'postgres://x@127.0.0.1/none' }).pool.options.connectionTimeoutMillis).toBe(5_000);
    } finally {
      await stuck.handle.db.destroy();
      silent.close();
    }
  });
});

describe('/openapi.json', () => {
  const PATHS: Record<string, Record<string, string[]>> = {
    '/v1/alerts': { get: ['alerts:read'], post: ['alerts:write'] },
    '/v1/alerts/{alert_uuid}': { get: ['alerts:read'], patch: ['alerts:write'], delete: ['admin'] },
    '/v1/alerts/{alert_uuid}/indicators': { get: ['alerts:read'], post: ['alerts:write'] },
    '/v1/alerts/{alert_uuid}/activity': { get: ['alerts:read'] },
    '/v1/ingest/{source_name}': { post: ['alerts:write'] },
    '/v1/api-keys': { get: ['admin'], post: ['admin'] },
    '/v1/api-keys/{key_uuid}': { get: ['admin'], patch: ['admin'], delete: ['admin'] },
    '/v1/indicator-mappings': { get: ['admin'], post: ['admin'] },
    '/v1/indicator-mappings/{mapping_uuid}': { get: ['admin'], patch: ['admin'], delete: ['admin'] },
    '/v1/indicator-mappings/test-extraction': { post: ['admin'] },
    '/v1/indicator-mappings/source-plugin-fields': { get: ['admin'] },
  };
  let doc: any;

  beforeAll(async () => {
    const res = await h.request('GET', '/openapi.json', { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    doc = res.body;
  });

  it('is OpenAPI 3.1', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: 'test' });
  });

  it.each(Object.entries(PATHS))('documents %s with its security and scopes', (path, methods) => {
    expect(doc.paths).toHaveProperty([path]);
    for (const [method, scopes] of Object.entries(methods)) {
      const operation = doc.paths[path][method];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(operation.security).toEqual([{ ApiKey: [] }]);
      expect(operation['x-required-scopes']).toEqual(scopes);
      expect(operation.responses).toHaveProperty(['401']);
      expect(operation.responses).toHaveProperty(['403']);
    }
  });

  it('documents only the methods we serve on those paths', () => {
    for (const [path, methods] of Object.entries(PATHS)) {
      const documented = Object.keys(doc.paths[path]).filter((k) =>
        ['get', 'post', 'put', 'patch', 'delete'].includes(k),
      );
      expect(documented.sort(), path).toEqual(Object.keys(methods).sort());
    }
  });

  it('declares the bearer scheme and the main schemas', () => {
    expect(doc.components.securitySchemes.ApiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const name of ['Alert', 'AlertSummary', 'ApiKey']) expect(doc.components.schemas).toHaveProperty([name]);
    expect(doc.components.schemas.Alert.properties).toHaveProperty(['malice']);
    expect(doc.components.schemas.ApiKey.properties).not.toHaveProperty(['key']);
    expect(JSON.stringify(doc.components.schemas.ApiKey)).not.toMatch(/hash/i);
  });
});

describe('/docs', () => {
  it('serves HTML whose scripts and styles are all local, and each asset loads', async () => {
    const res = await h.request('GET', '/docs', { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html: string = res.body;
    const scripts = [...html.matchAll(/<script\b[^>]*>/gi)].map((m) => m[0]);
    const links = [...html.matchAll(/<link\b[^>]*>/gi)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(0);
    expect(links.length).toBeGreaterThan(0);
    // The CSP forbids inline scripts, so every script must come from a file.
    for (const tag of scripts) expect(tag).toMatch(/\ssrc=/);
    expect(html).not.toMatch(/<script\b[^>]*>\s*[^<\s]/i);

    const refs = [...scripts, ...links].map((tag) => /\s(?:src|href)="([^"]+)"/.exec(tag)?.[1]);
    expect(refs.every((r) => typeof r === 'string')).toBe(true);
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);
    for (const ref of refs as string[]) {
      expect(ref.startsWith('/')).toBe(true);
      const asset = await h.request('GET', ref, { key: null });
      expect(asset.status, ref).toBe(200);
      const type = asset.headers.get('content-type') ?? '';
      if (ref.endsWith('.css')) expect(type, ref).toMatch(/^text\/css/);
      else expect(type, ref).toMatch(/^(text|application)\/javascript/);
      expect(typeof asset.body === 'string' && asset.body.length > 0).toBe(true);
    }
    expect(refs).toEqual(expect.arrayContaining(['/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css']));
  });

  it('the docs CSP allows only same-origin scripts', async () => {
    const res = await h.request('GET', '/docs', { key: null });
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*(unsafe-inline|https?:|\*)/);
    expect(csp).not.toMatch(/default-src[^;]*(unsafe-inline|https?:|\*)/);
  });

  it.each(['/docs/assets/evil.js', '/docs/assets/package.json', '/docs/assets/..%2Fpackage.json'])(
    '%s is not served',
    async (path) => {
      const res = await h.request('GET', path, { key: null });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
    },
  );
});

describe('cross-cutting HTTP behaviour', () => {
  it('sets the security headers on every kind of response', async () => {
    const responses = [
      await h.request('GET', '/health', { key: null }),
      await h.request('GET', '/v1/alerts'),
      await h.request('GET', '/v1/alerts', { key: null }),
      await h.request('GET', '/v1/does-not-exist'),
      await h.request('GET', '/openapi.json', { key: null }),
      await h.request('GET', '/docs', { key: null }),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 200, 401, 404, 200, 200]);
    for (const res of responses) SECURITY_HEADERS(res.headers);
    expect(responses[1]?.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
  });

  it('echoes an inbound X-Request-ID, in the header and in error bodies', async () => {
    const ok = await h.request('GET', '/v1/alerts', { headers: { 'x-request-id': 'trace-abc.123:9' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-request-id')).toBe('trace-abc.123:9');
    const error = await h.request('GET', '/v1/alerts', { key: null, headers: { 'x-request-id': 'trace-err-7' } });
    expect(error.status).toBe(401);
    expect(error.headers.get('x-request-id')).toBe('trace-err-7');
    expect(error.body.request_id).toBe('trace-err-7');
  });

  it('replaces an unusable inbound X-Request-ID with a fresh one', async () => {
    const res = await h.request('GET', '/v1/nope', { headers: { 'x-request-id': 'has spaces <script>' } });
    const id = res.headers.get('x-request-id');
    expect(id).not.toBe('has spaces <script>');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.request_id).toBe(id);
    const none = await h.request('GET', '/v1/nope');
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(none.headers.get('x-request-id')).not.toBe(id);
  });

  it.each([
    ['GET', '/v1/does-not-exist'],
    ['GET', '/nope'],
    ['PUT', '/v1/alerts'],
    ['POST', '/health'],
  ])('%s %s → 404 NOT_FOUND envelope', async (method, path) => {
    const res = await h.request(method, path, { key: null });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(res.body).toEqual({
      error: { code: 'NOT_FOUND', message: 'The requested resource was not found.' },
      request_id: res.headers.get('x-request-id'),
    });
  });
});

import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import type { SecurityOptions } from '../src/types.js';
import { createHarness, type Harness } from './harness.js';

const lines: string[] = [];
let h: Harness;
const closers: Array<() => Promise<void>> = [];
beforeAll(async () => {
  h = await createHarness({ logSink: (line) => lines.push(line), allowHosts: ['127.0.0.1:9'] });
});
afterAll(async () => {
  for (const close of closers) await close();
  await h?.close();
});

async function serveApp(security: SecurityOptions) {
  const app = createApp(h.deps, {
    version: 'test',
    maxIngestBytes: 5 * 1_048_576,
    maxBodyBytes: 10 * 1_048_576,
    logRequests: false,
    security,
  });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const preflight = (base: string, origin: string) =>
  fetch(`${base}/v1/alerts`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'authorization',
    },
  });

describe('CORS', () => {
  it('is off by default: no CORS headers, even for a preflight', async () => {
    const pre = await preflight(h.baseUrl, 'https://ui.example');
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const res = await fetch(`${h.baseUrl}/v1/alerts`, {
      headers: { origin: 'https://ui.example', authorization: `Bearer ${h.adminKey}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows exactly the configured origins, without credentials', async () => {
    const base = await serveApp({ corsOrigins: ['https://ui.example'] });
    const pre = await preflight(base, 'https://ui.example');
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://ui.example');
    expect(pre.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
    const res = await fetch(`${base}/v1/alerts`, {
      headers: { origin: 'https://ui.example', authorization: `Bearer ${h.adminKey}` },
    });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://ui.example');
    expect(res.headers.get('access-control-expose-headers')).toContain('X-Request-ID');

    const other = await preflight(base, 'https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('error bodies', () => {
  it('never echo the request body back, and carry the request id', async () => {
    const res = await h.request('POST', '/v1/sources', {
      body: '{"display_name": cai_pasted_by_mistake_0123456789}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_JSON');
    expect(res.body.error.details.reason).toBe("Unexpected token 'c'");
    expect(JSON.stringify(res.body)).not.toContain('cai_pasted');
    expect(res.body.request_id).toBe(res.headers.get('x-request-id'));
  });
});

describe('security headers', () => {
  it('are on every response; HSTS only when enabled', async () => {
    const res = await fetch(`${h.baseUrl}/v1/alerts`);
    expect(res.status).toBe(401);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('strict-transport-security')).toBeNull();
    const hsts = await serveApp({ hsts: true });
    const secure = await fetch(`${hsts}/health`);
    expect(secure.headers.get('strict-transport-security')).toBe('max-age=63072000; includeSubDomains');
  });
});

describe('audit log', () => {
  it('records every write through the API (who, what, when) and reads it back through /v1/activity', async () => {
    const writer = await h.createKey({ name: 'audit-writer', scopes: ['agents:write', 'agents:read'] });
    const created = await h.request('POST', '/v1/agents', {
      key: writer,
      json: { name: 'audited agent', endpoint_url: 'http://127.0.0.1:9/hook' },
    });
    expect(created.status).toBe(201);
    const uuid = created.body.data.uuid as string;
    const patched = await h.request('PATCH', `/v1/agents/${uuid}`, { key: writer, json: { description: 'x' } });
    expect(patched.status).toBe(200);
    const deleted = await h.request('DELETE', `/v1/agents/${uuid}`, { key: writer });
    expect(deleted.status).toBe(204);
    // A failed write is not recorded as a write.
    expect((await h.request('DELETE', `/v1/agents/${uuid}`, { key: writer })).status).toBe(404);

    const res = await h.request('GET', `/v1/activity?event_type=api_write&actor_key_prefix=${writer.slice(0, 8)}`);
    expect(res.status).toBe(200);
    const events = res.body.data as Array<{
      actor_key_prefix: string;
      actor_key_name: string;
      request_id: string;
      references: Record<string, unknown>;
      created_at: string;
    }>;
    expect(events.map((e) => [e.references.method, e.references.route, e.references.resource_id])).toEqual([
      ['DELETE', '/v1/agents/:agent_uuid', uuid],
      ['PATCH', '/v1/agents/:agent_uuid', uuid],
      ['POST', '/v1/agents', uuid],
    ]);
    for (const event of events) {
      expect(event.actor_key_prefix).toBe(writer.slice(0, 8));
      expect(event.actor_key_name).toBe('audit-writer');
      expect(Date.parse(event.created_at)).not.toBeNaN();
    }
    expect(events[2]?.request_id).toBe(created.headers.get('x-request-id'));
    expect(res.body.meta.total).toBe(3);

    // Reads are not audited as writes; the audit log is admin-only.
    expect((await h.request('GET', '/v1/activity', { key: writer })).status).toBe(403);
  });

  it('records auth failures (bad, expired, revoked key; wrong scope) without the key', async () => {
    const scoped = await h.createKey({ scopes: ['alerts:read'] });
    const expired = await h.createKey({ scopes: ['alerts:read'], expires_at: '2020-01-01T00:00:00Z' });
    const revoked = await h.createKey({ scopes: ['alerts:read'] });
    const [row] = await h.query<{ uuid: string }>('SELECT uuid FROM api_keys WHERE key_prefix = $1', [
      revoked.slice(0, 8),
    ]);
    expect((await h.request('DELETE', `/v1/api-keys/${row?.uuid}`)).status).toBe(204);
    const unknown = `cai_${'q'.repeat(43)}`;

    expect((await h.request('GET', '/v1/alerts', { key: null })).status).toBe(401);
    expect((await h.request('GET', '/v1/alerts', { key: null, headers: { authorization: 'Token x' } })).status).toBe(
      401,
    );
    expect((await h.request('GET', '/v1/alerts', { key: unknown })).status).toBe(401);
    expect((await h.request('GET', '/v1/alerts', { key: expired })).status).toBe(401);
    expect((await h.request('GET', '/v1/alerts', { key: revoked })).status).toBe(401);
    const forbidden = await h.request('GET', '/v1/api-keys', { key: scoped });
    expect(forbidden.status).toBe(403);

    const res = await h.request('GET', '/v1/activity?event_type=auth_failed&page_size=500');
    expect(res.status).toBe(200);
    const events = res.body.data as Array<{ actor_key_prefix: string | null; references: Record<string, unknown> }>;
    // Newest first; the last six are this test's (earlier tests made keyless requests too).
    const reasons = events
      .slice(0, 6)
      .map((e) => [e.references.reason, e.actor_key_prefix])
      .reverse();
    expect(reasons).toEqual([
      ['missing_header', null],
      ['invalid_format', null],
      ['invalid_key', unknown.slice(0, 8)],
      ['key_expired', expired.slice(0, 8)],
      ['invalid_key', revoked.slice(0, 8)],
      ['insufficient_scope', scoped.slice(0, 8)],
    ]);
    const scope = events[0]?.references;
    expect(scope).toMatchObject({
      code: 'FORBIDDEN',
      method: 'GET',
      route: '/v1/api-keys',
      required_scopes: ['admin'],
      client_ip: '127.0.0.1',
    });
    const text = JSON.stringify(res.body);
    for (const key of [scoped, expired, revoked, unknown]) expect(text).not.toContain(key);
  });

  it('filters by time and paginates', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const none = await h.request('GET', `/v1/activity?from=${encodeURIComponent(future)}`);
    expect(none.status).toBe(200);
    expect(none.body.data).toEqual([]);
    const page = await h.request('GET', '/v1/activity?page=1&page_size=2');
    expect(page.body.data).toHaveLength(2);
    expect(page.body.meta.page_size).toBe(2);
    expect((await h.request('GET', '/v1/activity?from=yesterday')).status).toBe(422);
  });
});

describe('logs', () => {
  it('never contain a secret, and every line of a request carries its request id', async () => {
    const webhookSecret = 'whsec_log_test_0123456789abcdef';
    const headerValue = 'agent-header-secret-0123456789';
    lines.length = 0;
    const src = await h.request('POST', '/v1/sources', {
      json: { source_name: 'generic', display_name: 'g', auth_config: { webhook_secret: webhookSecret } },
    });
    expect(src.status).toBe(201);
    const body = JSON.stringify({ title: 'log test', severity: 'Low' });
    const signature = createHmac('sha256', webhookSecret).update(body).digest('hex');
    const bad = await h.request('POST', '/v1/ingest/generic', {
      body,
      headers: { 'content-type': 'application/json', 'x-calseta-signature': 'sha256=deadbeef' },
    });
    expect(bad.status).toBe(401);
    const ok = await h.request('POST', '/v1/ingest/generic', {
      body,
      headers: { 'content-type': 'application/json', 'x-calseta-signature': `sha256=${signature}` },
    });
    expect(ok.status).toBe(202);
    const agent = await h.request('POST', '/v1/agents', {
      json: {
        name: 'log agent',
        endpoint_url: 'http://127.0.0.1:9/hook',
        auth_header_name: 'X-Api-Key',
        auth_header_value: headerValue,
      },
    });
    expect(agent.status).toBe(201);
    const badKey = `cai_${'z'.repeat(43)}`;
    expect((await h.request('GET', '/v1/alerts', { key: badKey })).status).toBe(401);
    // Anything that logs a request's headers or a body with credentials is redacted too.
    h.deps.logger.warn(
      {
        headers: { authorization: `Bearer ${h.adminKey}`, 'x-calseta-signature': signature },
        body: { auth_config: { webhook_secret: webhookSecret }, auth_header_value: headerValue },
      },
      'diagnostic',
    );

    const all = lines.join('\n');
    expect(lines.length).toBeGreaterThan(5);
    for (const secret of [webhookSecret, headerValue, signature, h.adminKey, badKey]) {
      expect(all).not.toContain(secret);
    }
    expect(all).toContain('[REDACTED]');
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const requestLines = parsed.filter((l) => l.msg === 'request');
    expect(requestLines.length).toBeGreaterThanOrEqual(5);
    const authFailure = parsed.find((l) => l.event === 'auth_failure');
    expect(authFailure).toMatchObject({ reason: 'invalid_key', key_prefix: badKey.slice(0, 8) });
    for (const line of parsed.filter((l) => l.msg !== 'diagnostic')) {
      expect(line.request_id, JSON.stringify(line)).toEqual(expect.any(String));
    }
    await h.request('DELETE', `/v1/sources/${src.body.data.uuid}`);
  });
});

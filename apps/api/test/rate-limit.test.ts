import type { AddressInfo } from 'node:net';
import { type CoreDeps, createCore, createLogger, JobQueue, parseTrustedProxies } from '@calseta/core';
import { createDb } from '@calseta/db';
import { firstParty } from '@calseta/integrations';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import type { SecurityOptions } from '../src/types.js';
import { createHarness, type Harness } from './harness.js';

// An odd window length (seconds): window edges fall at arbitrary times, so a test of a few requests
// practically never straddles one (with 60 s it would, once a minute).
const WINDOW = 7919;
const LIMITS: SecurityOptions['rateLimits'] = {
  limits: { authenticated: 3, ingest: 2, enrichment: 2, workflow_execute: 2, unauthenticated: 2 },
  windowSeconds: WINDOW,
};

let h: Harness;
const closers: Array<() => Promise<void>> = [];
beforeAll(async () => {
  h = await createHarness({ security: { rateLimits: LIMITS } });
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await h?.close();
});

/** Another API instance (same database) with its own options, over real HTTP. */
async function serveApp(deps: CoreDeps, security: SecurityOptions) {
  const app = createApp(deps, {
    version: 'test',
    maxIngestBytes: 5 * 1_048_576,
    maxBodyBytes: 10 * 1_048_576,
    logRequests: false,
    security,
  });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return async (path: string, headers: Record<string, string> = {}, init: RequestInit = {}) => {
    const res = await fetch(base + path, { ...init, headers });
    const text = await res.text();
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // HTML (approval pages)
    }
    return { status: res.status, headers: res.headers, body };
  };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('per-key limits', () => {
  it('counts each key on its own, answers 429 with Retry-After and RateLimit headers', async () => {
    const a = await h.createKey({ scopes: ['alerts:read'] });
    const b = await h.createKey({ scopes: ['alerts:read'] });
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await h.request('GET', '/v1/alerts', { key: a });
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-limit')).toBe('3');
      remaining.push(res.headers.get('ratelimit-remaining') ?? '');
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const refused = await h.request('GET', '/v1/alerts', { key: a });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('RATE_LIMITED');
    expect(refused.body.request_id).toBe(refused.headers.get('x-request-id'));
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW);
    expect(refused.body.error.details.retry_after_seconds).toBe(retryAfter);
    expect(refused.body.error.message).toBe(`Rate limit exceeded. Retry after ${retryAfter} seconds.`);
    // Another key from the same client IP has its own budget.
    expect((await h.request('GET', '/v1/alerts', { key: b })).status).toBe(200);
  });

  it('ingest has its own class and budget', async () => {
    const key = await h.createKey({ scopes: ['alerts:write', 'alerts:read'] });
    const ingest = (i: number) =>
      h.request('POST', '/v1/ingest/generic', { key, json: { title: `rate ${i} ${Date.now()}`, severity: 'Low' } });
    expect((await ingest(1)).status).toBe(202);
    const second = await ingest(2);
    expect(second.status).toBe(202);
    expect(second.headers.get('ratelimit-limit')).toBe('2');
    const third = await ingest(3);
    expect(third.status).toBe(429);
    // The same key's authenticated budget is untouched.
    expect((await h.request('GET', '/v1/alerts', { key })).status).toBe(200);
  });

  it('holds across two API instances on one database', async () => {
    // A second process's core: its own pool and queue on the same database.
    const logger = createLogger({ service: 'test', level: 'silent' });
    const { db } = createDb({ url: h.databaseUrl, max: 2 });
    const queue = new JobQueue({ url: h.databaseUrl, logger });
    closers.push(async () => {
      await queue.stop();
      await db.destroy();
    });
    const otherDeps = createCore({
      integrations: firstParty,
      db,
      queue,
      logger,
      config: { dedupWindowHours: 24, webhookSecrets: {} },
    });
    const other = await serveApp(otherDeps, { rateLimits: LIMITS });
    const key = await h.createKey({ scopes: ['alerts:read'] });
    expect((await h.request('GET', '/v1/alerts', { key })).status).toBe(200);
    expect((await other('/v1/alerts', bearer(key))).status).toBe(200);
    expect((await h.request('GET', '/v1/alerts', { key })).status).toBe(200);
    const fourth = await other('/v1/alerts', bearer(key));
    expect(fourth.status).toBe(429);
    expect((await h.request('GET', '/v1/alerts', { key })).status).toBe(429);
  });

  it('without limits configured nothing is counted', async () => {
    const open = await serveApp(h.deps, {});
    const key = await h.createKey({ scopes: ['alerts:read'] });
    for (let i = 0; i < 5; i++) {
      const res = await open('/v1/alerts', bearer(key));
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-limit')).toBeNull();
    }
  });
});

describe('storage', () => {
  it('counters live in an UNLOGGED table, one row per bucket and window', async () => {
    const [table] = await h.query<{ relpersistence: string }>(
      `SELECT relpersistence FROM pg_class WHERE relname = 'rate_limit_buckets'`,
    );
    expect(table?.relpersistence).toBe('u');
    const key = await h.createKey({ scopes: ['alerts:read'] });
    for (let i = 0; i < 2; i++) await h.request('GET', '/v1/alerts', { key });
    const rows = await h.query<{ count: number }>('SELECT count FROM rate_limit_buckets WHERE bucket = $1', [
      `authenticated:key:${key.slice(0, 8)}`,
    ]);
    expect(rows).toEqual([{ count: 2 }]);
  });
});

describe('per client IP', () => {
  it('limits failed authentications per IP; X-Forwarded-For is ignored unless the peer is a trusted proxy', async () => {
    const direct = await serveApp(h.deps, { rateLimits: LIMITS });
    // Untrusted peer: a spoofed X-Forwarded-For does not buy a fresh budget.
    const bad = (ip: string) => direct('/v1/alerts', { ...bearer(`cai_${'x'.repeat(43)}`), 'x-forwarded-for': ip });
    expect((await bad('198.51.100.1')).status).toBe(401);
    expect((await bad('198.51.100.2')).status).toBe(401);
    const limited = await bad('198.51.100.3');
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // A valid key from that IP still works: only failures are counted per IP.
    expect((await direct('/v1/alerts', bearer(h.adminKey))).status).toBe(200);

    // Behind a trusted proxy (the test client is 127.0.0.1), the forwarded client is the subject.
    const proxied = await serveApp(h.deps, {
      rateLimits: LIMITS,
      trustedProxies: parseTrustedProxies('127.0.0.1, 10.0.0.0/8'),
    });
    const viaProxy = (xff: string) =>
      proxied('/v1/alerts', { ...bearer(`cai_${'y'.repeat(43)}`), 'x-forwarded-for': xff });
    expect((await viaProxy('203.0.113.7')).status).toBe(401);
    expect((await viaProxy('203.0.113.7')).status).toBe(401);
    expect((await viaProxy('203.0.113.7')).status).toBe(429);
    // Another client behind the same proxy has its own budget; a forged left-most entry is not
    // believed (the right-most untrusted hop is the client), nor are trusted hops.
    expect((await viaProxy('203.0.113.8')).status).toBe(401);
    expect((await viaProxy('203.0.113.7, 203.0.113.9, 10.1.2.3')).status).toBe(401);

    const audit = await h.query<{ ip: string }>(
      `SELECT "references"->>'client_ip' AS ip FROM activity_events WHERE event_type = 'auth_failed' ORDER BY id`,
    );
    const ips = audit.map((r) => r.ip);
    expect(ips).toContain('127.0.0.1');
    expect(ips).toContain('203.0.113.8');
    expect(ips).toContain('203.0.113.9');
    expect(ips).not.toContain('198.51.100.1');
    // Audit rows are capped per IP per window (2 here), so a flood costs no more rows.
    expect(ips.filter((ip) => ip === '203.0.113.7')).toHaveLength(2);
  });

  it('limits routes without an API key (approval pages) per client IP', async () => {
    const approvals = await serveApp(h.deps, {
      rateLimits: LIMITS,
      trustedProxies: parseTrustedProxies('127.0.0.1'),
    });
    const page = (ip: string) =>
      approvals('/v1/approvals/0190c0de-0000-7000-8000-000000000000/decide?token=x', { 'x-forwarded-for': ip });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await page('192.0.2.50')).status);
    // An unknown approval: 404 (HTML), until the IP's budget is spent.
    expect(statuses).toEqual([404, 404, 404, 429]);
    expect((await page('192.0.2.51')).status).toBe(404);
  });
});

import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { agentMatches, contextFor, createAgent, retryDelaySeconds, SYSTEM, type TargetingSubject } from '@calseta/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

/** What a receiver does (as docs/agent-webhooks.md shows), written here independently of core. */
function verifySignature(
  secret: string,
  header: { timestamp: string | undefined; signature: string | undefined },
  body: string,
): boolean {
  const ts = Number(header.timestamp);
  if (!Number.isInteger(ts) || Math.abs(Date.now() / 1000 - ts) > 300) return false;
  const expected = Buffer.from(`v1=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`);
  const given = Buffer.from(header.signature ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local agent endpoint: records every request and answers `status`. */
async function startReceiver(status: () => number) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(status(), { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { received, host, url: `http://${host}/hook`, close: () => new Promise((r) => server.close(r)) };
}

const SUBJECT: TargetingSubject = {
  source_name: 'sentinel',
  severity: 'High',
  tags: ['identity', 'tor'],
  title: 'Brute force from Tor',
  malice: 'Malicious',
  detection_rule: ['Brute force'],
  mitre_tactics: ['CredentialAccess'],
  mitre_techniques: ['T1110'],
  indicator_types: ['ip', 'account'],
};

const base = {
  is_active: true,
  trigger_on_sources: [] as string[],
  trigger_on_severities: [] as string[],
  trigger_filter: null as Record<string, unknown> | null,
};

describe('agent trigger matching (reference §8.2)', () => {
  it('empty triggers match every alert; inactive agents match nothing', () => {
    expect(agentMatches(base, SUBJECT)).toBe(true);
    expect(agentMatches({ ...base, is_active: false }, SUBJECT)).toBe(false);
  });
  it('sources and severities: exact, case-sensitive membership', () => {
    expect(agentMatches({ ...base, trigger_on_sources: ['sentinel', 'elastic'] }, SUBJECT)).toBe(true);
    expect(agentMatches({ ...base, trigger_on_sources: ['Sentinel'] }, SUBJECT)).toBe(false);
    expect(agentMatches({ ...base, trigger_on_severities: ['High', 'Critical'] }, SUBJECT)).toBe(true);
    expect(agentMatches({ ...base, trigger_on_severities: ['high'] }, SUBJECT)).toBe(false);
    expect(agentMatches({ ...base, trigger_on_sources: ['sentinel'], trigger_on_severities: ['Low'] }, SUBJECT)).toBe(
      false,
    );
  });
  it('the filter uses the targeting evaluator and must hold as well', () => {
    const tor = { match_all: [{ field: 'tags', op: 'contains', value: 'tor' }] };
    const low = { match_all: [{ field: 'severity', op: 'lte', value: 'Medium' }] };
    expect(agentMatches({ ...base, trigger_filter: tor }, SUBJECT)).toBe(true);
    expect(agentMatches({ ...base, trigger_filter: low }, SUBJECT)).toBe(false);
    expect(
      agentMatches(
        {
          ...base,
          trigger_on_sources: ['sentinel'],
          trigger_filter: { match_any: [{ field: 'malice', op: 'gte', value: 'Suspicious' }] },
        },
        SUBJECT,
      ),
    ).toBe(true);
    expect(agentMatches({ ...base, trigger_on_sources: ['elastic'], trigger_filter: tor }, SUBJECT)).toBe(false);
  });
});

describe('retry backoff', () => {
  it('full jitter under an exponential ceiling, capped', () => {
    const top = () => 0.999_999;
    expect(retryDelaySeconds(2, {}, top)).toBeCloseTo(2, 2);
    expect(retryDelaySeconds(3, {}, top)).toBeCloseTo(4, 2);
    expect(retryDelaySeconds(5, {}, top)).toBeCloseTo(16, 2);
    expect(retryDelaySeconds(20, {}, top)).toBeCloseTo(300, 1);
    expect(retryDelaySeconds(4, { retryBaseSeconds: 1, retryCapSeconds: 3 }, top)).toBeCloseTo(3, 2);
    expect(retryDelaySeconds(6, {}, () => 0)).toBe(0);
    const samples = Array.from({ length: 200 }, () => retryDelaySeconds(4));
    expect(Math.max(...samples)).toBeLessThanOrEqual(8);
    expect(new Set(samples).size).toBeGreaterThan(100);
  });
});

describe('agent registry API', () => {
  let h: Harness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let status = 200;
  beforeAll(async () => {
    receiver = await startReceiver(() => status);
    h = await createHarness({ allowHosts: [receiver.host] });
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  const create = (json: Record<string, unknown>, key?: string) =>
    h.request('POST', '/v1/agents', {
      json: { name: 'triage-bot', endpoint_url: receiver.url, ...json },
      ...(key ? { key } : {}),
    });

  it('creates an agent: defaults, signing secret once, auth header never returned', async () => {
    const res = await create({ auth_header_name: 'Authorization', auth_header_value: 'Bearer agent-token-123' });
    expect(res.status).toBe(201);
    const agent = res.body.data;
    expect(agent).toMatchObject({
      name: 'triage-bot',
      endpoint_url: receiver.url,
      auth_header_name: 'Authorization',
      has_auth_header: true,
      trigger_on_sources: [],
      trigger_on_severities: [],
      trigger_filter: null,
      timeout_seconds: 30,
      retry_count: 3,
      token_budget: null,
      is_active: true,
    });
    expect(agent.signing_secret).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(res.body)).not.toContain('agent-token-123');
    expect(agent).not.toHaveProperty('auth_header_value');

    const got = await h.request('GET', `/v1/agents/${agent.uuid}`);
    expect(got.status).toBe(200);
    expect(got.body.data).not.toHaveProperty('signing_secret');
    expect(JSON.stringify(got.body)).not.toContain('agent-token-123');
    expect(JSON.stringify(got.body)).not.toContain(agent.signing_secret);

    // Stored encrypted, never in plaintext.
    const [row] = await h.query<Record<string, string>>(
      'SELECT auth_header_value_encrypted, signing_secret_encrypted FROM agent_registrations WHERE uuid = $1',
      [agent.uuid],
    );
    expect(row?.auth_header_value_encrypted).toContain('_encrypted');
    expect(row?.auth_header_value_encrypted).not.toContain('agent-token-123');
    expect(row?.signing_secret_encrypted).not.toContain(agent.signing_secret);

    const list = await h.request('GET', '/v1/agents');
    expect(JSON.stringify(list.body)).not.toContain('agent-token-123');
    expect(JSON.stringify(list.body)).not.toContain(agent.signing_secret);

    const activity = await h.query<{ event_type: string }>(
      `SELECT event_type FROM activity_events WHERE "references"->>'agent_uuid' = $1`,
      [agent.uuid],
    );
    expect(activity.map((a) => a.event_type)).toEqual(['agent_created']);
  });

  it('lists newest first, paginated', async () => {
    const a = (await create({ name: 'list-a' })).body.data;
    const b = (await create({ name: 'list-b' })).body.data;
    const res = await h.request('GET', '/v1/agents?page=1&page_size=2');
    expect(res.status).toBe(200);
    expect(res.body.data.map((x: { uuid: string }) => x.uuid)).toEqual([b.uuid, a.uuid]);
    expect(res.body.meta).toMatchObject({ page: 1, page_size: 2 });
    expect(res.body.meta.total).toBeGreaterThanOrEqual(3);
  });

  it('validates bounds, trigger filters and the header pair', async () => {
    for (const body of [
      { timeout_seconds: 0 },
      { timeout_seconds: 301 },
      { retry_count: 11 },
      { retry_count: -1 },
      { auth_header_name: 'X-Key' },
      { auth_header_value: 'v' },
      { auth_header_name: 'X-Key', auth_header_value: 'a\r\nInjected: 1' },
      { trigger_filter: { match_all: [{ field: 'nope', op: 'eq', value: 'x' }] } },
      { trigger_filter: {} },
      { name: '' },
      { unknown_field: 1 },
    ]) {
      const res = await create(body);
      expect({ body, status: res.status }).toEqual({ body, status: 422 });
    }
  });

  it('refuses endpoints the SSRF policy blocks (create and patch)', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://127.0.0.1:1/hook',
      'http://10.0.0.5/hook',
      'http://localhost/hook',
      'ftp://example.com/hook',
    ]) {
      const res = await create({ endpoint_url: url });
      expect({ url, status: res.status, code: res.body.error?.code }).toEqual({
        url,
        status: 400,
        code: 'INVALID_ENDPOINT_URL',
      });
      expect(res.body.error.message).toMatch(/^endpoint_url blocked by SSRF protection: /);
    }
    const agent = (await create({ name: 'ssrf-patch' })).body.data;
    const res = await h.request('PATCH', `/v1/agents/${agent.uuid}`, {
      json: { endpoint_url: 'http://169.254.169.254/' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_ENDPOINT_URL');
    expect((await h.request('GET', `/v1/agents/${agent.uuid}`)).body.data.endpoint_url).toBe(receiver.url);
  });

  it('patch: changes fields, sets and clears the auth header and the trigger filter', async () => {
    const filter = { match_any: [{ field: 'tags', op: 'contains', value: 'tor' }] };
    const agent = (await create({ name: 'patch-me', trigger_filter: filter })).body.data;
    expect(agent.trigger_filter).toEqual(filter);
    expect(agent.has_auth_header).toBe(false);

    let res = await h.request('PATCH', `/v1/agents/${agent.uuid}`, {
      json: {
        auth_header_name: 'X-Agent-Key',
        auth_header_value: 'secret-value-9',
        timeout_seconds: 5,
        token_budget: 4000,
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      auth_header_name: 'X-Agent-Key',
      has_auth_header: true,
      timeout_seconds: 5,
      token_budget: 4000,
    });
    expect(res.body.data.trigger_filter).toEqual(filter);
    expect(JSON.stringify(res.body)).not.toContain('secret-value-9');

    res = await h.request('PATCH', `/v1/agents/${agent.uuid}`, {
      json: { trigger_filter: null, auth_header_name: null },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      trigger_filter: null,
      auth_header_name: null,
      has_auth_header: false,
      timeout_seconds: 5,
    });
    const [row] = await h.query<{ auth_header_value_encrypted: string | null }>(
      'SELECT auth_header_value_encrypted FROM agent_registrations WHERE uuid = $1',
      [agent.uuid],
    );
    expect(row?.auth_header_value_encrypted).toBeNull();

    // Half a header is refused.
    res = await h.request('PATCH', `/v1/agents/${agent.uuid}`, { json: { auth_header_value: 'x' } });
    expect(res.status).toBe(422);
    expect((await h.request('PATCH', '/v1/agents/00000000-0000-4000-8000-000000000000', { json: {} })).status).toBe(
      404,
    );
  });

  it('rotates the signing secret (returned once) and deletes', async () => {
    const agent = (await create({ name: 'rotate-me' })).body.data;
    const rotated = await h.request('POST', `/v1/agents/${agent.uuid}/rotate-signing-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.data.signing_secret).toMatch(/^[0-9a-f]{64}$/);
    expect(rotated.body.data.signing_secret).not.toBe(agent.signing_secret);

    expect((await h.request('DELETE', `/v1/agents/${agent.uuid}`)).status).toBe(204);
    expect((await h.request('GET', `/v1/agents/${agent.uuid}`)).status).toBe(404);
    expect((await h.request('DELETE', `/v1/agents/${agent.uuid}`)).status).toBe(404);
  });

  it('scopes: agents:read reads, agents:write writes, alerts:read neither', async () => {
    const reader = await h.createKey({ scopes: ['agents:read'] });
    const writer = await h.createKey({ scopes: ['agents:write'] });
    const alerts = await h.createKey({ scopes: ['alerts:read', 'alerts:write'] });
    expect((await h.request('GET', '/v1/agents', { key: reader })).status).toBe(200);
    expect((await create({ name: 'by-reader' }, reader)).status).toBe(403);
    expect((await h.request('GET', '/v1/agents', { key: alerts })).status).toBe(403);
    expect((await create({ name: 'by-alerts' }, alerts)).status).toBe(403);
    const made = await create({ name: 'by-writer' }, writer);
    expect(made.status).toBe(201);
    expect((await h.request('POST', `/v1/agents/${made.body.data.uuid}/test`, { key: reader })).status).toBe(403);
    expect((await h.request('GET', `/v1/agents/${made.body.data.uuid}/runs`, { key: alerts })).status).toBe(403);
    expect((await h.request('GET', '/v1/agents')).status).toBe(200);
    expect((await h.request('GET', '/v1/agents', { key: null })).status).toBe(401);
  });

  it('without ENCRYPTION_KEY an agent cannot be registered (its signing secret must be sealed)', async () => {
    const ctx = contextFor({ ...h.deps, secrets: null }, SYSTEM);
    await expect(createAgent(ctx, { name: 'no-key', endpoint_url: receiver.url })).rejects.toMatchObject({
      code: 'ENCRYPTION_NOT_CONFIGURED',
    });
  });

  it('test: a signed synthetic delivery, one attempt, nothing recorded', async () => {
    const agent = (await create({ name: 'test-me', auth_header_name: 'X-Agent-Key', auth_header_value: 'hdr-secret' }))
      .body.data;
    const before = receiver.received.length;
    status = 200;
    const res = await h.request('POST', `/v1/agents/${agent.uuid}/test`);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ delivered: true, status_code: 200, error: null });
    expect(res.body.data.duration_ms).toBeGreaterThanOrEqual(0);
    expect(receiver.received.length).toBe(before + 1);
    const got = receiver.received.at(-1) as Received;
    expect(got.headers['x-calseta-event']).toBe('agent.test');
    expect(got.headers['x-agent-key']).toBe('hdr-secret');
    expect(
      verifySignature(
        agent.signing_secret,
        {
          timestamp: got.headers['x-calseta-timestamp'] as string,
          signature: got.headers['x-calseta-signature'] as string,
        },
        got.body,
      ),
    ).toBe(true);
    expect(
      verifySignature(
        '0'.repeat(64),
        {
          timestamp: got.headers['x-calseta-timestamp'] as string,
          signature: got.headers['x-calseta-signature'] as string,
        },
        got.body,
      ),
    ).toBe(false);
    const body = JSON.parse(got.body);
    expect(body).toMatchObject({
      test: true,
      alert: { uuid: '00000000-0000-0000-0000-000000000000', source_name: 'test-me' },
    });

    status = 500;
    const failed = await h.request('POST', `/v1/agents/${agent.uuid}/test`);
    expect(failed.body.data).toMatchObject({ delivered: false, status_code: 500, error: 'HTTP 500' });
    status = 200;
    const runs = await h.query('SELECT 1 FROM agent_runs');
    expect(runs).toHaveLength(0);
    expect((await h.request('POST', '/v1/agents/00000000-0000-4000-8000-000000000000/test')).status).toBe(404);
  });

  it('test is SSRF-checked at send time (reference quirk 31 fixed)', async () => {
    const agent = (await create({ name: 'moved-inside' })).body.data;
    // The endpoint passed at registration; its target is now internal (as after a DNS change).
    await h.query('UPDATE agent_registrations SET endpoint_url = $1 WHERE uuid = $2', [
      'http://127.0.0.1:1/hook',
      agent.uuid,
    ]);
    const res = await h.request('POST', `/v1/agents/${agent.uuid}/test`);
    expect(res.status).toBe(200);
    expect(res.body.data.delivered).toBe(false);
    expect(res.body.data.status_code).toBeNull();
    expect(res.body.data.error).toMatch(/^Blocked by SSRF protection: .*loopback/);
  });
});

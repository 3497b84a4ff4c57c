import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MISSING = '00000000-0000-7000-8000-000000000000';

async function alert(title: string, occurredAt = '2026-01-01T00:00:00Z', extra: Record<string, unknown> = {}) {
  const [row] = await h.query<{ id: number; uuid: string }>(
    `INSERT INTO alerts (title, source_name, severity, status, occurred_at, tags)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, uuid`,
    [title, extra.source ?? 'generic', extra.severity ?? 'High', extra.status ?? 'Open', occurredAt, extra.tags ?? []],
  );
  return { id: Number(row?.id), uuid: String(row?.uuid) };
}

async function link(indicatorId: number, alertId: number) {
  await h.query('INSERT INTO alert_indicators (alert_id, indicator_id) VALUES ($1, $2)', [alertId, indicatorId]);
}

async function indicator(type: string, value: string, results: unknown = null) {
  const [row] = await h.query<{ id: number; uuid: string }>(
    `INSERT INTO indicators (type, value, malice, is_enriched, enrichment_results)
     VALUES ($1, $2, 'Suspicious', $3, $4::jsonb) RETURNING id, uuid`,
    [type, value, results !== null, results === null ? null : JSON.stringify(results)],
  );
  return { id: Number(row?.id), uuid: String(row?.uuid) };
}

describe('findings', () => {
  let target: { id: number; uuid: string };
  let agentKey: string;
  beforeAll(async () => {
    target = await alert('Findings target');
    agentKey = await h.createKey({ name: 'triage-bot', scopes: ['alerts:write', 'alerts:read'], key_type: 'agent' });
  });

  it('POST stores a finding and records who posted it; GET and the alert detail return it', async () => {
    const res = await h.request('POST', `/v1/alerts/${target.uuid}/findings`, {
      key: agentKey,
      json: {
        agent_name: 'triage-bot',
        summary: 'Credential stuffing from a known TOR exit node.',
        confidence: 'high',
        evidence: { ip: '203.0.113.7', attempts: 412 },
      },
    });
    expect(res.status).toBe(201);
    const finding = res.body.data;
    expect(finding).toEqual({
      id: expect.stringMatching(UUID),
      agent_name: 'triage-bot',
      summary: 'Credential stuffing from a known TOR exit node.',
      confidence: 'high',
      recommended_action: null,
      evidence: { ip: '203.0.113.7', attempts: 412 },
      posted_at: expect.any(String),
      posted_by: { actor_type: 'api', key_prefix: agentKey.slice(0, 8), key_name: 'triage-bot', key_type: 'agent' },
    });
    expect(new Date(finding.posted_at).toISOString()).toBe(finding.posted_at);

    const list = await h.request('GET', `/v1/alerts/${target.uuid}/findings`);
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ data: [finding], meta: {} });

    const detail = await h.request('GET', `/v1/alerts/${target.uuid}`);
    expect(detail.body.data.agent_findings).toEqual([expect.objectContaining({ id: finding.id })]);
  });

  it('writes alert_finding_added with a 120-character summary preview', async () => {
    const human = await h.createKey({ name: 'analyst', scopes: ['alerts:write'] });
    const long = 'x'.repeat(130);
    const res = await h.request('POST', `/v1/alerts/${target.uuid}/findings`, {
      key: human,
      json: { agent_name: 'analyst-notes', summary: long, recommended_action: 'Reset the password.' },
    });
    expect(res.status).toBe(201);
    expect(res.body.data.posted_by).toMatchObject({ key_name: 'analyst', key_type: 'human' });
    expect(res.body.data.confidence).toBeNull();
    const [event] = await h.query<{
      actor_type: string;
      actor_key_prefix: string;
      references: Record<string, unknown>;
    }>(
      `SELECT actor_type, actor_key_prefix, "references" FROM activity_events
       WHERE event_type = 'alert_finding_added' AND alert_id = $1 AND "references"->>'finding_id' = $2`,
      [target.id, res.body.data.id],
    );
    expect(event).toEqual({
      actor_type: 'api',
      actor_key_prefix: human.slice(0, 8),
      references: {
        finding_id: res.body.data.id,
        agent_name: 'analyst-notes',
        summary: `${'x'.repeat(120)}...`,
        confidence: null,
      },
    });
  });

  it('20 concurrent POSTs keep all 20 findings', async () => {
    const fresh = await alert('Concurrent findings');
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        h.request('POST', `/v1/alerts/${fresh.uuid}/findings`, {
          key: agentKey,
          json: { agent_name: `agent-${i}`, summary: `finding ${i}` },
        }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(201));
    const list = await h.request('GET', `/v1/alerts/${fresh.uuid}/findings`);
    expect(list.body.data).toHaveLength(20);
    expect(new Set(list.body.data.map((f: { id: string }) => f.id)).size).toBe(20);
    expect(list.body.data.map((f: { agent_name: string }) => f.agent_name).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `agent-${i}`).sort(),
    );
    const [events] = await h.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM activity_events WHERE event_type = 'alert_finding_added' AND alert_id = $1`,
      [fresh.id],
    );
    expect(events?.n).toBe(20);
  });

  it('GET lists by posted_at ascending; findings stored without an author have posted_by null', async () => {
    const legacy = await alert('Stored findings');
    const stored = [
      {
        id: 'b',
        agent_name: 'two',
        summary: 's2',
        confidence: 'low',
        recommended_action: null,
        evidence: null,
        posted_at: '2026-02-02T00:00:00.000Z',
      },
      {
        id: 'a',
        agent_name: 'one',
        summary: 's1',
        confidence: null,
        recommended_action: null,
        evidence: null,
        posted_at: '2026-02-01T00:00:00.000Z',
      },
    ];
    await h.query('UPDATE alerts SET agent_findings = $1::jsonb WHERE id = $2', [JSON.stringify(stored), legacy.id]);
    const res = await h.request('GET', `/v1/alerts/${legacy.uuid}/findings`);
    expect(res.body.data.map((f: { id: string }) => f.id)).toEqual(['a', 'b']);
    expect(res.body.data[0].posted_by).toBeNull();
    const empty = await alert('No findings');
    expect((await h.request('GET', `/v1/alerts/${empty.uuid}/findings`)).body).toEqual({ data: [], meta: {} });
  });

  it('validates the body', async () => {
    const post = (json: unknown) => h.request('POST', `/v1/alerts/${target.uuid}/findings`, { json });
    expect((await post({ summary: 'no agent' })).status).toBe(422);
    expect((await post({ agent_name: 'a', summary: '' })).status).toBe(422);
    expect((await post({ agent_name: 'a'.repeat(256), summary: 's' })).status).toBe(422);
    expect((await post({ agent_name: 'a', summary: 's', confidence: 'certain' })).status).toBe(422);
    expect((await post({ agent_name: 'a', summary: 's', unknown_field: 1 })).status).toBe(422);
    expect((await post({ agent_name: 'a', summary: 's', evidence: [1, 2] })).status).toBe(422);
    const big = await post({ agent_name: 'a', summary: 's', evidence: { blob: 'y'.repeat(70_000) } });
    expect(big.status).toBe(422);
    expect(JSON.stringify(big.body.error)).toContain('64 KB');
    const fits = await post({ agent_name: 'a', summary: 's', evidence: { blob: 'y'.repeat(60_000) } });
    expect(fits.status).toBe(201);
  });

  it('404s for an unknown alert, 422 for a malformed uuid', async () => {
    const post = await h.request('POST', `/v1/alerts/${MISSING}/findings`, { json: { agent_name: 'a', summary: 's' } });
    expect(post.status).toBe(404);
    expect(post.body.error.code).toBe('NOT_FOUND');
    expect((await h.request('GET', `/v1/alerts/${MISSING}/findings`)).status).toBe(404);
    expect((await h.request('GET', '/v1/alerts/not-a-uuid/findings')).status).toBe(422);
  });

  it('POST needs alerts:write, GET needs alerts:read', async () => {
    const reader = await h.createKey({ scopes: ['alerts:read'] });
    const writer = await h.createKey({ scopes: ['alerts:write'] });
    const json = { agent_name: 'a', summary: 's' };
    const denied = await h.request('POST', `/v1/alerts/${target.uuid}/findings`, { key: reader, json });
    expect(denied.status).toBe(403);
    expect(denied.body.error.details.required_scopes).toEqual(['alerts:write']);
    expect((await h.request('POST', `/v1/alerts/${target.uuid}/findings`, { key: writer, json })).status).toBe(201);
    expect((await h.request('GET', `/v1/alerts/${target.uuid}/findings`, { key: reader })).status).toBe(200);
    expect((await h.request('GET', `/v1/alerts/${target.uuid}/findings`, { key: writer })).status).toBe(403);
    expect((await h.request('GET', `/v1/alerts/${target.uuid}/findings`, { key: null })).status).toBe(401);
  });
});

describe('GET /v1/alerts/{uuid}/relationship-graph', () => {
  let root: { id: number; uuid: string };
  let ip: { id: number; uuid: string };
  let domain: { id: number; uuid: string };
  let host: { id: number; uuid: string };
  const siblings: Array<{ id: number; uuid: string; occurred: string }> = [];

  beforeAll(async () => {
    root = await alert('Graph root', '2026-03-10T00:00:00Z', { severity: 'Critical', tags: ['graph'] });
    ip = await indicator('ip', '198.51.100.9', {
      vt: { status: 'success', extracted: { verdict: 'malicious', malice: 'Suspicious' } },
      abuse: { status: 'success', extracted: { risk_score: 87 } },
      geo: { status: 'success', extracted: { malice: 'Benign' } },
      okta: { status: 'failed', extracted: null },
      plain: { status: 'success', extracted: {} },
      nf: { status: 'not_found', extracted: { found: false } },
      skip: { status: 'skipped', extracted: null },
    });
    domain = await indicator('domain', 'lonely.example');
    host = await indicator('domain', 'busy.example');
    await link(ip.id, root.id);
    await link(domain.id, root.id);
    await link(host.id, root.id);
    // Three other alerts share the ip, created out of occurred_at order.
    for (const occurred of ['2026-03-02T00:00:00Z', '2026-03-09T00:00:00Z', '2026-03-05T00:00:00Z']) {
      const other = await alert(`Sibling ${occurred}`, occurred, { source: 'sentinel', status: 'Triaging' });
      siblings.push({ ...other, occurred });
      await link(ip.id, other.id);
    }
    // Twelve other alerts share busy.example.
    for (let i = 0; i < 12; i++) {
      const other = await alert(`Busy ${i}`, `2026-02-${String(i + 1).padStart(2, '0')}T00:00:00Z`);
      await link(host.id, other.id);
    }
  });

  const graph = (query = '', key?: string) =>
    h.request('GET', `/v1/alerts/${root.uuid}/relationship-graph${query}`, key === undefined ? {} : { key });

  it('returns the alert node and, per indicator, the other alerts sharing it, newest first', async () => {
    const res = await graph('?sibling_limit=2');
    expect(res.status).toBe(200);
    expect(res.body.meta).toEqual({});
    const { alert: node, indicators } = res.body.data;
    expect(node).toEqual({
      uuid: root.uuid,
      title: 'Graph root',
      severity: 'Critical',
      status: 'Open',
      source_name: 'generic',
      occurred_at: '2026-03-10T00:00:00.000Z',
      tags: ['graph'],
    });
    expect(indicators.map((i: { value: string }) => i.value)).toEqual([
      '198.51.100.9',
      'lonely.example',
      'busy.example',
    ]);
    const [ipNode, lonely] = indicators;
    expect(ipNode).toEqual({
      uuid: ip.uuid,
      type: 'ip',
      value: '198.51.100.9',
      malice: 'Suspicious',
      first_seen: expect.any(String),
      last_seen: expect.any(String),
      is_enriched: true,
      enrichment_summary: {
        vt: 'malicious',
        abuse: '87',
        geo: 'Benign',
        okta: 'failed',
        plain: 'enriched',
        nf: 'not_found',
        skip: 'skipped',
      },
      total_alert_count: 3,
      sibling_alerts: [
        {
          uuid: siblings[1]?.uuid,
          title: 'Sibling 2026-03-09T00:00:00Z',
          severity: 'High',
          status: 'Triaging',
          source_name: 'sentinel',
          occurred_at: '2026-03-09T00:00:00.000Z',
          tags: [],
        },
        expect.objectContaining({ uuid: siblings[2]?.uuid, occurred_at: '2026-03-05T00:00:00.000Z' }),
      ],
    });
    expect(lonely).toMatchObject({
      total_alert_count: 0,
      sibling_alerts: [],
      enrichment_summary: {},
      is_enriched: false,
    });
  });

  it('sibling_limit defaults to 10 and goes up to 50; total_alert_count is never capped', async () => {
    const busy = (res: { body: any }) =>
      res.body.data.indicators.find((i: { value: string }) => i.value === 'busy.example');
    const byDefault = busy(await graph());
    expect(byDefault.total_alert_count).toBe(12);
    expect(byDefault.sibling_alerts).toHaveLength(10);
    expect(byDefault.sibling_alerts[0].title).toBe('Busy 11');
    const all = busy(await graph('?sibling_limit=50'));
    expect(all.sibling_alerts.map((s: { title: string }) => s.title)).toEqual(
      Array.from({ length: 12 }, (_, i) => `Busy ${11 - i}`),
    );
    expect(busy(await graph('?sibling_limit=1')).sibling_alerts).toHaveLength(1);
  });

  it('rejects sibling_limit outside 1..50', async () => {
    for (const bad of ['0', '51', '-1', '2.5', 'ten']) {
      const res = await graph(`?sibling_limit=${bad}`);
      expect(res.status, bad).toBe(422);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    }
  });

  it('an alert without indicators has an empty list; unknown alert → 404; scope alerts:read', async () => {
    const bare = await alert('No indicators');
    const res = await h.request('GET', `/v1/alerts/${bare.uuid}/relationship-graph`);
    expect(res.status).toBe(200);
    expect(res.body.data.indicators).toEqual([]);
    expect((await h.request('GET', `/v1/alerts/${MISSING}/relationship-graph`)).status).toBe(404);
    const reader = await h.createKey({ scopes: ['alerts:read'] });
    expect((await graph('', reader)).status).toBe(200);
    const other = await h.createKey({ scopes: ['agents:read'] });
    expect((await graph('', other)).status).toBe(403);
  });
});

import { createHmac } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createApp as createMcpApp, McpSessions } from '@calseta/mcp';
import type { AgentPayloadDoc } from '@calseta/schema';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../../apps/api/test/fixtures.js';
import { createHarness, type Harness } from '../../../apps/api/test/harness.js';
import { type Outcome, restActions, startMcpAgent, startWebhookAgent, triage, verifySignature } from '../src/index.js';

/**
 * The example agent against the real stack: API, worker, mock providers and (for the MCP variant)
 * the MCP server, all on a real database. Malicious fixture alerts must come back with the agent's
 * finding and a containment workflow waiting for approval.
 */
let h: Harness;
let workflowUuid: string;
let agentKey: string;

type Handled = Outcome | { alert_uuid: string; error: string };
/** Outcomes as events, so a test waits for the one alert it cares about. */
const outcomes = new EventEmitter<{ outcome: [Handled] }>();
function outcomeFor(alertUuid: () => string): Promise<Handled> {
  return new Promise((resolve) => {
    const listener = (o: Handled) => {
      if (o.alert_uuid !== alertUuid()) return;
      outcomes.off('outcome', listener);
      resolve(o);
    };
    outcomes.on('outcome', listener);
  });
}

async function alertOf(uuid: string) {
  return (await h.request('GET', `/v1/alerts/${uuid}`)).body.data as {
    agent_findings: { agent_name: string; summary: string; confidence: string }[] | null;
  };
}

beforeAll(async () => {
  // The agent listens on loopback, which the outbound policy refuses unless allowed.
  h = await createHarness({ mockProviders: true, allowHosts: ['127.0.0.1'] });
  await h.startWorker();
  agentKey = await h.createKey({ scopes: ['alerts:read', 'alerts:write', 'workflows:execute'], key_type: 'agent' });
  const wf = await h.request('POST', '/v1/workflows', {
    json: {
      name: 'Block IP at the edge',
      indicator_types: ['ip'],
      code: 'export async function run(ctx) {\n  return WorkflowResult.ok("blocked", { ip: ctx.indicator.value });\n}',
      state: 'active',
      approval_mode: 'agent_only',
      risk_level: 'high',
    },
  });
  expect(wf.status, JSON.stringify(wf.body)).toBe(201);
  workflowUuid = wf.body.data.uuid;
});
afterAll(() => h.close());

describe('the triage rules', () => {
  it('acts on the first malicious indicator a workflow applies to, and only then', () => {
    const payload = {
      alert: { uuid: 'a', title: '<untrusted>Sign-ins from TOR</untrusted>' },
      indicators: [
        { type: 'domain', value: 'evil.example', verdict: 'Malicious', why: 'vt: malicious = 9' },
        { type: 'ip', value: '185.220.101.34', verdict: 'Malicious', why: 'abuseipdb: score = 100' },
      ],
      workflows: [{ uuid: 'w', name: 'Block IP', indicator_types: ['ip'] }],
      context_documents: [{ title: 'Identity runbook' }],
      detection_rule: { name: 'Brute force from TOR' },
    } as unknown as AgentPayloadDoc;
    const result = triage(payload);
    expect(result).toMatchObject({
      verdict: 'malicious',
      confidence: 'high',
      act: { indicator_value: '185.220.101.34' },
    });
    expect(result.summary).toContain('Sign-ins from TOR (Brute force from TOR)');
    expect(result.summary).not.toContain('<untrusted>');
    expect(result.recommended_action).toContain('Identity runbook');
    const quiet = triage({ ...payload, indicators: [{ type: 'ip', value: '10.0.0.1', verdict: 'Benign' }] } as never);
    expect(quiet).toMatchObject({ verdict: 'benign' });
    expect(quiet.act).toBeUndefined();
  });

  it('verifies signatures over the raw bytes, in time', () => {
    const body = Buffer.from('{"a":1}');
    const now = 1_800_000_000;
    const sign = (secret: string, ts: number, raw: Buffer) =>
      `v1=${createHmac('sha256', secret).update(`${ts}.`).update(raw).digest('hex')}`;
    expect(verifySignature('s', String(now), sign('s', now, body), body, now)).toBe(true);
    expect(verifySignature('s', String(now), sign('other', now, body), body, now)).toBe(false);
    expect(verifySignature('s', String(now), sign('s', now, body), Buffer.from('{"a":2}'), now)).toBe(false);
    expect(verifySignature('s', String(now - 301), sign('s', now - 301, body), body, now)).toBe(false);
  });
});

describe('over signed webhooks', () => {
  it('receives the enriched alert, posts its finding and asks to contain', async () => {
    let signingSecret = '';
    const agent = await startWebhookAgent({
      get signingSecret() {
        return signingSecret;
      },
      calseta: restActions(h.baseUrl, agentKey, 'example-webhook-agent'),
      onOutcome: (o) => outcomes.emit('outcome', o),
    });
    try {
      const registered = await h.request('POST', '/v1/agents', {
        json: { name: 'example webhook agent', endpoint_url: agent.url, trigger_on_sources: ['sentinel'] },
      });
      expect(registered.status, JSON.stringify(registered.body)).toBe(201);
      signingSecret = registered.body.data.signing_secret;
      let alertUuid = '';
      const handled = outcomeFor(() => alertUuid);
      const ingested = await h.request('POST', '/v1/ingest/sentinel', {
        json: fixture('01_sentinel_brute_force_tor.json'),
      });
      expect(ingested.status).toBe(202);
      alertUuid = ingested.body.data.alert_uuid;
      const outcome = (await handled) as Outcome;
      expect(outcome).toMatchObject({ alert_uuid: alertUuid, finding_posted: true });
      expect(outcome.triage.verdict).toBe('malicious');
      expect(outcome.workflow?.status).toBe('pending_approval');
      const alert = await alertOf(alertUuid);
      expect(alert.agent_findings?.map((f) => f.agent_name)).toEqual(['example-webhook-agent']);
      const approvals = await h.request('GET', `/v1/workflow-approvals?workflow_uuid=${workflowUuid}`);
      expect(approvals.body.data.map((a: { uuid: string }) => a.uuid)).toContain(outcome.workflow?.uuid);
      const agents = (await h.request('GET', '/v1/agents')).body.data as { uuid: string }[];
      await h.request('DELETE', `/v1/agents/${agents[0]?.uuid}`);
    } finally {
      await agent.close();
    }
  });
});

describe('over MCP', () => {
  it('is told the alert was enriched, reads its payload, posts its finding and asks to contain', async () => {
    const sessions = new McpSessions();
    await sessions.start(h.deps);
    const server = serve({ fetch: createMcpApp(h.deps, sessions).fetch, hostname: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    const streamOpened = once(sessions, 'stream');
    const agent = await startMcpAgent({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
      apiKey: agentKey,
      agentName: 'example-mcp-agent',
      onOutcome: (o) => outcomes.emit('outcome', o),
    });
    try {
      await streamOpened;
      let alertUuid = '';
      const handled = outcomeFor(() => alertUuid);
      const ingested = await h.request('POST', '/v1/ingest/sentinel', {
        json: fixture('04_sentinel_impossible_travel.json'),
      });
      alertUuid = ingested.body.data.alert_uuid;
      const outcome = (await handled) as Outcome;
      expect(outcome.finding_posted).toBe(true);
      const alert = await alertOf(alertUuid);
      expect(alert.agent_findings?.map((f) => f.agent_name)).toContain('example-mcp-agent');
      if (outcome.triage.verdict === 'malicious') expect(outcome.workflow?.status).toBe('pending_approval');
    } finally {
      await agent.close();
      await sessions.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

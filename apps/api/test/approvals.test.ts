import { decideApproval, executeWorkflow, hashApiKey, slackSignature, verifySlackSignature } from '@calseta/core';
import { slackMessage } from '@calseta/integrations';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';
import { workerWinsRace } from './races.js';
import { startRecorder } from './recorder.js';

const CODE = `export async function run(ctx) {
  return WorkflowResult.ok('contained ' + ctx.indicator.value, { value: ctx.indicator.value });
}`;

/** A recorder standing in for Slack's / Teams' incoming-webhook endpoint; `next` yields message bodies. */
async function startWebhook() {
  const recorder = await startRecorder();
  const next = async (match: (body: any) => boolean, from = 0): Promise<any> =>
    (await recorder.next((r) => match(r.body), from)).body;
  return { ...recorder, next };
}

const textOf = (message: unknown) => JSON.stringify(message);
const tokenIn = (message: unknown) => {
  const match = /decide\?token=([A-Za-z0-9_-]+)/.exec(textOf(message));
  if (!match?.[1]) throw new Error(`no decide link in ${textOf(message)}`);
  return match[1];
};

async function newWorkflow(h: Harness, overrides: Record<string, unknown> = {}) {
  const res = await h.request('POST', '/v1/workflows', {
    json: { name: `wf ${Math.random()}`, code: CODE, state: 'active', risk_level: 'high', ...overrides },
  });
  expect(res.status).toBe(201);
  return res.body.data as { uuid: string; name: string };
}

describe('workflow approvals: gate, REST decisions, expiry (no notifier)', () => {
  let h: Harness;
  let human: string;
  let agent: string;
  let approver: string;

  beforeAll(async () => {
    h = await createHarness();
    await h.startWorker();
    human = await h.createKey({ scopes: ['workflows:execute', 'workflows:read'] });
    agent = await h.createKey({ scopes: ['workflows:execute', 'workflows:read'], key_type: 'agent' });
    approver = await h.createKey({ scopes: ['approvals:write', 'workflows:read'] });
  });
  afterAll(() => h.close());

  const execute = (uuid: string, key: string) =>
    h.request('POST', `/v1/workflows/${uuid}/execute`, {
      key,
      json: { indicator_type: 'ip', indicator_value: '203.0.113.7', reason: 'beaconing to C2', confidence: 0.92 },
    });

  it('gates by approval_mode and key type', async () => {
    const expected: Record<string, { human: string; agent: string }> = {
      always: { human: 'pending_approval', agent: 'pending_approval' },
      agent_only: { human: 'queued', agent: 'pending_approval' },
      never: { human: 'queued', agent: 'queued' },
    };
    for (const [mode, want] of Object.entries(expected)) {
      const wf = await newWorkflow(h, { approval_mode: mode });
      for (const [who, key] of [
        ['human', human],
        ['agent', agent],
      ] as const) {
        const res = await execute(wf.uuid, key);
        expect(res.status, `${mode}/${who}`).toBe(202);
        expect(res.body.meta).toEqual({}); // quirk 33: meta on the gated answer too
        expect(res.body.data.status, `${mode}/${who}`).toBe(want[who]);
        if (want[who] === 'pending_approval') {
          expect(res.body.data.approval).toMatchObject({
            uuid: res.body.data.approval_request_uuid,
            status: 'pending',
            trigger_type: who,
            reason: 'beaconing to C2',
            confidence: 0.92,
            notifier_type: 'none',
            risk_level: 'high',
            run_uuid: null,
          });
          expect(textOf(res.body)).not.toMatch(/token/i); // the token never reaches the requester
        }
      }
    }
    const rows = await h.query<{ decide_token: string }>('SELECT decide_token FROM workflow_approval_requests');
    for (const row of rows) expect(row.decide_token).toMatch(/^[0-9a-f]{64}$/); // only the SHA-256
  });

  it('approve → run queued, executed, result recorded; decided once; reject runs nothing', async () => {
    const wf = await newWorkflow(h);
    const pending = (await execute(wf.uuid, agent)).body.data;
    const uuid = pending.approval_request_uuid;

    expect((await h.request('GET', `/v1/workflow-approvals/${uuid}`, { key: human })).status).toBe(403);
    const list = await h.request('GET', `/v1/workflow-approvals?status=pending&workflow_uuid=${wf.uuid}`, {
      key: approver,
    });
    expect(list.status).toBe(200);
    expect(list.body.data.map((a: { uuid: string }) => a.uuid)).toEqual([uuid]);

    // Runs queued by the previous test may still finish: wait for the run this approval creates.
    const [{ max }] = (await h.query<{ max: number }>(
      'SELECT coalesce(max(id), 0)::int AS max FROM workflow_runs',
    )) as [{ max: number }];
    const ran = h.nextJob((o) => o.name === 'execute-workflow' && (o.data as { run_id: number }).run_id > max);
    // The reference's body `responder_id` is accepted but not trusted: the responder is the key.
    const [{ uuid: approverUuid }] = (await h.query<{ uuid: string }>('SELECT uuid FROM api_keys WHERE key_hash = $1', [
      hashApiKey(approver),
    ])) as [{ uuid: string }];
    const approvedBy = `api_key:${approverUuid}`;
    const approved = await h.request('POST', `/v1/workflow-approvals/${uuid}/approve`, {
      key: approver,
      json: { responder_id: 'alice' },
    });
    expect(approved.status).toBe(200);
    expect(approved.body.data).toMatchObject({ status: 'approved', responder_id: approvedBy });
    expect(approved.body.data.run_uuid).toEqual(expect.any(String));
    expect((await ran).state).toBe('completed');

    const after = await h.request('GET', `/v1/workflow-approvals/${uuid}`, { key: approver });
    expect(after.body.data.execution_result).toMatchObject({ success: true, message: 'contained 203.0.113.7' });
    const run = await h.request('GET', `/v1/workflow-runs/${approved.body.data.run_uuid}`, { key: human });
    expect(run.body.data).toMatchObject({ status: 'succeeded', trigger_type: 'agent' });
    expect(run.body.data.trigger_context).toMatchObject({ approval_uuid: uuid, approved_by: approvedBy });

    const again = await h.request('POST', `/v1/workflow-approvals/${uuid}/reject`, { key: approver });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('APPROVAL_ALREADY_DECIDED');

    const other = (await execute(wf.uuid, agent)).body.data.approval_request_uuid;
    const rejected = await h.request('POST', `/v1/workflow-approvals/${other}/reject`, { key: approver });
    expect(rejected.status).toBe(200);
    expect(rejected.body.data).toMatchObject({ status: 'rejected', run_uuid: null, responder_id: approvedBy });
    const events = await h.query<{ event_type: string }>(
      `SELECT event_type FROM activity_events WHERE event_type LIKE 'workflow_approval_%' AND "references"->>'approval_uuid' = $1`,
      [other],
    );
    expect(events.map((e) => e.event_type).sort()).toEqual([
      'workflow_approval_requested',
      'workflow_approval_responded',
    ]);
    expect(
      (await h.request('POST', `/v1/workflow-approvals/${crypto.randomUUID()}/approve`, { key: approver })).status,
    ).toBe(404);
  });

  it('execute and approve answer with what they committed, even when the worker has already run it', async () => {
    const input = { indicator_type: 'ip' as const, indicator_value: '203.0.113.8', reason: 'r', confidence: 0.5 };
    const direct = await newWorkflow(h, { approval_mode: 'never' });
    let ran = h.nextJob((o) => o.name === 'execute-workflow');
    let race = workerWinsRace(h, 'execute-workflow', ran);
    try {
      const run = await executeWorkflow(race.ctx, { uuid: direct.uuid, input });
      expect(await ran).toMatchObject({ state: 'completed' });
      expect(run).toMatchObject({ status: 'queued', started_at: null, result: null });
    } finally {
      await race.close();
    }

    const gated = await newWorkflow(h);
    const uuid = (await execute(gated.uuid, agent)).body.data.approval_request_uuid;
    ran = h.nextJob((o) => o.name === 'execute-workflow');
    race = workerWinsRace(h, 'execute-workflow', ran);
    try {
      const decided = await decideApproval(race.ctx, uuid, 'approve', {
        decider: { id: 'person:test', kind: 'person' },
        via: 'rest',
      });
      expect(await ran).toMatchObject({ state: 'completed' });
      expect(decided).toMatchObject({ status: 'approved', run_uuid: expect.any(String), execution_result: null });
    } finally {
      await race.close();
    }
  });

  it('expiry: deciding late is 409 APPROVAL_EXPIRED; reads and the sweeper mark rows expired', async () => {
    const wf = await newWorkflow(h);
    const late = (await execute(wf.uuid, agent)).body.data.approval_request_uuid;
    const swept = (await execute(wf.uuid, agent)).body.data.approval_request_uuid;
    const read = (await execute(wf.uuid, agent)).body.data.approval_request_uuid;
    await h.query(
      `UPDATE workflow_approval_requests SET expires_at = now() - interval '1 second' WHERE uuid = ANY($1)`,
      [[late, swept, read]],
    );

    const res = await h.request('POST', `/v1/workflow-approvals/${late}/approve`, { key: approver });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('APPROVAL_EXPIRED');

    const sweep = h.nextJob((o) => o.name === 'sweep-approvals');
    await h.deps.queue.send('sweep-approvals', {});
    expect((await sweep).state).toBe('completed');
    const rows = await h.query<{ uuid: string; status: string }>(
      'SELECT uuid, status FROM workflow_approval_requests WHERE uuid = ANY($1)',
      [[late, swept, read]],
    );
    expect(rows.every((r) => r.status === 'expired')).toBe(true);
    expect((await h.request('GET', `/v1/workflow-approvals/${read}`, { key: approver })).body.data.status).toBe(
      'expired',
    );
  });
});

describe('workflow approvals: Slack notifier, browser page, signed callback', () => {
  const SECRET = 'slack-signing-secret';
  let h: Harness;
  let slack: Awaited<ReturnType<typeof startWebhook>>;
  let agent: string;

  beforeAll(async () => {
    slack = await startWebhook();
    h = await createHarness({
      allowHosts: [slack.host],
      approvals: {
        notifier: 'slack',
        slackWebhookUrl: `http://${slack.host}/services/T000/B000/XXX`,
        slackSigningSecret: SECRET,
      },
    });
    await h.startWorker();
    agent = await h.createKey({ scopes: ['workflows:execute'], key_type: 'agent' });
  });
  afterAll(async () => {
    await h.close();
    await slack.close();
  });

  async function requestApproval(wf: { uuid: string }, value = '198.51.100.4') {
    const from = slack.received.length;
    const res = await h.request('POST', `/v1/workflows/${wf.uuid}/execute`, {
      key: agent,
      json: { indicator_type: 'ip', indicator_value: value, reason: '<script>alert(1)</script> seen', confidence: 0.8 },
    });
    expect(res.status).toBe(202);
    const uuid: string = res.body.data.approval_request_uuid;
    const message = await slack.next((m) => textOf(m).includes(`approve:${uuid}`) || textOf(m).includes(uuid), from);
    return { uuid, message, token: tokenIn(message) };
  }

  it('posts Block Kit with buttons and the browser link; the page previews and decides once', async () => {
    const wf = await newWorkflow(h, { name: 'Block <b>IP</b>' });
    const { uuid, message, token } = await requestApproval(wf);
    expect(message.text).toMatch(/Workflow approval needed/);
    const actions = message.blocks.find((b: { type: string }) => b.type === 'actions');
    expect(actions.elements.map((e: { action_id: string }) => e.action_id)).toEqual([
      `approve:${uuid}`,
      `reject:${uuid}`,
    ]);

    const page = await h.request('GET', `/v1/approvals/${uuid}/decide?token=${token}`, { key: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(page.body).toContain('Block &lt;b&gt;IP&lt;/b&gt;');
    expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt; seen');
    expect(page.body).not.toContain('<script>');
    expect(page.body).toContain('198.51.100.4');
    expect(page.body).toContain('80%');
    expect(page.body).toContain('contained &#39; + ctx.indicator.value'); // the code that will run

    const wrong = await h.request('GET', `/v1/approvals/${uuid}/decide?token=${'x'.repeat(43)}`, { key: null });
    expect(wrong.status).toBe(403);
    const none = await h.request('GET', `/v1/approvals/${uuid}/decide`, { key: null });
    expect(none.status).toBe(403);

    const form = (decision: string, t = token) =>
      h.request('POST', `/v1/approvals/${uuid}/decide`, {
        key: null,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: t, decision }).toString(),
      });
    expect((await form('maybe')).status).toBe(400);
    expect((await form('approve', 'nope')).status).toBe(403);
    const from = slack.received.length;
    const ran = h.nextJob((o) => o.name === 'execute-workflow');
    const ok = await form('approve');
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('Execution has been queued');
    expect((await ran).state).toBe('completed');
    const decided = await slack.next((m) => textOf(m).includes('Approved by browser'), from);
    expect(decided.blocks).toBeDefined();
    await slack.next((m) => textOf(m).includes('Execution result: contained 198.51.100.4'), from);

    const reused = await form('reject');
    expect(reused.status).toBe(409);
    expect(reused.body).toContain('already approved');
    const row = await h.query<{ status: string; responder_id: string }>(
      'SELECT status, responder_id FROM workflow_approval_requests WHERE uuid = $1',
      [uuid],
    );
    expect(row[0]).toEqual({ status: 'approved', responder_id: 'browser' });
  });

  it('an expired token shows the expiry (410) and the sweeper notifies', async () => {
    const wf = await newWorkflow(h);
    const { uuid, token } = await requestApproval(wf);
    await h.query(`UPDATE workflow_approval_requests SET expires_at = now() - interval '1 second' WHERE uuid = $1`, [
      uuid,
    ]);
    const from = slack.received.length;
    const page = await h.request('POST', `/v1/approvals/${uuid}/decide`, {
      key: null,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, decision: 'approve' }).toString(),
    });
    expect(page.status).toBe(410);
    await slack.next((m) => textOf(m).includes('Expired without a decision') && textOf(m).includes(uuid), from);
  });

  it('the Slack callback needs a valid, fresh signature', async () => {
    const wf = await newWorkflow(h);
    const { uuid } = await requestApproval(wf);
    const body = new URLSearchParams({
      payload: JSON.stringify({
        type: 'block_actions',
        user: { id: 'U123' },
        actions: [{ action_id: `reject:${uuid}` }],
      }),
    }).toString();
    const now = String(Math.floor(Date.now() / 1000));
    const post = (headers: Record<string, string>) =>
      h.request('POST', '/v1/approvals/callback/slack', {
        key: null,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body,
      });
    const bad = await post({
      'x-slack-request-timestamp': now,
      'x-slack-signature': slackSignature('wrong', now, body),
    });
    expect(bad.status).toBe(403);
    const old = String(Number(now) - 600);
    expect(
      (await post({ 'x-slack-request-timestamp': old, 'x-slack-signature': slackSignature(SECRET, old, body) })).status,
    ).toBe(403);
    expect((await post({})).status).toBe(403);
    const pending = await h.query<{ status: string }>('SELECT status FROM workflow_approval_requests WHERE uuid = $1', [
      uuid,
    ]);
    expect(pending[0]?.status).toBe('pending');

    const good = await post({
      'x-slack-request-timestamp': now,
      'x-slack-signature': slackSignature(SECRET, now, body),
    });
    expect(good.status).toBe(200);
    expect(good.body).toBe('ok');
    const row = await h.query<{ status: string; responder_id: string }>(
      'SELECT status, responder_id FROM workflow_approval_requests WHERE uuid = $1',
      [uuid],
    );
    expect(row[0]).toEqual({ status: 'rejected', responder_id: 'slack:U123' });
  });
});

describe('workflow approvals: Teams notifier; Slack callback off without a signing secret', () => {
  let h: Harness;
  let teams: Awaited<ReturnType<typeof startWebhook>>;

  beforeAll(async () => {
    teams = await startWebhook();
    h = await createHarness({
      allowHosts: [teams.host],
      approvals: { notifier: 'teams', teamsWebhookUrl: `http://${teams.host}/webhookb2/x` },
    });
    await h.startWorker();
  });
  afterAll(async () => {
    await h.close();
    await teams.close();
  });

  it('posts an Adaptive Card whose link decides', async () => {
    const wf = await newWorkflow(h, { approval_mode: 'always' });
    const res = await h.request('POST', `/v1/workflows/${wf.uuid}/execute`, {
      json: { indicator_type: 'domain', indicator_value: 'evil.example' },
    });
    expect(res.body.data.status).toBe('pending_approval');
    const uuid = res.body.data.approval_request_uuid;
    const card = await teams.next((m) => textOf(m).includes('Workflow Approval Required'));
    expect(card.attachments[0].content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    expect(card.attachments[0].content.actions[0]).toMatchObject({ type: 'Action.OpenUrl', title: 'Review & Decide' });
    const token = tokenIn(card);
    const page = await h.request('GET', `/v1/approvals/${uuid}/decide?token=${token}`, { key: null });
    expect(page.status).toBe(200);
    expect(page.body).toContain('evil.example');
  });

  it('answers 404 on the Slack callback and sends no buttons (quirk 28)', async () => {
    const res = await h.request('POST', '/v1/approvals/callback/slack', {
      key: null,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'payload=%7B%7D',
    });
    expect(res.status).toBe(404);
    const message = slackMessage(
      {
        uuid: '00000000-0000-4000-8000-000000000000',
        workflow_uuid: '00000000-0000-4000-8000-000000000001',
        workflow_name: 'x',
        risk_level: 'low',
        status: 'pending',
        trigger_type: 'agent',
        trigger_agent_key_prefix: 'cai_abcd',
        trigger_context: null,
        reason: '',
        confidence: 0.5,
        notifier_type: 'slack',
        notifier_channel: null,
        responder_id: null,
        responded_at: null,
        expires_at: new Date().toISOString(),
        run_uuid: null,
        execution_result: null,
        created_at: new Date().toISOString(),
        updated_at: new Date().toISOString(),
      },
      'requested',
      { link: 'https://calseta.example/v1/approvals/x/decide?token=t', buttons: false },
    );
    expect(textOf(message)).not.toContain('"actions"');
    expect(textOf(message)).toContain('decide?token=t');
    expect(verifySlackSignature('s', '1', 'v0=00', 'b', 1)).toBe('invalid');
  });
});

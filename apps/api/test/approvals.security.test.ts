import { hashApiKey } from '@calseta/core';
import { slackMessage, teamsMessage } from '@calseta/integrations';
import type { WorkflowApproval } from '@calseta/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';
import { type Recorder, startRecorder } from './recorder.js';

// Audit findings (docs/security.md): approval bypass (self-approval, agent approvers, a responder taken
// from the body, the decide link sent to a workflow's own URL), the decide token in clear in a job
// payload, and attacker text unescaped in Teams cards / Slack messages.

const CODE = `export async function run(ctx) {
  return WorkflowResult.ok('contained ' + ctx.indicator.value, {});
}`;
const textOf = (value: unknown) => JSON.stringify(value);
const tokenIn = (message: unknown) => /decide\?token=([A-Za-z0-9_-]+)/.exec(textOf(message))?.[1];

let h: Harness;
let teams: Recorder;
let attacker: Recorder;
/** workflows:execute + approvals:write on one agent key: the audit's key. */
let agentBoth: string;
/** The same scopes on a person's key. */
let humanBoth: string;
let approver: string;
let agentApprover: string;
let author: string;

const keyUuid = async (key: string) =>
  (
    (await h.query<{ uuid: string }>('SELECT uuid FROM api_keys WHERE key_hash = $1', [hashApiKey(key)]))[0] as {
      uuid: string;
    }
  ).uuid;

beforeAll(async () => {
  teams = await startRecorder();
  attacker = await startRecorder();
  h = await createHarness({
    allowHosts: [teams.host, attacker.host],
    approvals: { notifier: 'teams', teamsWebhookUrl: `${teams.url}/webhookb2/configured` },
  });
  await h.startWorker();
  agentBoth = await h.createKey({ scopes: ['workflows:execute', 'approvals:write'], key_type: 'agent' });
  humanBoth = await h.createKey({ scopes: ['workflows:execute', 'approvals:write'], key_type: 'human' });
  approver = await h.createKey({ scopes: ['approvals:write'], key_type: 'human' });
  agentApprover = await h.createKey({ scopes: ['approvals:write'], key_type: 'agent' });
  author = await h.createKey({ scopes: ['workflows:write', 'workflows:read'], key_type: 'human' });
});
afterAll(async () => {
  await h?.close();
  await teams?.close();
  await attacker?.close();
});

async function workflow(overrides: Record<string, unknown> = {}, key = h.adminKey) {
  const res = await h.request('POST', '/v1/workflows', {
    key,
    json: { name: `wf ${crypto.randomUUID()}`, code: CODE, state: 'active', approval_mode: 'always', ...overrides },
  });
  expect(res.status, textOf(res.body)).toBe(201);
  return res.body.data.uuid as string;
}

/** Execute (gated) and wait until its request notification has been handled. */
async function requestApproval(workflowUuid: string, key: string, input: Record<string, unknown> = {}) {
  const notified = h.nextJob(
    (o) => o.name === 'notify-approval' && (o.data as { event: string }).event === 'requested',
  );
  const res = await h.request('POST', `/v1/workflows/${workflowUuid}/execute`, {
    key,
    json: { indicator_type: 'ip', indicator_value: '198.51.100.23', reason: 'beacon', confidence: 0.9, ...input },
  });
  expect(res.status, textOf(res.body)).toBe(202);
  expect(res.body.data.status).toBe('pending_approval');
  expect((await notified).state).toBe('completed');
  return res.body.data.approval_request_uuid as string;
}

const decide = (uuid: string, key: string, decision: 'approve' | 'reject' = 'approve', json?: unknown) =>
  h.request('POST', `/v1/workflow-approvals/${uuid}/${decision}`, { key, ...(json === undefined ? {} : { json }) });

const statusOf = async (uuid: string) =>
  (await h.query<{ status: string }>('SELECT status FROM workflow_approval_requests WHERE uuid = $1', [uuid]))[0]
    ?.status;

describe('approval bypass', () => {
  it('an agent key with workflows:execute + approvals:write cannot approve (or reject) its own request', async () => {
    const uuid = await requestApproval(await workflow(), agentBoth);
    for (const decision of ['approve', 'reject'] as const) {
      const res = await decide(uuid, agentBoth, decision);
      expect(res.status, textOf(res.body)).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
    expect(await statusOf(uuid)).toBe('pending');
  });

  it('a person key cannot approve the request it made; another person can', async () => {
    const uuid = await requestApproval(await workflow(), humanBoth);
    const self = await decide(uuid, humanBoth);
    expect(self.status, textOf(self.body)).toBe(403);
    expect(self.body.error.details).toMatchObject({ reason: 'requester' });
    expect(await statusOf(uuid)).toBe('pending');
    const other = await decide(uuid, approver);
    expect(other.status, textOf(other.body)).toBe(200);
    expect(other.body.data.status).toBe('approved');
  });

  it("an agent key never decides, not even another key's request", async () => {
    const uuid = await requestApproval(await workflow(), humanBoth);
    for (const key of [agentApprover, agentBoth]) {
      const res = await decide(uuid, key, 'reject');
      expect(res.status, textOf(res.body)).toBe(403);
      expect(res.body.error.details).toMatchObject({ reason: 'agent' });
    }
    expect(await statusOf(uuid)).toBe('pending');
  });

  it('the responder recorded is the authenticated key, never the body `responder_id`', async () => {
    const uuid = await requestApproval(await workflow(), agentBoth);
    const res = await decide(uuid, approver, 'approve', { responder_id: 'ciso@example.com' });
    expect(res.status, textOf(res.body)).toBe(200);
    const identity = `api_key:${await keyUuid(approver)}`;
    expect(res.body.data.responder_id).toBe(identity);
    const stored = await h.query<{ responder_id: string; approved_by: string; activity: string }>(
      `SELECT a.responder_id, r.trigger_context->>'approved_by' AS approved_by,
              (SELECT e."references"->>'responder_id' FROM activity_events e
                WHERE e.event_type = 'workflow_approval_responded' AND e."references"->>'approval_uuid' = a.uuid::text) AS activity
         FROM workflow_approval_requests a JOIN workflow_runs r ON r.id = a.workflow_run_id WHERE a.uuid = $1`,
      [uuid],
    );
    expect(stored).toEqual([{ responder_id: identity, approved_by: identity, activity: identity }]);
    expect(textOf(stored)).not.toContain('ciso@example.com');
  });

  it("a workflows:write key's approval_channel URL never receives the decide link; the configured webhook does", async () => {
    const wf = await workflow({ approval_channel: `${attacker.url}/steal` }, author);
    const from = teams.received.length;
    const uuid = await requestApproval(wf, agentBoth);
    // The notify job has completed (requestApproval waited for it): nothing went to the workflow's URL…
    expect(attacker.received).toEqual([]);
    // …and the admin-configured channel got the link, which still decides (browser path kept).
    const card = teams.received.slice(from).find((r) => textOf(r.body).includes(uuid));
    expect(card?.url).toBe('/webhookb2/configured');
    const token = tokenIn(card?.body);
    expect(token).toBeDefined();
    const page = await h.request('GET', `/v1/approvals/${uuid}/decide?token=${token}`, { key: null });
    expect(page.status).toBe(200);
  });
});

describe('decide token at rest', () => {
  it('no job payload, job archive or approval row holds the decide token', async () => {
    const from = teams.received.length;
    const uuid = await requestApproval(await workflow(), agentBoth);
    const token = tokenIn((await teams.next((r) => textOf(r.body).includes(uuid), from)).body);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const jobs = await h.query<{ data: unknown }>(
      `SELECT data FROM pgboss.job WHERE name = 'notify-approval'
       UNION ALL SELECT data FROM pgboss.archive WHERE name = 'notify-approval'`,
    );
    expect(jobs.length).toBeGreaterThan(0);
    for (const job of jobs) expect(Object.keys(job.data as object).sort()).toEqual(['approval_id', 'event']);
    expect(textOf(jobs)).not.toContain(token);
    const rows = await h.query<Record<string, unknown>>('SELECT * FROM workflow_approval_requests WHERE uuid = $1', [
      uuid,
    ]);
    expect(textOf(rows)).not.toContain(token as string);
  });
});

describe('untrusted text in notifications', () => {
  const LINK = '[Approve now](https://phish.example/login)';
  const REASON = `urgent ${LINK} **now**\n- step one <at>CISO</at> & <!channel> <https://phish.example|click>`;

  /** Every unescaped Markdown link, emphasis, mention or new line in a card's texts. */
  function cardHazards(card: any): string[] {
    const content = card.attachments[0].content;
    const texts: string[] = [
      ...content.body.filter((b: any) => b.type === 'TextBlock').map((b: any) => b.text),
      ...content.body.filter((b: any) => b.type === 'FactSet').flatMap((b: any) => b.facts.map((f: any) => f.value)),
    ];
    const title = /^\[[A-Z]+\] Workflow Approval Required$/; // ours: the risk level is an enum
    return texts
      .filter((text) => !title.test(text))
      .flatMap((text) => {
        const found: string[] = [];
        if (/\n/.test(text)) found.push(`new line in ${text}`);
        // A character that opens Markdown or a mention, not preceded by a backslash.
        for (const m of text.matchAll(/(?<!\\)[[\]()*_<>&]/g)) found.push(`${m[0]} unescaped in ${text}`);
        return found;
      });
  }

  it('the Teams card escapes indicator value, reason, workflow name and the outcome (real webhook)', async () => {
    const wf = await workflow({ name: 'Block _IP_ [x](https://phish.example)' });
    const from = teams.received.length;
    const uuid = await requestApproval(wf, agentBoth, {
      indicator_type: 'url',
      indicator_value: `https://evil.example/?q=${LINK}`,
      reason: REASON,
    });
    const requested = await teams.next((r) => textOf(r.body).includes('Workflow Approval Required'), from);
    expect(cardHazards(requested.body)).toEqual([]);
    expect(textOf(requested.body)).toContain('\\\\[Approve now\\\\]\\\\(https://phish.example/login\\\\)');
    // The browser page the card links to escapes the same text as HTML.
    const page = await h.request('GET', `/v1/approvals/${uuid}/decide?token=${tokenIn(requested.body)}`, { key: null });
    expect(page.status).toBe(200);
    expect(page.body).toContain('&lt;at&gt;CISO&lt;/at&gt; &amp; &lt;!channel&gt;');
    expect(page.body).not.toMatch(/<at>|<!channel>|<https:/);

    const [{ id }] = (await h.query<{ id: string }>('SELECT id FROM workflow_approval_requests WHERE uuid = $1', [
      uuid,
    ])) as [{ id: string }];
    const notified = (event: string) =>
      h.nextJob((o) => {
        const data = o.data as { event: string; approval_id: number };
        return o.name === 'notify-approval' && data.event === event && data.approval_id === Number(id);
      });
    const decided = notified('decided');
    const executed = notified('executed');
    expect((await decide(uuid, approver)).status).toBe(200);
    expect((await decided).state).toBe('completed');
    expect((await executed).state).toBe('completed');
    const updates = teams.received
      .slice(from)
      .filter((r) => textOf(r.body).includes('Workflow Approval Update') && textOf(r.body).includes('Block \\\\_IP'));
    expect(updates.length).toBe(2); // decided, executed (its message repeats the indicator value)
    for (const update of updates) expect(cardHazards(update.body)).toEqual([]);
  });

  const approval = (overrides: Partial<WorkflowApproval>): WorkflowApproval => ({
    uuid: '00000000-0000-4000-8000-000000000000',
    workflow_uuid: '00000000-0000-4000-8000-000000000001',
    workflow_name: 'wf <https://phish.example|Approve>',
    risk_level: 'high',
    status: 'approved',
    trigger_type: 'agent',
    trigger_agent_key_prefix: 'cai_abcd',
    trigger_context: { indicator_type: 'ip', indicator_value: '<!channel>', alert_id: null, alert_uuid: null },
    reason: REASON,
    confidence: 0.5,
    notifier_type: 'slack',
    notifier_channel: null,
    responder_id: '<@U0ADMIN> & <https://phish.example|me>',
    responded_at: null,
    expires_at: new Date().toISOString(),
    run_uuid: null,
    execution_result: { success: true, message: '<https://phish.example|done>', data: {} },
    created_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
    ...overrides,
  });

  it('Slack messages (every mrkdwn text, the fallback `text` too) carry no link, mention or forged line', () => {
    for (const event of ['requested', 'decided', 'executed'] as const) {
      const message = slackMessage(approval({}), event, { buttons: true });
      const texts: string[] = [];
      const walk = (node: unknown, key = ''): void => {
        if (typeof node === 'string' && key === 'text') texts.push(node);
        else if (Array.isArray(node)) for (const item of node) walk(item);
        else if (node && typeof node === 'object' && (node as { type?: string }).type !== 'plain_text') {
          for (const [k, v] of Object.entries(node)) walk(v, k); // plain_text is never parsed for links
        }
      };
      walk(message);
      expect(texts.length).toBeGreaterThan(1);
      for (const text of texts) {
        expect(text, event).not.toMatch(/[<>]/);
        expect(text, event).not.toMatch(/&(?!amp;|lt;|gt;)/);
        expect(text, event).not.toMatch(/\n- step/);
      }
    }
  });

  it('long attacker text is cut to what Slack and Teams accept', () => {
    const long = approval({ reason: '&'.repeat(10_000) });
    const section = (slackMessage(long, 'requested', { buttons: false }).blocks as any[])[2];
    expect(section.text.text.length).toBeLessThanOrEqual(3_000);
    const card = teamsMessage(long, 'requested', {});
    expect(textOf(card).length).toBeLessThan(20_000);
  });
});

/**
 * Review R1 of the approval-bypass fix (issue 15, "lowering a workflow's approval mode is
 * admin-only"): the PATCH was closed, but a `workflows:write` key could still create a workflow
 * with `approval_mode: never` (or `agent_only`) and execute it — the same bypass through the
 * create route: the default mode is `always`, so creating below it is lowering it. And the code of a
 * workflow an admin let run without review (`never`, or `agent_only` for person keys) could be
 * rewritten by any `workflows:write` key and run at once: what the admin exempted was that code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

const CODE = `export async function run(ctx) {
  return WorkflowResult.ok('disabled ' + ctx.indicator.value, {});
}`;

describe('creating a workflow below the default approval mode needs admin', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('an agent key with workflows:write + workflows:execute cannot create an unreviewed workflow and run it', async () => {
    const agent = await h.createKey({
      scopes: ['workflows:read', 'workflows:write', 'workflows:execute'],
      key_type: 'agent',
    });
    for (const mode of ['never', 'agent_only']) {
      const created = await h.request('POST', '/v1/workflows', {
        key: agent,
        json: { name: `unreviewed ${mode}`, code: CODE, state: 'active', approval_mode: mode },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(403);
      expect(created.body.error.code).toBe('FORBIDDEN');
    }
    const runs = await h.query<{ n: string }>('SELECT count(*) AS n FROM workflow_runs');
    expect(Number(runs[0]?.n)).toBe(0);
    expect(
      (await h.query<{ n: string }>("SELECT count(*) AS n FROM workflows WHERE name LIKE 'unreviewed %'"))[0]?.n,
    ).toBe('0');

    // The default (always) stays open to workflows:write, and its runs wait for a person.
    const gated = await h.request('POST', '/v1/workflows', {
      key: agent,
      json: { name: 'reviewed', code: CODE, state: 'active', indicator_types: ['ip'] },
    });
    expect(gated.status).toBe(201);
    expect(gated.body.data.approval_mode).toBe('always');
    const executed = await h.request('POST', `/v1/workflows/${gated.body.data.uuid}/execute`, {
      key: agent,
      json: { indicator_type: 'ip', indicator_value: '203.0.113.7', reason: 'r1', confidence: 0.9 },
    });
    expect(executed.status, JSON.stringify(executed.body)).toBe(202);
    expect(executed.body.data.status).toBe('pending_approval');

    // An admin may still create one without approval.
    const admin = await h.request('POST', '/v1/workflows', {
      json: { name: 'admin never', code: CODE, state: 'active', approval_mode: 'never' },
    });
    expect(admin.status).toBe(201);
  });

  it('new code (or a new endpoint) of a workflow that runs without review needs admin, or full review', async () => {
    const agent = await h.createKey({
      scopes: ['workflows:read', 'workflows:write', 'workflows:execute'],
      key_type: 'agent',
    });
    const created = await h.request('POST', '/v1/workflows', {
      json: { name: 'tag only', code: CODE, state: 'active', approval_mode: 'never', indicator_types: ['ip'] },
    });
    const uuid = created.body.data.uuid as string;
    const evil = CODE.replace('disabled', 'really disabled');
    const rewrite = await h.request('PATCH', `/v1/workflows/${uuid}`, { key: agent, json: { code: evil } });
    expect(rewrite.status, JSON.stringify(rewrite.body)).toBe(403);
    expect((await h.request('GET', `/v1/workflows/${uuid}`)).body.data.code).toBe(CODE);

    // Other fields stay open, and new code with full review is accepted (the next run waits for a person).
    expect((await h.request('PATCH', `/v1/workflows/${uuid}`, { key: agent, json: { tags: ['x'] } })).status).toBe(200);
    const reviewed = await h.request('PATCH', `/v1/workflows/${uuid}`, {
      key: agent,
      json: { code: evil, approval_mode: 'always' },
    });
    expect(reviewed.status, JSON.stringify(reviewed.body)).toBe(200);
    const executed = await h.request('POST', `/v1/workflows/${uuid}/execute`, {
      key: agent,
      json: { indicator_type: 'ip', indicator_value: '203.0.113.8', reason: 'r1', confidence: 0.9 },
    });
    expect(executed.body.data.status).toBe('pending_approval');
    // An admin may still change the code of an unreviewed workflow.
    const admin = await h.request('POST', '/v1/workflows', {
      json: { name: 'admin tag', code: CODE, state: 'active', approval_mode: 'agent_only' },
    });
    expect((await h.request('PATCH', `/v1/workflows/${admin.body.data.uuid}`, { json: { code: evil } })).status).toBe(
      200,
    );
  });

  it("a workflows:write + workflows:execute key cannot read an admin-set secret through a test run's transformed output", async () => {
    const secret = 'sk_live_R1_admin_secret_value';
    const created = await h.request('POST', '/v1/workflows', {
      json: { name: 'uses a secret', code: CODE, state: 'active', secrets: ['VT_KEY'], indicator_types: ['ip'] },
    });
    const uuid = created.body.data.uuid as string;
    expect((await h.request('PUT', `/v1/workflows/${uuid}/secrets/VT_KEY`, { json: { value: secret } })).status).toBe(
      200,
    );
    const writer = await h.createKey({
      scopes: ['workflows:read', 'workflows:write', 'workflows:execute'],
      key_type: 'agent',
    });
    // approval_mode stays `always`, so the code change is allowed; a test run needs no approval.
    const exfiltrate = `export async function run(ctx) {
  const s = ctx.secrets.get('VT_KEY') || '';
  return WorkflowResult.ok('ok', { reversed: s.split('').reverse().join(''), spaced: s.split('').join(' ') });
}`;
    expect(
      (await h.request('PATCH', `/v1/workflows/${uuid}`, { key: writer, json: { code: exfiltrate } })).status,
    ).toBe(200);
    const run = await h.request('POST', `/v1/workflows/${uuid}/test`, {
      key: writer,
      json: { indicator_type: 'ip', indicator_value: '203.0.113.9' },
    });
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    const text = JSON.stringify(run.body);
    expect(text).not.toContain(secret.split('').reverse().join(''));
    expect(text).not.toContain(secret.split('').join(' '));
  });
});

/**
 * Review R1 of the approval-bypass fix (issue 15, "lowering a workflow's approval mode is
 * admin-only"): the PATCH was closed, but a `workflows:write` key could still create a workflow
 * with `approval_mode: never` (or `agent_only`) and execute it — the same bypass through the
 * create route: the default mode is `always`, so creating below it is lowering it.
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
});

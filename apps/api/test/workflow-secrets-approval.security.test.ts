/**
 * Audit findings (issue 15):
 * - Low: secrets embedded in a test run's URLs were echoed back (the response's `http_calls`, logs,
 *   result) — secret values are now redacted from everything a test run returns and from the logs
 *   and result a real run stores.
 * - Medium (approval bypass): a `workflows:write` key could lower a workflow's `approval_mode` —
 *   lowering it (always → agent_only → never) now needs `admin`, and the change is audited with its
 *   before and after.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

/** A value with characters URL encoding changes, so both of its forms must be redacted. */
const SECRET = 'sk_live+Zq9/Ab c=';

const LEAKY = `export async function run(ctx) {
  const key = ctx.secrets.get('VT_KEY');
  const r = await ctx.http.get(ctx.indicator.value + '/lookup?key=' + encodeURIComponent(key) + '&raw=' + key);
  ctx.log('called with ' + key, { key, [key]: 1 });
  if (r.status !== 200) throw new Error('lookup failed for ' + key);
  return WorkflowResult.ok('done ' + key, { key, echoed: r.text });
}`;

describe('workflow secrets are never echoed; lowering approval is admin-only and audited', () => {
  let h: Harness;
  let target: { host: string; close: () => Promise<void> };

  beforeAll(async () => {
    // A real server the real run calls; it echoes the URL it got (as a careless API would).
    const server = createServer((req, res) => res.end(`you asked ${req.url}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    target = { host, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    h = await createHarness({ allowHosts: [host] });
    await h.startWorker();
  });
  afterAll(async () => {
    await h.close();
    await target.close();
  });

  async function leakyWorkflow(overrides: Record<string, unknown> = {}) {
    const created = await h.request('POST', '/v1/workflows', {
      json: {
        name: `leaky ${Math.random()}`,
        code: LEAKY,
        state: 'active',
        approval_mode: 'never',
        secrets: ['VT_KEY'],
        indicator_types: ['url'],
        ...overrides,
      },
    });
    expect(created.status).toBe(201);
    const uuid = created.body.data.uuid as string;
    expect((await h.request('PUT', `/v1/workflows/${uuid}/secrets/VT_KEY`, { json: { value: SECRET } })).status).toBe(
      200,
    );
    return uuid;
  }

  // As written, and as encodeURIComponent, a form body and a URL's query (space → %20) write it.
  const forms = [SECRET, encodeURIComponent(SECRET), 'sk_live%2BZq9%2FAb+c%3D', 'sk_live+Zq9/Ab%20c='];
  const expectNoSecret = (text: string) => {
    for (const form of forms) expect(text).not.toContain(form);
    expect(text).toContain('[secret VT_KEY]');
  };

  it('a test run returns no secret value: not in http_calls URLs, logs, result or error', async () => {
    const uuid = await leakyWorkflow();
    const ok = await h.request('POST', `/v1/workflows/${uuid}/test`, {
      json: {
        indicator_type: 'url',
        indicator_value: 'https://intel.example.com',
        mock_http: [{ url_pattern: 'https://intel.example.com/lookup', status: 200, body: 'fine' }],
      },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.data.status).toBe('succeeded');
    expect(ok.body.data.http_calls).toHaveLength(1);
    expectNoSecret(JSON.stringify(ok.body));

    const failing = await h.request('POST', `/v1/workflows/${uuid}/test`, {
      json: {
        indicator_type: 'url',
        indicator_value: 'https://intel.example.com',
        mock_http: [{ url_pattern: 'https://intel.example.com/', status: 500, body: 'no' }],
      },
    });
    expect(failing.body.data.status).toBe('failed');
    expect(failing.body.data.error).toContain('lookup failed for [secret VT_KEY]');
    expectNoSecret(JSON.stringify(failing.body));
  });

  it('a real run stores no secret value in its logs or result (the call itself used the real one)', async () => {
    const uuid = await leakyWorkflow();
    const done = h.nextJob((o) => o.name === 'execute-workflow');
    const res = await h.request('POST', `/v1/workflows/${uuid}/execute`, {
      json: { indicator_type: 'url', indicator_value: `http://${target.host}` },
    });
    expect(res.status).toBe(202);
    expect((await done).state).toBe('completed');
    const run = await h.request('GET', `/v1/workflow-runs/${res.body.data.uuid}`);
    expect(run.body.data.status).toBe('succeeded');
    expectNoSecret(JSON.stringify(run.body));
    const [stored] = await h.query<{ log_output: string; result: unknown }>(
      'SELECT log_output, result FROM workflow_runs WHERE uuid = $1',
      [res.body.data.uuid],
    );
    expectNoSecret(JSON.stringify(stored));
  });

  it('lowering approval_mode needs admin; raising it does not; both are audited with before/after', async () => {
    const writer = await h.createKey({ scopes: ['workflows:read', 'workflows:write'] });
    const created = await h.request('POST', '/v1/workflows', {
      json: { name: `gated ${Math.random()}`, code: LEAKY, state: 'active', approval_mode: 'always' },
    });
    const uuid = created.body.data.uuid as string;
    const patch = (key: string, approval_mode: string) =>
      h.request('PATCH', `/v1/workflows/${uuid}`, { key, json: { approval_mode } });

    for (const lower of ['never', 'agent_only']) {
      const refused = await patch(writer, lower);
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('FORBIDDEN');
    }
    expect((await h.request('GET', `/v1/workflows/${uuid}`)).body.data.approval_mode).toBe('always');

    const lowered = await patch(h.adminKey, 'agent_only');
    expect(lowered.status).toBe(200);
    expect(lowered.body.data.approval_mode).toBe('agent_only');
    expect((await patch(writer, 'never')).status).toBe(403);
    const raised = await patch(writer, 'always');
    expect(raised.status).toBe(200);

    const events = await h.query<{ references: { approval_mode?: { before: string; after: string } } }>(
      `SELECT e."references" FROM activity_events e JOIN workflows w ON w.id = e.workflow_id
       WHERE w.uuid = $1 AND e.event_type = 'workflow_updated' ORDER BY e.id`,
      [uuid],
    );
    expect(events.map((e) => e.references.approval_mode)).toEqual([
      { before: 'always', after: 'agent_only' },
      { before: 'agent_only', after: 'always' },
    ]);
  });
});

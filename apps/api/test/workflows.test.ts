import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

const OK_CODE = `export async function run(ctx) {
  ctx.log.info('hello', { v: ctx.indicator.value });
  return WorkflowResult.ok('done', { value: ctx.indicator.value });
}`;

/** A local HTTP server the workflows call; it records what it received. */
async function startTarget() {
  const received: Array<{ url: string; auth: string | undefined }> = [];
  const server = createServer((req, res) => {
    received.push({ url: req.url ?? '', auth: req.headers.authorization });
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ verdict: 'blocked', path: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('workflows API (real Postgres, real worker, real HTTP)', () => {
  let h: Harness;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let blocked: Awaited<ReturnType<typeof startTarget>>;

  beforeAll(async () => {
    target = await startTarget();
    blocked = await startTarget();
    h = await createHarness({ allowHosts: [target.host] });
    await h.startWorker();
  });
  afterAll(async () => {
    await h.close();
    await target.close();
    await blocked.close();
  });

  /** Approval `never`: these tests are about execution (approval gating has its own tests). */
  async function create(overrides: Record<string, unknown> = {}) {
    const res = await h.request('POST', '/v1/workflows', {
      json: { name: `wf ${Math.random()}`, code: OK_CODE, state: 'active', approval_mode: 'never', ...overrides },
    });
    expect(res.status).toBe(201);
    return res.body.data;
  }

  async function executeAndWait(uuid: string, json: Record<string, unknown> = {}) {
    const done = h.nextJob((o) => o.name === 'execute-workflow');
    const res = await h.request('POST', `/v1/workflows/${uuid}/execute`, {
      json: { indicator_type: 'ip', indicator_value: '8.8.8.8', ...json },
    });
    expect(res.status).toBe(202);
    expect(res.body.data.status).toBe('queued');
    const outcome = await done;
    expect(outcome.state).toBe('completed');
    const run = await h.request('GET', `/v1/workflow-runs/${res.body.data.uuid}`);
    expect(run.status).toBe(200);
    return run.body.data;
  }

  it('creates, lists with filters, gets, patches with a version snapshot, deletes', async () => {
    const wf = await create({ state: 'draft', tags: ['t1'], risk_level: 'high', indicator_types: ['ip'] });
    expect(wf).toMatchObject({
      state: 'draft',
      is_active: false,
      code_version: 1,
      is_system: false,
      risk_level: 'high',
    });
    expect(wf.code).toBe(OK_CODE);

    const list = await h.request('GET', '/v1/workflows?state=draft&is_system=false');
    expect(list.status).toBe(200);
    expect(list.body.data.map((w: { uuid: string }) => w.uuid)).toContain(wf.uuid);
    expect(list.body.data.every((w: { state: string }) => w.state === 'draft')).toBe(true);
    expect(list.body.data[0].code).toBeUndefined();

    const newCode = OK_CODE.replace("'done'", "'done v2'");
    const patched = await h.request('PATCH', `/v1/workflows/${wf.uuid}`, { json: { code: newCode, state: 'active' } });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toMatchObject({ code_version: 2, state: 'active', is_active: true, code: newCode });

    const versions = await h.request('GET', `/v1/workflows/${wf.uuid}/versions`);
    expect(versions.body.data).toHaveLength(1);
    expect(versions.body.data[0]).toMatchObject({ version: 1, code: OK_CODE, code_preview: OK_CODE.slice(0, 120) });

    const del = await h.request('DELETE', `/v1/workflows/${wf.uuid}`);
    expect(del.status).toBe(204);
    expect((await h.request('GET', `/v1/workflows/${wf.uuid}`)).status).toBe(404);
  });

  it('rejects invalid code with line and column', async () => {
    const res = await h.request('POST', '/v1/workflows', {
      json: { name: 'bad', code: 'export async function run(ctx) {\n  return eval("1");\n}' },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    expect(res.body.error.details.errors[0]).toMatchObject({ line: 2, column: expect.any(Number) });
    expect(res.body.error.details.errors[0].message).toMatch(/eval/);

    const noRun = await h.request('POST', '/v1/workflows', { json: { name: 'bad', code: 'const x = 1;' } });
    expect(noRun.status).toBe(422);
  });

  it('enforces scopes', async () => {
    const reader = await h.createKey({ scopes: ['workflows:read'] });
    expect((await h.request('GET', '/v1/workflows', { key: reader })).status).toBe(200);
    const denied = await h.request('POST', '/v1/workflows', { key: reader, json: { name: 'x', code: OK_CODE } });
    expect(denied.status).toBe(403);
  });

  it('stores declared secrets sealed, never returns them, and passes them to the run', async () => {
    const wf = await create({
      secrets: ['API_TOKEN'],
      code: `export async function run(ctx) {
        const r = await ctx.http.get('http://${target.host}/secret', { headers: { authorization: 'Bearer ' + ctx.secrets.get('API_TOKEN') } });
        return WorkflowResult.ok('sent', { status: r.status, other: ctx.secrets.get('PATH') ?? null });
      }`,
    });
    expect(wf.secrets).toEqual([{ name: 'API_TOKEN', is_set: false }]);
    const undeclared = await h.request('PUT', `/v1/workflows/${wf.uuid}/secrets/OTHER`, { json: { value: 'x' } });
    expect(undeclared.status).toBe(422);
    const set = await h.request('PUT', `/v1/workflows/${wf.uuid}/secrets/API_TOKEN`, {
      json: { value: 's3cr3t-value' },
    });
    expect(set.status).toBe(200);
    expect(set.body.data.secrets).toEqual([{ name: 'API_TOKEN', is_set: true }]);
    expect(JSON.stringify(set.body)).not.toContain('s3cr3t-value');
    const got = await h.request('GET', `/v1/workflows/${wf.uuid}`);
    expect(JSON.stringify(got.body)).not.toContain('s3cr3t-value');
    const rows = await h.query<{ value_encrypted: string }>(
      'SELECT value_encrypted FROM workflow_secrets WHERE name = $1',
      [`${wf.uuid}:API_TOKEN`],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.value_encrypted).not.toContain('s3cr3t-value');

    const run = await executeAndWait(wf.uuid);
    expect(run.status).toBe('succeeded');
    expect(run.result.data).toEqual({ status: 200, other: null });
    expect(target.received.find((r) => r.url === '/secret')?.auth).toBe('Bearer s3cr3t-value');
  });

  it('executes end to end through the worker: HTTP via ctx.http, result, logs, activity', async () => {
    const wf = await create({
      code: `export async function run(ctx) {
        ctx.log.info('checking', { ip: ctx.indicator.value });
        const r = await ctx.http.post('http://${target.host}/block', { json: { ip: ctx.indicator.value } });
        const body = r.json();
        return WorkflowResult.ok('blocked ' + ctx.indicator.value, { verdict: body.verdict });
      }`,
    });
    const run = await executeAndWait(wf.uuid, { indicator_value: '203.0.113.9' });
    expect(run).toMatchObject({
      status: 'succeeded',
      workflow_uuid: wf.uuid,
      trigger_type: 'human',
      code_version_executed: 1,
      attempt_count: 1,
      error: null,
      result: { success: true, message: 'blocked 203.0.113.9', data: { verdict: 'blocked' } },
    });
    expect(run.logs[0]).toMatchObject({ level: 'info', message: 'checking', extra: { ip: '203.0.113.9' } });
    expect(run.duration_ms).toBeGreaterThanOrEqual(0);
    expect(run.started_at).not.toBeNull();
    expect(run.completed_at).not.toBeNull();
    expect(target.received.some((r) => r.url === '/block')).toBe(true);

    const runs = await h.request('GET', `/v1/workflows/${wf.uuid}/runs`);
    expect(runs.body.data.map((r: { uuid: string }) => r.uuid)).toEqual([run.uuid]);
    const filtered = await h.request('GET', `/v1/workflow-runs?status=succeeded&workflow_uuid=${wf.uuid}`);
    expect(filtered.body.meta.total).toBe(1);
    const events = await h.query<{ references: { status: string } }>(
      `SELECT "references" FROM activity_events e JOIN workflows w ON w.id = e.workflow_id WHERE w.uuid = $1 AND event_type = 'workflow_executed'`,
      [wf.uuid],
    );
    expect(events.map((e) => e.references.status)).toEqual(['succeeded']);
  });

  it('refuses a non-allow-listed local address (SSRF) inside the workflow', async () => {
    const wf = await create({
      code: `export async function run(ctx) {
        await ctx.http.get('http://${blocked.host}/x');
        return WorkflowResult.ok('should not get here');
      }`,
    });
    const run = await executeAndWait(wf.uuid);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/refused|blocked/i);
    expect(blocked.received).toHaveLength(0);
  });

  it('records timed_out explicitly', async () => {
    const wf = await create({
      timeout_seconds: 1,
      code: 'export async function run(ctx) { for (;;) {} }',
    });
    const run = await executeAndWait(wf.uuid);
    expect(run.status).toBe('timed_out');
    expect(run.error).toMatch(/timed out/);
  });

  it('requires an active workflow and, for agent keys, reason and confidence', async () => {
    const draft = await create({ state: 'draft' });
    const notActive = await h.request('POST', `/v1/workflows/${draft.uuid}/execute`, {
      json: { indicator_type: 'ip', indicator_value: '1.1.1.1' },
    });
    expect(notActive.status).toBe(409);

    const agent = await h.createKey({ scopes: ['workflows:execute', 'workflows:read'], key_type: 'agent' });
    const wf = await create();
    const missing = await h.request('POST', `/v1/workflows/${wf.uuid}/execute`, {
      key: agent,
      json: { indicator_type: 'ip', indicator_value: '1.1.1.1' },
    });
    expect(missing.status).toBe(422);
    expect(missing.body.error.details.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'confidence',
      'reason',
    ]);
    const bad = await h.request('POST', `/v1/workflows/${wf.uuid}/execute`, {
      key: agent,
      json: { indicator_type: 'ip', indicator_value: '1.1.1.1', reason: 'r', confidence: 1.5 },
    });
    expect(bad.status).toBe(422);
    const run = await executeAndWait(wf.uuid, { reason: 'suspicious', confidence: 0.9 });
    expect(run.status).toBe('succeeded');
  });

  it('tests with mock_http and records nothing', async () => {
    const wf = await create({
      state: 'draft',
      code: `export async function run(ctx) {
        const r = await ctx.http.get('https://api.example.com/v1/users/42');
        ctx.log('got ' + r.status);
        let unmatched = null;
        try { await ctx.http.get('https://other.example.com/'); } catch (e) { unmatched = String(e.message); }
        return WorkflowResult.ok('ok', { name: r.json().name, unmatched });
      }`,
    });
    const before = await h.query<{ n: string }>('SELECT count(*) AS n FROM workflow_runs');
    const res = await h.request('POST', `/v1/workflows/${wf.uuid}/test`, {
      json: {
        indicator_type: 'account',
        indicator_value: 'alice',
        mock_http: [
          { method: 'GET', url_pattern: 'https://api.example.com/v1/users/*', status: 200, json: { name: 'Alice' } },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'succeeded', success: true, result: { data: { name: 'Alice' } } });
    expect(res.body.data.result.data.unmatched).toMatch(/No mock_http entry matches GET https:\/\/other\.example\.com/);
    expect(res.body.data.logs[0].message).toBe('got 200');
    expect(res.body.data.http_calls).toHaveLength(2);
    expect(typeof res.body.data.duration_ms).toBe('number');
    const after = await h.query<{ n: string }>('SELECT count(*) AS n FROM workflow_runs');
    expect(after[0]?.n).toBe(before[0]?.n);
  });

  it('seeds the builtin workflows idempotently, inactive without credentials, code read-only', async () => {
    // Seeded by seedSystemRows at start-up (the harness runs it); no credentials here → inactive.
    const list = await h.request('GET', '/v1/workflows?is_system=true&page_size=50');
    expect(list.body.meta.total).toBe(9);
    for (const wf of list.body.data) {
      expect(wf).toMatchObject({
        is_system: true,
        approval_mode: 'always',
        state: 'inactive',
        indicator_types: ['account'],
      });
      expect(wf.documentation).toMatch(/not configured/);
    }
    const { seedSystemRows } = await import('@calseta/core');
    await seedSystemRows(h.deps); // a restart re-seeds: still nine
    expect((await h.request('GET', '/v1/workflows?is_system=true')).body.meta.total).toBe(9);
    // Processes starting together (fresh database): still nine, no duplicates.
    await h.query('DELETE FROM workflows WHERE is_system');
    await Promise.all([seedSystemRows(h.deps), seedSystemRows(h.deps), seedSystemRows(h.deps)]);
    const seeded = await h.request('GET', '/v1/workflows?is_system=true&page_size=50');
    expect(seeded.body.meta.total).toBe(9);

    const first = seeded.body.data[0];
    const edit = await h.request('PATCH', `/v1/workflows/${first.uuid}`, { json: { code: OK_CODE } });
    expect(edit.status).toBe(400);
    expect(edit.body.error.code).toBe('BUILTIN_RESTRICTED');
    expect((await h.request('DELETE', `/v1/workflows/${first.uuid}`)).status).toBe(403);
  });
});

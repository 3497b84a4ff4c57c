/**
 * Audit findings (issue 15, High 1 and 2): one request froze the API or the worker.
 * 1. `POST /v1/workflows/{uuid}/test` with `for(;;){}` blocked every request for its deadline, and a
 *    real run did the same to the worker's job loop: workflow code now runs in worker threads.
 * 2. A mock `url_pattern` of 40 `*` and a `!` became a backtracking regular expression that hung
 *    `/health` for more than 20 s: globs are now matched by a linear matcher.
 * Each attack runs while `/health` is requested; `/health` must answer within 1 s (generous, so a
 * loaded machine does not flake it). The API and its in-process worker share one event loop here,
 * exactly as the attack needs: anything run on it would hold both.
 */
import { workflowSandbox } from '@calseta/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

const SPIN = 'export async function run(ctx) { for (;;) {} }';
const OK = `export async function run(ctx) { return WorkflowResult.ok('quick', { v: ctx.indicator.value }); }`;

describe('one request cannot freeze the API or the worker', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await createHarness();
    await h.startWorker(4);
    // Both sandbox threads started up front: the timings below are the attack's, not a thread start's.
    await workflowSandbox(h.deps.config).prewarm(2);
  });
  afterAll(async () => {
    await h.close();
  });

  async function create(code: string, overrides: Record<string, unknown> = {}) {
    const res = await h.request('POST', '/v1/workflows', {
      json: { name: `wf ${Math.random()}`, code, state: 'active', approval_mode: 'never', ...overrides },
    });
    expect(res.status).toBe(201);
    return res.body.data as { uuid: string };
  }

  /** Requests `/health` until `until` settles; the slowest answer (ms) and how many there were. */
  async function healthWhile(until: Promise<unknown>) {
    let settled = false;
    void until.finally(() => {
      settled = true;
    });
    let slowest = 0;
    let count = 0;
    do {
      const started = performance.now();
      const res = await fetch(`${h.baseUrl}/health`);
      await res.text();
      expect(res.status).toBe(200);
      slowest = Math.max(slowest, performance.now() - started);
      count++;
    } while (!settled);
    return { slowest, count };
  }

  it('a test run of for(;;){} does not block /health; it ends as timed_out at its deadline', async () => {
    const wf = await create(SPIN, { timeout_seconds: 3 });
    const attack = h.request('POST', `/v1/workflows/${wf.uuid}/test`, {
      json: { indicator_type: 'ip', indicator_value: '8.8.8.8' },
    });
    const health = await healthWhile(attack);
    const res = await attack;
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'timed_out', success: false });
    expect(res.body.data.error).toBe('Workflow execution timed out after 3 seconds');
    expect(health.count).toBeGreaterThanOrEqual(3);
    expect(health.slowest).toBeLessThan(1_000);
  });

  it('a real run of for(;;){} leaves the worker serving: a second job completes while it spins', async () => {
    const spin = await create(SPIN, { timeout_seconds: 6 });
    const quick = await create(OK);
    const started = await h.request('POST', `/v1/workflows/${spin.uuid}/execute`, {
      json: { indicator_type: 'ip', indicator_value: '1.1.1.1' },
    });
    expect(started.status).toBe(202);
    const spinRun = started.body.data.uuid as string;
    // Wait until the worker has claimed the spinning run (it is then running in a sandbox thread).
    let status = 'queued';
    while (status === 'queued') {
      status = (await h.request('GET', `/v1/workflow-runs/${spinRun}`)).body.data.status;
    }
    expect(status).toBe('running');
    const [row] = await h.query<{ id: number }>('SELECT id FROM workflow_runs WHERE uuid = $1', [spinRun]);
    const spinId = row?.id;
    const ofSpin = (o: { name: string; data: unknown }) =>
      o.name === 'execute-workflow' && Number((o.data as { run_id: number }).run_id) === Number(spinId);
    const spinDone = h.nextJob(ofSpin);

    const quickDone = h.nextJob((o) => o.name === 'execute-workflow' && !ofSpin(o));
    const queued = await h.request('POST', `/v1/workflows/${quick.uuid}/execute`, {
      json: { indicator_type: 'ip', indicator_value: '9.9.9.9' },
    });
    expect(queued.status).toBe(202);
    const health = await healthWhile(quickDone);
    expect(health.slowest).toBeLessThan(1_000);
    const quickRun = (await h.request('GET', `/v1/workflow-runs/${queued.body.data.uuid}`)).body.data;
    expect(quickRun).toMatchObject({ status: 'succeeded', result: { message: 'quick', data: { v: '9.9.9.9' } } });
    // The spinning run is still going: the quick one did not wait for it.
    expect((await h.request('GET', `/v1/workflow-runs/${spinRun}`)).body.data.status).toBe('running');

    await spinDone;
    const ended = (await h.request('GET', `/v1/workflow-runs/${spinRun}`)).body.data;
    expect(ended).toMatchObject({ status: 'timed_out', error: 'Workflow execution timed out after 6 seconds' });
    // The pool recovered: the next run works.
    const again = h.nextJob((o) => o.name === 'execute-workflow');
    const next = await h.request('POST', `/v1/workflows/${quick.uuid}/execute`, {
      json: { indicator_type: 'ip', indicator_value: '4.4.4.4' },
    });
    await again;
    expect((await h.request('GET', `/v1/workflow-runs/${next.body.data.uuid}`)).body.data.status).toBe('succeeded');
  });

  it('a mock url_pattern of 40 `*` and a `!` does not block /health (no backtracking regex)', async () => {
    const wf = await create(`export async function run(ctx) {
      const r = await ctx.http.get('https://api.example.com/${'a'.repeat(64)}');
      return WorkflowResult.ok('matched', { status: r.status });
    }`);
    const attack = h.request('POST', `/v1/workflows/${wf.uuid}/test`, {
      json: {
        indicator_type: 'ip',
        indicator_value: '8.8.8.8',
        mock_http: [
          { url_pattern: `https://api.example.com/${'*'.repeat(40)}!`, status: 500, json: {} },
          { url_pattern: 'https://api.example.com/*a*a*a', status: 204, body: '' },
        ],
      },
    });
    const health = await healthWhile(attack);
    const res = await attack;
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'succeeded', result: { data: { status: 204 } } });
    expect(health.slowest).toBeLessThan(1_000);
  });
});

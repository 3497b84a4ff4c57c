/**
 * Audit finding (issue 15, High 1): workflow code ran on the event loop of the process that serves
 * requests and jobs, so `for(;;){}` froze it for the whole deadline. The threaded sandbox runs it
 * in worker threads: the parent's event loop stays free, a run is ended at its deadline (its thread
 * terminated as the backstop), a memory bomb or a thread's death fails that run only, and the pool
 * serves the next run.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThreadedSandbox, type HostHttp, type Sandbox } from './index.js';

const OK = `export async function run(ctx) { return WorkflowResult.ok('fine', { n: ctx.indicator.n }); }`;
const SPIN = 'export async function run() { for (;;) {} }';

let sandbox: Sandbox;
let server: ReturnType<typeof createServer>;
let url: string;

beforeAll(async () => {
  sandbox = createThreadedSandbox({ threads: 2, limits: { timeoutMs: 5_000 } });
  await sandbox.prewarm(2);
  // A real server in this process: it can answer only while this thread's event loop is free.
  server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
});
afterAll(async () => {
  sandbox.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Requests `url` until `until` settles; returns the slowest answer (ms) and how many there were. */
async function probeWhile(until: Promise<unknown>): Promise<{ slowest: number; count: number }> {
  let settled = false;
  void until.finally(() => {
    settled = true;
  });
  let slowest = 0;
  let count = 0;
  while (!settled) {
    const started = performance.now();
    const res = await fetch(url);
    await res.text();
    slowest = Math.max(slowest, performance.now() - started);
    count++;
  }
  return { slowest, count };
}

describe('workflow code runs off the event loop (threaded sandbox)', () => {
  it('for(;;){} does not stall this thread: a local server answers within 1 s while it spins', async () => {
    const run = sandbox.run({ code: SPIN, limits: { timeoutMs: 2_000 } });
    const probe = await probeWhile(run);
    const outcome = await run;
    expect(outcome).toMatchObject({ status: 'timed_out', limit: 'timeout' });
    expect(probe.count).toBeGreaterThanOrEqual(3);
    expect(probe.slowest).toBeLessThan(1_000);
  });

  it('a run that exceeds its deadline is terminated and reported as a timeout; the pool recovers', async () => {
    const before = sandbox.stats().modulesCreated;
    // Costly native calls between interrupt polls: the thread's own deadline would end this at
    // deadline + the watchdog grace; with no termination grace, the pool terminates the thread first.
    const strict = createThreadedSandbox({ threads: 1, terminateGraceMs: 0 });
    try {
      await strict.prewarm();
      const started = performance.now();
      const outcome = await strict.run({
        code: 'export function run() { const a = new Array(2e5).fill("abc"); for (;;) a.join(","); }',
        limits: { timeoutMs: 300 },
      });
      expect(outcome).toMatchObject({
        status: 'timed_out',
        limit: 'timeout',
        result: null,
        error: 'Workflow execution timed out after 0.3 seconds',
      });
      expect(performance.now() - started).toBeLessThan(1_500);
      const next = await strict.run({ code: OK, context: { indicator: { n: 1 } } });
      expect(next).toMatchObject({ status: 'succeeded', result: { data: { n: 1 } } });
      expect(strict.stats().modulesCreated).toBe(2); // the terminated thread was replaced
    } finally {
      strict.close();
    }
    expect(sandbox.stats().modulesCreated).toBe(before);
  });

  it('one spinning run leaves the other thread free: a concurrent run completes at once', async () => {
    const spinning = sandbox.run({ code: SPIN, limits: { timeoutMs: 3_000 } });
    let spun = false;
    void spinning.then(() => {
      spun = true;
    });
    const quick = await sandbox.run({ code: OK, context: { indicator: { n: 2 } } });
    expect(quick.status).toBe('succeeded');
    expect(spun).toBe(false);
    expect((await spinning).status).toBe('timed_out');
  });

  it('a memory bomb is stopped (QuickJS memory cap) and the next run works', async () => {
    const bomb = 'export function run() { const a = []; for (;;) a.push("x".repeat(1e6) + a.length); }';
    const run = sandbox.run({ code: bomb });
    const probe = await probeWhile(run);
    expect(await run).toMatchObject({
      status: 'failed',
      limit: 'memory',
      error: 'Workflow exceeded memory limit (64 MB)',
    });
    expect(probe.slowest).toBeLessThan(1_000);
    expect(await sandbox.run({ code: OK, context: { indicator: { n: 3 } } })).toMatchObject({ status: 'succeeded' });
  });

  it('a thread whose V8 heap overflows (resourceLimits) fails that run only; it is replaced', async () => {
    const small = createThreadedSandbox({ threads: 1, resourceLimits: { maxOldGenerationSizeMb: 12 } });
    try {
      // A 12 MB result string: QuickJS holds it within its 64 MB cap, the thread's 12 MB heap cannot.
      const outcome = await small.run({
        code: 'export function run() { return WorkflowResult.ok("big", "y".repeat(12e6)); }',
      });
      expect(outcome).toMatchObject({
        status: 'failed',
        result: null,
        limit: 'memory',
        error: "Workflow exceeded memory limit (the sandbox thread's 12 MB heap)",
      });
      expect(await small.run({ code: OK, context: { indicator: { n: 4 } } })).toMatchObject({ status: 'succeeded' });
      expect(small.stats().modulesCreated).toBe(2);
    } finally {
      small.close();
    }
  });

  it('capabilities stay in this thread: ctx.http and integrations are called here, aborted at the deadline', async () => {
    let signal: AbortSignal | undefined;
    const http: HostHttp = (request, options) => {
      signal = options.signal;
      return request.url.endsWith('/hang')
        ? new Promise(() => undefined)
        : Promise.resolve({ status: 200, headers: { 'x-a': 'b' }, body: `got ${request.url}` });
    };
    const okta = { whoami: async (n: number) => ({ n, thread: 'parent' }) };
    const outcome = await sandbox.run({
      code: `export async function run(ctx) {
        const r = await ctx.http.get('https://example.test/x', { params: { q: 1 } });
        const who = await ctx.integrations.okta.whoami(7);
        ctx.log('called', { status: r.status });
        return WorkflowResult.ok(r.text, { who, secret: ctx.secrets.get('S'), other: ctx.secrets.get('PATH') ?? null });
      }`,
      http,
      integrations: { okta },
      secrets: { S: 'declared' },
    });
    expect(outcome).toMatchObject({
      status: 'succeeded',
      result: {
        message: 'got https://example.test/x?q=1',
        data: { who: { n: 7, thread: 'parent' }, secret: 'declared', other: null },
      },
      logs: [{ level: 'info', message: 'called', extra: { status: 200 } }],
      httpCalls: 1,
    });
    const hung = await sandbox.run({
      code: `export async function run(ctx) { await ctx.http.get('https://example.test/hang'); }`,
      http,
      limits: { timeoutMs: 300 },
    });
    expect(hung).toMatchObject({ status: 'timed_out', limit: 'timeout' });
    expect(signal?.aborted).toBe(true);
  });
});

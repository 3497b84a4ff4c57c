import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, type HostHttp, type HostHttpRequest, type RunInput, type Sandbox } from './index.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = createSandbox({ limits: { timeoutMs: 10_000 }, now: () => new Date('2026-01-02T03:04:05.000Z') });
  await sandbox.prewarm(2);
});
afterAll(() => sandbox.close());

const indicator = {
  uuid: 'u-1',
  type: 'ip',
  value: '185.220.101.32',
  malice: 'Pending',
  enrichment_results: { vt: { n: 1 } },
};

function run(code: string, input: Omit<RunInput, 'code'> = {}) {
  return sandbox.run({ code, context: { indicator }, ...input });
}

/** A fake host HTTP client recording requests (core passes its SSRF-guarded client instead). */
function recordingHttp(
  respond: (request: HostHttpRequest) => { status: number; body: string; headers?: Record<string, string> },
) {
  const calls: HostHttpRequest[] = [];
  const http: HostHttp = async (request) => {
    calls.push(request);
    return respond(request);
  };
  return { calls, http };
}

describe('guest API', () => {
  it('returns WorkflowResult.ok with data', async () => {
    const outcome = await run(
      'export async function run(ctx) { return WorkflowResult.ok("blocked " + ctx.indicator.value, { n: 1, list: [1, 2] }); }',
    );
    expect(outcome).toMatchObject({
      status: 'succeeded',
      result: { success: true, message: 'blocked 185.220.101.32', data: { n: 1, list: [1, 2] } },
      error: null,
      limit: null,
      logs: [],
    });
    expect(outcome.durationMs).toBeGreaterThan(0);
  });

  it('defaults: ok() → "OK", {}; a sync run works too', async () => {
    const outcome = await run('export function run() { return WorkflowResult.ok(); }');
    expect(outcome.result).toEqual({ success: true, message: 'OK', data: {} });
  });

  it('WorkflowResult.fail is a failed run with the result kept and no sandbox error', async () => {
    const outcome = await run(
      'export async function run() { return WorkflowResult.fail("user not found", { code: 404 }); }',
    );
    expect(outcome).toMatchObject({
      status: 'failed',
      result: { success: false, message: 'user not found', data: { code: 404 } },
      error: null,
    });
  });

  it('exposes indicator and alert as deep-frozen copies; alert is null when absent', async () => {
    const code = `export async function run(ctx) {
      let threw = false;
      try { ctx.indicator.enrichment_results.vt.n = 2; } catch (e) { threw = e instanceof TypeError; }
      return WorkflowResult.ok("x", { threw, n: ctx.indicator.enrichment_results.vt.n, alert: ctx.alert, frozen: Object.isFrozen(ctx) });
    }`;
    const outcome = await run(code);
    expect(outcome.result?.data).toEqual({ threw: true, n: 1, alert: null, frozen: true });
    expect(indicator.enrichment_results.vt.n).toBe(1);
    const withAlert = await run('export async function run(ctx) { return WorkflowResult.ok(ctx.alert.title); }', {
      context: { indicator, alert: { title: 'Brute force' } },
    });
    expect(withAlert.result?.message).toBe('Brute force');
  });

  it('records logs with levels, extra and the callable shorthand; console maps to logs', async () => {
    const code = `export async function run(ctx) {
      ctx.log("plain");
      ctx.log.info("info", { a: 1 });
      ctx.log.warn("warn");
      ctx.log.warning("warning");
      ctx.log.error(new Error("boom"));
      ctx.log.debug({ k: "v" });
      console.log("console", 1, { b: 2 });
      return WorkflowResult.ok();
    }`;
    const outcome = await run(code);
    const at = '2026-01-02T03:04:05.000Z';
    expect(outcome.logs).toEqual([
      { level: 'info', message: 'plain', at },
      { level: 'info', message: 'info', at, extra: { a: 1 } },
      { level: 'warn', message: 'warn', at },
      { level: 'warn', message: 'warning', at },
      { level: 'error', message: 'Error: boom', at },
      { level: 'debug', message: '{"k":"v"}', at },
      { level: 'info', message: 'console 1 {"b":2}', at },
    ]);
    expect(outcome.hostCalls).toBe(7);
  });

  it('keeps the logs written before a failure', async () => {
    const outcome = await run('export async function run(ctx) { ctx.log.info("step 1"); throw new Error("nope"); }');
    expect(outcome.status).toBe('failed');
    expect(outcome.logs.map((l) => l.message)).toEqual(['step 1']);
    expect(outcome.error).toMatch(/^Workflow run\(\) raised an exception: Error: nope\n {4}at run \(workflow\.js:1:/);
  });

  it('secrets.get returns declared secrets only', async () => {
    const code = `export async function run(ctx) {
      return WorkflowResult.ok("s", { token: ctx.secrets.get("API_TOKEN"), other: ctx.secrets.get("OTHER") ?? "missing",
        path: ctx.secrets.get("PATH") ?? "missing", proto: ctx.secrets.get("__proto__") ?? "missing",
        toString: ctx.secrets.get("toString") ?? "missing", keys: Object.keys(ctx.secrets) });
    }`;
    const outcome = await run(code, { secrets: { API_TOKEN: 't0ken' } });
    expect(outcome.result?.data).toEqual({
      token: 't0ken',
      other: 'missing',
      path: 'missing',
      proto: 'missing',
      toString: 'missing',
      keys: ['get'],
    });
  });

  it('ctx.http: methods, params, headers, json body, response helpers', async () => {
    const { calls, http } = recordingHttp((request) => ({
      status: request.method === 'GET' ? 200 : 201,
      headers: { 'Content-Type': 'application/json', 'X-Req': request.url },
      body: JSON.stringify({ method: request.method }),
    }));
    const code = `export async function run(ctx) {
      const a = await ctx.http.get("https://api.test/v1/users", { params: { q: "a b", ids: [1, 2] }, headers: { Authorization: "Bearer x" } });
      const b = await ctx.http.post("https://api.test/v1/users", { json: { name: "n" } });
      const c = await ctx.http.put("https://api.test/v1/users/1", { body: "raw", headers: { "Content-Type": "text/plain" } });
      const d = await ctx.http.patch("https://api.test/v1/users/1", { json: [1] });
      const e = await ctx.http.delete("https://api.test/v1/users/1");
      const f = await ctx.http.request({ method: "get", url: "https://api.test/x" });
      return WorkflowResult.ok("http", { a: [a.status, a.ok, a.json(), a.headers["content-type"]], b: b.json().method, c: c.status,
        d: d.text, e: e.status, f: f.json().method });
    }`;
    const outcome = await run(code, { http });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result?.data).toEqual({
      a: [200, true, { method: 'GET' }, 'application/json'],
      b: 'POST',
      c: 201,
      d: '{"method":"PATCH"}',
      e: 201,
      f: 'GET',
    });
    expect(calls).toEqual([
      {
        method: 'GET',
        url: 'https://api.test/v1/users?q=a+b&ids=1&ids=2',
        headers: { Authorization: 'Bearer x' },
        body: null,
      },
      {
        method: 'POST',
        url: 'https://api.test/v1/users',
        headers: { 'content-type': 'application/json' },
        body: '{"name":"n"}',
      },
      { method: 'PUT', url: 'https://api.test/v1/users/1', headers: { 'Content-Type': 'text/plain' }, body: 'raw' },
      {
        method: 'PATCH',
        url: 'https://api.test/v1/users/1',
        headers: { 'content-type': 'application/json' },
        body: '[1]',
      },
      { method: 'DELETE', url: 'https://api.test/v1/users/1', headers: {}, body: null },
      { method: 'GET', url: 'https://api.test/x', headers: {}, body: null },
    ]);
    expect(outcome.httpCalls).toBe(6);
  });

  it('ctx.http: accepts fetch Headers and tells the client the bytes left', async () => {
    const budgets: number[] = [];
    const http: HostHttp = async (_request, { maxResponseBytes }) => {
      budgets.push(maxResponseBytes);
      return { status: 200, headers: new Headers({ 'X-Trace': 'abc' }), body: new TextEncoder().encode('héllo') };
    };
    const outcome = await run(
      'export async function run(ctx) { const a = await ctx.http.post("https://a.test/", { body: "12345" }); const b = await ctx.http.get("https://a.test/"); return WorkflowResult.ok(b.text, a.headers); }',
      { http, limits: { maxHttpBytes: 100 } },
    );
    expect(outcome.result).toEqual({ success: true, message: 'héllo', data: { 'x-trace': 'abc' } });
    expect(budgets).toEqual([95, 89]);
    expect(outcome.httpBytes).toBe(17);
  });

  it('ctx.http: concurrent requests with Promise.all', async () => {
    const { calls, http } = recordingHttp((request) => ({ status: 200, body: request.url.slice(-1) }));
    const code = `export async function run(ctx) {
      const rs = await Promise.all(["1", "2", "3"].map((n) => ctx.http.get("https://a.test/" + n)));
      return WorkflowResult.ok(rs.map((r) => r.text).join(""));
    }`;
    const outcome = await run(code, { http });
    expect(outcome.result?.message).toBe('123');
    expect(calls).toHaveLength(3);
  });

  it('ctx.http: host failures become catchable HttpError exceptions with the message only', async () => {
    const http: HostHttp = async () => {
      throw new Error('destination is a private address');
    };
    const code = `export async function run(ctx) {
      try { await ctx.http.get("http://10.0.0.1/admin"); } catch (e) { return WorkflowResult.fail(e.name + ": " + e.message); }
      return WorkflowResult.ok();
    }`;
    const outcome = await run(code, { http });
    expect(outcome.result?.message).toBe(
      'HttpError: HTTP GET http://10.0.0.1/admin failed: destination is a private address',
    );
  });

  it('ctx.http: unavailable without a host client; bad URLs and schemes refused before the host', async () => {
    const none = await run('export async function run(ctx) { await ctx.http.get("https://a.test/"); }');
    expect(none.error).toContain('HttpError: ctx.http is not available to this workflow');
    const { calls, http } = recordingHttp(() => ({ status: 200, body: '' }));
    for (const url of ['file:///etc/passwd', 'not a url', 'ftp://a.test/']) {
      const outcome = await run(`export async function run(ctx) { await ctx.http.get(${JSON.stringify(url)}); }`, {
        http,
      });
      expect(outcome.error).toMatch(/HttpError: (Only http\(s\) URLs are allowed|Invalid URL)/);
    }
    expect(calls).toEqual([]);
  });

  it('ctx.integrations: configured clients are callable, others are null', async () => {
    const seen: unknown[] = [];
    const code = `export async function run(ctx) {
      if (!ctx.integrations.okta) return WorkflowResult.fail("Okta integration is not configured");
      const r = await ctx.integrations.okta.suspendUser(ctx.indicator.value);
      return WorkflowResult.ok("suspended", { r, entra: ctx.integrations.entra });
    }`;
    const outcome = await run(code, {
      integrations: {
        okta: {
          suspendUser: async (login: unknown) => {
            seen.push(login);
            return { id: 'u1', status: 'SUSPENDED' };
          },
        },
      },
    });
    expect(outcome.result).toEqual({
      success: true,
      message: 'suspended',
      data: { r: { id: 'u1', status: 'SUSPENDED' }, entra: null },
    });
    expect(seen).toEqual(['185.220.101.32']);
    const unconfigured = await run(code);
    expect(unconfigured.result?.message).toBe('Okta integration is not configured');
  });

  it('ctx.integrations: class instances expose their methods (not constructor or _private ones)', async () => {
    class Okta {
      private readonly token = 'secret-token';
      async revokeSessions(login: unknown) {
        return `revoked ${String(login)} with ${this.token.length}`;
      }
      _internal() {
        return this.token;
      }
    }
    const outcome = await run(
      'export async function run(ctx) { const o = ctx.integrations.okta; return WorkflowResult.ok(await o.revokeSessions("a"), Object.keys(o)); }',
      { integrations: { okta: new Okta() } },
    );
    expect(outcome.result).toEqual({ success: true, message: 'revoked a with 12', data: ['revokeSessions'] });
  });

  it('ctx.integrations: host errors become IntegrationError', async () => {
    const outcome = await run(
      'export async function run(ctx) { try { await ctx.integrations.entra.disableAccount("a"); } catch (e) { return WorkflowResult.fail(e.name + ": " + e.message); } }',
      {
        integrations: {
          entra: {
            disableAccount: () => {
              throw new Error('403 Forbidden');
            },
          },
        },
      },
    );
    expect(outcome.result?.message).toBe('IntegrationError: entra.disableAccount failed: 403 Forbidden');
  });

  it('reports the reference failure messages', async () => {
    expect((await run('export const x = 1;')).error).toBe("Workflow code does not export a function named 'run'");
    expect((await run('export async function run() { return { success: true, message: "forged" }; }')).error).toBe(
      'Workflow run() returned unexpected type: object. Must return a WorkflowResult instance.',
    );
    expect((await run('export async function run() {}')).error).toBe(
      'Workflow run() returned unexpected type: undefined. Must return a WorkflowResult instance.',
    );
    expect((await run('throw new TypeError("bad top level");')).error).toMatch(
      /^Workflow code raised an exception during module load: TypeError: bad top level/,
    );
    expect((await run('export async function run() { throw "a string"; }')).error).toBe(
      'Workflow run() raised an exception: Error: a string',
    );
    const cyclic = await run(
      'export async function run() { const a = {}; a.a = a; return WorkflowResult.ok("x", a); }',
    );
    expect(cyclic.error).toMatch(/^Workflow result is not JSON-serialisable: TypeError/);
  });

  it('caps the error text copied from a deep stack', async () => {
    const outcome = await run(
      'function f(n) { if (n === 0) throw new Error("deep"); return f(n - 1) + 1; }\nexport async function run() { return f(400); }',
    );
    expect(outcome.error).toMatch(/^Workflow run\(\) raised an exception: Error: deep\n/);
    expect(outcome.error?.endsWith('\n    …')).toBe(true);
    expect(outcome.error?.length).toBeLessThan(5000);
  });

  it('supports top-level await and helper functions in the module', async () => {
    const outcome = await run(
      'const base = await Promise.resolve(40);\nfunction add(x) { return x + 2; }\nexport async function run() { return WorkflowResult.ok(String(add(base))); }',
    );
    expect(outcome.result?.message).toBe('42');
  });
});

describe('limits', () => {
  it('timeout: a busy loop ends as timed_out with the reference message', async () => {
    const outcome = await run('export async function run() { for (;;) {} }', { limits: { timeoutMs: 100 } });
    expect(outcome).toMatchObject({
      status: 'timed_out',
      limit: 'timeout',
      error: 'Workflow execution timed out after 0.1 seconds',
      result: null,
    });
    expect(outcome.durationMs).toBeLessThan(1_000);
  });

  it('timeout: a host call that never answers ends as timed_out, and the host sees the abort', async () => {
    let aborted = false;
    const http: HostHttp = (_request, { signal }) =>
      new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          aborted = true;
          reject(new Error('aborted'));
        });
      });
    const outcome = await run('export async function run(ctx) { await ctx.http.get("https://slow.test/"); }', {
      http,
      limits: { timeoutMs: 100 },
    });
    expect(outcome).toMatchObject({ status: 'timed_out', limit: 'timeout' });
    expect(aborted).toBe(true);
  });

  it('memory: a large-array bomb fails with the memory message', async () => {
    const outcome = await run('export async function run() { const a = []; for (;;) a.push(new Array(1e5).fill(1)); }');
    expect(outcome).toMatchObject({
      status: 'failed',
      limit: 'memory',
      error: 'Workflow exceeded memory limit (64 MB)',
    });
  });

  it('memory: a per-run memoryBytes lowers the QuickJS limit', async () => {
    const outcome = await run('export async function run() { const a = []; for (;;) a.push({ x: [1, 2, 3] }); }', {
      limits: { memoryBytes: 4 * 1024 * 1024 },
    });
    expect(outcome).toMatchObject({
      status: 'failed',
      limit: 'memory',
      error: 'Workflow exceeded memory limit (4 MB)',
    });
  });

  it('memory: a per-run limit below 1 MB is refused (QuickJS cannot even start a context)', async () => {
    await expect(sandbox.run({ code: 'export function run() {}', limits: { memoryBytes: 8 * 1024 } })).rejects.toThrow(
      'memoryBytes must be at least 1 MB',
    );
  });

  it('stack: deep recursion fails with the stack message', async () => {
    const outcome = await run('function f(n) { return f(n + 1) + 1; }\nexport async function run() { return f(0); }');
    expect(outcome).toMatchObject({
      status: 'failed',
      limit: 'stack',
      error: 'Workflow exceeded the stack size limit (256 KB)',
    });
  });

  it('host calls: a flood of host calls stops at maxHostCalls', async () => {
    const outcome = await run('export async function run(ctx) { for (;;) ctx.secrets.get("x"); }', {
      limits: { maxHostCalls: 100 },
    });
    expect(outcome).toMatchObject({
      status: 'failed',
      limit: 'host_calls',
      error: 'Workflow exceeded the host call limit (100 calls)',
    });
    expect(outcome.hostCalls).toBe(101);
  });

  it('http calls: stops at maxHttpCalls', async () => {
    const { calls, http } = recordingHttp(() => ({ status: 200, body: 'ok' }));
    const outcome = await run('export async function run(ctx) { for (;;) await ctx.http.get("https://a.test/"); }', {
      http,
      limits: { maxHttpCalls: 3 },
    });
    expect(outcome).toMatchObject({
      status: 'failed',
      limit: 'http_calls',
      error: 'Workflow exceeded the HTTP call limit (3 requests)',
    });
    expect(calls).toHaveLength(3);
  });

  it('http bytes: a large response or request body breaks maxHttpBytes', async () => {
    const { http } = recordingHttp(() => ({ status: 200, body: 'x'.repeat(2048) }));
    const response = await run(
      'export async function run(ctx) { await ctx.http.get("https://a.test/"); return WorkflowResult.ok(); }',
      {
        http,
        limits: { maxHttpBytes: 1024 },
      },
    );
    expect(response).toMatchObject({
      status: 'failed',
      limit: 'http_bytes',
      error: 'Workflow exceeded the HTTP transfer limit (1 KB)',
    });
    const { calls, http: http2 } = recordingHttp(() => ({ status: 200, body: '' }));
    const request = await run(
      'export async function run(ctx) { await ctx.http.post("https://a.test/", { body: "y".repeat(4096) }); return WorkflowResult.ok(); }',
      { http: http2, limits: { maxHttpBytes: 1024 } },
    );
    expect(request.limit).toBe('http_bytes');
    expect(calls).toEqual([]);
  });

  it('output: a result larger than maxOutputBytes fails', async () => {
    const outcome = await run(
      'export async function run() { return WorkflowResult.ok("big", { s: "x".repeat(5000) }); }',
      {
        limits: { maxOutputBytes: 1024 },
      },
    );
    expect(outcome).toMatchObject({ status: 'failed', limit: 'output_bytes', result: null });
    expect(outcome.error).toMatch(/^Workflow result exceeds the output limit \(50\d\d bytes > 1 KB\)$/);
  });

  it('logs: output beyond maxLogBytes fails, keeping what fit', async () => {
    const outcome = await run('export async function run(ctx) { for (let i = 0; ; i++) ctx.log.info("line " + i); }', {
      limits: { maxLogBytes: 100 },
    });
    expect(outcome).toMatchObject({
      status: 'failed',
      limit: 'log_bytes',
      error: 'Workflow log output exceeded the limit (100 bytes)',
    });
    expect(outcome.logs.length).toBeGreaterThan(10);
    expect(outcome.logs.reduce((n, l) => n + l.message.length, 0)).toBeLessThanOrEqual(100);
  });

  it('a broken limit wins even when the workflow catches the error', async () => {
    const outcome = await run(
      'export async function run(ctx) { try { for (;;) ctx.log.info("x".repeat(100)); } catch (e) { return WorkflowResult.ok("caught " + e.name); } }',
      { limits: { maxLogBytes: 1000 } },
    );
    expect(outcome).toMatchObject({ status: 'failed', limit: 'log_bytes', result: null });
  });

  it('refuses invalid limits', () => {
    expect(() => createSandbox({ limits: { timeoutMs: -1 } })).toThrow(/must be a positive number/);
    expect(() => createSandbox({ limits: { memoryBytes: 1024 } })).toThrow(/at least 16 MB/);
  });
});

describe('module pool', () => {
  it('runs concurrently, one module per run, up to maxConcurrency', async () => {
    const pool = createSandbox({ maxConcurrency: 2 });
    try {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let started = 0;
      const http: HostHttp = async () => {
        started++;
        await gate;
        return { status: 200, body: 'ok' };
      };
      const code =
        'export async function run(ctx) { const r = await ctx.http.get("https://a.test/"); return WorkflowResult.ok(r.text); }';
      const runs = [1, 2, 3].map(() => pool.run({ code, http }));
      // Two runs hold the two modules and wait on the gate; the third waits for a module.
      while (started < 2) await new Promise((resolve) => setImmediate(resolve));
      for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(started).toBe(2);
      expect(pool.stats().modules).toBe(2);
      release();
      const outcomes = await Promise.all(runs);
      expect(outcomes.map((o) => o.result?.message)).toEqual(['ok', 'ok', 'ok']);
      expect(pool.stats()).toEqual({ modules: 2, modulesCreated: 2 });
    } finally {
      pool.close();
    }
  });

  it('replaces a module after an out-of-memory run; runs after it work', async () => {
    const pool = createSandbox({ maxConcurrency: 1 });
    try {
      await pool.prewarm();
      expect(pool.stats()).toEqual({ modules: 1, modulesCreated: 1 });
      const bomb = await pool.run({
        code: 'export async function run() { const a = []; for (;;) a.push(new Array(1e5).fill(1)); }',
      });
      expect(bomb.limit).toBe('memory');
      const next = await pool.run({ code: 'export async function run() { return WorkflowResult.ok("fine"); }' });
      expect(next.status).toBe('succeeded');
      expect(pool.stats()).toEqual({ modules: 1, modulesCreated: 2 });
    } finally {
      pool.close();
    }
  });

  it('rejects runs after close', async () => {
    const pool = createSandbox();
    pool.close();
    await expect(pool.run({ code: 'export function run() {}' })).rejects.toThrow('Sandbox is closed');
  });
});

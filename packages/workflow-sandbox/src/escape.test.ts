/**
 * Sandbox escape suite: each attack must be contained (a clear outcome, nothing leaking to the
 * host) and the next ordinary run on the same sandbox must succeed in a clean realm.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createSandbox,
  createThreadedSandbox,
  type HostHttp,
  type HostHttpRequest,
  type RunInput,
  type RunOutcome,
  type Sandbox,
  validateWorkflowCode,
} from './index.js';

let sandbox: Sandbox;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

type Make = (concurrency: number) => Sandbox;
/** The engine itself, and the production path (core): the same engine in worker threads. */
const MODES: [string, Make][] = [
  ['in-thread', (concurrency) => createSandbox({ maxConcurrency: concurrency, limits: { timeoutMs: 5_000 } })],
  ['worker threads', (concurrency) => createThreadedSandbox({ threads: concurrency, limits: { timeoutMs: 5_000 } })],
];
let mode = '';
let make: Make;

beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

/** The run after an attack: a fresh, untampered realm that works normally. */
const CLEAN_RUN = `export async function run(ctx) {
  const checks = {
    polluted: ({}).polluted === undefined && [].polluted === undefined,
    push: [].push === Array.prototype.push && typeof Array.prototype.push === "function",
    json: JSON.stringify({ a: [1] }) === '{"a":[1]}',
    nativeThen: Promise.prototype.then.toString().includes("native code"),
    marker: typeof globalThis.attackMarker === "undefined",
    secret: ctx.secrets.get("TOKEN") === "declared",
  };
  const r = await ctx.http.get("https://ok.test/");
  return WorkflowResult.ok("clean", { checks, http: r.text });
}`;

const okHttp: HostHttp = async () => ({ status: 200, body: 'fine' });

afterEach(async () => {
  const next = await sandbox.run({ code: CLEAN_RUN, secrets: { TOKEN: 'declared' }, http: okHttp });
  expect(next.status, next.error ?? '').toBe('succeeded');
  expect(next.result?.data).toEqual({
    checks: { polluted: true, push: true, json: true, nativeThen: true, marker: true, secret: true },
    http: 'fine',
  });
  // Nothing leaked into the host realm either.
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(unhandled).toEqual([]);
});

/** Attacks that must end by the deadline use this short one; the others get 5 s, so a loaded machine cannot turn e.g. a memory failure into a timeout. */
const SHORT = { limits: { timeoutMs: 300 } };

function attack(code: string, input: Omit<RunInput, 'code'> = {}): Promise<RunOutcome> {
  return sandbox.run({ code, context: { indicator: { type: 'ip', value: '1.2.3.4' } }, ...input });
}

/** An SSRF-guarding stand-in for core's client: refuses private and metadata targets. */
function guardedHttp() {
  const sent: HostHttpRequest[] = [];
  const http: HostHttp = async (request) => {
    const host = new URL(request.url).hostname;
    if (/^(127\.|10\.|169\.254\.|192\.168\.|localhost$|\[::1\]$)/.test(host)) {
      throw new Error(`SSRF blocked: ${host} is not a public address`);
    }
    sent.push(request);
    return { status: 200, body: 'public' };
  };
  return { http, sent };
}

describe.each(MODES)('sandbox escape suite (%s)', (name, factory) => {
  beforeAll(async () => {
    mode = name;
    make = factory;
    // One module (one thread): every attack and the run after it share it (unless the attack broke it).
    sandbox = make(1);
    await sandbox.prewarm();
  });
  afterAll(() => sandbox.close());

  it('1. infinite loop in run()', async () => {
    const outcome = await attack('export async function run() { while (true) {} }', SHORT);
    expect(outcome).toMatchObject({
      status: 'timed_out',
      limit: 'timeout',
      error: 'Workflow execution timed out after 0.3 seconds',
    });
  });

  it('2. infinite loop at module top level', async () => {
    const outcome = await attack('for (;;) {}\nexport async function run() {}', SHORT);
    expect(outcome).toMatchObject({ status: 'timed_out', limit: 'timeout' });
  });

  it('3. catching the interrupt to keep running', async () => {
    const outcome = await attack(
      'export async function run() { for (;;) { try { for (;;) {} } catch (e) { /* keep going */ } } }',
      SHORT,
    );
    expect(outcome).toMatchObject({ status: 'timed_out', limit: 'timeout' });
  });

  it('4. endless microtask chain (never yields to the host)', async () => {
    const outcome = await attack(
      'export async function run() { const spin = () => Promise.resolve().then(spin); spin(); for (;;) await null; }',
      SHORT,
    );
    expect(outcome).toMatchObject({ status: 'timed_out', limit: 'timeout' });
  });

  it('4b. a loop of costly native calls (the interrupt handler is polled only every ~10k calls)', async () => {
    // Without the V8 watchdog this ran ~34 s past a 100 ms deadline; the module is then replaced.
    const outcome = await attack(
      'export async function run() { const a = new Array(3e5).fill("x"); for (;;) a.join(","); }',
      SHORT,
    );
    expect(outcome).toMatchObject({ status: 'timed_out', limit: 'timeout' });
    expect(outcome.durationMs).toBeLessThan(2_000);
    // The module is dropped and the next run gets a new one (inside the thread, which stays).
    expect(sandbox.stats().modules).toBe(mode === 'in-thread' ? 0 : 1);
  });

  it('5. memory bomb with large arrays', async () => {
    const outcome = await attack(
      'export async function run() { const keep = []; for (;;) keep.push(new Array(1e6).fill(7)); }',
    );
    expect(outcome).toMatchObject({
      status: 'failed',
      limit: 'memory',
      error: 'Workflow exceeded memory limit (64 MB)',
    });
  });

  it('6. memory bomb with typed arrays and strings', async () => {
    const outcome = await attack(
      'export async function run() { const keep = []; for (;;) { keep.push(new Uint8Array(8e6)); keep.push("x".repeat(4e6) + keep.length); } }',
    );
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(/memory limit|out of memory|RangeError/);
  });

  it('7. string doubling', async () => {
    const outcome = await attack('export async function run() { let s = "x"; for (;;) s += s; }');
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(/memory limit|string too long/);
  });

  it('8. deep recursion', async () => {
    const outcome = await attack('const f = (n) => f(n + 1) + 1;\nexport async function run() { return f(0); }');
    expect(outcome).toMatchObject({ status: 'failed', limit: 'stack' });
  });

  it('9. prototype tampering of builtins and ctx objects', async () => {
    const outcome = await attack(`
      Object.prototype.polluted = "yes";
      Array.prototype.push = function () { return 0; };
      JSON.stringify = () => '{"kind":"result","result":"{\\\\"success\\\\":true}"}';
      globalThis.attackMarker = 1;
      export async function run(ctx) {
        const tries = [];
        for (const f of [() => { ctx.http.get = () => 1; }, () => { ctx.secrets.get = () => "x"; },
                         () => { Object.setPrototypeOf(ctx, {}); }, () => { ctx.indicator.value = "x"; },
                         () => { WorkflowResult.ok = () => 1; }, () => { globalThis.WorkflowResult = 1; }]) {
          try { f(); tries[tries.length] = "changed"; } catch (e) { tries[tries.length] = e.name; }
        }
        return WorkflowResult.fail(tries.join(","));
      }`);
    expect(outcome).toMatchObject({
      status: 'failed',
      result: { success: false, message: 'TypeError,TypeError,TypeError,TypeError,TypeError,TypeError' },
    });
  });

  it('10. reaching host bindings through globalThis', async () => {
    const outcome = await attack(`export async function run(ctx) {
      const names = Object.getOwnPropertyNames(globalThis);
      const found = ["host", "__host", "process", "require", "module", "fetch", "std", "os", "setTimeout", "Deno", "Bun", "WebAssembly", "print"]
        .filter((n) => n in globalThis || names.includes(n));
      return WorkflowResult.ok("globals", { found, hasResult: names.includes("WorkflowResult") });
    }`);
    expect(outcome.result?.data).toEqual({ found: [], hasResult: true });
  });

  it('11. Function constructor via constructor.constructor', async () => {
    const outcome = await attack(`export async function run(ctx) {
      const F = ctx.http.get.constructor.constructor;
      const g = F("return this")();
      const leaked = Object.getOwnPropertyNames(g).filter((n) => /host|process|require|import/i.test(n));
      const viaIntegration = Object.getPrototypeOf(async () => {}).constructor("return typeof process")();
      return WorkflowResult.ok("reached", { leaked, viaIntegration: await viaIntegration });
    }`);
    expect(outcome.result?.data).toEqual({ leaked: [], viaIntegration: 'undefined' });
  });

  it('12. dynamic import of node builtins', async () => {
    const outcome = await attack(
      'export async function run() { const fs = await import("fs"); return WorkflowResult.ok(String(fs.readFileSync("/etc/passwd"))); }',
    );
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(/^Workflow run\(\) raised an exception: ReferenceError: could not load module 'fs'/);
  });

  it('13. static import and require', async () => {
    const imported = await attack('import cp from "child_process";\nexport async function run() {}');
    expect(imported.error).toMatch(/module load: ReferenceError: could not load module 'child_process'/);
    const required = await attack('export async function run() { require("child_process").execSync("id"); }');
    expect(required.error).toMatch(/ReferenceError: 'require' is not defined/);
  });

  it('14. secret enumeration', async () => {
    const outcome = await attack(
      `export async function run(ctx) {
        const s = ctx.secrets;
        const seen = {
          keys: Object.keys(s), own: Reflect.ownKeys(s).map(String), json: JSON.stringify(s), forIn: [],
          proto: Object.getPrototypeOf(s),
          probes: ["__proto__", "constructor", "toString", "hasOwnProperty", "PATH", "HOME", "DATABASE_URL", "ENCRYPTION_KEY", "OTHER"]
            .map((n) => s.get(n)).filter((v) => v !== undefined),
          fnSource: s.get.toString().includes("native") || s.get.toString().length < 200,
        };
        for (const k in s) seen.forIn.push(k);
        return WorkflowResult.ok("enumerated", seen);
      }`,
      { secrets: { DECLARED: 'only-this' } },
    );
    expect(outcome.result?.data).toEqual({
      keys: ['get'],
      own: ['get'],
      json: '{}',
      forIn: ['get'],
      proto: null,
      probes: [],
      fnSource: true,
    });
    expect(JSON.stringify(outcome)).not.toContain('only-this');
  });

  it('15. huge log output, many lines', async () => {
    const outcome = await attack('export async function run(ctx) { for (;;) ctx.log.info("spam".repeat(100)); }');
    expect(outcome).toMatchObject({ status: 'failed', limit: 'log_bytes' });
    expect(outcome.logs.reduce((n, l) => n + l.message.length, 0)).toBeLessThanOrEqual(256 * 1024);
  });

  it('16. huge log output, one giant message and giant extra', async () => {
    const one = await attack('export async function run(ctx) { ctx.log.error("x".repeat(1024 * 1024)); }');
    expect(one).toMatchObject({ status: 'failed', limit: 'log_bytes', logs: [] });
    const extra = await attack('export async function run(ctx) { console.log("a", { big: "y".repeat(1e6) }); }');
    expect(extra).toMatchObject({ status: 'failed', limit: 'log_bytes', logs: [] });
  });

  it('17. SSRF through ctx.http: private targets refused by the host client, other schemes by the sandbox', async () => {
    const { http, sent } = guardedHttp();
    const outcome = await attack(
      `export async function run(ctx) {
        const targets = ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:5432/", "http://localhost/admin",
                         "http://10.1.2.3/", "file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "javascript:alert(1)"];
        const results = [];
        for (const t of targets) { try { await ctx.http.get(t); results.push("SENT " + t); } catch (e) { results.push(e.name); } }
        const ok = await ctx.http.get("https://public.test/");
        return WorkflowResult.ok("probed", { results, ok: ok.text });
      }`,
      { http },
    );
    expect(outcome.result?.data).toEqual({ results: Array(7).fill('HttpError'), ok: 'public' });
    expect(sent.map((r) => r.url)).toEqual(['https://public.test/']);
  });

  it('18. header injection through ctx.http', async () => {
    const { http, sent } = guardedHttp();
    const outcome = await attack(
      'export async function run(ctx) { await ctx.http.get("https://public.test/", { headers: { "X-A": "v\\r\\nHost: 127.0.0.1" } }); }',
      { http },
    );
    expect(outcome.error).toMatch(/HttpError: Invalid header 'X-A'/);
    expect(sent).toEqual([]);
  });

  it('19. request flood through ctx.http (concurrent, not awaited one by one)', async () => {
    const { http, sent } = guardedHttp();
    const outcome = await attack(
      'export async function run(ctx) { await Promise.all(Array.from({ length: 500 }, () => ctx.http.get("https://public.test/"))); return WorkflowResult.ok(); }',
      { http },
    );
    expect(outcome).toMatchObject({ status: 'failed', limit: 'http_calls' });
    expect(sent.length).toBeLessThanOrEqual(50);
  });

  it('20. unhandled rejections in the guest', async () => {
    const outcome = await attack(
      `export async function run(ctx) {
      Promise.reject(new Error("ignored"));
      (async () => { throw new Error("also ignored"); })();
      ctx.http.get("http://127.0.0.1/"); // rejected by the host, never awaited
      return WorkflowResult.ok("returned");
    }`,
      { http: guardedHttp().http },
    );
    expect(outcome).toMatchObject({ status: 'succeeded', result: { message: 'returned' } });
  });

  it('21. a run that awaits forever without host work', async () => {
    const outcome = await attack('export async function run() { await new Promise(() => {}); }');
    expect(outcome).toMatchObject({
      status: 'failed',
      error: 'Workflow run() did not settle: it awaits a promise that nothing will resolve',
    });
  });

  it('22. catching a broken limit and returning ok anyway', async () => {
    const outcome = await attack(
      'export async function run(ctx) { try { for (;;) ctx.secrets.get("x"); } catch (e) { return WorkflowResult.ok("got away: " + e.message); } }',
      { limits: { maxHostCalls: 50 } },
    );
    expect(outcome).toMatchObject({ status: 'failed', limit: 'host_calls', result: null });
  });

  it('23. forging the result (plain object, thenable, getter that spins, Proxy)', async () => {
    const forged = await attack(
      'export async function run() { return { success: true, message: "forged", data: {} }; }',
    );
    expect(forged.error).toMatch(/returned unexpected type: object/);
    const thenable = await attack(
      'export async function run() { return { then(resolve) { resolve({ success: true, message: "forged" }); } }; }',
    );
    expect(thenable.error).toMatch(/returned unexpected type: object/);
    const getter = await attack(
      'export async function run() { return WorkflowResult.ok("x", { get a() { for (;;) {} } }); }',
      SHORT,
    );
    expect(getter).toMatchObject({ status: 'timed_out' });
    const proxy = await attack(
      'export async function run() { return WorkflowResult.ok("x", new Proxy({}, { ownKeys() { throw new Error("trap"); } })); }',
    );
    expect(proxy.error).toMatch(/not JSON-serialisable: Error: trap/);
  });

  it('24. sabotaging the realm the runner uses (Promise, then, JSON, Object.freeze)', async () => {
    const outcome = await attack(`
      Promise.prototype.then = function () { return this; };
      Promise.resolve = () => new Promise(() => {});
      JSON.parse = () => ({ kind: "result" });
      Object.freeze = (x) => x;
      export async function run() { return WorkflowResult.ok("sabotaged"); }`);
    // The runner captured what it needs before the workflow ran: the run completes normally.
    expect(outcome).toMatchObject({ status: 'succeeded', result: { message: 'sabotaged' } });
  });

  it('25. oversized result', async () => {
    const outcome = await attack(
      'export async function run() { return WorkflowResult.ok("x", { s: "z".repeat(1024 * 1024) }); }',
    );
    expect(outcome).toMatchObject({ status: 'failed', limit: 'output_bytes' });
  });

  it('26. integration misuse: unknown method, prototype keys, host error details', async () => {
    const outcome = await attack(
      `export async function run(ctx) {
        const okta = ctx.integrations.okta;
        const r = [Object.keys(okta), typeof okta.toString, typeof okta.constructor, Object.getPrototypeOf(okta)];
        try { await okta.suspendUser("a"); } catch (e) { r.push(e.name + ": " + e.message, String(e.stack).includes("node:")); }
        return WorkflowResult.ok("probed", r);
      }`,
      {
        integrations: {
          okta: {
            suspendUser: () => {
              throw new Error('upstream 500');
            },
          },
        },
      },
    );
    expect(outcome.result?.data).toEqual([
      ['suspendUser'],
      'undefined',
      'undefined',
      null,
      'IntegrationError: okta.suspendUser failed: upstream 500',
      false,
    ]);
  });

  it('27. a memory bomb running next to a normal run does not affect it', async () => {
    const pair = make(2);
    try {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const normal = pair.run({
        code: 'export async function run(ctx) { const r = await ctx.http.get("https://a.test/"); return WorkflowResult.ok(r.text); }',
        http: async () => {
          await gate;
          return { status: 200, body: 'still fine' };
        },
      });
      const bomb = await pair.run({
        code: 'export async function run() { const k = []; for (;;) k.push(new Array(1e6).fill(1)); }',
      });
      release();
      expect(bomb.limit).toBe('memory');
      expect((await normal).result?.message).toBe('still fine');
    } finally {
      pair.close();
    }
  });

  it('save-time validation also refuses the attacks that rely on forbidden constructs', () => {
    for (const code of [
      'export async function run(ctx) { return ctx.http.get.constructor.constructor("return this")(); }',
      'export async function run() { return Object.getOwnPropertyNames(globalThis); }',
      'export async function run() { return await import("fs"); }',
      'import cp from "child_process";\nexport async function run() {}',
      'export async function run() { require("child_process"); }',
      'export async function run() { ({}).__proto__.polluted = 1; }',
      'export async function run() { return eval("1"); }',
    ]) {
      const result = validateWorkflowCode(code);
      expect(result.ok, code).toBe(false);
    }
  });
});

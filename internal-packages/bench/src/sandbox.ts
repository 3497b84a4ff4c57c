/**
 * `pnpm bench sandbox`: the workflow sandbox alone, in process, sequential (one run at a time, so one
 * core): executions/s and latency percentiles of (a) a trivial workflow and (b) a workflow making two
 * mocked HTTP calls through `ctx.http`. Each run is a full `sandbox.run()`: fresh QuickJS runtime +
 * context on a pooled module, prelude, module evaluation, `run(ctx)`, result checks, teardown.
 */
import { parseArgs } from 'node:util';
import { createSandbox, type HostHttp, type RunInput, type Sandbox } from '@calseta/workflow-sandbox';
import { writeResult } from './lib/stack.js';
import { fmt, LatencyRecorder, type LatencySummary, round, table } from './lib/stats.js';

export const description = 'sandbox: workflow runs/s and p50/p99 in QuickJS (trivial, and two mocked HTTP calls)';

const TARGET_RUNS_PER_SECOND = 300;
const TARGET_P99_MS = 10;

const HELP = `Usage: pnpm bench sandbox [--runs 3000] [--http-runs 2000] [--warmup 200] [--http-delay-ms 0]

  --runs           measured runs of the trivial workflow (default 3000)
  --http-runs      measured runs of the two-HTTP-call workflow (default 2000)
  --warmup         unmeasured runs before each scenario (default 200)
  --http-delay-ms  the mocked host HTTP function answers after this many ms (setTimeout);
                   0 (default) = it resolves after a microtask (an async function returning at once)
`;

const TRIVIAL = `export async function run(ctx) {
  return WorkflowResult.ok("ok", { value: ctx.indicator.value });
}`;

const TWO_CALLS = `export async function run(ctx) {
  const token = ctx.secrets.get("API_TOKEN");
  const user = await ctx.http.get("https://idp.test/api/v1/users/" + ctx.indicator.value, {
    headers: { Authorization: "SSWS " + token },
  });
  if (!user.ok) return WorkflowResult.fail("lookup failed", { status: user.status });
  const id = user.json().id;
  const res = await ctx.http.post("https://idp.test/api/v1/users/" + id + "/lifecycle/suspend", { json: {} });
  ctx.log.info("suspended", { id, status: res.status });
  return WorkflowResult.ok("suspended " + id, { status: res.status });
}`;

interface Scenario {
  name: string;
  runs: number;
  seconds: number;
  runsPerSecond: number;
  cpuMsPerRun: number;
  latencyMs: LatencySummary;
}

async function measure(
  sandbox: Sandbox,
  name: string,
  input: RunInput,
  runs: number,
  warmup: number,
): Promise<Scenario> {
  for (let i = 0; i < warmup; i++) {
    const outcome = await sandbox.run(input);
    if (outcome.status !== 'succeeded') throw new Error(`${name}: warm-up run ${outcome.status}: ${outcome.error}`);
  }
  const latency = new LatencyRecorder();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const outcome = await sandbox.run(input);
    latency.record(performance.now() - t0);
    if (outcome.status !== 'succeeded') throw new Error(`${name}: run ${i} ${outcome.status}: ${outcome.error}`);
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    name,
    runs,
    seconds,
    runsPerSecond: runs / seconds,
    cpuMsPerRun: (used.user + used.system) / 1000 / runs,
    latencyMs: latency.summary(),
  };
}

export async function run(args: string[]): Promise<number> {
  let options: { runs: number; httpRuns: number; warmup: number; httpDelayMs: number };
  try {
    const { values } = parseArgs({
      args,
      options: {
        runs: { type: 'string' },
        'http-runs': { type: 'string' },
        warmup: { type: 'string' },
        'http-delay-ms': { type: 'string' },
        help: { type: 'boolean' },
      },
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    options = {
      runs: Number(values.runs ?? 3000),
      httpRuns: Number(values['http-runs'] ?? 2000),
      warmup: Number(values.warmup ?? 200),
      httpDelayMs: Number(values['http-delay-ms'] ?? 0),
    };
    for (const [flag, value] of Object.entries(options)) {
      if (!Number.isInteger(value) || value < 0) throw new Error(`--${flag} is a non-negative integer`);
    }
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
    return 2;
  }

  const startedAt = new Date();
  const delay = options.httpDelayMs;
  let httpCalls = 0;
  const http: HostHttp = async (request) => {
    httpCalls++;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    return request.method === 'GET'
      ? { status: 200, headers: { 'content-type': 'application/json' }, body: '{"id":"00u1abcd","status":"ACTIVE"}' }
      : { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' };
  };
  const context = { indicator: { type: 'account', value: 'jdoe@example.com', malice: 'Pending' } };

  const sandbox = createSandbox({ maxConcurrency: 1 });
  try {
    const warmStart = performance.now();
    await sandbox.prewarm(1);
    const prewarmMs = performance.now() - warmStart;
    const trivial = await measure(sandbox, 'trivial', { code: TRIVIAL, context }, options.runs, options.warmup);
    const twoCalls = await measure(
      sandbox,
      `two HTTP calls (${delay > 0 ? `${delay} ms host delay` : 'host resolves after a microtask'})`,
      { code: TWO_CALLS, context, http, secrets: { API_TOKEN: 'bench-token' } },
      options.httpRuns,
      options.warmup,
    );
    const expectedCalls = 2 * (options.httpRuns + options.warmup);
    if (httpCalls !== expectedCalls) throw new Error(`expected ${expectedCalls} host HTTP calls, saw ${httpCalls}`);

    const rows = [trivial, twoCalls];
    process.stdout.write(
      `\nSequential runs, one Node process (module prewarm: ${fmt(prewarmMs, 1)} ms)\n\n${table([
        ['workflow', 'runs', 'runs/s', 'CPU ms/run', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
        ...rows.map((r) => [
          r.name,
          String(r.runs),
          fmt(r.runsPerSecond, 0),
          fmt(r.cpuMsPerRun, 2),
          fmt(r.latencyMs.p50, 2),
          fmt(r.latencyMs.p90, 2),
          fmt(r.latencyMs.p99, 2),
          fmt(r.latencyMs.max, 2),
        ]),
      ])}\n`,
    );
    const rateOk = trivial.runsPerSecond >= TARGET_RUNS_PER_SECOND;
    const p99Ok = trivial.latencyMs.p99 <= TARGET_P99_MS;
    process.stdout.write(
      [
        '',
        'Targets (figures, not assertions: the exit code is 0 either way)',
        `  trivial runs/s (one core)  ${fmt(trivial.runsPerSecond, 0)}   target >= ${TARGET_RUNS_PER_SECOND}   ${rateOk ? 'PASS' : 'MISS'}`,
        `  trivial p99                ${fmt(trivial.latencyMs.p99, 2)} ms   target <= ${TARGET_P99_MS} ms   ${p99Ok ? 'PASS' : 'MISS'}`,
        `  two-call p99               ${fmt(twoCalls.latencyMs.p99, 2)} ms   (shown; no target)`,
        '',
      ].join('\n'),
    );
    const pick = (s: LatencySummary) => ({
      count: s.count,
      p50: round(s.p50, 3),
      p90: round(s.p90, 3),
      p99: round(s.p99, 3),
      max: round(s.max, 3),
      mean: round(s.mean, 3),
    });
    const file = writeResult('sandbox', startedAt, {
      startedAt,
      node: process.version,
      options,
      prewarmMs: round(prewarmMs, 1),
      scenarios: rows.map((r) => ({
        name: r.name,
        runs: r.runs,
        seconds: round(r.seconds, 3),
        runsPerSecond: round(r.runsPerSecond, 1),
        cpuMsPerRun: round(r.cpuMsPerRun, 3),
        latencyMs: pick(r.latencyMs),
      })),
      targets: {
        trivialRunsPerSecond: { target: TARGET_RUNS_PER_SECOND, met: rateOk },
        trivialP99Ms: { target: TARGET_P99_MS, met: p99Ok },
      },
      modules: sandbox.stats(),
    });
    process.stdout.write(`Result written to ${file}\n`);
    return 0;
  } finally {
    sandbox.close();
  }
}

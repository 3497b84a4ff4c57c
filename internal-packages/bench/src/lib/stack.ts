/**
 * Throwaway Calseta stacks for benchmarks: free ports, building and spawning the real API and worker
 * processes (dist bundle or tsx), health waits, clean shutdown, and a cleanup registry that also runs
 * on Ctrl-C and (best effort) at exit. Plus small machine/database helpers shared by the benchmarks.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@calseta/core';
import { createTestCore } from '@calseta/core/testing';
import type { DbHandle, EmbeddedPostgres } from '@calseta/db';
import { firstParty } from '@calseta/integrations';
import {
  type AppKind,
  type AppName,
  appArgs,
  freePort,
  GiveUp,
  type Proc,
  ProcessGroup,
  REPO_ROOT,
  until,
} from '@calseta/process-harness';
import { machineCpuSeconds } from './proc.js';

export { type AppKind, appArgs, freePort } from '@calseta/process-harness';

export const ROOT = REPO_ROOT;
export const HEALTH_TIMEOUT_MS = 60_000;

export type Pool = DbHandle['pool'];
export type AppMode = 'auto' | 'dist' | 'tsx';
/** A spawned app process with its output collected line by line. */
export type AppProcess = Proc;

/** Everything to undo, in order: also run on Ctrl-C, and (synchronously, best effort) on exit. */
export class Cleanup {
  readonly processes = new ProcessGroup();
  pools: Pool[] = [];
  destroyers: (() => Promise<void>)[] = [];
  postgres: EmbeddedPostgres | undefined;
  tmpDir: string | undefined;
  private done: Promise<void> | undefined;

  run(): Promise<void> {
    this.done ??= (async () => {
      await this.processes.stopAll('SIGTERM', 10_000);
      for (const destroy of this.destroyers) await destroy().catch(() => undefined);
      for (const pool of this.pools) if (!pool.ended && !pool.ending) await pool.end().catch(() => undefined);
      await this.postgres?.stop().catch(() => undefined);
      if (this.tmpDir) fs.rmSync(this.tmpDir, { recursive: true, force: true });
    })();
    return this.done;
  }

  /** Last resort at process exit: no awaiting possible (Postgres itself is stopped by its exit hook). */
  runSync(): void {
    this.processes.killAllSync();
    if (this.tmpDir) fs.rmSync(this.tmpDir, { recursive: true, force: true });
  }

  /**
   * Run `body` with this cleanup wired to SIGINT/SIGTERM and process exit; always cleans up after.
   * `what` names what is being stopped, for the Ctrl-C message.
   */
  async guard<T>(what: string, body: () => Promise<T>): Promise<T> {
    const onSignal = (signal: NodeJS.Signals) => {
      process.stderr.write(`\n${signal}: stopping ${what}, removing the data dir…\n`);
      void this.run().finally(() => process.exit(130));
    };
    const onExit = () => this.runSync();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    process.on('exit', onExit);
    try {
      return await body();
    } finally {
      await this.run();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('exit', onExit);
    }
  }
}

/** `pnpm --filter @calseta/<app> build` → `apps/<app>/dist/main.js`. */
export function buildApp(app: AppName): { ok: true } | { ok: false; reason: string } {
  const result = spawnSync('pnpm', ['--filter', `@calseta/${app}`, 'build'], { cwd: ROOT, encoding: 'utf8' });
  const main = path.join(ROOT, 'apps', app, 'dist/main.js');
  if (result.status === 0 && fs.existsSync(main)) return { ok: true };
  const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
  const line = output.split('\n').find((l) => /error/i.test(l)) ?? `exit ${result.status ?? result.signal}`;
  return { ok: false, reason: line.trim() };
}

/**
 * Spawn `node <args>` from the repository root with `env` (nothing else of this shell's environment
 * is added: pass `inheritedEnv(...)` in). The process belongs to `cleanup` at once.
 */
export function spawnApp(name: string, args: string[], env: NodeJS.ProcessEnv, cleanup: Cleanup): AppProcess {
  return cleanup.processes.start({ name, args, env, maxLines: 10_000 });
}

/** This shell's environment without the variables `exclude` matches (the app's own settings). */
export function inheritedEnv(exclude: RegExp): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !exclude.test(name)));
}

/**
 * Wait until `ready()` is true, polling every 200 ms; throws (after stopping the process) when it
 * exits first or `timeoutMs` passes.
 */
export async function waitReady(app: AppProcess, ready: () => Promise<boolean>, timeoutMs = HEALTH_TIMEOUT_MS) {
  try {
    await until(
      `${app.command} to become ready`,
      async () => {
        if (!app.alive) throw new GiveUp(`exited (${await app.exited})`);
        return (await ready()) ? true : undefined;
      },
      { timeoutMs },
    );
  } catch (error) {
    await app.stop('SIGTERM', 10_000);
    const why = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new Error(`${app.command} did not become ready: ${why}\n${app.tail(20)}`);
  }
}

/** An API process of a benchmark, with its port. */
export interface ApiProcess extends AppProcess {
  port: number;
}

/**
 * The API as `calseta start` runs it, on a free port, for a benchmark that loads it: the API's own
 * settings (apps/api/src/env.ts) stay at their defaults (e.g. DB_POOL_SIZE 20) whatever this shell
 * exports; everything else is passed through. Rate limits off: one benchmark key sends far more than
 * any real client.
 */
export async function startBenchApi(kind: AppKind, databaseUrl: string, cleanup: Cleanup): Promise<ApiProcess> {
  const port = await freePort();
  const env = {
    ...inheritedEnv(/^(API_|DB_|LOG_|MAX_|ALERT_|APP_|DATABASE_URL$)|_WEBHOOK_SECRET$/),
    DATABASE_URL: databaseUrl,
    API_HOST: '127.0.0.1',
    API_PORT: String(port),
    OPS_PORT: '0', // any free port: the benchmark must not collide with a running stack
    LOG_LEVEL: 'warn',
    LOG_REQUESTS: 'false',
    RATE_LIMIT_AUTHED_PER_MINUTE: '0',
    RATE_LIMIT_INGEST_PER_MINUTE: '0',
  };
  const app = spawnApp('api', appArgs('api', kind), env, cleanup);
  await waitReady(app, healthy(port));
  return Object.assign(app, { port });
}

/** A worker is ready when it logs "Calseta worker started" (it has no health endpoint). */
export function workerStarted(worker: AppProcess, timeoutMs = HEALTH_TIMEOUT_MS): Promise<true> {
  return worker.waitFor('Calseta worker started', (line) => line.includes('Calseta worker started'), timeoutMs);
}

/** `GET /health` answers 200. */
export function healthy(port: number): () => Promise<boolean> {
  return async () => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200;
}

/**
 * Start an app as `mode` says: `dist` builds and runs the bundle; `tsx` runs the sources; `auto` tries
 * dist and falls back to tsx when the build or the bundle's start fails (the note says why).
 * `start(kind)` spawns and waits for readiness.
 */
export async function startWithFallback<T>(
  app: AppName,
  mode: AppMode,
  start: (kind: AppKind) => Promise<T>,
): Promise<{ started: T; note: string }> {
  if (mode === 'tsx') return { started: await start('tsx'), note: '' };
  const built = buildApp(app);
  if (!built.ok) {
    if (mode === 'dist') throw new Error(`pnpm --filter @calseta/${app} build failed: ${built.reason}`);
    return { started: await start('tsx'), note: `pnpm --filter @calseta/${app} build failed: ${built.reason}` };
  }
  try {
    return { started: await start('dist'), note: '' };
  } catch (error) {
    if (mode === 'dist') throw error;
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    return { started: await start('tsx'), note: `built bundle did not start: ${reason}` };
  }
}

/**
 * What `calseta start` does on first run, on a migrated database: the pg-boss queues, the system
 * rows (builtin providers) and an admin key, named `keyName`, which is returned.
 */
export async function firstRun(databaseUrl: string, keyName: string): Promise<string> {
  const setup = await createTestCore({
    integrations: firstParty,
    databaseUrl,
    startQueue: true,
    seed: true,
    logger: createLogger({ service: 'cli', level: 'warn' }),
    adminKeyName: keyName,
  });
  await setup.close();
  return setup.adminKey;
}

// ------------------------------------------------------------------------------------- machine

/** Whole-machine CPU over `ms`, as % of one core. */
export async function machineBusy(ms: number): Promise<number | null> {
  const a = machineCpuSeconds();
  await new Promise((r) => setTimeout(r, ms));
  const b = machineCpuSeconds();
  if (!a || !b || b.total <= a.total) return null;
  return ((b.busy - a.busy) / (b.total - a.total)) * os.cpus().length * 100;
}

/** Wait up to `maxSeconds` for the machine to be busy less than `idleBusy` % of one core (1 s samples). */
export async function waitForIdle(
  maxSeconds: number,
  idleBusy: number,
): Promise<{ quiet: boolean; seconds: number; busy: number | null }> {
  const started = performance.now();
  let busy: number | null = null;
  while ((performance.now() - started) / 1000 < maxSeconds) {
    busy = await machineBusy(1_000);
    if (busy === null || busy < idleBusy)
      return { quiet: busy !== null, seconds: (performance.now() - started) / 1000, busy };
  }
  return { quiet: false, seconds: (performance.now() - started) / 1000, busy };
}

export function filesystemOf(dir: string): string {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

export function gitState(): { commit: string | null; dirtyFiles: number | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' });
    return { commit, dirtyFiles: status.split('\n').filter((l) => l.trim() !== '').length };
  } catch {
    return { commit: null, dirtyFiles: null };
  }
}

/** The first row of a query. */
export async function one<T>(pool: Pool, text: string, values: unknown[] = []): Promise<T> {
  const { rows } = await pool.query(text, values);
  return rows[0] as T;
}

/** Write `result` as `internal-packages/bench/results/<name>-<timestamp>.json`; returns the path relative to the repository. */
export function writeResult(name: string, startedAt: Date, result: unknown): string {
  const dir = path.join(ROOT, 'internal-packages/bench/results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return path.relative(ROOT, file);
}

/**
 * A benchmark's `run(args)`: parse its flags (a thrown message is a usage error, exit 2; `'help'`
 * prints `help`), then measure under a `Cleanup` that stops `what` whatever happens.
 */
export async function runMeasured<O>(
  args: string[],
  parse: (args: string[]) => O | 'help',
  help: string,
  what: string,
  measure: (options: O, cleanup: Cleanup) => Promise<number>,
): Promise<number> {
  let options: O | 'help';
  try {
    options = parse(args);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${help}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const cleanup = new Cleanup();
  const parsed = options;
  return cleanup.guard(what, () => measure(parsed, cleanup));
}

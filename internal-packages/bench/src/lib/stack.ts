/**
 * Throwaway Calseta stacks for benchmarks: free ports, building and spawning the real API and worker
 * processes (dist bundle or tsx), health waits, clean shutdown, and a cleanup registry that also runs
 * on Ctrl-C and (best effort) at exit. Plus small machine/database helpers shared by the benchmarks.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DbHandle, EmbeddedPostgres } from '@calseta/db';
import { machineCpuSeconds } from './proc.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const HEALTH_TIMEOUT_MS = 60_000;

export type Pool = DbHandle['pool'];
export type AppName = 'api' | 'worker';
export type AppMode = 'auto' | 'dist' | 'tsx';
/** How to run an app: its dist bundle, its sources through tsx, or some other entry file. */
export type AppKind = 'dist' | 'tsx' | { entry: string };

/** Everything to undo, in order: also run on Ctrl-C, and (synchronously, best effort) on exit. */
export class Cleanup {
  children: ChildProcess[] = [];
  pools: Pool[] = [];
  destroyers: (() => Promise<void>)[] = [];
  postgres: EmbeddedPostgres | undefined;
  tmpDir: string | undefined;
  private done: Promise<void> | undefined;

  run(): Promise<void> {
    this.done ??= (async () => {
      await Promise.all(this.children.map((child) => stopChild(child)));
      for (const destroy of this.destroyers) await destroy().catch(() => undefined);
      for (const pool of this.pools) if (!pool.ended && !pool.ending) await pool.end().catch(() => undefined);
      await this.postgres?.stop().catch(() => undefined);
      if (this.tmpDir) fs.rmSync(this.tmpDir, { recursive: true, force: true });
    })();
    return this.done;
  }

  /** Last resort at process exit: no awaiting possible (Postgres itself is stopped by its exit hook). */
  runSync(): void {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
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

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
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

export function appArgs(app: AppName, kind: AppKind): string[] {
  if (kind === 'dist') return [`apps/${app}/dist/main.js`];
  if (kind === 'tsx') return ['--import', 'tsx', `apps/${app}/src/main.ts`];
  return [kind.entry];
}

/** A spawned app process with its output collected line by line. */
export interface AppProcess {
  child: ChildProcess;
  command: string;
  /** Lines the process wrote so far (at most 10,000). */
  logLines: () => string[];
  /** Resolves with `exited (<code|signal>)` when the process ends. */
  exited: Promise<string>;
}

/**
 * Spawn `node <args>` from the repository root with `env` (nothing else of this shell's environment
 * is added: pass `inheritedEnv(...)` in). The child is registered with `cleanup` at once.
 */
export function spawnApp(args: string[], env: NodeJS.ProcessEnv, cleanup: Cleanup): AppProcess {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup.children.push(child);
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) if (line.trim() !== '' && lines.length < 10_000) lines.push(line);
    });
  }
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(`exited (${signal ?? code})`)),
  );
  return { child, command: `node ${args.join(' ')}`, logLines: () => lines, exited };
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
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ready().catch(() => false)) return;
    const outcome = await Promise.race([app.exited, new Promise<null>((r) => setTimeout(() => r(null), 200))]);
    if (outcome !== null || Date.now() > deadline) {
      await stopChild(app.child);
      throw new Error(
        `${app.command} did not become ready: ${outcome ?? `timeout after ${timeoutMs} ms`}\n${app.logLines().slice(-20).join('\n')}`,
      );
    }
  }
}

/** `GET /health` answers 200. */
export function healthy(port: number): () => Promise<boolean> {
  return async () => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200;
}

export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
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

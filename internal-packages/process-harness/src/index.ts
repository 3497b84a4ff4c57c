/**
 * @calseta/process-harness — real Calseta processes for tests and benchmarks (the chaos suite, the
 * scaling and revocation tests, `pnpm bench`): spawn an app (its dist bundle or its sources through
 * tsx) with exactly the environment given, collect its output line by line (pino's JSON lines parsed
 * on demand), wait for a line or a condition with a deadline and a dead-process check, stop it with a
 * signal and await its exit, and kill every process of a group on teardown.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: apps are spawned from here (`apps/<app>/…` paths, `--import tsx`). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export type AppName = 'api' | 'worker' | 'mcp' | 'cli';
/** How to run an app: its dist bundle, its sources through tsx, or some other entry file. */
export type AppKind = 'dist' | 'tsx' | { entry: string };

/**
 * The node flags an app asks for in its package.json (`calseta.nodeFlags`: V8 settings read only at
 * start, e.g. the worker's young generation, apps/worker/README.md), as `pnpm start` passes them.
 */
export function nodeFlags(app: AppName): string[] {
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'apps', app, 'package.json'), 'utf8'));
  return manifest.calseta?.nodeFlags ?? [];
}

/** The node arguments that run `app` as `kind` from {@link REPO_ROOT}, its node flags first. */
export function appArgs(app: AppName, kind: AppKind): string[] {
  const flags = nodeFlags(app);
  if (kind === 'dist') return [...flags, `apps/${app}/dist/main.js`];
  if (kind === 'tsx') return [...flags, '--import', 'tsx', `apps/${app}/src/main.ts`];
  return [...flags, kind.entry];
}

/** A parsed JSON log line (pino): `msg`, `level` and whatever fields the app logged. */
export type LogEntry = Record<string, unknown> & { msg?: unknown; level?: unknown };

/** What a wait matches: anything but undefined, null or false ends the wait with that value. */
type Match<T> = T | undefined | null | false;

export interface StartOptions {
  /** For messages and tails: `api`, `worker-2`, … */
  name: string;
  /** Arguments of `node` (see {@link appArgs}). */
  args: string[];
  /** The whole environment of the child: nothing of this process's is added. */
  env: Record<string, string | undefined>;
  /** Default {@link REPO_ROOT}. */
  cwd?: string;
  /** Lines kept (default 20,000; later lines are dropped, so a chatty process cannot fill memory). */
  maxLines?: number;
}

/** One spawned process and its output. */
export class Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** `node <args>`, for reports. */
  readonly command: string;
  /** Non-empty lines of stdout and stderr, in arrival order. */
  readonly lines: string[] = [];
  /** Resolves with the exit code, or the signal's name, when the process ends. */
  readonly exited: Promise<number | string>;
  /** Set by {@link stop}: an exit after it is expected (see {@link ProcessGroup.unexpectedExits}). */
  stopping = false;
  private ended = false;
  private readonly parsed: (LogEntry | null | undefined)[] = [];
  private readonly events = new EventEmitter();

  constructor(options: StartOptions) {
    this.name = options.name;
    this.command = `node ${options.args.join(' ')}`;
    this.child = spawn(process.execPath, options.args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const maxLines = options.maxLines ?? 20_000;
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) {
          if (line.trim() === '' || this.lines.length >= maxLines) continue;
          this.lines.push(line);
          this.events.emit('line', this.lines.length - 1);
        }
      });
    }
    this.exited = new Promise((resolve) => {
      const end = (status: number | string) => {
        if (this.ended) return;
        this.ended = true;
        resolve(status);
        this.events.emit('exit');
      };
      this.child.once('exit', (code, signal) => end(code ?? signal ?? 'unknown'));
      // A process that could not be spawned never emits 'exit'.
      this.child.once('error', (error) => {
        if (this.child.pid === undefined) end(`spawn failed: ${error.message}`);
      });
    });
  }

  get alive(): boolean {
    return !this.ended && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Line `index` parsed as a JSON log entry, or null when it is not one (parsed once, when asked). */
  entry(index: number): LogEntry | null {
    let entry = this.parsed[index];
    if (entry === undefined) {
      const line = this.lines[index] ?? '';
      entry = null;
      if (line.startsWith('{')) {
        try {
          entry = JSON.parse(line) as LogEntry;
        } catch {
          // not a log line
        }
      }
      this.parsed[index] = entry;
    }
    return entry;
  }

  /** Every line that is a JSON log entry, parsed. */
  entries(): LogEntry[] {
    return this.lines.map((_, i) => this.entry(i)).filter((e): e is LogEntry => e !== null);
  }

  /**
   * Wait for a line (already collected or still to come) that `match` accepts; resolves with what it
   * returned. Fails when the process exits first or after `timeoutMs`, with its last lines. Driven by
   * the output itself: nothing polls.
   */
  waitFor<T>(what: string, match: (line: string, entry: LogEntry | null) => Match<T>, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const test = (i: number) => {
        const value = match(this.lines[i] ?? '', this.entry(i));
        if (value === undefined || value === null || value === false) return false;
        finish();
        resolve(value);
        return true;
      };
      const onLine = (i: number) => test(i);
      const onExit = () => {
        finish();
        reject(new Error(`${this.name} exited (${this.exitStatus()}) before ${what}:\n${this.tail(15)}`));
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n--- ${this.name}\n${this.tail(10)}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.events.off('line', onLine);
        this.events.off('exit', onExit);
      };
      for (let i = 0; i < this.lines.length; i++) if (test(i)) return;
      if (!this.alive) return onExit();
      this.events.on('line', onLine);
      this.events.on('exit', onExit);
    });
  }

  /** Wait for the app's "listening" log entry; resolves with `http://127.0.0.1:<port>`. */
  listening(timeoutMs: number): Promise<string> {
    return this.waitFor(
      `${this.name} listening`,
      (_, entry) =>
        typeof entry?.msg === 'string' && entry.msg.includes('listening') && typeof entry.port === 'number'
          ? `http://127.0.0.1:${entry.port}`
          : undefined,
      timeoutMs,
    );
  }

  /**
   * Send `signal` (default SIGTERM) and resolve with the exit status once the process is gone;
   * with `killAfterMs`, SIGKILL follows if it is still running then. Marks the exit as expected.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', killAfterMs?: number): Promise<number | string> {
    this.stopping = true;
    if (!this.alive) return this.exited;
    this.child.kill(signal);
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => this.child.kill('SIGKILL'), killAfterMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The last `lines` lines, for failure messages. */
  tail(lines = 10): string {
    return this.lines.slice(-lines).join('\n');
  }

  private exitStatus(): string {
    return String(this.child.signalCode ?? this.child.exitCode ?? 'not spawned');
  }
}

export interface UntilOptions {
  timeoutMs: number;
  /** Re-check interval (default 200 ms). */
  everyMs?: number;
  /** Extra text for the timeout error (e.g. process log tails). */
  describe?: () => string;
}

/** Thrown by a condition to stop waiting at once (other errors count as "not yet"). */
export class GiveUp extends Error {}

/**
 * Re-check `condition` every `everyMs` until it returns a value other than undefined, for state
 * outside any process's output (a database row, an HTTP answer). A condition that throws counts as
 * not yet (e.g. a connection refused while a process starts), except for {@link GiveUp}, which ends
 * the wait with that error. The timeout error carries the last error and `describe()`.
 */
export async function until<T>(
  what: string,
  condition: () => Promise<T | undefined> | T | undefined,
  options: UntilOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(
        `timed out after ${options.timeoutMs} ms waiting for ${what}${why}\n${options.describe?.() ?? ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 200));
  }
}

/**
 * The processes of one test or benchmark: every process ever started is kept (with its log) for
 * reports; `stopAll` on teardown; `until` fails at once when one of them dies unexpectedly.
 */
export class ProcessGroup {
  readonly all: Proc[] = [];

  start(options: StartOptions): Proc {
    const proc = new Proc(options);
    this.all.push(proc);
    return proc;
  }

  /** Processes that ended although nobody stopped them. */
  unexpectedExits(): Proc[] {
    return this.all.filter((p) => !p.alive && !p.stopping);
  }

  /** {@link until}, failing at once when a process of the group has died unexpectedly; the timeout error has every tail. */
  until<T>(what: string, condition: () => Promise<T | undefined> | T | undefined, options: UntilOptions): Promise<T> {
    return until(
      what,
      () => {
        const dead = this.unexpectedExits()[0];
        if (dead) throw new GiveUp(`${dead.name} exited unexpectedly:\n${dead.tail(15)}`);
        return condition();
      },
      { ...options, describe: () => [options.describe?.(), this.tails()].filter(Boolean).join('\n') },
    );
  }

  /** The last lines of every process, for failure messages. */
  tails(lines = 8): string {
    return this.all.map((p) => `--- ${p.name} (pid ${p.pid})\n${p.tail(lines)}`).join('\n');
  }

  /** Stop every process still running (default SIGKILL) and wait until all are gone. */
  async stopAll(signal: NodeJS.Signals = 'SIGKILL', killAfterMs?: number): Promise<void> {
    await Promise.all(this.all.map((p) => p.stop(signal, killAfterMs)));
  }

  /** Last resort at process exit, where nothing can be awaited. */
  killAllSync(): void {
    for (const p of this.all) if (p.alive) p.child.kill('SIGKILL');
  }
}

/** A TCP port free on 127.0.0.1 right now (for a process that must keep its port across restarts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

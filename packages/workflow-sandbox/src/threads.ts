/**
 * The sandbox off the event loop: each run executes in a worker thread (`node:worker_threads`) of
 * a small pool, with the in-thread sandbox (sandbox.ts: QuickJS, its limits and watchdog) inside.
 * The thread that serves requests or jobs only posts the run and waits for a message, so a busy or
 * hostile workflow cannot stall it. Capabilities stay here: `ctx.http` (core's SSRF-guarded
 * client) and integration clients are called in this thread when the run's thread asks for them
 * (a message, answered by a message); only data crosses (code, context, the declared secrets,
 * limits, HTTP responses, JSON results). Backstops the in-thread limits cannot give: a run still
 * going `terminateGraceMs` after its deadline has its thread terminated (`timed_out`), and a thread
 * that dies (V8 heap over `resourceLimits`, a crash) fails its run only; the pool replaces it.
 */

import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import {
  DEFAULT_LIMITS,
  formatBytes,
  formatSeconds,
  type LimitName,
  MIN_MEMORY_BYTES,
  MIN_RUN_MEMORY_BYTES,
  resolveLimits,
  type SandboxLimits,
} from './limits.js';
import {
  type HeadersLike,
  type HostHttpRequest,
  type HostHttpResponse,
  integrationMethods,
  type RunInput,
  type RunOutcome,
  type Sandbox,
} from './sandbox.js';

export interface ThreadedSandboxOptions {
  /** Defaults for every run; `memoryBytes` also sizes each thread's QuickJS memory. */
  limits?: Partial<SandboxLimits>;
  /** Worker threads, i.e. concurrent runs (further runs wait, FIFO). Default min(2, CPU cores). */
  threads?: number;
  /** V8 limits of each thread (its own heap and stack, apart from QuickJS's capped memory). */
  resourceLimits?: ResourceLimits;
  /** How long after its deadline a run's thread is terminated if the run has not ended. Default 500 ms. */
  terminateGraceMs?: number;
}

/** Each thread's V8 heap: room for the host side of a run (≤ 10 MiB of HTTP, the output, logs). */
export const DEFAULT_RESOURCE_LIMITS: Readonly<ResourceLimits> = Object.freeze({
  maxOldGenerationSizeMb: 192,
  maxYoungGenerationSizeMb: 32,
  stackSizeMb: 4,
});

export const DEFAULT_TERMINATE_GRACE_MS = 500;

/** The run as it crosses to the thread: data only. */
export interface ThreadRun {
  type: 'run';
  code: string;
  context: RunInput['context'];
  secrets: Record<string, string>;
  limits: SandboxLimits;
  filename?: string | undefined;
  http: boolean;
  /** Integration name → its methods (null: not configured). */
  integrations: Record<string, string[] | null>;
}

/** Host calls the thread asks this thread to make. */
export type ThreadCall =
  | { type: 'call'; call: number; kind: 'http'; request: HostHttpRequest; maxResponseBytes: number }
  | { type: 'call'; call: number; kind: 'integration'; name: string; method: string; args: unknown[] };

export type FromThread =
  | { type: 'ready' }
  | ThreadCall
  | { type: 'abort'; call: number }
  | { type: 'done'; outcome: RunOutcome }
  | { type: 'error'; message: string };

/** HTTP response bodies cross as text or bytes; integration results as JSON text. */
export type ThreadReply =
  | {
      type: 'reply';
      call: number;
      ok: true;
      value: Omit<HostHttpResponse, 'headers'> & { headers: Record<string, string> };
    }
  | { type: 'reply'; call: number; ok: true; value: string | undefined }
  | { type: 'reply'; call: number; ok: false; error: string };

export type ToThread = ThreadRun | ThreadReply;

interface ActiveRun {
  input: RunInput;
  controllers: Map<number, AbortController>;
  settle: (result: { outcome: RunOutcome } | { error: Error }) => void;
}

/** One worker thread; serves one run at a time. */
class Thread {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  run: ActiveRun | null = null;
  dead = false;

  constructor(
    limits: SandboxLimits,
    resourceLimits: ResourceLimits,
    private readonly onDeath: (thread: Thread) => void,
  ) {
    const entry = threadEntry();
    this.worker = new Worker('file' in entry ? entry.file : entry.code, {
      eval: 'code' in entry,
      workerData: { limits },
      resourceLimits,
    });
    // Referenced while it starts and while it runs (a caller awaiting a run keeps the process up);
    // unreferenced while idle, so an idle pool never holds a process open.
    let started: (() => void) | undefined;
    let failed: ((error: Error) => void) | undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      started = resolve;
      failed = reject;
    });
    this.ready.catch(() => undefined);
    this.worker.on('message', (message: FromThread) => {
      if (message.type === 'ready') started?.();
      else this.onMessage(message);
    });
    this.worker.on('error', (error) => {
      failed?.(error);
      this.die(error);
    });
    this.worker.on('exit', (code) => {
      const error = new Error(`worker thread exited (code ${code})`);
      failed?.(error);
      this.die(error);
    });
  }

  /** Posts a run; its outcome (or the thread's death) comes back through `run.settle`. */
  start(run: ActiveRun, message: ThreadRun): void {
    this.run = run;
    this.worker.ref();
    this.worker.postMessage(message);
  }

  /** The run ended (outcome, death or termination): abort its host calls, go idle. */
  end(): void {
    const run = this.run;
    this.run = null;
    if (!this.dead) this.worker.unref();
    for (const controller of run?.controllers.values() ?? []) controller.abort(new Error('workflow run ended'));
  }

  terminate(): void {
    this.dead = true;
    void this.worker.terminate();
  }

  private onMessage(message: FromThread): void {
    const run = this.run;
    if (!run) return;
    switch (message.type) {
      case 'done':
        run.settle({ outcome: message.outcome });
        break;
      case 'error':
        run.settle({ error: new Error(message.message) });
        break;
      case 'abort':
        run.controllers.get(message.call)?.abort(new Error('workflow run ended'));
        break;
      case 'call':
        void this.hostCall(run, message);
        break;
    }
  }

  /** A capability call, made here on behalf of the thread's run; the answer is a message. */
  private async hostCall(run: ActiveRun, message: ThreadCall): Promise<void> {
    const controller = new AbortController();
    run.controllers.set(message.call, controller);
    let reply: ThreadReply;
    try {
      if (message.kind === 'http') {
        const http = run.input.http;
        if (!http) throw new Error('ctx.http is not available to this workflow');
        const response = await http(message.request, {
          signal: controller.signal,
          maxResponseBytes: message.maxResponseBytes,
        });
        reply = {
          type: 'reply',
          call: message.call,
          ok: true,
          value: { status: response?.status, headers: plainHeaders(response?.headers), body: response?.body ?? '' },
        };
      } else {
        const client = run.input.integrations?.[message.name] as Record<string, unknown> | null | undefined;
        const allowed = client ? integrationMethods(client).has(message.method) : false;
        const fn = allowed ? client?.[message.method] : undefined;
        if (typeof fn !== 'function')
          throw new Error(`Integration method ${message.name}.${message.method} is not available`);
        const value: unknown = await fn.apply(client, message.args);
        reply = {
          type: 'reply',
          call: message.call,
          ok: true,
          value: value === undefined ? undefined : JSON.stringify(value),
        };
      }
    } catch (error) {
      reply = {
        type: 'reply',
        call: message.call,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      };
    } finally {
      run.controllers.delete(message.call);
    }
    // A late answer (the run ended, the thread is gone or serves another run) is dropped.
    if (this.run === run && !this.dead) this.worker.postMessage(reply);
  }

  private die(error: Error): void {
    // Already terminated by the pool (its run ended then): only leave the pool.
    if (!(this.dead && !this.run)) {
      this.dead = true;
      this.run?.settle({ error });
    }
    this.onDeath(this);
  }
}

/**
 * The sandbox pool of worker threads (same interface as `createSandbox`, which each thread runs
 * inside). Threads start lazily (or with `prewarm`) and are replaced after a death or termination.
 */
export function createThreadedSandbox(options: ThreadedSandboxOptions = {}): Sandbox {
  const limits = resolveLimits(DEFAULT_LIMITS, options.limits);
  if (limits.memoryBytes < MIN_MEMORY_BYTES) {
    throw new TypeError(`memoryBytes must be at least ${formatBytes(MIN_MEMORY_BYTES)}`);
  }
  const size = options.threads ?? Math.min(2, availableParallelism());
  if (!Number.isInteger(size) || size < 1) throw new TypeError('threads must be >= 1');
  const resourceLimits = { ...DEFAULT_RESOURCE_LIMITS, ...options.resourceLimits };
  const grace = options.terminateGraceMs ?? DEFAULT_TERMINATE_GRACE_MS;

  const threads = new Set<Thread>();
  const idle: Thread[] = [];
  const waiters: { resolve: (thread: Thread) => void; reject: (error: unknown) => void }[] = [];
  let created = 0;
  let closed = false;

  const spawn = async (): Promise<Thread> => {
    const thread = new Thread(limits, resourceLimits, (dead) => {
      threads.delete(dead);
      const index = idle.indexOf(dead);
      if (index >= 0) idle.splice(index, 1);
      // A waiter that a dead thread would have served gets a new one.
      const waiter = !closed && threads.size < size ? waiters.shift() : undefined;
      if (waiter) spawn().then(waiter.resolve, waiter.reject);
    });
    threads.add(thread);
    created++;
    try {
      await thread.ready;
    } catch (error) {
      threads.delete(thread);
      thread.terminate();
      throw error;
    }
    return thread;
  };

  const acquire = (): Promise<Thread> => {
    if (closed) return Promise.reject(new Error('Sandbox is closed'));
    const thread = idle.pop();
    if (thread) return Promise.resolve(thread);
    if (threads.size < size) return spawn();
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  };

  const release = (thread: Thread): void => {
    thread.end();
    if (thread.dead || closed) {
      if (!thread.dead) thread.terminate();
      return;
    }
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(thread);
    else idle.push(thread);
  };

  return {
    async run(input) {
      const runLimits = resolveLimits(limits, input.limits);
      runLimits.memoryBytes = Math.min(runLimits.memoryBytes, limits.memoryBytes);
      if (runLimits.memoryBytes < MIN_RUN_MEMORY_BYTES) {
        throw new TypeError(`memoryBytes must be at least ${formatBytes(MIN_RUN_MEMORY_BYTES)}`);
      }
      const message = runMessage(input, runLimits);
      const thread = await acquire();
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      let result: { outcome: RunOutcome } | { error: Error };
      try {
        result = await new Promise((resolve) => {
          const run: ActiveRun = { input, controllers: new Map(), settle: resolve };
          // The backstop: the thread's own deadline (interrupt handler, host timer, V8 watchdog)
          // ends a run at its deadline; a thread still busy `grace` later is terminated.
          timer = setTimeout(() => {
            thread.terminate();
            resolve({ outcome: endedByHost(started, 'timed_out', 'timeout', timeoutMessage(runLimits)) });
          }, runLimits.timeoutMs + grace);
          thread.start(run, message);
        });
      } finally {
        clearTimeout(timer);
        release(thread);
      }
      if ('outcome' in result) return result.outcome;
      const error = result.error as Error & { code?: string };
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        const heap = resourceLimits.maxOldGenerationSizeMb ?? 0;
        return endedByHost(
          started,
          'failed',
          'memory',
          `Workflow exceeded memory limit (the sandbox thread's ${heap} MB heap)`,
        );
      }
      if (thread.dead) {
        return endedByHost(started, 'failed', null, `Sandbox internal error: ${error.message}`);
      }
      throw error;
    },
    async prewarm(count = 1) {
      const wanted = Math.min(count, size) - threads.size;
      const fresh = await Promise.all(Array.from({ length: Math.max(0, wanted) }, () => spawn()));
      for (const thread of fresh) release(thread);
    },
    stats: () => ({ modules: threads.size, modulesCreated: created }),
    close() {
      closed = true;
      for (const waiter of waiters.splice(0)) waiter.reject(new Error('Sandbox is closed'));
      idle.length = 0;
      for (const thread of threads) if (!thread.run) thread.terminate();
    },
  };
}

/** The data of a run, for the thread (functions stay here; integrations cross as method lists). */
function runMessage(input: RunInput, limits: SandboxLimits): ThreadRun {
  const integrations: Record<string, string[] | null> = {};
  for (const [name, client] of Object.entries(input.integrations ?? {})) {
    integrations[name] = client ? [...integrationMethods(client)] : null;
  }
  return {
    type: 'run',
    code: input.code,
    context: input.context,
    secrets: { ...input.secrets },
    limits,
    filename: input.filename,
    http: typeof input.http === 'function',
    integrations,
  };
}

function plainHeaders(raw: HostHttpResponse['headers']): Record<string, string> {
  const headers: Record<string, string> = {};
  if (raw && typeof (raw as HeadersLike).forEach === 'function') {
    (raw as HeadersLike).forEach((value, name) => {
      headers[name.toLowerCase()] = String(value);
    });
  } else if (raw) {
    for (const [key, value] of Object.entries(raw as Record<string, string | string[] | undefined>)) {
      if (value !== undefined) headers[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    }
  }
  return headers;
}

const timeoutMessage = (limits: SandboxLimits) =>
  `Workflow execution timed out after ${formatSeconds(limits.timeoutMs)}`;

/** The outcome of a run the host ended (terminated or lost thread): no result, no logs. */
function endedByHost(
  started: number,
  status: 'failed' | 'timed_out',
  limit: LimitName | null,
  error: string,
): RunOutcome {
  return {
    status,
    result: null,
    logs: [],
    error,
    limit,
    durationMs: Math.round((performance.now() - started) * 1000) / 1000,
    hostCalls: 0,
    httpCalls: 0,
    httpBytes: 0,
  };
}

/**
 * The thread's entry: `workflow-sandbox-thread.js` next to an app bundle (scripts/build-app.mjs
 * emits it whenever a bundle includes this file), or — running from TypeScript sources (tsx,
 * vitest) — `thread-entry.ts` imported after registering tsx's loader in the new thread.
 */
function threadEntry(): { file: URL } | { code: string } {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return { file: new URL('./workflow-sandbox-thread.js', here) };
  const tsx = pathToFileURL(path.join(path.dirname(createRequire(here).resolve('tsx/esm/api')), 'index.mjs')).href;
  const entry = new URL('./thread-entry.ts', here).href;
  return {
    code: `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`,
  };
}

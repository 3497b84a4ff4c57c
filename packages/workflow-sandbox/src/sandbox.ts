/**
 * Runs workflow code in QuickJS (sync WebAssembly build) with hard per-run limits. Each run gets a
 * fresh runtime + context on a pooled module that has its own capped linear memory (pool.ts).
 *
 * Host ↔ guest: exactly one host function, handed to the prelude as an argument (never a global).
 * Payloads cross as JSON strings in both directions; nothing the guest returns is trusted. Async
 * host operations (`ctx.http`, integrations) return QuickJS promises (`vm.newPromise()`) that the
 * host settles when its own promise finishes, then drains the job queue. The prelude's runner
 * reports the outcome through the binding (never through the guest's own, replaceable, `Promise`
 * machinery); the host waits for that report raced against the wall-clock deadline, and the
 * interrupt handler stops guest code at the deadline or as soon as a limit is broken.
 */
import nodeVm from 'node:vm';
import type { QuickJSContext, QuickJSDeferredPromise, QuickJSHandle, QuickJSRuntime } from 'quickjs-emscripten-core';
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
import { ModulePool, type ModuleSlot } from './pool.js';
import { PRELUDE_COMPACT } from './prelude.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
export const HTTP_METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
/**
 * Longest `ctx.http` URL and largest total of header names and values, in characters. Requests cross
 * to the parent thread (the one serving requests or jobs), where a test run matches the URL against
 * every `mock_http` pattern and records it: an 8 MB URL blocked that thread for 12 s per call. No
 * server accepts more (Node's default header limit, request line included, is 16 KiB).
 */
export const MAX_HTTP_URL_CHARS = 32 * 1024;
export const MAX_HTTP_HEADER_CHARS = 64 * 1024;

/** What the sandbox asks the host's HTTP client (core passes its SSRF-guarded client) to send. */
export interface HostHttpRequest {
  method: HttpMethod;
  /** Absolute http(s) URL, query `params` already appended. */
  url: string;
  headers: Record<string, string>;
  body: string | null;
}

export interface HostHttpResponse {
  status: number;
  /** A plain record, or a fetch `Headers` (anything with `forEach(value, name)`). */
  headers?: Record<string, string | string[] | undefined> | HeadersLike;
  body: string | Uint8Array;
}

export interface HeadersLike {
  forEach(callback: (value: string, name: string) => void): void;
}

export interface HostHttpOptions {
  /** Aborts when the run ends (deadline, limit, completion). */
  signal: AbortSignal;
  /**
   * What is left of the run's `maxHttpBytes` after the request body: a larger response body fails
   * the run anyway, so the client may stop reading past it.
   */
  maxResponseBytes: number;
}

/**
 * The host's HTTP client. A rejection (SSRF refusal, DNS, connect, timeout…) becomes an exception
 * inside the workflow (`HttpError: …`, message only).
 */
export type HostHttp = (request: HostHttpRequest, options: HostHttpOptions) => Promise<HostHttpResponse>;

/**
 * An integration client: any object (a plain one or a class instance) whose methods — own or
 * inherited, not `constructor` nor `_`-prefixed — take and return JSON values (sync or async).
 */
export type HostIntegration = object;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface RunInput {
  /** The workflow module source (`export async function run(ctx) { … }`). */
  code: string;
  /** Plain JSON exposed as deep-frozen `ctx.<key>`: `indicator`, `alert` (null when absent), anything else. */
  context?: { indicator?: JsonValue; alert?: JsonValue; [key: string]: JsonValue | undefined };
  /** Only the secrets declared for this workflow. `ctx.secrets.get(other)` is `undefined`. */
  secrets?: Record<string, string>;
  /** Host HTTP client; without it every `ctx.http` call throws. */
  http?: HostHttp;
  /** `ctx.integrations.<name>.<method>(…)`; `okta` and `entra` are `null` unless given. */
  integrations?: Record<string, HostIntegration | null | undefined>;
  /** Overrides of the sandbox's limits for this run (`memoryBytes` can only go down). */
  limits?: Partial<SandboxLimits>;
  /** Name of the module in stack traces. */
  filename?: string;
}

export type RunStatus = 'succeeded' | 'failed' | 'timed_out';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEntry {
  level: LogLevel;
  message: string;
  /** ISO timestamp (host clock). */
  at: string;
  extra?: JsonValue;
}

export interface WorkflowResultData {
  success: boolean;
  message: string;
  data: JsonValue;
}

export interface RunOutcome {
  /** `succeeded` ⇔ the workflow returned `WorkflowResult.ok`. `timed_out` only for the deadline. */
  status: RunStatus;
  /** What the workflow returned; `null` when the sandbox ended the run (then `error` says why). */
  result: WorkflowResultData | null;
  logs: LogEntry[];
  /** Why the sandbox failed the run (exception, limit, bad return); `null` when the workflow returned a result. */
  error: string | null;
  /** The limit that ended the run, if one did. */
  limit: LimitName | null;
  durationMs: number;
  hostCalls: number;
  httpCalls: number;
  httpBytes: number;
}

export interface SandboxOptions {
  /** Defaults for every run; `memoryBytes` also sizes each module's WebAssembly memory. */
  limits?: Partial<SandboxLimits>;
  /** Concurrent runs (one module each, `memoryBytes` apiece). Further runs wait. Default 4. */
  maxConcurrency?: number;
  /** Clock for log timestamps (tests). */
  now?: () => Date;
}

export interface Sandbox {
  run(input: RunInput): Promise<RunOutcome>;
  /** Instantiates modules ahead of time (default: 1), so the first runs don't pay ≈15–50 ms each. */
  prewarm(count?: number): Promise<void>;
  /** Modules alive / created over the sandbox's life (replacements after broken runs included). */
  stats(): { modules: number; modulesCreated: number };
  close(): void;
}

const DEFAULT_INTEGRATIONS = ['okta', 'entra'];

export function createSandbox(options: SandboxOptions = {}): Sandbox {
  const limits = resolveLimits(DEFAULT_LIMITS, options.limits);
  if (limits.memoryBytes < MIN_MEMORY_BYTES) {
    throw new TypeError(`memoryBytes must be at least ${formatBytes(MIN_MEMORY_BYTES)}`);
  }
  const maxConcurrency = options.maxConcurrency ?? 4;
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) throw new TypeError('maxConcurrency must be >= 1');
  const pool = new ModulePool(limits.memoryBytes, maxConcurrency);
  const now = options.now ?? (() => new Date());

  return {
    async run(input) {
      const runLimits = resolveLimits(limits, input.limits);
      runLimits.memoryBytes = Math.min(runLimits.memoryBytes, limits.memoryBytes);
      if (runLimits.memoryBytes < MIN_RUN_MEMORY_BYTES) {
        throw new TypeError(`memoryBytes must be at least ${formatBytes(MIN_RUN_MEMORY_BYTES)}`);
      }
      const slot = await pool.acquire();
      let healthy = true;
      try {
        const execution = new Execution(slot, input, runLimits, now);
        const outcome = await execution.run();
        healthy = execution.healthy;
        return outcome;
      } catch (error) {
        healthy = false;
        throw error;
      } finally {
        slot.runs++;
        pool.release(slot, healthy);
      }
    },
    prewarm: (count = 1) => pool.prewarm(count),
    stats: () => ({ modules: pool.size, modulesCreated: pool.created }),
    close: () => pool.close(),
  };
}

/** A failure of the run decided by the host (limit, timeout); wins over whatever the guest did next. */
interface Abort {
  status: 'failed' | 'timed_out';
  limit: LimitName | null;
  message: string;
}

interface GuestError {
  name: string;
  message: string;
  stack: string;
}

/** An error the host raises inside the guest (message only; never host stacks). */
class GuestFacingError extends Error {
  constructor(
    readonly guestName: string,
    message: string,
  ) {
    super(message);
  }
}

/** The prelude failed: an internal problem unless it hit a limit (see `LIMIT_ERRORS`). */
class PreludeFailure extends Error {
  constructor(readonly guest: GuestError) {
    super(`prelude failed: ${guest.name}: ${guest.message}`);
  }
}

/** QuickJS `InternalError` messages that mean a limit was hit. */
const LIMIT_ERRORS = new Set(['interrupted', 'out of memory', 'stack overflow']);

/** Caps on the guest error text copied into `RunOutcome.error`. */
const MAX_MESSAGE_CHARS = 4096;
const MAX_STACK_CHARS = 4096;

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');

/** One run: owns the runtime, context, in-flight host operations and the counters. */
class Execution {
  healthy = true;
  private readonly limits: SandboxLimits;
  private readonly logs: LogEntry[] = [];
  private logBytes = 0;
  private hostCalls = 0;
  private httpCalls = 0;
  private httpBytes = 0;
  private abort: Abort | null = null;
  /** What the runner reported ('done'); untrusted. */
  private envelope: string | null = null;
  private finished = false;
  /** The watchdog killed guest execution: the module is never touched again. */
  private terminated = false;
  private readonly inFlight = new Set<QuickJSDeferredPromise>();
  /** Integration name → the methods exposed to the guest (fixed at setup). */
  private readonly integrationMethods = new Map<string, Set<string>>();
  private readonly controller = new AbortController();
  private wake: (() => void) | null = null;
  private deadline = 0;
  private rt: QuickJSRuntime | undefined;
  private vm: QuickJSContext | undefined;

  constructor(
    private readonly slot: ModuleSlot,
    private readonly input: RunInput,
    limits: SandboxLimits,
    private readonly now: () => Date,
  ) {
    this.limits = limits;
  }

  async run(): Promise<RunOutcome> {
    const started = performance.now();
    if (typeof this.input.code !== 'string') {
      return { ...failed('Workflow code must be a string'), ...this.counters(), logs: [], durationMs: 0 };
    }
    this.deadline = Date.now() + this.limits.timeoutMs;
    let outcome: Verdict;
    try {
      outcome = await this.execute();
    } catch (error) {
      // The prelude could not even start (a tiny per-run memory limit, a deadline already past), or
      // the QuickJS module itself misbehaved (e.g. an abort inside the WebAssembly): drop the module.
      this.healthy = false;
      outcome =
        error instanceof PreludeFailure && LIMIT_ERRORS.has(error.guest.message)
          ? (this.abortOutcome() ?? this.classify(error.guest, 'exception'))
          : failed(`Sandbox internal error: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.finish();
    }
    return {
      ...outcome,
      logs: this.logs,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      ...this.counters(),
    };
  }

  private counters() {
    return { hostCalls: this.hostCalls, httpCalls: this.httpCalls, httpBytes: this.httpBytes };
  }

  private async execute(): Promise<Verdict> {
    const started = this.guarded(() => this.start());
    if (!started.ok) return started.outcome;
    if (started.value) return started.value;
    return this.drive();
  }

  /**
   * Synchronous part: fresh runtime + context, prelude, module evaluation, runner call. Returns an
   * outcome when the run already ended (module load failure, interrupt), else `null`.
   */
  private start(): Verdict | null {
    const rt = this.slot.module.newRuntime();
    this.rt = rt;
    rt.setMemoryLimit(this.limits.memoryBytes);
    rt.setMaxStackSize(this.limits.stackBytes);
    rt.setInterruptHandler(() => this.abort !== null || Date.now() > this.deadline);
    const vm = rt.newContext();
    this.vm = vm;

    // Prelude → setup function → runner.
    const setupFn = this.unwrapInternal(
      vm.evalCode(PRELUDE_COMPACT, 'calseta:prelude.js', { type: 'global', strip: true }),
    );
    const host = vm.newFunction('host', (opHandle, payloadHandle) => this.onHostCall(opHandle, payloadHandle));
    const setupJson = vm.newString(JSON.stringify(this.setup()));
    const runnerResult = vm.callFunction(setupFn, vm.undefined, host, setupJson);
    setupFn.dispose();
    host.dispose();
    setupJson.dispose();
    const runner = this.unwrapInternal(runnerResult);

    try {
      const loaded = vm.evalCode(this.input.code, this.input.filename ?? 'workflow.js', { type: 'module' });
      if (loaded.error) {
        const error = this.takeError(loaded.error);
        return this.abortOutcome() ?? this.classify(error, 'load');
      }
      const modulePromise = loaded.value;
      const called = vm.callFunction(runner, vm.undefined, modulePromise);
      modulePromise.dispose();
      if (called.error) {
        const error = this.takeError(called.error);
        return this.abortOutcome() ?? this.classify(error, 'exception');
      }
      called.value.dispose();
      return null;
    } finally {
      runner.dispose();
    }
  }

  /**
   * Runs a synchronous stretch of guest execution under the V8 watchdog (backstop for the interrupt
   * handler, which QuickJS polls only every ~10k calls/backward jumps: a loop of costly native
   * calls would otherwise overshoot the deadline by minutes). A watchdog kill leaves the module
   * mid-operation, so it is discarded without touching it again.
   */
  private guarded<T>(fn: () => T): { ok: true; value: T } | { ok: false; outcome: Verdict } {
    const budget = Math.max(1, this.deadline - Date.now()) + WATCHDOG_GRACE_MS;
    try {
      return { ok: true, value: runWithWatchdog(budget, fn) };
    } catch (error) {
      if (!isWatchdogTimeout(error)) throw error;
      this.terminated = true;
      this.healthy = false;
      return { ok: false, outcome: this.abortOutcome() ?? this.timedOut() };
    }
  }

  /** Drains jobs and waits for host operations until the runner reports or the run ends. */
  private async drive(): Promise<Verdict> {
    const rt = this.rt as QuickJSRuntime;
    for (;;) {
      const aborted = this.abortOutcome();
      if (aborted) return aborted;
      const drained = this.guarded(() => rt.executePendingJobs());
      if (!drained.ok) return drained.outcome;
      const jobs = drained.value;
      if (jobs.error) {
        const error = this.takeError(jobs.error);
        return this.abortOutcome() ?? this.classify(error, 'exception');
      }
      jobs.dispose();
      const afterJobs = this.abortOutcome();
      if (afterJobs) return afterJobs;
      if (this.envelope !== null) return this.readEnvelope(this.envelope);
      if (this.inFlight.size === 0) {
        return failed('Workflow run() did not settle: it awaits a promise that nothing will resolve');
      }
      if (Date.now() >= this.deadline) return this.timedOut();
      // Wait for a host operation to settle, or the deadline (a fresh timer each time: timers can
      // fire a little early, and the loop then simply waits again).
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        timer = setTimeout(resolve, Math.max(0, this.deadline - Date.now()) + 1);
      });
      clearTimeout(timer);
      this.wake = null;
    }
  }

  private setup(): { context: Record<string, JsonValue>; integrations: Record<string, string[] | null> } {
    const context: Record<string, JsonValue> = {};
    for (const [key, value] of Object.entries(this.input.context ?? {})) {
      if (value !== undefined) context[key] = value;
    }
    const integrations: Record<string, string[] | null> = {};
    for (const name of DEFAULT_INTEGRATIONS) integrations[name] = null;
    for (const [name, client] of Object.entries(this.input.integrations ?? {})) {
      const methods = client ? integrationMethods(client) : null;
      if (methods) this.integrationMethods.set(name, methods);
      integrations[name] = methods ? [...methods] : null;
    }
    return { context, integrations };
  }

  // --- host calls -------------------------------------------------------------------------------

  private onHostCall(opHandle: QuickJSHandle, payloadHandle: QuickJSHandle) {
    const vm = this.vm as QuickJSContext;
    try {
      if (this.abort) throw new GuestFacingError('SandboxLimitError', this.abort.message);
      if (vm.typeof(opHandle) === 'string' && vm.getString(opHandle) === 'done') {
        // The prelude's runner reports once; not a workflow host call.
        if (this.envelope === null && vm.typeof(payloadHandle) === 'string')
          this.envelope = vm.getString(payloadHandle);
        return vm.undefined;
      }
      this.hostCalls++;
      if (this.hostCalls > this.limits.maxHostCalls) {
        this.fatal('host_calls', `Workflow exceeded the host call limit (${this.limits.maxHostCalls} calls)`);
      }
      const op = vm.typeof(opHandle) === 'string' ? vm.getString(opHandle) : '';
      const payload: unknown = vm.typeof(payloadHandle) === 'string' ? JSON.parse(vm.getString(payloadHandle)) : null;
      if (payload === null || typeof payload !== 'object') throw new GuestFacingError('TypeError', 'Invalid host call');
      const args = payload as Record<string, unknown>;
      switch (op) {
        case 'log':
          this.log(args);
          return vm.undefined;
        case 'secret': {
          const secrets = this.input.secrets ?? {};
          const name = typeof args.name === 'string' ? args.name : '';
          const value = Object.hasOwn(secrets, name) ? secrets[name] : undefined;
          return typeof value === 'string' ? vm.newString(JSON.stringify(value)) : vm.undefined;
        }
        case 'http':
          return this.startHostOperation(() => this.http(args));
        case 'integration':
          return this.startHostOperation(() => this.integration(args));
        default:
          throw new GuestFacingError('TypeError', 'Unknown host call');
      }
    } catch (error) {
      return { error: this.guestError(error) };
    }
  }

  private guestError(error: unknown): QuickJSHandle {
    const vm = this.vm as QuickJSContext;
    if (error instanceof GuestFacingError) return vm.newError({ name: error.guestName, message: error.message });
    return vm.newError({ name: 'Error', message: error instanceof Error ? error.message : String(error) });
  }

  /** Breaks the run: recorded first (it decides the outcome), then thrown into the guest. */
  private fatal(limit: LimitName, message: string): never {
    this.abort ??= { status: 'failed', limit, message };
    this.wake?.();
    throw new GuestFacingError('SandboxLimitError', message);
  }

  private log(args: Record<string, unknown>): void {
    const level = (['debug', 'info', 'warn', 'error'] as const).find((l) => l === args.level) ?? 'info';
    const message = typeof args.message === 'string' ? args.message : String(args.message);
    const entry: LogEntry = { level, message, at: this.now().toISOString() };
    let bytes = byteLength(message);
    if (args.extra !== undefined) {
      entry.extra = args.extra as JsonValue;
      bytes += byteLength(JSON.stringify(args.extra));
    }
    if (this.logBytes + bytes > this.limits.maxLogBytes) {
      this.fatal('log_bytes', `Workflow log output exceeded the limit (${formatBytes(this.limits.maxLogBytes)})`);
    }
    this.logBytes += bytes;
    this.logs.push(entry);
  }

  /** Starts a host operation; returns the guest promise it will settle (as JSON text or undefined). */
  private startHostOperation(work: () => Promise<string | undefined>): QuickJSHandle {
    const vm = this.vm as QuickJSContext;
    const deferred = vm.newPromise();
    this.inFlight.add(deferred);
    const settle = (value: string | undefined, error: unknown, isError: boolean) => {
      if (this.finished || !this.inFlight.has(deferred)) return;
      this.inFlight.delete(deferred);
      try {
        if (isError) {
          const handle = this.guestError(error);
          deferred.reject(handle);
          handle.dispose();
        } else if (value === undefined) {
          deferred.resolve(vm.undefined);
        } else {
          const handle = vm.newString(value);
          deferred.resolve(handle);
          handle.dispose();
        }
      } catch (hostError) {
        this.healthy = false;
        this.abort ??= { status: 'failed', limit: null, message: `Sandbox internal error: ${String(hostError)}` };
      } finally {
        deferred.dispose();
        this.wake?.();
      }
    };
    // Started on a later tick so a synchronous throw of the host function becomes a rejection.
    Promise.resolve()
      .then(work)
      .then(
        (value) => settle(value, undefined, false),
        (error: unknown) => settle(undefined, error, true),
      );
    return deferred.handle;
  }

  private async http(args: Record<string, unknown>): Promise<string> {
    const hostHttp = this.input.http;
    this.httpCalls++;
    if (this.httpCalls > this.limits.maxHttpCalls) {
      this.fatal('http_calls', `Workflow exceeded the HTTP call limit (${this.limits.maxHttpCalls} requests)`);
    }
    const method = String(args.method ?? 'GET').toUpperCase() as HttpMethod;
    if (!HTTP_METHODS.includes(method)) throw new GuestFacingError('HttpError', `Unsupported HTTP method '${method}'`);
    let url: URL;
    try {
      url = new URL(String(args.url));
    } catch {
      throw new GuestFacingError('HttpError', `Invalid URL '${String(args.url)}'`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new GuestFacingError('HttpError', `Only http(s) URLs are allowed, got '${url.protocol}'`);
    }
    if (args.params !== undefined) {
      if (args.params === null || typeof args.params !== 'object' || Array.isArray(args.params)) {
        throw new GuestFacingError('TypeError', 'ctx.http: params must be an object');
      }
      for (const [key, value] of Object.entries(args.params)) {
        if (value === undefined || value === null) continue;
        for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(item));
      }
    }
    const headers: Record<string, string> = {};
    if (args.headers !== undefined) {
      if (args.headers === null || typeof args.headers !== 'object' || Array.isArray(args.headers)) {
        throw new GuestFacingError('TypeError', 'ctx.http: headers must be an object');
      }
      for (const [key, value] of Object.entries(args.headers)) {
        if (value === undefined || value === null) continue;
        const text = String(value);
        if (/[\r\n\0]/.test(key) || /[\r\n\0]/.test(text)) {
          throw new GuestFacingError('HttpError', `Invalid header '${key}'`);
        }
        headers[key] = text;
      }
    }
    if (url.href.length > MAX_HTTP_URL_CHARS) {
      throw new GuestFacingError('HttpError', `URL longer than ${MAX_HTTP_URL_CHARS} characters`);
    }
    let headerChars = 0;
    for (const [key, value] of Object.entries(headers)) headerChars += key.length + value.length;
    if (headerChars > MAX_HTTP_HEADER_CHARS) {
      throw new GuestFacingError('HttpError', `request headers longer than ${MAX_HTTP_HEADER_CHARS} characters`);
    }
    const body = typeof args.body === 'string' ? args.body : null;
    if (args.json === true && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
    if (body !== null) this.countHttpBytes(byteLength(body));
    if (!hostHttp) throw new GuestFacingError('HttpError', 'ctx.http is not available to this workflow');

    const target = `${method} ${url.origin}${url.pathname}`;
    let response: HostHttpResponse;
    try {
      response = await hostHttp(
        { method, url: url.toString(), headers, body },
        { signal: this.controller.signal, maxResponseBytes: Math.max(0, this.limits.maxHttpBytes - this.httpBytes) },
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new GuestFacingError('HttpError', `HTTP ${target} failed: ${reason}`);
    }
    if (this.finished) return '';
    const status = Number(response?.status);
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new GuestFacingError('HttpError', `HTTP ${target} failed: invalid response`);
    }
    const text = typeof response.body === 'string' ? response.body : new TextDecoder().decode(response.body);
    this.countHttpBytes(byteLength(text));
    const responseHeaders: Record<string, string> = {};
    const raw = response.headers;
    if (raw && typeof (raw as HeadersLike).forEach === 'function') {
      (raw as HeadersLike).forEach((value, name) => {
        responseHeaders[name.toLowerCase()] = String(value);
      });
    } else if (raw) {
      for (const [key, value] of Object.entries(raw as Record<string, string | string[] | undefined>)) {
        if (value === undefined) continue;
        responseHeaders[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
      }
    }
    return JSON.stringify({ status, headers: responseHeaders, text });
  }

  private countHttpBytes(bytes: number): void {
    this.httpBytes += bytes;
    if (this.httpBytes > this.limits.maxHttpBytes) {
      this.fatal('http_bytes', `Workflow exceeded the HTTP transfer limit (${formatBytes(this.limits.maxHttpBytes)})`);
    }
  }

  private async integration(args: Record<string, unknown>): Promise<string | undefined> {
    const name = String(args.name);
    const method = String(args.method);
    const client = this.integrationMethods.get(name)?.has(method) ? this.input.integrations?.[name] : undefined;
    const fn = client ? (client as Record<string, unknown>)[method] : undefined;
    if (!client || typeof fn !== 'function') {
      throw new GuestFacingError('TypeError', `Integration method ${name}.${method} is not available`);
    }
    const callArgs = Array.isArray(args.args) ? (args.args as unknown[]) : [];
    let value: unknown;
    try {
      value = await fn.apply(client, callArgs);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new GuestFacingError('IntegrationError', `${name}.${method} failed: ${reason}`);
    }
    if (value === undefined) return undefined;
    const json = JSON.stringify(value);
    return json === undefined ? undefined : json;
  }

  // --- outcomes ---------------------------------------------------------------------------------

  private abortOutcome() {
    if (this.abort)
      return { status: this.abort.status, result: null, error: this.abort.message, limit: this.abort.limit };
    if (Date.now() > this.deadline) return this.timedOut();
    return null;
  }

  private timedOut() {
    this.abort ??= {
      status: 'timed_out',
      limit: 'timeout',
      message: `Workflow execution timed out after ${formatSeconds(this.limits.timeoutMs)}`,
    };
    return { status: this.abort.status, result: null, error: this.abort.message, limit: this.abort.limit };
  }

  /** Maps an uncaught guest error to an outcome (interrupt, memory, stack, or an ordinary exception). */
  private classify(error: GuestError, phase: 'load' | 'exception') {
    if (error.name === 'InternalError' && error.message === 'interrupted') return this.timedOut();
    if (error.name === 'InternalError' && error.message === 'out of memory') {
      this.healthy = false;
      return failed(`Workflow exceeded memory limit (${formatBytes(this.limits.memoryBytes)})`, 'memory');
    }
    if (error.name === 'InternalError' && error.message === 'stack overflow') {
      return failed(`Workflow exceeded the stack size limit (${formatBytes(this.limits.stackBytes)})`, 'stack');
    }
    const stack = error.stack.trimEnd();
    const trace = stack.length > MAX_STACK_CHARS ? `${stack.slice(0, MAX_STACK_CHARS)}\n    …` : stack;
    const text = `${error.name}: ${error.message.slice(0, MAX_MESSAGE_CHARS)}${trace ? `\n${trace}` : ''}`;
    return failed(
      phase === 'load'
        ? `Workflow code raised an exception during module load: ${text}`
        : `Workflow run() raised an exception: ${text}`,
    );
  }

  private readEnvelope(raw: string) {
    let envelope: Record<string, unknown>;
    try {
      envelope = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return failed('Workflow run() returned unexpected type: the sandbox result was tampered with');
    }
    const guestError = (value: unknown): GuestError => {
      const e = (value ?? {}) as Record<string, unknown>;
      return { name: String(e.name ?? 'Error'), message: String(e.message ?? ''), stack: String(e.stack ?? '') };
    };
    switch (envelope.kind) {
      case 'result': {
        const text = typeof envelope.result === 'string' ? envelope.result : '';
        const bytes = byteLength(text);
        if (bytes > this.limits.maxOutputBytes) {
          return failed(
            `Workflow result exceeds the output limit (${bytes} bytes > ${formatBytes(this.limits.maxOutputBytes)})`,
            'output_bytes',
          );
        }
        const parsed = JSON.parse(text) as Record<string, unknown>;
        const result: WorkflowResultData = {
          success: parsed.success === true,
          message: typeof parsed.message === 'string' ? parsed.message : '',
          data: (parsed.data ?? {}) as JsonValue,
        };
        return { status: result.success ? 'succeeded' : 'failed', result, error: null, limit: null } as const;
      }
      case 'load':
        return this.classify(guestError(envelope.error), 'load');
      case 'exception':
        return this.classify(guestError(envelope.error), 'exception');
      case 'no_run':
        return failed("Workflow code does not export a function named 'run'");
      case 'bad_return':
        return failed(
          `Workflow run() returned unexpected type: ${String(envelope.type)}. Must return a WorkflowResult instance.`,
        );
      case 'not_serialisable': {
        const error = guestError(envelope.error);
        return failed(`Workflow result is not JSON-serialisable: ${error.name}: ${error.message}`);
      }
      default:
        return failed('Workflow run() returned unexpected type: the sandbox result was tampered with');
    }
  }

  // --- handles ----------------------------------------------------------------------------------

  private unwrapInternal(result: { error?: QuickJSHandle; value?: QuickJSHandle }): QuickJSHandle {
    if (result.error) throw new PreludeFailure(this.takeError(result.error));
    return result.value as QuickJSHandle;
  }

  private takeError(handle: QuickJSHandle): GuestError {
    const vm = this.vm as QuickJSContext;
    try {
      const dumped = vm.dump(handle) as unknown;
      if (dumped !== null && typeof dumped === 'object') {
        const e = dumped as Record<string, unknown>;
        return { name: String(e.name ?? 'Error'), message: String(e.message ?? ''), stack: String(e.stack ?? '') };
      }
      return { name: 'Error', message: String(dumped), stack: '' };
    } finally {
      handle.dispose();
    }
  }

  /** Ends the run: aborts host work, drops pending guest promises, frees context and runtime. */
  private finish(): void {
    this.finished = true;
    this.wake = null;
    this.controller.abort(new Error('workflow run ended'));
    if (this.terminated) return;
    try {
      for (const deferred of this.inFlight) deferred.dispose();
      this.inFlight.clear();
      this.vm?.dispose();
      this.rt?.dispose();
    } catch {
      this.healthy = false;
    }
  }
}

/**
 * The callable methods of an integration client: own and inherited (class instances), excluding
 * `Object.prototype`, `constructor` and names starting with `_`.
 */
export function integrationMethods(client: HostIntegration): Set<string> {
  const methods = new Set<string>();
  for (let o: object | null = client; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key === 'constructor' || key.startsWith('_')) continue;
      const descriptor = Object.getOwnPropertyDescriptor(o, key);
      if (descriptor && typeof descriptor.value === 'function') methods.add(key);
    }
  }
  return methods;
}

/** The outcome fields decided by a run (the rest — logs, counters, duration — are added at the end). */
type Verdict = Pick<RunOutcome, 'status' | 'result' | 'error' | 'limit'>;

/** How far past the deadline a synchronous stretch of guest code may run before the V8 watchdog kills it. */
export const WATCHDOG_GRACE_MS = 50;

let watchdog: { context: nodeVm.Context; script: nodeVm.Script } | undefined;

/**
 * Calls `fn` under Node's `vm` timeout: a watchdog thread terminates V8 execution — including the
 * QuickJS WebAssembly — after `ms` (throws `ERR_SCRIPT_EXECUTION_TIMEOUT`). ≈70 µs per call.
 */
function runWithWatchdog<T>(ms: number, fn: () => T): T {
  watchdog ??= {
    context: nodeVm.createContext({ task: null }),
    script: new nodeVm.Script('task()', { filename: 'calseta:workflow-watchdog.js' }),
  };
  const { context, script } = watchdog;
  const previous = context.task;
  context.task = fn;
  try {
    return script.runInContext(context, { timeout: Math.ceil(ms) }) as T;
  } finally {
    context.task = previous;
  }
}

function isWatchdogTimeout(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
}

function failed(message: string, limit: LimitName | null = null): Verdict {
  return { status: 'failed', result: null, error: message, limit } as const;
}

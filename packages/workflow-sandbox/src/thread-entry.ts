/**
 * A sandbox worker thread (threads.ts starts it): one in-thread sandbox (QuickJS module, limits,
 * watchdog) serving one run at a time. `ctx.http` and integration calls are asked of the parent
 * thread (a `call` message, answered by a `reply`), which holds the clients; everything else of a
 * run happens here, off the parent's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SandboxLimits } from './limits.js';
import { createSandbox, type HostHttp, type HostIntegration, type RunInput } from './sandbox.js';
import type { FromThread, ThreadCall, ThreadRun, ToThread } from './threads.js';

if (!parentPort) throw new Error('thread-entry runs as a worker thread');
const port = parentPort;
const post = (message: FromThread) => port.postMessage(message);
const sandbox = createSandbox({ limits: (workerData as { limits: SandboxLimits }).limits, maxConcurrency: 1 });

let nextCall = 0;
const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

type CallBody = ThreadCall extends infer C ? (C extends ThreadCall ? Omit<C, 'type' | 'call'> : never) : never;

/** Asks the parent to make a host call; the run's end (signal) tells the parent to abort it. */
function call<T>(body: CallBody, signal?: AbortSignal): Promise<T> {
  const id = ++nextCall;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    post({ type: 'call', call: id, ...body } as ThreadCall);
    signal?.addEventListener('abort', () => post({ type: 'abort', call: id }), { once: true });
  });
}

function inputOf(message: ThreadRun): RunInput {
  const http: HostHttp | undefined = message.http
    ? (request, { signal, maxResponseBytes }) => call({ kind: 'http', request, maxResponseBytes }, signal)
    : undefined;
  const integrations: Record<string, HostIntegration | null> = {};
  for (const [name, methods] of Object.entries(message.integrations)) {
    integrations[name] = methods
      ? Object.fromEntries(
          methods.map((method) => [
            method,
            async (...args: unknown[]) => {
              const json = await call<string | undefined>({ kind: 'integration', name, method, args });
              return json === undefined ? undefined : JSON.parse(json);
            },
          ]),
        )
      : null;
  }
  return {
    code: message.code,
    ...(message.context === undefined ? {} : { context: message.context }),
    secrets: message.secrets,
    ...(http ? { http } : {}),
    integrations,
    limits: message.limits,
    ...(message.filename === undefined ? {} : { filename: message.filename }),
  };
}

async function run(message: ThreadRun): Promise<void> {
  try {
    post({ type: 'done', outcome: await sandbox.run(inputOf(message)) });
  } catch (error) {
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  } finally {
    // Answers still owed to the ended run are dropped (the parent aborted those calls).
    pending.clear();
  }
}

port.on('message', (message: ToThread) => {
  if (message.type === 'run') {
    void run(message);
    return;
  }
  const waiter = pending.get(message.call);
  if (!waiter) return;
  pending.delete(message.call);
  if (message.ok) waiter.resolve(message.value);
  else waiter.reject(new Error(message.error));
});

sandbox.prewarm().then(
  () => post({ type: 'ready' }),
  (error: unknown) => {
    throw error;
  },
);

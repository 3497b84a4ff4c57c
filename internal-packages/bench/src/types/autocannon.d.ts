/**
 * The part of autocannon's API the benchmarks use (autocannon ships no types; @types/autocannon
 * describes v7). Checked against autocannon 9.0.0: lib/init.js, lib/run.js, lib/requestIterator.js.
 * autocannon is CommonJS (`module.exports = init`), hence `export =`.
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface Request {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
    }

    interface RequestDefinition extends Request {
      /** Called before every request on a connection; returns the request to send. */
      setupRequest?: (request: Request, context: Record<string, unknown>) => Request;
      /** Called with every response of this request; makes autocannon buffer response bodies. */
      onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
    }

    interface Options {
      url: string;
      method?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      connections?: number;
      /** Seconds. */
      duration?: number;
      /** Seconds. */
      timeout?: number;
      pipelining?: number;
      requests?: RequestDefinition[];
    }

    interface Histogram {
      average: number;
      mean: number;
      stddev: number;
      min: number;
      max: number;
      p50: number;
      p90: number;
      p99: number;
    }

    interface Result {
      /** Per-second completed request counts. */
      requests: Histogram & { total: number; sent: number };
      /** 2xx latencies, whole milliseconds. */
      latency: Histogram;
      statusCodeStats: Record<string, { count: number }>;
      errors: number;
      timeouts: number;
      non2xx: number;
      totalRequests: number;
      totalCompletedRequests: number;
      /** Seconds. */
      duration: number;
    }

    /** Events: 'response' (client, statusCode, resBytes, responseTimeMs), 'reqError' (error). */
    interface Instance extends EventEmitter, PromiseLike<Result> {
      stop(): void;
    }
  }

  function autocannon(options: autocannon.Options): autocannon.Instance;
  export = autocannon;
}

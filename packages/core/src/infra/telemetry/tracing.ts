import {
  type Attributes,
  type Context,
  context,
  createContextKey,
  defaultTextMapGetter,
  defaultTextMapSetter,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  type TextMapPropagator,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import pg from 'pg';
import { z } from 'zod';

/**
 * Traces (OpenTelemetry): one trace per alert, from the ingest request through the job hop to each
 * provider call, the payload build and each delivery attempt, with the official pg and undici spans.
 * Off unless an OTLP endpoint is configured: then every helper here is a plain call (no span, no
 * context switch, nothing added to jobs or log lines).
 */

const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/** The standard `OTEL_*` variables we honour; each app's env.ts spreads this shape into its schema. */
export const TracingEnvSchema = z.object({
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).optional(),
  /** `otlp` alone turns tracing on with the default endpoint (http://localhost:4318); `none` turns it off. */
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none']).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/protobuf', 'http/json']).optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(['http/protobuf', 'http/json']).optional(),
  /** `key=value,…` (values percent-encoded); may hold the collector's credentials: never logged. */
  OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: z.string().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  OTEL_RESOURCE_ATTRIBUTES: z.string().optional(),
  OTEL_TRACES_SAMPLER: z.enum(SAMPLERS).optional(),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  /** Milliseconds between two exports of buffered spans (spec default 5000). */
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().min(1).default(5000),
});
export type TracingEnv = z.infer<typeof TracingEnvSchema>;

export interface TracingConfig {
  /** Where spans are POSTed (the full `/v1/traces` URL). */
  url: string;
  protocol: 'http/protobuf' | 'http/json';
  headers: Record<string, string>;
  serviceName: string;
  resourceAttributes: Record<string, string>;
  sampler: (typeof SAMPLERS)[number];
  samplerRatio: number;
  scheduleDelayMs: number;
}

/** `a=1,b=x%20y` (W3C baggage style, as the OTLP spec gives headers and resource attributes). */
function keyValues(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    try {
      out[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      // a malformed escape: the pair is skipped, as the SDK does
    }
  }
  return out;
}

/** The tracing configuration of a process from its parsed env, or null when tracing is off. */
export function tracingConfigFrom(env: TracingEnv, defaultServiceName: string): TracingConfig | null {
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const configured = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? base ?? env.OTEL_TRACES_EXPORTER;
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none' || configured === undefined) return null;
  // The signal URL is used as given; the base URL gets the signal's path (spec: OTLP exporter).
  const url =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${(base ?? 'http://localhost:4318').replace(/\/$/, '')}/v1/traces`;
  const resourceAttributes = keyValues(env.OTEL_RESOURCE_ATTRIBUTES);
  return {
    url,
    protocol: env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
    headers: { ...keyValues(env.OTEL_EXPORTER_OTLP_HEADERS), ...keyValues(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) },
    serviceName: env.OTEL_SERVICE_NAME ?? resourceAttributes['service.name'] ?? defaultServiceName,
    resourceAttributes,
    sampler: env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on',
    samplerRatio: env.OTEL_TRACES_SAMPLER_ARG ?? 1,
    scheduleDelayMs: env.OTEL_BSP_SCHEDULE_DELAY,
  };
}

function samplerOf(config: TracingConfig): Sampler {
  const root = config.sampler.replace('parentbased_', '');
  const base =
    root === 'always_off'
      ? new AlwaysOffSampler()
      : root === 'traceidratio'
        ? new TraceIdRatioBasedSampler(config.samplerRatio)
        : new AlwaysOnSampler();
  return config.sampler.startsWith('parentbased_') ? new ParentBasedSampler({ root: base }) : base;
}

/**
 * HTTP spans name the server, never the path or query: a query may carry a provider's API key
 * (`?apikey=`), a path a webhook's secret (Slack and Teams incoming webhooks, an agent's or a
 * workflow's endpoint) or an indicator value (VirusTotal's `/ip_addresses/<ip>`).
 */
function originOnly(request: { origin: string }): Attributes {
  return { 'url.full': request.origin, 'url.path': undefined, 'url.query': undefined };
}

/**
 * The official instrumentations, bound to the modules this process really uses. pg is patched on its
 * module instance (not through a require hook), so it works the same under tsx and in the esbuild
 * bundles, where no hook ever sees a `require('pg')`. undici reports through diagnostics_channel,
 * which bundling does not change. Both only add spans inside a trace of ours: pg-boss's polling and
 * background statements start none.
 */
function instrument(provider: TracerProvider): () => void {
  const pgInstrumentation = new PgInstrumentation({
    enabled: false,
    requireParentSpan: true,
    ignoreConnectSpans: true,
  });
  pgInstrumentation.setTracerProvider(provider);
  const pgPool = Object.getPrototypeOf(pg.Pool) as unknown;
  const patched: Array<() => void> = [];
  for (const definition of pgInstrumentation.getModuleDefinitions()) {
    const target = definition.name === 'pg' ? pg : definition.name === 'pg-pool' ? pgPool : undefined;
    if (target === undefined) continue;
    definition.patch?.(target);
    patched.push(() => definition.unpatch?.(target));
  }
  const undici = new UndiciInstrumentation({ requireParentforSpans: true, startSpanHook: originOnly });
  undici.setTracerProvider(provider);
  return () => {
    for (const unpatch of patched) unpatch();
    undici.disable();
  };
}

/** Jobs always carry the trace (our own queue); outbound HTTP only where `propagateTrace` asked. */
const W3C = new W3CTraceContextPropagator();
const PROPAGATE = createContextKey('calseta.propagate-trace');

/**
 * The global propagator, used by the undici instrumentation on every outbound request: it adds
 * `traceparent` only inside `propagateTrace`, so third parties (enrichment providers, workflow
 * targets) never learn our trace ids, while an agent may continue the alert's trace.
 */
const OUTBOUND: TextMapPropagator = {
  inject: (ctx, carrier, setter) => {
    if (ctx.getValue(PROPAGATE) === true) W3C.inject(ctx, carrier, setter);
  },
  extract: (ctx) => ctx,
  fields: () => W3C.fields(),
};

/** HTTP requests made inside `fn` send the current trace context (`traceparent`) to their server. */
export function propagateTrace<T>(fn: () => Promise<T>): Promise<T> {
  if (!enabled) return fn();
  return context.with(context.active().setValue(PROPAGATE, true), fn);
}

export interface Tracing {
  readonly enabled: boolean;
  /** Export what is buffered and stop (before the process exits). */
  shutdown(): Promise<void>;
}

let enabled = false;

/**
 * Start tracing for this process (call first in main.ts, before any work): the global tracer
 * provider with a batching OTLP/HTTP exporter, W3C trace context, AsyncLocalStorage context and the
 * pg / undici instrumentations. With `null` (tracing off) nothing is installed.
 */
export function startTracing(config: TracingConfig | null): Tracing {
  if (config === null) return { enabled: false, shutdown: async () => {} };
  const exporterOptions = { url: config.url, headers: config.headers };
  const exporter =
    config.protocol === 'http/json' ? new JsonExporter(exporterOptions) : new ProtobufExporter(exporterOptions);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ ...config.resourceAttributes, 'service.name': config.serviceName }),
    sampler: samplerOf(config),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: config.scheduleDelayMs })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(OUTBOUND);
  trace.setGlobalTracerProvider(provider);
  const uninstrument = instrument(provider);
  enabled = true;
  return {
    enabled: true,
    async shutdown() {
      enabled = false;
      uninstrument();
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

const tracer = trace.getTracer('calseta');
/** Handed to `fn` when tracing is off: every method is a no-op. */
const NO_SPAN = trace.wrapSpanContext({ traceId: '', spanId: '', traceFlags: 0 });

function run<T>(name: string, options: SpanOptions, parent: Context, fn: (span: Span) => Promise<T>) {
  return tracer.startActiveSpan(name, options, parent, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Run `fn` in a child span of the current one (a thrown error marks the span failed). */
export function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  if (!enabled) return fn(NO_SPAN);
  return run(name, { kind, attributes }, context.active(), fn);
}

/** The current trace context as W3C headers (`traceparent`, `tracestate`), to carry in a job; {} when off. */
export function traceCarrier(): { traceparent?: string; tracestate?: string } {
  if (!enabled) return {};
  const carrier: Record<string, string> = {};
  W3C.inject(context.active(), carrier, defaultTextMapSetter);
  return carrier;
}

/**
 * Run `fn` in a CONSUMER span continuing the trace whose context `carrier` holds (a job's data);
 * a new trace when it holds none.
 */
export function continueTrace<T>(
  carrier: unknown,
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  if (!enabled) return fn(NO_SPAN);
  return run(name, { kind: SpanKind.CONSUMER, attributes }, remoteContext(carrier), fn);
}

/** The W3C trace context `carrier` holds (a job's data, a request's headers); ROOT when none. */
function remoteContext(carrier: unknown): Context {
  if (typeof carrier !== 'object' || carrier === null) return ROOT_CONTEXT;
  const fields = carrier as Record<string, unknown>;
  const headers: Record<string, string> = {};
  for (const key of ['traceparent', 'tracestate']) {
    const value = fields[key];
    if (typeof value === 'string') headers[key] = value;
  }
  return W3C.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
}

/**
 * Run `fn` in a SERVER span that starts a new trace for an inbound request. A `traceparent` the
 * caller sent is linked, not adopted: callers do not choose our trace ids or our sampling.
 */
export function serveRequest<T>(
  headers: { traceparent?: string | undefined; tracestate?: string | undefined },
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  if (!enabled) return fn(NO_SPAN);
  const remote = trace.getSpanContext(remoteContext(headers));
  const links = remote && isSpanContextValid(remote) ? [{ context: remote }] : [];
  return run(name, { kind: SpanKind.SERVER, attributes, links, root: true }, ROOT_CONTEXT, fn);
}

/** `trace_id` and `span_id` of the active span for a log line (pino mixin); {} outside a trace. */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  // A fresh object each time: pino merges the log call's fields INTO what the mixin returns.
  if (!enabled) return {};
  const span = trace.getActiveSpan()?.spanContext();
  return span && isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
}

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTracing, TracingEnvSchema, tracingConfigFrom } from '../index.js';

/**
 * A real OTLP/HTTP trace receiver on loopback for tests: accepts `POST /v1/traces` in the JSON
 * encoding (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`), as a collector does, and keeps every span
 * flattened. `waitFor` is driven by the arriving exports (nothing polls).
 */

export interface ReceivedSpan {
  service: string;
  scope: string;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, unknown>;
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  status: number;
}

interface OtlpValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: OtlpValue[] };
}
type OtlpAttributes = Array<{ key: string; value: OtlpValue }> | undefined;
interface OtlpExport {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpAttributes };
    scopeSpans?: Array<{
      scope?: { name?: string };
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind?: number;
        attributes?: OtlpAttributes;
        status?: { code?: number };
      }>;
    }>;
  }>;
}

function otlpValue(value: OtlpValue): unknown {
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(otlpValue);
  return (
    value.stringValue ?? value.boolValue ?? (value.intValue === undefined ? value.doubleValue : Number(value.intValue))
  );
}

function attributesOf(list: OtlpAttributes): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, otlpValue(value)]));
}

/** OTLP/JSON ids are hex; some encoders send base64 (protobuf's JSON mapping): both read as hex. */
function hexId(id: string | undefined): string {
  if (!id) return '';
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

export function flattenExport(body: OtlpExport): ReceivedSpan[] {
  return (body.resourceSpans ?? []).flatMap((resource) => {
    const service = String(attributesOf(resource.resource?.attributes)['service.name'] ?? '');
    return (resource.scopeSpans ?? []).flatMap((scope) =>
      (scope.spans ?? []).map((span) => ({
        service,
        scope: scope.scope?.name ?? '',
        traceId: hexId(span.traceId),
        spanId: hexId(span.spanId),
        parentSpanId: hexId(span.parentSpanId),
        name: span.name,
        kind: span.kind ?? 0,
        attributes: attributesOf(span.attributes),
        status: span.status?.code ?? 0,
      })),
    );
  });
}

export interface OtlpReceiver {
  /** The base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`). */
  url: string;
  spans: ReceivedSpan[];
  /** The raw bodies received, for checks on what left the process. */
  bodies: string[];
  /** Resolves with what `match` returns once it returns something truthy for the spans so far. */
  waitFor<T>(
    what: string,
    match: (spans: ReceivedSpan[]) => T | undefined | null | false,
    timeoutMs: number,
  ): Promise<T>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const bodies: string[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !req.headers['content-type']?.includes('json')) {
        res.writeHead(415).end();
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      bodies.push(text);
      spans.push(...flattenExport(JSON.parse(text) as OtlpExport));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      for (const wake of [...waiters]) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    bodies,
    waitFor(what, match, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const value = match(spans);
          if (value === undefined || value === null || value === false) return;
          done();
          resolve(value);
        };
        const timer = setTimeout(() => {
          done();
          const names = [...new Set(spans.map((s) => `${s.service}:${s.name}`))].join(', ');
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; spans received: ${names}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Tracing of this process (service `calseta-test`) to a fresh receiver, in JSON, exported every
 * 50 ms; `stop()` flushes, uninstalls and closes the receiver.
 */
export async function traceToReceiver(): Promise<{ receiver: OtlpReceiver; stop(): Promise<void> }> {
  const receiver = await startOtlpReceiver();
  const env = TracingEnvSchema.parse({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '50',
  });
  const tracing = startTracing(tracingConfigFrom(env, 'calseta-test'));
  return {
    receiver,
    async stop() {
      await tracing.shutdown();
      await receiver.close();
    },
  };
}

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestDatabase } from '@calseta/db/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traceToReceiver } from '../../testing/otlp-receiver.js';
import { createSafeFetch } from '../http/index.js';
import { createLogger } from '../logger.js';
import {
  continueTrace,
  TracingEnvSchema,
  traceCarrier,
  traceLogFields,
  tracingConfigFrom,
  withSpan,
} from './tracing.js';

const configOf = (env: Record<string, string>) => tracingConfigFrom(TracingEnvSchema.parse(env), 'calseta-test');

describe('tracing configuration (standard OTEL_* variables)', () => {
  it('is off unless an exporter endpoint is configured, or when disabled', () => {
    expect(configOf({})).toBeNull();
    expect(configOf({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' })).toBeNull();
    expect(configOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toBeNull();
    expect(configOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeNull();
  });

  it('appends /v1/traces to the base endpoint and takes the signal endpoint as given', () => {
    expect(configOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })?.url).toBe('http://c:4318/v1/traces');
    expect(configOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/otlp' })?.url).toBe('http://c:4318/otlp/v1/traces');
    const both = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:1/x' };
    expect(configOf(both)?.url).toBe('http://t:1/x');
    expect(configOf({ OTEL_TRACES_EXPORTER: 'otlp' })?.url).toBe('http://localhost:4318/v1/traces');
  });

  it('reads headers, resource attributes, service name, protocol and sampler as the spec gives them', () => {
    const config = configOf({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Basic%20abc,x-tenant=a,broken',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=b',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,service.name=from-resource',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    expect(config).toMatchObject({
      headers: { authorization: 'Basic abc', 'x-tenant': 'b' },
      resourceAttributes: { 'deployment.environment': 'prod' },
      serviceName: 'from-resource',
      protocol: 'http/protobuf',
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
    });
    expect(configOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_SERVICE_NAME: 'named' })?.serviceName).toBe(
      'named',
    );
    expect(configOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' })?.serviceName).toBe('calseta-test');
    expect(() => configOf({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow();
  });

  it('when off, log calls with fields still work (pino merges them into the mixin object)', () => {
    const lines: string[] = [];
    const logger = createLogger({ service: 'test', destination: { write: (line) => lines.push(line) } });
    logger.info({ a: 1 }, 'one');
    logger.info({ b: 2 }, 'two');
    expect(lines.map((line) => JSON.parse(line))).toMatchObject([
      { a: 1, msg: 'one' },
      { b: 2, msg: 'two' },
    ]);
    expect(JSON.parse(lines[1] as string)).not.toHaveProperty('a');
  });

  it('when off, the helpers only run the work: no carrier, no log fields', async () => {
    expect(traceCarrier()).toEqual({});
    expect(await withSpan('x', {}, async () => traceLogFields())).toEqual({});
    expect(
      await continueTrace(
        { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
        'y',
        {},
        async () => traceCarrier(),
      ),
    ).toEqual({});
  });
});

describe('tracing on, against a real OTLP/HTTP receiver', () => {
  let traced: Awaited<ReturnType<typeof traceToReceiver>>;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const upstream = createServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));

  beforeAll(async () => {
    traced = await traceToReceiver();
    database = await createTestDatabase();
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await traced?.stop();
    await database?.drop();
    upstream.close();
  });

  it('a job carries the trace: the consumer span is a child of the sender, pg and undici spans nest inside', async () => {
    const lines: string[] = [];
    const logger = createLogger({ service: 'test', destination: { write: (line) => lines.push(line) } });
    const host = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const fetch = createSafeFetch({ allowHosts: [host] });
    const carrier = await withSpan('ingest alert', {}, async () => {
      await sql`SELECT 1`.execute(database.db);
      return traceCarrier();
    });
    expect(carrier.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    // The job's data as stored (JSON) is all the worker gets.
    await continueTrace(JSON.parse(JSON.stringify({ alert_id: 1, ...carrier })), 'job enrich-alert', {}, async () => {
      logger.info({ step: 1 }, 'inside the job');
      await (await fetch(`http://${host}/lookup`, { method: 'GET' })).text();
    });
    await fetch.close();
    logger.info({ step: 2 }, 'outside any span');

    const traceId = carrier.traceparent?.split('-')[1] as string;
    const spans = await traced.receiver.waitFor(
      'the job, its HTTP call and the ingest pg query',
      (all) => {
        const mine = all.filter((s) => s.traceId === traceId);
        return mine.length >= 4 ? mine : undefined;
      },
      10_000,
    );
    const byName = (name: string) => spans.find((s) => s.name === name);
    const ingest = byName('ingest alert');
    const job = byName('job enrich-alert');
    expect(ingest?.parentSpanId).toBe('');
    expect(job).toMatchObject({ parentSpanId: ingest?.spanId, kind: 5, service: 'calseta-test' });
    expect(spans.find((s) => s.scope.includes('pg'))?.parentSpanId).toBe(ingest?.spanId);
    expect(spans.find((s) => s.scope.includes('undici'))).toMatchObject({ parentSpanId: job?.spanId, kind: 3 });

    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged[0]).toMatchObject({ step: 1, trace_id: traceId, span_id: job?.spanId });
    expect(logged[1]).toMatchObject({ step: 2 });
    expect(logged[1]).not.toHaveProperty('trace_id');
  });

  it('a failing span is marked as an error and the error still reaches the caller', async () => {
    const failing = withSpan('payload build', {}, async () => {
      throw new Error('no such alert');
    });
    await expect(failing).rejects.toThrow('no such alert');
    const span = await traced.receiver.waitFor(
      'the failed span',
      (all) => all.find((s) => s.name === 'payload build'),
      10_000,
    );
    expect(span.status).toBe(2);
  });

  it('pg statements outside any trace (pg-boss polling) start no trace of their own', async () => {
    await sql`SELECT 'untraced-statement'`.execute(database.db);
    await withSpan('marker', {}, async () => {});
    await traced.receiver.waitFor('the marker span', (all) => all.some((s) => s.name === 'marker'), 10_000);
    expect(traced.receiver.bodies.join('')).not.toContain('untraced-statement');
  });
});

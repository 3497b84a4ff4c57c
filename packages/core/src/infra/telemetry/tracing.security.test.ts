/**
 * What traces must not give away or let a caller decide: a provider credential in a URL's query
 * string never reaches the collector; third parties (enrichment providers, workflow targets) never
 * receive our trace context, only agent webhooks do; a caller's `traceparent` never chooses our trace
 * ids or our sampling (a caller sending "not sampled" would otherwise hide its requests from traces).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traceToReceiver } from '../../testing/otlp-receiver.js';
import { createSafeFetch } from '../http/index.js';
import { propagateTrace, serveRequest, traceCarrier, withSpan } from './tracing.js';

describe('traces keep secrets and their own ids', () => {
  let traced: Awaited<ReturnType<typeof traceToReceiver>>;
  /** The `traceparent` header of each request the upstream server received ('' when none). */
  const received: string[] = [];
  const upstream = createServer((req, res) => {
    received.push(String(req.headers.traceparent ?? ''));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  let host = '';
  const call = async (path: string) => {
    const fetch = createSafeFetch({ allowHosts: [host] });
    try {
      await (await fetch(`http://${host}${path}`, { method: 'GET' })).text();
    } finally {
      await fetch.close();
    }
  };

  beforeAll(async () => {
    traced = await traceToReceiver();
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await traced?.stop();
    upstream.close();
  });

  it("a secret in the URL's query or path (a provider key, a Slack webhook's token) never reaches the collector", async () => {
    const carrier = await withSpan('enrichment provider call', {}, async () => {
      await call('/check?ipAddress=1.2.3.4&apikey=s3cret-key');
      await call('/services/T0001/B0001/s3cret-path-token');
      return traceCarrier();
    });
    const traceId = carrier.traceparent?.split('-')[1];
    const http = await traced.receiver.waitFor(
      'the HTTP span',
      (all) => all.find((s) => s.traceId === traceId && s.scope.includes('undici')),
      10_000,
    );
    expect(http.attributes['url.full']).toBe(`http://${host}`);
    expect(http.attributes).not.toHaveProperty('url.query');
    expect(http.attributes).not.toHaveProperty('url.path');
    await traced.receiver.waitFor(
      'both HTTP spans',
      (all) => all.filter((s) => s.traceId === traceId && s.scope.includes('undici')).length === 2,
      10_000,
    );
    const exported = traced.receiver.bodies.join('');
    expect(exported).not.toContain('s3cret-key');
    expect(exported).not.toContain('s3cret-path-token');
    expect(exported).not.toContain('1.2.3.4');
  });

  it('outbound HTTP sends traceparent only inside propagateTrace (agents yes, providers never)', async () => {
    received.length = 0;
    const carrier = await withSpan('enrichment provider call', {}, async () => {
      await call('/');
      await propagateTrace(() => call('/'));
      return traceCarrier();
    });
    const traceId = carrier.traceparent?.split('-')[1];
    expect(received[0]).toBe('');
    expect(received[1]).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });

  it("an inbound request starts a new, sampled trace: the caller's traceparent is linked, never adopted", async () => {
    const caller = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';
    const carrier = await serveRequest({ traceparent: caller }, 'POST /v1/ingest/:source_name', {}, async () =>
      traceCarrier(),
    );
    expect(carrier.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(carrier.traceparent).not.toContain('4bf92f3577b34da6a3ce929d0e0e4736');
    const traceId = carrier.traceparent?.split('-')[1];
    const request = await traced.receiver.waitFor(
      'the request span',
      (all) => all.find((s) => s.traceId === traceId),
      10_000,
    );
    expect(request).toMatchObject({ kind: 2, parentSpanId: '' });
    type Exported = {
      resourceSpans: { scopeSpans: { spans: { traceId: string; links: { traceId: string }[] }[] }[] }[];
    };
    const exported = traced.receiver.bodies
      .flatMap((b) => (JSON.parse(b) as Exported).resourceSpans)
      .flatMap((r) => r.scopeSpans.flatMap((scope) => scope.spans))
      .find((span) => span.traceId === traceId);
    expect(exported?.links.map((link) => link.traceId)).toEqual(['4bf92f3577b34da6a3ce929d0e0e4736']);
  });
});

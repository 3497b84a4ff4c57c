import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../logger.js';
import { collectProcessMetrics } from './metrics.js';
import { type OpsServer, opsEnvShape, startOpsServer } from './ops-server.js';

/** A logger whose entries the test reads. */
function recordingLogger() {
  const entries: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    service: 'test',
    level: 'info',
    destination: { write: (line: string) => void entries.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, entries };
}

let readiness: { status: string; failing?: string[] } = { status: 'ready' };
let ops: OpsServer;
let base: string;
beforeAll(async () => {
  collectProcessMetrics('worker');
  const started = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    logger: createLogger({ service: 'test', level: 'silent' }),
    ready: async () => readiness,
  });
  if (!started) throw new Error('ops server did not start');
  ops = started;
  base = `http://127.0.0.1:${ops.port}`;
});
afterAll(() => ops?.close());

describe('the ops listener', () => {
  it('/metrics serves the registry in the Prometheus text format, with the process defaults', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^# HELP process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^process_cpu_user_seconds_total\{service="worker"\} \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{service="worker"\} /m);
  });

  it('/health/live answers 200 without asking readiness', async () => {
    readiness = { status: 'not_ready', failing: ['database'] };
    const res = await fetch(`${base}/health/live`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/health/ready is 200 when ready and 503 with the body naming the failing check when not', async () => {
    readiness = { status: 'ready', failing: [] };
    const ready = await fetch(`${base}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', failing: [] });
    readiness = { status: 'not_ready', failing: ['migrations'] };
    const notReady = await fetch(`${base}/health/ready`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'not_ready', failing: ['migrations'] });
    expect(notReady.headers.get('cache-control')).toBe('no-store');
  });

  it('HEAD answers like GET without a body; other methods 405; other paths 404', async () => {
    const head = await fetch(`${base}/health/live`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${base}/health`)).status).toBe(404);
    expect((await fetch(`${base}/metrics/../v1/alerts`)).status).toBe(404);
    expect((await fetch(`${base}/metrics?x=1`)).status).toBe(200);
  });

  it('a readiness probe that throws answers 500 and the listener keeps serving', async () => {
    const { logger, entries } = recordingLogger();
    const broken = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      logger,
      ready: () => Promise.reject(new Error('boom')),
    });
    try {
      const res = await fetch(`http://127.0.0.1:${broken?.port}/health/ready`);
      expect(res.status).toBe(500);
      expect(entries.some((e) => e.msg === 'ops endpoint failed' && e.path === '/health/ready')).toBe(true);
      expect((await fetch(`http://127.0.0.1:${broken?.port}/health/live`)).status).toBe(200);
    } finally {
      await broken?.close();
    }
  });
});

describe('starting and stopping', () => {
  it('a port already taken is logged as an error and the process runs on (no listener)', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const { logger, entries } = recordingLogger();
    try {
      const second = await startOpsServer({ host: '127.0.0.1', port, logger, ready: async () => readiness });
      expect(second).toBeUndefined();
      const error = entries.find((e) => e.level === 50);
      expect(error).toMatchObject({ ops_port: port, err: expect.objectContaining({ code: 'EADDRINUSE' }) });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('OPS_PORT=off starts nothing', async () => {
    const { logger, entries } = recordingLogger();
    expect(await startOpsServer({ host: '127.0.0.1', port: 'off', logger, ready: async () => readiness })).toBe(
      undefined,
    );
    expect(entries).toEqual([]);
  });

  it('the start line says neither "listening" nor `port` (harnesses wait for the app listening line)', async () => {
    const { logger, entries } = recordingLogger();
    const other = await startOpsServer({ host: '127.0.0.1', port: 0, logger, ready: async () => readiness });
    await other?.close();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ ops_port: other?.port });
    expect(String(entries[0]?.msg)).not.toContain('listening');
    expect(entries[0]).not.toHaveProperty('port');
  });

  it('close() resolves while a scraper holds a keep-alive connection', async () => {
    const other = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger({ service: 'test', level: 'silent' }),
      ready: async () => readiness,
    });
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: other?.port, path: '/health/live', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
    await other?.close();
    agent.destroy();
  });

  it('OPS_HOST defaults to loopback; OPS_PORT takes a number, 0 or off', () => {
    const schema = z.object(opsEnvShape(9465));
    expect(schema.parse({})).toEqual({ OPS_HOST: '127.0.0.1', OPS_PORT: 9465 });
    expect(schema.parse({ OPS_PORT: '0', OPS_HOST: '0.0.0.0' })).toEqual({ OPS_HOST: '0.0.0.0', OPS_PORT: 0 });
    expect(schema.parse({ OPS_PORT: 'off' }).OPS_PORT).toBe('off');
    expect(schema.safeParse({ OPS_PORT: '70000' }).success).toBe(false);
    expect(schema.safeParse({ OPS_PORT: 'on' }).success).toBe(false);
  });
});

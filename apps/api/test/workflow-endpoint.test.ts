import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

/** A local endpoint standing in for an HTTP-endpoint workflow (e.g. a SOAR webhook). */
let server: Server;
let endpoint: string;
const received: Array<{ path: string; body: unknown }> = [];
let answer: { status: number; json: unknown } = { status: 200, json: {} };

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

let h: Harness;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    received.push({ path: req.url ?? '', body: JSON.parse(await readBody(req)) });
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.json));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  endpoint = `http://${host}/soar/block`;
  h = await createHarness({ allowHosts: [host] });
  await h.startWorker();
});
afterAll(async () => {
  await h.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function create(overrides: Record<string, unknown> = {}) {
  const res = await h.request('POST', '/v1/workflows', {
    json: {
      name: `block via SOAR ${received.length}-${Date.now()}`,
      workflow_kind: 'http',
      http_endpoint_url: endpoint,
      state: 'active',
      approval_mode: 'never',
      ...overrides,
    },
  });
  expect(res.status).toBe(201);
  return res.body.data;
}

async function executeAndWait(uuid: string) {
  const done = h.nextJob((o) => o.name === 'execute-workflow');
  const res = await h.request('POST', `/v1/workflows/${uuid}/execute`, {
    json: { indicator_type: 'ip', indicator_value: '45.33.32.156' },
  });
  expect(res.status).toBe(202);
  await done;
  return (await h.request('GET', `/v1/workflow-runs/${res.body.data.uuid}`)).body.data;
}

describe('HTTP-endpoint workflows', () => {
  it('POST the run context to the endpoint; its answer is the result', async () => {
    answer = {
      status: 200,
      json: { success: true, message: 'blocked on the edge firewall', data: { ticket: 'CHG-7' } },
    };
    const wf = await create();
    expect(wf).toMatchObject({ workflow_kind: 'http', http_endpoint_url: endpoint });
    const before = received.length;
    const run = await executeAndWait(wf.uuid);
    expect(run.status).toBe('succeeded');
    expect(run.result).toMatchObject({
      success: true,
      message: 'blocked on the edge firewall',
      data: { ticket: 'CHG-7' },
    });
    expect(received).toHaveLength(before + 1);
    expect(received[before]).toMatchObject({
      path: '/soar/block',
      body: { workflow: { uuid: wf.uuid }, run_uuid: run.uuid, indicator: { type: 'ip', value: '45.33.32.156' } },
    });
  });

  it('an error answer, or {success: false}, fails the run', async () => {
    const wf = await create();
    answer = { status: 500, json: { error: 'down' } };
    const failed = await executeAndWait(wf.uuid);
    expect(failed.status).toBe('failed');
    expect(JSON.stringify(failed)).toContain('HTTP 500');
    answer = { status: 200, json: { success: false, message: 'asset is a domain controller' } };
    const refused = await executeAndWait(wf.uuid);
    expect(refused).toMatchObject({
      status: 'failed',
      result: { success: false, message: 'asset is a domain controller' },
    });
  });

  it('refuses endpoints outside the outbound policy, and http workflows without one', async () => {
    const blocked = await h.request('POST', '/v1/workflows', {
      json: { name: 'x', workflow_kind: 'http', http_endpoint_url: 'http://169.254.169.254/latest/meta-data/' },
    });
    expect(blocked.status).toBe(422);
    expect(blocked.body.error.details.errors[0].path).toBe('http_endpoint_url');
    const missing = await h.request('POST', '/v1/workflows', { json: { name: 'x', workflow_kind: 'http' } });
    expect(missing.status).toBe(422);
    const noCode = await h.request('POST', '/v1/workflows', { json: { name: 'x' } });
    expect(noCode.status).toBe(422);
  });

  it('the test endpoint answers the endpoint call from mock_http and calls nothing', async () => {
    const wf = await create({ state: 'draft' });
    const before = received.length;
    const res = await h.request('POST', `/v1/workflows/${wf.uuid}/test`, {
      json: {
        indicator_type: 'ip',
        indicator_value: '45.33.32.156',
        mock_http: [{ method: 'POST', url_pattern: endpoint, status: 200, json: { success: true, message: 'mocked' } }],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'succeeded', message: 'mocked' });
    expect(received).toHaveLength(before);
  });
});

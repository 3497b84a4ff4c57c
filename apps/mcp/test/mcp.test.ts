import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import {
  type CoreDeps,
  contextFor,
  createApiKey,
  createCore,
  createLogger,
  ingestAlert,
  JobQueue,
  SYSTEM,
  seedSystemRows,
} from '@calseta/core';
import { createTestDatabase } from '@calseta/db/testing';
import type { Scope } from '@calseta/schema';
import { serve } from '@hono/node-server';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../../../packages/integrations/fixtures/${name}`, import.meta.url), 'utf8'));
}

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let queue: JobQueue;
let deps: CoreDeps;
let server: ReturnType<typeof serve>;
let url: URL;
let adminKey: string;
let readKey: string;
let alertUuid: string;
const clients: Client[] = [];

async function keyWith(scopes: Scope[]): Promise<string> {
  return (await createApiKey(contextFor(deps, SYSTEM), { name: 'mcp-test', scopes })).key;
}

async function connect(key: string): Promise<Client> {
  const client = new Client({ name: 'calseta-test', version: '0.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${key}` } } }),
  );
  clients.push(client);
  return client;
}

function text(result: unknown): string {
  const [first] = ((result as { content?: unknown }).content ?? []) as { type: string; text?: string }[];
  return first?.text ?? '';
}

beforeAll(async () => {
  database = await createTestDatabase();
  const logger = createLogger({ service: 'test', level: 'silent' });
  queue = new JobQueue({ url: database.url, logger, supervise: false, maxConnections: 4 });
  await queue.start();
  deps = createCore({ db: database.db, queue, logger, config: { dedupWindowHours: 24, webhookSecrets: {} } });
  await seedSystemRows(deps);
  const app = createApp(deps);
  server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
  adminKey = await keyWith(['admin']);
  readKey = await keyWith(['alerts:read']);
  const accepted = await ingestAlert(contextFor(deps, SYSTEM), {
    sourceName: 'elastic',
    payload: fixture('elastic_alert.json'),
  });
  alertUuid = accepted.alert_uuid;
});

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await queue.stop();
  await deps.enrichment.close();
  await deps.agentFetch.close();
  await deps.workflowFetch.close();
  await deps.approvalFetch.close();
  await database.drop();
});

describe('MCP server over Streamable HTTP', () => {
  it('answers 401 without a key or with an invalid one, and /health without', async () => {
    const init = { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' } };
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    const missing = await fetch(url, { ...init, body });
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    const invalid = await fetch(url, {
      ...init,
      headers: { ...init.headers, authorization: 'Bearer cai_notarealkey0000000000' },
      body,
    });
    expect(invalid.status).toBe(401);
    await expect(connect('cai_notarealkey0000000000')).rejects.toThrow();
    const get = await fetch(url, { headers: { authorization: `Bearer ${adminKey}`, accept: 'text/event-stream' } });
    expect(get.status).toBe(405);
    const health = await fetch(new URL('/health', url));
    expect(health.status).toBe(200);
  });

  it('lists tools, resources and templates', async () => {
    const client = await connect(adminKey);
    const tools = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(tools).toEqual(
      [
        'enrich_indicator',
        'execute_workflow',
        'get_alert_context',
        'get_metrics',
        'list_workflows',
        'post_alert_finding',
        'search_alerts',
        'search_detection_rules',
        'update_alert_malice',
        'update_alert_status',
        'update_indicator_malice',
      ].sort(),
    );
    const resources = (await client.listResources()).resources.map((r) => r.uri);
    expect(resources).toEqual(
      expect.arrayContaining([
        'calseta://alerts',
        'calseta://detection-rules',
        'calseta://context-documents',
        'calseta://workflows',
        'calseta://metrics/summary',
        'calseta://enrichments/providers',
        `calseta://alerts/${alertUuid}`,
      ]),
    );
    const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    expect(templates).toEqual(
      expect.arrayContaining([
        'calseta://alerts/{uuid}',
        'calseta://alerts/{uuid}/context',
        'calseta://alerts/{uuid}/activity',
        'calseta://detection-rules/{uuid}',
        'calseta://context-documents/{uuid}',
        'calseta://workflows/{uuid}',
      ]),
    );
  });

  it('reads the alerts resource, an alert and its context', async () => {
    const client = await connect(readKey);
    // Listing works for a key that may not read every collection (workflows: nothing listed).
    const listedUris = (await client.listResources()).resources.map((r) => r.uri);
    expect(listedUris).toContain(`calseta://alerts/${alertUuid}`);
    expect(listedUris.some((u) => u.startsWith('calseta://workflows/'))).toBe(false);
    const list = await client.readResource({ uri: 'calseta://alerts' });
    const alerts = JSON.parse(String((list.contents[0] as { text: string }).text));
    expect(alerts.count).toBe(1);
    expect(alerts.alerts[0].uuid).toBe(alertUuid);

    const one = await client.readResource({ uri: `calseta://alerts/${alertUuid}` });
    expect(JSON.parse(String((one.contents[0] as { text: string }).text)).data.uuid).toBe(alertUuid);

    const context = await client.readResource({ uri: `calseta://alerts/${alertUuid}/context` });
    const payload = JSON.parse(String((context.contents[0] as { text: string }).text));
    expect(JSON.stringify(payload)).toContain(alertUuid);

    const viaTool = await client.callTool({
      name: 'get_alert_context',
      arguments: { alert_uuid: alertUuid, token_budget: 2000 },
    });
    expect(viaTool.isError).toBeFalsy();
    expect(viaTool.structuredContent).toBeDefined();

    await expect(client.readResource({ uri: 'calseta://alerts/00000000-0000-4000-8000-000000000000' })).rejects.toThrow(
      /not found/i,
    );
  });

  it('searches alerts and posts a finding', async () => {
    const client = await connect(adminKey);
    const search = await client.callTool({ name: 'search_alerts', arguments: { source_name: 'elastic' } });
    expect(search.isError).toBeFalsy();
    const found = search.structuredContent as { alerts: { uuid: string }[]; total: number };
    expect(found.total).toBe(1);
    expect(found.alerts[0]?.uuid).toBe(alertUuid);
    const none = await client.callTool({ name: 'search_alerts', arguments: { source_name: 'splunk' } });
    expect((none.structuredContent as { total: number }).total).toBe(0);

    const posted = await client.callTool({
      name: 'post_alert_finding',
      arguments: { alert_uuid: alertUuid, summary: 'Benign admin activity.', confidence: 'high' },
    });
    expect(posted.isError).toBeFalsy();
    expect((posted.structuredContent as { alert_uuid: string }).alert_uuid).toBe(alertUuid);
    const one = await client.readResource({ uri: `calseta://alerts/${alertUuid}` });
    const alert = JSON.parse(String((one.contents[0] as { text: string }).text)).data;
    expect(JSON.stringify(alert)).toContain('Benign admin activity.');
  });

  it('turns scope denials, not-found and invalid arguments into isError results', async () => {
    const client = await connect(readKey);
    const denied = await client.callTool({
      name: 'post_alert_finding',
      arguments: { alert_uuid: alertUuid, summary: 'x', confidence: 'low' },
    });
    expect(denied.isError).toBe(true);
    expect(text(denied)).toMatch(/FORBIDDEN/);

    const admin = await connect(adminKey);
    const missing = await admin.callTool({
      name: 'update_alert_status',
      arguments: { alert_uuid: '00000000-0000-4000-8000-000000000000', status: 'Triaging' },
    });
    expect(missing.isError).toBe(true);
    expect(text(missing)).toMatch(/not found/i);

    const invalid = await admin.callTool({ name: 'post_alert_finding', arguments: { alert_uuid: alertUuid } });
    expect(invalid.isError).toBe(true);

    const closing = await admin.callTool({
      name: 'update_alert_status',
      arguments: { alert_uuid: alertUuid, status: 'Closed' },
    });
    expect(closing.isError).toBe(true);
    expect(text(closing)).toMatch(/close_classification/);
  });

  it('enrich_indicator reads stored results unless live is asked for', async () => {
    const client = await connect(adminKey);
    const needsUuid = await client.callTool({ name: 'enrich_indicator', arguments: { type: 'ip', value: '1.2.3.4' } });
    expect(needsUuid.isError).toBe(true);
    expect(text(needsUuid)).toMatch(/indicator_uuid/);
    const liveWithoutValue = await client.callTool({ name: 'enrich_indicator', arguments: { live: true } });
    expect(liveWithoutValue.isError).toBe(true);
    expect(text(liveWithoutValue)).toMatch(/type and value/);
    const unknownIndicator = await client.callTool({
      name: 'enrich_indicator',
      arguments: { indicator_uuid: '00000000-0000-4000-8000-000000000000' },
    });
    expect(unknownIndicator.isError).toBe(true);
    expect(text(unknownIndicator)).toMatch(/not found/i);
    const metrics = await client.callTool({ name: 'get_metrics', arguments: {} });
    expect(metrics.isError).toBeFalsy();
  });
});

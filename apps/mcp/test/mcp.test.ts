import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type CoreDeps, contextFor, createContextDocument, createWorkflow, processAlert, SYSTEM } from '@calseta/core';
import type { MockProvidersServer } from '@calseta/mock-providers';
import { AlertListQuerySchema, PageQuerySchema, type Scope } from '@calseta/schema';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedPage, MCP_REFERENCE_PAGE, mcpReferenceMarkdown } from '../../../scripts/reference-docs.js';
import { McpSessions } from '../src/sessions.js';
import { fixture, type McpKit, startMcpKit, text } from './kit.js';

const CLI = fileURLToPath(new URL('../../cli/src/main.ts', import.meta.url));
const INSPECTOR_CHECK = fileURLToPath(new URL('../scripts/inspector-check.mjs', import.meta.url));
const NIL_UUID = '00000000-0000-4000-8000-000000000000';

let kit: McpKit;
let mock: MockProvidersServer;
let deps: CoreDeps;
let sessions: McpSessions;
let base: URL;
const keys = {} as Record<'admin' | 'reader' | 'workflowsOnly', string>;
const clients: Client[] = [];

/** What the database holds for the tests to find again through MCP. */
const seeded = {} as {
  alertUuid: string;
  indicator: { uuid: string; type: string; value: string };
  ruleUuid: string;
  ruleName: string;
  documentUuid: string;
  workflowUuid: string;
  gatedWorkflowUuid: string;
};

type Transport = 'streamable-http' | 'sse' | 'stdio';

async function keyWith(scopes: Scope[]): Promise<string> {
  return (await kit.key(scopes, { name: 'mcp-test' })).key;
}

/** One stdio server process per key (each start costs seconds), shared by that key's tests. */
const stdioClients = new Map<string, Promise<Client>>();

async function connect(key: string, transport: Transport = 'streamable-http'): Promise<Client> {
  if (transport === 'stdio') {
    const existing = stdioClients.get(key) ?? open(key, transport);
    stdioClients.set(key, existing);
    return existing;
  }
  return open(key, transport);
}

async function open(key: string, transport: Transport): Promise<Client> {
  if (transport === 'streamable-http') return kit.connect(base, key);
  const client = new Client({ name: 'calseta-test', version: '0.0.0' });
  const headers = { authorization: `Bearer ${key}` };
  if (transport === 'sse') {
    await client.connect(new SSEClientTransport(new URL('/sse', base), { requestInit: { headers } }));
  } else {
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ['--import', 'tsx', CLI, 'mcp', '--stdio'],
        // The SDK adds a safe default environment (PATH, HOME, …).
        env: {
          ...kit.providerEnv,
          DATABASE_URL: kit.core.databaseUrl,
          CALSETA_API_KEY: key,
        },
        stderr: 'pipe',
      }),
    );
  }
  clients.push(client);
  return client;
}

async function readJson(client: Client, uri: string): Promise<Record<string, unknown>> {
  const result = await client.readResource({ uri });
  const [content] = result.contents as { uri: string; text: string; mimeType: string }[];
  expect(content?.uri).toBe(uri);
  expect(content?.mimeType).toBe('application/json');
  return JSON.parse(String(content?.text));
}

const ingestAndEnrich = (payload: Record<string, unknown>) => kit.ingest('elastic', payload, { enrich: true });

beforeAll(async () => {
  // Real (mock) providers: enrichment stores real-shaped results, and provider calls can be counted.
  kit = await startMcpKit({ mockProviders: true });
  deps = kit.deps;
  mock = kit.mock as MockProvidersServer;
  sessions = new McpSessions();
  base = await kit.serve({}, sessions);
  keys.admin = await keyWith(['admin']);
  keys.reader = await keyWith(['alerts:read']);
  keys.workflowsOnly = await keyWith(['workflows:read']);

  const ctx = contextFor(deps, SYSTEM);
  const alert = await ingestAndEnrich(fixture('elastic_alert.json'));
  seeded.alertUuid = alert.uuid;
  const indicator = await deps.db
    .selectFrom('alert_indicators')
    .innerJoin('indicators', 'indicators.id', 'alert_indicators.indicator_id')
    .select(['indicators.uuid', 'indicators.type', 'indicators.value'])
    .where('alert_indicators.alert_id', '=', alert.id)
    .orderBy('indicators.id')
    .executeTakeFirstOrThrow();
  seeded.indicator = indicator;
  const rule = await deps.db
    .selectFrom('alerts')
    .innerJoin('detection_rules', 'detection_rules.id', 'alerts.detection_rule_id')
    .select(['detection_rules.uuid', 'detection_rules.name'])
    .where('alerts.id', '=', alert.id)
    .executeTakeFirstOrThrow();
  seeded.ruleUuid = rule.uuid;
  seeded.ruleName = rule.name;
  await deps.db
    .updateTable('detection_rules')
    .set({ mitre_tactics: ['TA0006'], mitre_techniques: ['T1110'], mitre_subtechniques: ['T1110.003'] })
    .where('uuid', '=', rule.uuid)
    .execute();
  seeded.documentUuid = (
    await createContextDocument(ctx, {
      title: 'Credential attack runbook',
      document_type: 'runbook',
      is_global: true,
      content: '# Credential attacks\n\nReset the password, then review sign-ins.',
    })
  ).uuid;
  const workflow = {
    workflow_type: 'indicator' as const,
    indicator_types: [indicator.type as 'ip'],
    code: 'export async function run(ctx) {\n  return WorkflowResult.ok("tagged", {});\n}',
    state: 'active' as const,
  };
  seeded.workflowUuid = (
    await createWorkflow(ctx, { ...workflow, name: 'Tag indicator', approval_mode: 'never' })
  ).uuid;
  seeded.gatedWorkflowUuid = (
    await createWorkflow(ctx, { ...workflow, name: 'Block indicator', approval_mode: 'always', risk_level: 'high' })
  ).uuid;
});

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  await kit?.close();
});

const TOOLS = [
  'enrich_indicator',
  'execute_workflow',
  'get_alert_context',
  'get_incident',
  'get_metrics',
  'list_workflows',
  'post_alert_finding',
  'post_incident_finding',
  'search_alerts',
  'search_detection_rules',
  'search_incidents',
  'update_alert_malice',
  'update_alert_status',
  'update_incident_status',
  'update_indicator_malice',
];

/** Every resource of reference §9.1 (+ providers), read and checked against what was seeded. */
async function readEveryResource(client: Client): Promise<void> {
  const list = await readJson(client, 'calseta://alerts');
  expect((list.alerts as { uuid: string }[]).map((a) => a.uuid)).toContain(seeded.alertUuid);
  const alert = (await readJson(client, `calseta://alerts/${seeded.alertUuid}`)).data as Record<string, unknown>;
  expect(alert.uuid).toBe(seeded.alertUuid);
  expect((alert.indicators as { uuid: string }[]).map((i) => i.uuid)).toContain(seeded.indicator.uuid);
  const payload = await readJson(client, `calseta://alerts/${seeded.alertUuid}/context`);
  expect(JSON.stringify(payload)).toContain(seeded.indicator.value);
  expect(JSON.stringify(payload)).toContain('Credential attack runbook');
  const activity = await readJson(client, `calseta://alerts/${seeded.alertUuid}/activity`);
  expect((activity.activity as { event_type: string }[]).map((e) => e.event_type)).toContain(
    'alert_enrichment_completed',
  );
  const rules = await readJson(client, 'calseta://detection-rules');
  expect((rules.detection_rules as { uuid: string }[]).map((r) => r.uuid)).toContain(seeded.ruleUuid);
  const rule = await readJson(client, `calseta://detection-rules/${seeded.ruleUuid}`);
  expect(rule.name).toBe(seeded.ruleName);
  const documents = await readJson(client, 'calseta://context-documents');
  expect((documents.context_documents as { uuid: string; content?: string }[])[0]).toMatchObject({
    uuid: seeded.documentUuid,
  });
  const document = await readJson(client, `calseta://context-documents/${seeded.documentUuid}`);
  expect(document.content).toContain('Reset the password');
  const workflows = await readJson(client, 'calseta://workflows');
  expect((workflows.workflows as { uuid: string }[]).map((w) => w.uuid)).toEqual(
    expect.arrayContaining([seeded.workflowUuid, seeded.gatedWorkflowUuid]),
  );
  const workflow = await readJson(client, `calseta://workflows/${seeded.workflowUuid}`);
  expect(workflow.code).toContain('WorkflowResult.ok');
  const metrics = await readJson(client, 'calseta://metrics/summary');
  expect(metrics).toHaveProperty('alerts');
  const stored = await readJson(
    client,
    `calseta://enrichments/${seeded.indicator.type}/${encodeURIComponent(seeded.indicator.value)}`,
  );
  expect(stored).toMatchObject({ uuid: seeded.indicator.uuid, value: seeded.indicator.value });
  const providers = await readJson(client, 'calseta://enrichments/providers');
  expect(providers.count).toBe((providers.providers as unknown[]).length);
}

/** Every tool, with arguments that succeed, and its structured output checked. */
async function callEveryTool(client: Client): Promise<void> {
  const call = async (name: string, args: Record<string, unknown>) => {
    const result = await client.callTool({ name, arguments: args });
    expect(result.isError, `${name}: ${text(result)}`).toBeFalsy();
    expect(JSON.parse(text(result))).toEqual(result.structuredContent);
    return result.structuredContent as Record<string, unknown>;
  };
  const search = await call('search_alerts', { source_name: 'elastic', sort_by: 'occurred_at' });
  expect((search.alerts as { uuid: string }[]).map((a) => a.uuid)).toContain(seeded.alertUuid);
  const payload = await call('get_alert_context', { alert_uuid: seeded.alertUuid, token_budget: 1500 });
  expect(JSON.stringify(payload)).toContain(seeded.alertUuid);
  const finding = await call('post_alert_finding', {
    alert_uuid: seeded.alertUuid,
    summary: 'Password spray from a known scanner.',
    confidence: 'high',
  });
  expect(finding.alert_uuid).toBe(seeded.alertUuid);
  const status = await call('update_alert_status', { alert_uuid: seeded.alertUuid, status: 'Triaging' });
  expect(status.status).toBe('Triaging');
  const malice = await call('update_alert_malice', { alert_uuid: seeded.alertUuid, malice: 'Suspicious' });
  expect(malice).toMatchObject({ malice_override: 'Suspicious', effective_malice: 'Suspicious' });
  await call('update_alert_malice', { alert_uuid: seeded.alertUuid, malice: null });
  const verdict = await call('update_indicator_malice', { indicator_uuid: seeded.indicator.uuid, malice: 'Benign' });
  expect(verdict).toMatchObject({ malice: 'Benign', malice_source: 'analyst' });
  await call('update_indicator_malice', { indicator_uuid: seeded.indicator.uuid, malice: null });
  const rules = await call('search_detection_rules', { mitre_technique: 'T1110.003' });
  expect((rules.detection_rules as { uuid: string }[]).map((r) => r.uuid)).toEqual([seeded.ruleUuid]);
  const workflows = await call('list_workflows', { state: 'active', risk_level: 'high' });
  expect((workflows.workflows as { uuid: string }[]).map((w) => w.uuid)).toContain(seeded.gatedWorkflowUuid);
  expect((workflows.workflows as { uuid: string }[]).map((w) => w.uuid)).not.toContain(seeded.workflowUuid);
  const run = await call('execute_workflow', {
    workflow_uuid: seeded.workflowUuid,
    indicator_type: seeded.indicator.type,
    indicator_value: seeded.indicator.value,
  });
  expect(run).toMatchObject({ outcome: 'run', approval: null, run: { status: 'queued' } });
  const stored = await call('enrich_indicator', { type: seeded.indicator.type, value: seeded.indicator.value });
  expect(stored).toMatchObject({ source: 'stored', live: null, indicator: { uuid: seeded.indicator.uuid } });
  const metrics = await call('get_metrics', {});
  expect(metrics).toHaveProperty('alerts');
}

/** A key with alerts:read only: reads work, writes and other collections are refused readably. */
async function checkScopeDenials(client: Client): Promise<void> {
  const denied = await client.callTool({
    name: 'post_alert_finding',
    arguments: { alert_uuid: seeded.alertUuid, summary: 'x', confidence: 'low' },
  });
  expect(denied.isError).toBe(true);
  expect(text(denied)).toMatch(/^FORBIDDEN/);
  const execute = await client.callTool({
    name: 'execute_workflow',
    arguments: { workflow_uuid: seeded.workflowUuid, indicator_type: 'ip', indicator_value: '203.0.113.9' },
  });
  expect(text(execute)).toMatch(/^FORBIDDEN/);
  await expect(client.readResource({ uri: 'calseta://workflows' })).rejects.toThrow(/FORBIDDEN/);
  const listed = (await client.listResources()).resources.map((r) => r.uri);
  expect(listed).toContain(`calseta://alerts/${seeded.alertUuid}`);
  expect(listed.some((u) => u.startsWith('calseta://workflows/'))).toBe(false);
}

describe.each<Transport>(['streamable-http', 'sse', 'stdio'])('MCP over %s', (transport) => {
  it('lists every tool, resource and template', async () => {
    const client = await connect(keys.admin, transport);
    expect(client.getServerVersion()?.name).toBe('Calseta');
    expect(client.getServerCapabilities()?.resources?.subscribe).toBe(true);
    const tools = (await client.listTools()).tools;
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    for (const tool of tools) expect(tool.outputSchema?.type, tool.name).toBe('object');
    const resources = (await client.listResources()).resources.map((r) => r.uri);
    expect(resources).toEqual(
      expect.arrayContaining([
        'calseta://alerts',
        'calseta://detection-rules',
        'calseta://context-documents',
        'calseta://workflows',
        'calseta://metrics/summary',
        'calseta://enrichments/providers',
        `calseta://alerts/${seeded.alertUuid}`,
        `calseta://detection-rules/${seeded.ruleUuid}`,
        `calseta://context-documents/${seeded.documentUuid}`,
        `calseta://workflows/${seeded.workflowUuid}`,
      ]),
    );
    const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    expect(templates.sort()).toEqual(
      [
        'calseta://alerts/{uuid}',
        'calseta://alerts/{uuid}/context',
        'calseta://alerts/{uuid}/activity',
        'calseta://detection-rules/{uuid}',
        'calseta://context-documents/{uuid}',
        'calseta://workflows/{uuid}',
        'calseta://enrichments/{type}/{value}',
        'calseta://incidents/{uuid}',
        'calseta://incidents/{uuid}/timeline',
      ].sort(),
    );
  });

  it('reads every resource', async () => {
    await readEveryResource(await connect(keys.admin, transport));
  });

  it('calls every tool', async () => {
    await callEveryTool(await connect(keys.admin, transport));
  });

  it('refuses what the key’s scopes do not grant', async () => {
    await checkScopeDenials(await connect(keys.reader, transport));
  });

  it('tells a subscriber when an alert has been enriched', async () => {
    const streamOpened = transport === 'streamable-http' ? once(sessions, 'stream') : Promise.resolve();
    const client = await connect(keys.reader, transport);
    await streamOpened; // the session's notification stream (GET /mcp) is open
    const updates: string[] = [];
    let waiting: { count: number; resolve: () => void } | undefined;
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, ({ params }) => {
      updates.push(params.uri);
      if (waiting && updates.length >= waiting.count) waiting.resolve();
    });
    const updatesReach = (count: number) =>
      new Promise<void>((resolve) => {
        waiting = { count, resolve };
        if (updates.length >= count) resolve();
      });

    await client.subscribeResource({ uri: 'calseta://alerts' });
    await client.subscribeResource({ uri: `calseta://alerts/${NIL_UUID}` }); // another alert: never told
    const { id, uuid } = await ingestAndEnrich({ ...fixture('elastic_alert.json'), tag: `mcp-${transport}` });
    await updatesReach(1);
    expect(updates).toEqual(['calseta://alerts']);

    // Subscribed to this alert's payload too: its next enrichment is announced for both URIs.
    await client.subscribeResource({ uri: `calseta://alerts/${uuid}/context` });
    await processAlert(contextFor(deps, SYSTEM), { alert_id: id, reason: 'manual' });
    await updatesReach(3);
    expect(updates.slice(1).sort()).toEqual(['calseta://alerts', `calseta://alerts/${uuid}/context`]);

    // Unsubscribed from the list: only the payload subscription is told.
    await client.unsubscribeResource({ uri: 'calseta://alerts' });
    await processAlert(contextFor(deps, SYSTEM), { alert_id: id, reason: 'manual' });
    await updatesReach(4);
    expect(updates[3]).toBe(`calseta://alerts/${uuid}/context`);
  });
});

describe('the MCP reference', () => {
  it('the committed docs/mcp.md is what the server lists (pnpm docs:reference)', async () => {
    const client = await connect(keys.admin);
    const markdown = mcpReferenceMarkdown({
      tools: (await client.listTools()).tools,
      // Only the fixed resources: the listed instances of templates depend on the data.
      resources: (await client.listResources()).resources.filter((r) => !/[0-9a-f]{8}-[0-9a-f]{4}/.test(r.uri)),
      templates: (await client.listResourceTemplates()).resourceTemplates,
    });
    expect(markdown).toContain('### `get_alert_context`');
    expect(committedPage(MCP_REFERENCE_PAGE, markdown)).toBe(markdown);
  });
});

describe('an independent client', () => {
  it('the MCP Inspector 2.12 CLI lists the tools with portable schemas (--strict) and calls one over Streamable HTTP', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      INSPECTOR_CHECK,
      new URL('/mcp', base).href,
      keys.admin,
    ]);
    expect(stdout).toContain(`tools/list: ${TOOLS.length} tools (${TOOLS.join(', ')})`);
    // Every tool's input and output schema passes the Inspector's portability check: no type unions, no keyword-less schemas.
    expect(stdout).toContain('schema portability: 0 errors, 0 warnings');
    const [, shown, total] = /search_alerts: (\d+) of (\d+) alert/.exec(stdout) ?? [];
    const alerts = await deps.db
      .selectFrom('alerts')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(total)).toBe(Number(alerts.n));
    expect(Number(shown)).toBe(Math.min(5, Number(alerts.n)));
  });
});

describe('MCP transport edges', () => {
  it('answers 401 without a key or with an invalid one, and /health without', async () => {
    const mcp = new URL('/mcp', base);
    const init = {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    };
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    const missing = await fetch(mcp, { ...init, body });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    const invalid = await fetch(mcp, {
      ...init,
      headers: { ...init.headers, authorization: 'Bearer cai_notarealkey0000000000' },
      body,
    });
    expect(invalid.status).toBe(401);
    await expect(connect('cai_notarealkey0000000000')).rejects.toThrow();
    await expect(connect('cai_notarealkey0000000000', 'sse')).rejects.toThrow();
    const sse = await fetch(new URL('/sse', base));
    expect(sse.status).toBe(401);
    const health = await fetch(new URL('/health', base));
    expect(health.status).toBe(200);
    // Audited like REST failures, with only the presented key's public prefix.
    const audited = await deps.db
      .selectFrom('activity_events')
      .select(['actor_key_prefix', 'references'])
      .where('event_type', '=', 'auth_failed')
      .execute();
    const reasons = audited.map((a) => (a.references as { reason: string; route: string }).reason);
    // Classified as REST classifies them (core's gate): the short token is malformed, not merely unknown.
    expect(reasons).toEqual(expect.arrayContaining(['missing_header', 'invalid_format']));
    expect(audited.map((a) => a.actor_key_prefix)).toContain('cai_nota');
    expect(JSON.stringify(audited)).not.toContain('cai_notarealkey');
  });

  it('serves a request without a session, and never lets another key use a session', async () => {
    const mcp = new URL('/mcp', base);
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${keys.admin}`,
    };
    const stateless = await fetch(mcp, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(stateless.status).toBe(200);
    expect(((await stateless.json()) as { result: { tools: unknown[] } }).result.tools).toHaveLength(TOOLS.length);

    const init = await fetch(mcp, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
      }),
    });
    const sessionId = init.headers.get('mcp-session-id');
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    // Another key presenting the session id gets no stream from it.
    const stolen = await fetch(mcp, {
      headers: {
        accept: 'text/event-stream',
        authorization: `Bearer ${keys.reader}`,
        'mcp-session-id': String(sessionId),
      },
    });
    expect(stolen.status).toBe(404);
    const noSession = await fetch(mcp, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${keys.admin}` },
    });
    expect(noSession.status).toBe(405);
    const ended = await fetch(mcp, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${keys.admin}`, 'mcp-session-id': String(sessionId) },
    });
    expect(ended.status).toBe(200);
    const gone = await fetch(mcp, {
      headers: {
        accept: 'text/event-stream',
        authorization: `Bearer ${keys.admin}`,
        'mcp-session-id': String(sessionId),
      },
    });
    expect(gone.status).toBe(404);
    const notJson = await fetch(mcp, { method: 'POST', headers, body: '{' });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: number } }).error.code).toBe(-32700);
  });

  it('refuses subscriptions a key may not read, and resources that cannot be subscribed', async () => {
    const workflowsOnly = await connect(keys.workflowsOnly);
    await expect(workflowsOnly.subscribeResource({ uri: 'calseta://alerts' })).rejects.toThrow(/FORBIDDEN/);
    await expect(workflowsOnly.subscribeResource({ uri: 'calseta://workflows' })).rejects.toThrow(/can be subscribed/);
  });

  it('returns tool errors an agent can read for not-found, invalid and gated calls', async () => {
    const admin = await connect(keys.admin);
    const missing = await admin.callTool({
      name: 'update_alert_status',
      arguments: { alert_uuid: NIL_UUID, status: 'Triaging' },
    });
    expect(missing.isError).toBe(true);
    expect(text(missing)).toMatch(/^NOT_FOUND/);
    const invalid = await admin.callTool({ name: 'post_alert_finding', arguments: { alert_uuid: seeded.alertUuid } });
    expect(invalid.isError).toBe(true);
    expect(text(invalid)).toMatch(/summary/);
    const closing = await admin.callTool({
      name: 'update_alert_status',
      arguments: { alert_uuid: seeded.alertUuid, status: 'Closed' },
    });
    expect(text(closing)).toMatch(/close_classification/);
    await expect(admin.readResource({ uri: `calseta://alerts/${NIL_UUID}` })).rejects.toThrow(/NOT_FOUND/);
    await expect(admin.readResource({ uri: 'calseta://enrichments/nonsense/1.2.3.4' })).rejects.toThrow(
      /VALIDATION_ERROR/,
    );
    const gated = await admin.callTool({
      name: 'execute_workflow',
      arguments: {
        workflow_uuid: seeded.gatedWorkflowUuid,
        indicator_type: seeded.indicator.type,
        indicator_value: seeded.indicator.value,
      },
    });
    expect(gated.structuredContent).toMatchObject({
      outcome: 'pending_approval',
      run: null,
      approval: { status: 'pending_approval' },
    });
    const rulesByName = await admin.callTool({
      name: 'search_detection_rules',
      arguments: { name: seeded.ruleName.slice(1, 8).toUpperCase() },
    });
    expect((rulesByName.structuredContent as { total: number }).total).toBe(1);
    const noRules = await admin.callTool({ name: 'search_detection_rules', arguments: { mitre_tactic: 'TA0040' } });
    expect((noRules.structuredContent as { total: number }).total).toBe(0);
  });

  it('enrich_indicator reads stored results and spends no provider call unless live is asked for', async () => {
    const client = await connect(keys.admin);
    mock.reset();
    const byUuid = await client.callTool({
      name: 'enrich_indicator',
      arguments: { indicator_uuid: seeded.indicator.uuid },
    });
    expect(byUuid.structuredContent).toMatchObject({ source: 'stored', indicator: { uuid: seeded.indicator.uuid } });
    const unseen = await client.callTool({
      name: 'enrich_indicator',
      arguments: { type: 'ip', value: '198.51.100.77' },
    });
    expect(unseen.isError).toBe(true);
    expect(text(unseen)).toMatch(/NOT_FOUND.*live enrichment/);
    const nothing = await client.callTool({ name: 'enrich_indicator', arguments: {} });
    expect(text(nothing)).toMatch(/indicator_uuid, or type and value/);
    const liveWithoutValue = await client.callTool({ name: 'enrich_indicator', arguments: { live: true } });
    expect(text(liveWithoutValue)).toMatch(/needs type and value/);
    await readJson(
      client,
      `calseta://enrichments/${seeded.indicator.type}/${encodeURIComponent(seeded.indicator.value)}`,
    );
    expect(mock.stats().requests).toBe(0);

    const live = await client.callTool({
      name: 'enrich_indicator',
      arguments: { live: true, type: 'ip', value: '8.8.8.8', bypass_cache: true },
    });
    expect(live.isError).toBeFalsy();
    const answer = live.structuredContent as {
      source: string;
      live: { value: string; results: Record<string, { status: string }> };
    };
    expect(answer).toMatchObject({ source: 'live', indicator: null, live: { value: '8.8.8.8' } });
    expect(mock.stats().requests).toBeGreaterThan(0);
    expect(Object.values(answer.live.results).some((r) => r.status === 'success')).toBe(true);
  });
});

describe('tools keep REST’s contract', () => {
  it('search_alerts, search_detection_rules and list_workflows take REST’s list queries and paging limits', async () => {
    const client = await connect(keys.admin);
    const tools = (await client.listTools()).tools;
    const inputOf = (name: string) => Object.keys(tools.find((t) => t.name === name)?.inputSchema.properties ?? {});
    // Every filter REST's GET /v1/alerts takes (the schema package's query), and its paging.
    expect(inputOf('search_alerts').sort()).toEqual(
      [...Object.keys(AlertListQuerySchema.shape), ...Object.keys(PageQuerySchema.shape)].sort(),
    );
    const max = PageQuerySchema.shape.page_size.unwrap().maxValue ?? 0;
    expect(max).toBeGreaterThan(100);
    for (const [name, key] of [
      ['search_alerts', 'alerts'],
      ['search_detection_rules', 'detection_rules'],
      ['list_workflows', 'workflows'],
    ] as const) {
      const defaults = await client.callTool({ name, arguments: {} });
      expect(defaults.isError, `${name}: ${text(defaults)}`).toBeFalsy();
      expect((defaults.structuredContent as Record<string, unknown>).page_size).toBe(
        PageQuerySchema.parse({}).page_size,
      );
      const largest = await client.callTool({ name, arguments: { page_size: max } });
      expect(largest.isError, `${name}: ${text(largest)}`).toBeFalsy();
      expect((largest.structuredContent as Record<string, unknown[]>)[key]).toBeInstanceOf(Array);
      const over = await client.callTool({ name, arguments: { page_size: max + 1 } });
      expect(over.isError, name).toBe(true);
    }
    // Filters are validated as REST validates them.
    const notUuid = await client.callTool({ name: 'search_alerts', arguments: { detection_rule_uuid: 'x' } });
    expect(notUuid.isError).toBe(true);
  });

  it('update_alert_status reads the previous status under the lock of its change', async () => {
    const { uuid } = await kit.ingest('generic', { title: 'Status race', severity: 'high', rule_name: 'Status race' });
    const client = await connect(keys.admin);
    const database = new URL(kit.core.databaseUrl).pathname.slice(1);
    const lockWaits = async () => {
      const rows = await (deps.db as any)
        .selectFrom('pg_stat_activity')
        .select('pid')
        .where('datname', '=', database)
        .where('wait_event_type', '=', 'Lock')
        .execute();
      return rows.length;
    };
    // Hold the alert's row lock, so both calls queue up behind it whatever they read first.
    let held!: () => void;
    let release!: () => void;
    const holding = new Promise<void>((resolve) => {
      held = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const lock = deps.db.transaction().execute(async (trx) => {
      await trx.selectFrom('alerts').select('id').where('uuid', '=', uuid).forUpdate().execute();
      held();
      await released;
    });
    await holding;
    const calls = (['Triaging', 'Escalated'] as const).map((status) =>
      client.callTool({ name: 'update_alert_status', arguments: { alert_uuid: uuid, status } }),
    );
    await expect.poll(lockWaits).toBe(2);
    release();
    await lock;
    const outcomes = (await Promise.all(calls)).map(
      (result) => result.structuredContent as { status: string; previous_status: string },
    );
    // One moved the alert out of Open; the other moved it on from there, and says so.
    const first = outcomes.find((o) => o.previous_status === 'Open');
    const second = outcomes.find((o) => o !== first);
    expect(first, JSON.stringify(outcomes)).toBeDefined();
    expect(second?.previous_status, JSON.stringify(outcomes)).toBe(first?.status);
  });
});

/**
 * Audit findings on the MCP server (docs/security.md, "Audit findings (2026-12)"):
 * - MCP had no rate limit and no body cap, took the raw socket address as the client IP, and its
 *   writes left no `api_write` audit row: it now goes through core's gate like REST.
 * - The scope walk covered 2 of 11 tools: every tool and resource is walked × every scope here,
 *   the required scopes derived from core's one permission table, and a key presenting another
 *   key's session id never acts through that session.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import {
  type CoreDeps,
  contextFor,
  createApiKey,
  createContextDocument,
  createCore,
  createLogger,
  createWorkflow,
  extractAlertIndicators,
  ingestAlert,
  JobQueue,
  PERMISSIONS,
  type Permission,
  parseTrustedProxies,
  SYSTEM,
  seedSystemRows,
} from '@calseta/core';
import { createTestDatabase } from '@calseta/db/testing';
import { SCOPES, type Scope } from '@calseta/schema';
import { serve } from '@hono/node-server';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { McpSessions } from '../src/sessions.js';

const NIL_UUID = '00000000-0000-4000-8000-000000000000';
const BODY_CAP = 4096;

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let queue: JobQueue;
let deps: CoreDeps;
const sessions: McpSessions[] = [];
const servers: ReturnType<typeof serve>[] = [];
const clients: Client[] = [];
/** An MCP server without limits (the scope walk) and one with small limits and a trusted proxy. */
let open: URL;
let limited: URL;
let adminKey: string;
const seeded = {} as {
  alertUuid: string;
  indicator: { uuid: string; type: string; value: string };
  ruleUuid: string;
  documentUuid: string;
  workflowUuid: string;
};

async function keyWith(scopes: Scope[]): Promise<{ key: string; prefix: string }> {
  const created = await createApiKey(contextFor(deps, SYSTEM), { name: `mcp-security ${scopes.join(',')}`, scopes });
  return { key: created.key, prefix: created.key_prefix };
}

async function listen(app: ReturnType<typeof createApp>): Promise<URL> {
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  servers.push(server);
  await once(server, 'listening');
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

beforeAll(async () => {
  database = await createTestDatabase();
  const logger = createLogger({ service: 'test', level: 'silent' });
  queue = new JobQueue({ url: database.url, logger, supervise: false, maxConnections: 4 });
  await queue.start();
  deps = createCore({ db: database.db, queue, logger, config: { dedupWindowHours: 24, webhookSecrets: {} } });
  await seedSystemRows(deps);
  for (let i = 0; i < 2; i++) {
    const s = new McpSessions();
    await s.start(deps);
    sessions.push(s);
  }
  open = await listen(createApp(deps, sessions[0]));
  limited = await listen(
    createApp(deps, sessions[1], {
      security: {
        rateLimits: {
          limits: { authenticated: 3, ingest: 0, enrichment: 0, workflow_execute: 1, unauthenticated: 2 },
          // An hour-long window: a test never straddles a window boundary.
          windowSeconds: 3600,
        },
        trustedProxies: parseTrustedProxies('127.0.0.1'),
      },
      maxBodyBytes: BODY_CAP,
    }),
  );
  adminKey = (await keyWith(['admin'])).key;

  const ctx = contextFor(deps, SYSTEM);
  const payload = JSON.parse(
    readFileSync(new URL('../../../packages/integrations/fixtures/elastic_alert.json', import.meta.url), 'utf8'),
  );
  const { alert_uuid } = await ingestAlert(ctx, { sourceName: 'elastic', payload });
  const alert = await deps.db
    .selectFrom('alerts')
    .select(['id', 'detection_rule_id'])
    .where('uuid', '=', alert_uuid)
    .executeTakeFirstOrThrow();
  await extractAlertIndicators(ctx, alert.id);
  seeded.alertUuid = alert_uuid;
  seeded.indicator = await deps.db
    .selectFrom('alert_indicators')
    .innerJoin('indicators', 'indicators.id', 'alert_indicators.indicator_id')
    .select(['indicators.uuid', 'indicators.type', 'indicators.value'])
    .where('alert_indicators.alert_id', '=', alert.id)
    .orderBy('indicators.id')
    .executeTakeFirstOrThrow();
  seeded.ruleUuid = (
    await deps.db
      .selectFrom('detection_rules')
      .select('uuid')
      .where('id', '=', Number(alert.detection_rule_id))
      .executeTakeFirstOrThrow()
  ).uuid;
  seeded.documentUuid = (
    await createContextDocument(ctx, { title: 'Runbook', document_type: 'runbook', is_global: true, content: '# R' })
  ).uuid;
  seeded.workflowUuid = (
    await createWorkflow(ctx, {
      name: 'Tag indicator',
      workflow_type: 'indicator',
      indicator_types: [seeded.indicator.type as 'ip'],
      code: 'export async function run(ctx) {\n  return WorkflowResult.ok("tagged", {});\n}',
      state: 'active',
      approval_mode: 'never',
    })
  ).uuid;
});

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  for (const s of sessions) await s.close();
  for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
  await queue?.stop();
  await deps?.enrichment.close();
  await deps?.agentFetch.close();
  await deps?.workflowFetch.close();
  await deps?.approvalFetch.close();
  await database?.drop();
});

async function connect(base: URL, key: string): Promise<Client> {
  const client = new Client({ name: 'mcp-security', version: '0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL('/mcp', base), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
  clients.push(client);
  return client;
}

/** One JSON-RPC POST on /mcp, raw. */
function rpc(base: URL, key: string | null, body: unknown, headers: Record<string, string> = {}) {
  return fetch(new URL('/mcp', base), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(key && { authorization: `Bearer ${key}` }),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const call = (name: string, args: Record<string, unknown>, id = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

function text(result: unknown): string {
  const [first] = ((result as { content?: unknown }).content ?? []) as { text?: string }[];
  return first?.text ?? '';
}

// ------------------------------------------------------------------ the gate (finding: no rate limit, no body cap)

describe('MCP goes through the same gate as REST', () => {
  it("counts a key's requests in REST's per-key bucket and answers 429 with Retry-After beyond the limit", async () => {
    const { key, prefix } = await keyWith(['alerts:read']);
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    for (let i = 0; i < 3; i++) expect((await rpc(limited, key, list)).status).toBe(200);
    const refused = await rpc(limited, key, list);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    // The bucket REST counts the same key in (core's gate names it): one budget per key, whatever the door.
    const bucket = await deps.db
      .selectFrom('rate_limit_buckets')
      .select('count')
      .where('bucket', '=', `authenticated:key:${prefix}`)
      .executeTakeFirstOrThrow();
    expect(bucket.count).toBe(4);
  });

  it('classes a tools/call like its REST operation: execute_workflow spends the workflow_execute budget', async () => {
    const { key } = await keyWith(['workflows:execute']);
    const execute = call('execute_workflow', {
      workflow_uuid: NIL_UUID,
      indicator_type: 'ip',
      indicator_value: '1.2.3.4',
    });
    expect((await rpc(limited, key, execute)).status).toBe(200); // a NOT_FOUND tool result, counted
    expect((await rpc(limited, key, execute)).status).toBe(429);
    // The authenticated class of the same key is untouched.
    expect((await rpc(limited, key, { jsonrpc: '2.0', id: 2, method: 'tools/list' })).status).toBe(200);
  });

  it('limits failed authentications per client IP, the IP taken through trusted proxies as REST does', async () => {
    const bad = `cai_${'z'.repeat(43)}`;
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    expect((await rpc(limited, bad, list, from('198.51.100.10'))).status).toBe(401);
    expect((await rpc(limited, null, list, from('198.51.100.10'))).status).toBe(401);
    const third = await rpc(limited, bad, list, from('198.51.100.10'));
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBeTruthy();
    // Another client behind the same proxy is not punished for it.
    expect((await rpc(limited, bad, list, from('198.51.100.11'))).status).toBe(401);
    const audited = await deps.db
      .selectFrom('activity_events')
      .select('references')
      .where('event_type', '=', 'auth_failed')
      .execute();
    const ips = audited.map((row) => (row.references as { client_ip: string }).client_ip);
    expect(ips).toContain('198.51.100.10');
    expect(ips).toContain('198.51.100.11');
  });

  it('refuses a body over the cap, announced or streamed', async () => {
    const big = JSON.stringify({ ...call('search_alerts', {}), pad: 'x'.repeat(BODY_CAP) });
    const announced = await rpc(limited, adminKey, big);
    expect(announced.status).toBe(413);
    const streamed = await fetch(new URL('/mcp', limited), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${adminKey}`,
      },
      // A stream has no Content-Length: the bytes are counted as they arrive.
      body: new Blob([big]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    const sse = await fetch(new URL('/messages?sessionId=x', limited), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
      body: big,
    });
    expect(sse.status).toBe(413);
  });

  it('audits a write through MCP as an api_write row, as REST audits its writes', async () => {
    const { key, prefix } = await keyWith(['alerts:write']);
    const response = await rpc(
      open,
      key,
      call('post_alert_finding', { alert_uuid: seeded.alertUuid, summary: 'audited', confidence: 'low' }),
    );
    const body = (await response.json()) as { result: { isError?: boolean } };
    expect(body.result.isError, text(body.result)).toBeFalsy();
    const rows = await deps.db
      .selectFrom('activity_events')
      .select(['actor_type', 'references'])
      .where('event_type', '=', 'api_write')
      .where('actor_key_prefix', '=', prefix)
      .execute();
    expect(rows).toEqual([
      {
        actor_type: 'mcp',
        references: expect.objectContaining({
          route: 'mcp tools/call post_alert_finding',
          resource_id: seeded.alertUuid,
          status: 200,
        }),
      },
    ]);
  });
});

// ------------------------------------------------------------------ the scope walk

type Requirement = { 'calseta/permissions'?: Permission[]; 'calseta/required_scopes'?: string[][] };

/** Allowed when the scope grants every listed permission per core's table (admin grants all). */
function grants(scope: Scope, permissions: readonly Permission[]): boolean {
  return scope === 'admin' || permissions.every((p) => (PERMISSIONS[p] as readonly string[]).includes(scope));
}

function requirementOf(what: string, meta: unknown): Permission[] {
  const requirement = (meta ?? {}) as Requirement;
  const permissions = requirement['calseta/permissions'];
  expect(permissions, `${what} declares its permissions`).toBeDefined();
  // The published scopes are the table's, not a second list.
  expect(requirement['calseta/required_scopes']).toEqual(permissions?.map((p) => [...PERMISSIONS[p]]));
  return permissions ?? [];
}

describe('every tool and resource × every scope', () => {
  it('allows exactly what the permission table grants', async () => {
    const admin = await connect(open, adminKey);
    const tools = (await admin.listTools()).tools;
    const args: Record<string, Record<string, unknown>> = {
      search_alerts: {},
      get_alert_context: { alert_uuid: seeded.alertUuid },
      post_alert_finding: { alert_uuid: seeded.alertUuid, summary: 'walk', confidence: 'low' },
      update_alert_status: { alert_uuid: seeded.alertUuid, status: 'Triaging' },
      update_alert_malice: { alert_uuid: seeded.alertUuid, malice: null },
      update_indicator_malice: { indicator_uuid: seeded.indicator.uuid, malice: null },
      search_detection_rules: {},
      list_workflows: {},
      execute_workflow: {
        workflow_uuid: seeded.workflowUuid,
        indicator_type: seeded.indicator.type,
        indicator_value: seeded.indicator.value,
        reason: 'scope walk',
        confidence: 0.5,
      },
      enrich_indicator: { indicator_uuid: seeded.indicator.uuid },
      get_metrics: {},
    };
    // Every listed tool is walked (a new tool without arguments here fails this line).
    expect(tools.map((t) => t.name).sort()).toEqual(Object.keys(args).sort());

    const instance: Record<string, string> = {
      alert: `calseta://alerts/${seeded.alertUuid}`,
      'alert-context': `calseta://alerts/${seeded.alertUuid}/context`,
      'alert-activity': `calseta://alerts/${seeded.alertUuid}/activity`,
      'detection-rule': `calseta://detection-rules/${seeded.ruleUuid}`,
      'context-document': `calseta://context-documents/${seeded.documentUuid}`,
      workflow: `calseta://workflows/${seeded.workflowUuid}`,
      enrichment: `calseta://enrichments/${seeded.indicator.type}/${encodeURIComponent(seeded.indicator.value)}`,
    };
    const statics = (await admin.listResources()).resources.filter((r) => !/[0-9a-f]{8}-[0-9a-f]{4}/.test(r.uri));
    const templates = (await admin.listResourceTemplates()).resourceTemplates;
    expect(templates.map((t) => t.name).sort()).toEqual(Object.keys(instance).sort());
    const resources = [
      ...statics.map((r) => ({ uri: r.uri, permissions: requirementOf(r.uri, r._meta) })),
      ...templates.map((t) => ({
        uri: instance[t.name] as string,
        permissions: requirementOf(t.uriTemplate, t._meta),
      })),
    ];
    expect(resources.length).toBe(13);

    const mismatches: string[] = [];
    for (const scope of SCOPES) {
      const client = await connect(open, (await keyWith([scope])).key);
      for (const tool of tools) {
        const allowed = grants(scope, requirementOf(tool.name, tool._meta));
        const result = await client.callTool({ name: tool.name, arguments: args[tool.name] });
        const refused = result.isError === true && /^FORBIDDEN/.test(text(result));
        const succeeded = !result.isError;
        if (allowed ? !succeeded : !refused) {
          mismatches.push(
            `${scope} × tool ${tool.name}: ${allowed ? 'should succeed' : 'should be FORBIDDEN'}, got ${text(result).slice(0, 120)}`,
          );
        }
      }
      for (const resource of resources) {
        const allowed = grants(scope, resource.permissions);
        const outcome = await client.readResource({ uri: resource.uri }).then(
          () => 'read',
          (error: Error) => (/FORBIDDEN/.test(error.message) ? 'forbidden' : error.message),
        );
        if (outcome !== (allowed ? 'read' : 'forbidden')) {
          mismatches.push(
            `${scope} × resource ${resource.uri}: expected ${allowed ? 'read' : 'forbidden'}, got ${outcome}`,
          );
        }
      }
      await client.close();
    }
    expect(mismatches).toEqual([]);
  });

  it("a tools/call on another key's session id runs as the caller, never through that session", async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const init = await rpc(open, adminKey, {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
    });
    const sessionId = String(init.headers.get('mcp-session-id'));
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    await rpc(open, adminKey, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': sessionId });

    const { key: reader } = await keyWith(['alerts:read']);
    const stolen = await rpc(
      open,
      reader,
      call('post_alert_finding', {
        alert_uuid: seeded.alertUuid,
        summary: 'through a stolen session',
        confidence: 'high',
      }),
      { 'mcp-session-id': sessionId },
    );
    const result = ((await stolen.json()) as { result: unknown }).result;
    expect(text(result)).toMatch(/^FORBIDDEN/); // the reader's own scopes, not the admin's session
    const findings = await deps.db
      .selectFrom('alerts')
      .select('agent_findings')
      .where('uuid', '=', seeded.alertUuid)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(findings)).not.toContain('through a stolen session');
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(new URL('/mcp', open), {
        method,
        headers: { ...headers, authorization: `Bearer ${reader}`, 'mcp-session-id': sessionId },
      });
      expect(response.status, method).toBe(404);
    }
    // The owner's session is still there and still the owner's.
    const own = await rpc(
      open,
      adminKey,
      { jsonrpc: '2.0', id: 3, method: 'tools/list' },
      { 'mcp-session-id': sessionId },
    );
    expect(own.status).toBe(200);
    expect(own.headers.get('mcp-session-id')).toBe(sessionId);
  });
});

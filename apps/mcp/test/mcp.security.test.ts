/**
 * Audit findings on the MCP server (docs/security.md, "Audit findings (2026-12)"):
 * - MCP had no rate limit and no body cap, took the raw socket address as the client IP, and its
 *   writes left no `api_write` audit row: it now goes through core's gate like REST.
 * - The scope walk covered 2 of 11 tools: every tool and resource is walked × every scope here,
 *   the required scopes derived from core's one permission table, and a key presenting another
 *   key's session id never acts through that session.
 */
import {
  contextFor,
  correlateAlerts,
  createContextDocument,
  createWorkflow,
  PERMISSIONS,
  type Permission,
  parseTrustedProxies,
  SYSTEM,
} from '@calseta/core';
import { SCOPES, type Scope } from '@calseta/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, fixture, type McpKit, rpc, startMcpKit, text } from './kit.js';

const NIL_UUID = '00000000-0000-4000-8000-000000000000';
const BODY_CAP = 4096;

let kit: McpKit;
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
  incidentUuid: string;
};

const keyWith = (scopes: Scope[]) => kit.key(scopes);
const connect = (base: URL, key: string) => kit.connect(base, key);

beforeAll(async () => {
  kit = await startMcpKit();
  const { deps } = kit;
  open = await kit.serve();
  limited = await kit.serve({
    security: {
      rateLimits: {
        limits: { authenticated: 3, ingest: 0, enrichment: 0, workflow_execute: 1, unauthenticated: 2 },
        // An hour-long window: a test never straddles a window boundary.
        windowSeconds: 3600,
      },
      trustedProxies: parseTrustedProxies('127.0.0.1'),
    },
    maxBodyBytes: BODY_CAP,
  });
  adminKey = kit.core.adminKey;

  const ctx = contextFor(deps, SYSTEM);
  const alert = await kit.ingest('elastic', fixture('elastic_alert.json'));
  seeded.alertUuid = alert.uuid;
  seeded.indicator = await kit.deps.db
    .selectFrom('alert_indicators')
    .innerJoin('indicators', 'indicators.id', 'alert_indicators.indicator_id')
    .select(['indicators.uuid', 'indicators.type', 'indicators.value'])
    .where('alert_indicators.alert_id', '=', alert.id)
    .orderBy('indicators.id')
    .executeTakeFirstOrThrow();
  seeded.ruleUuid = (
    await kit.deps.db
      .selectFrom('alerts')
      .innerJoin('detection_rules', 'detection_rules.id', 'alerts.detection_rule_id')
      .select('detection_rules.uuid')
      .where('alerts.id', '=', alert.id)
      .executeTakeFirstOrThrow()
  ).uuid;
  // Two alerts on one account: correlation groups them into an incident (issue 23).
  const related = [
    await kit.ingest('generic', { title: 'Sign-in from a new country', severity: 'Low', user: 'walk@contoso.com' }),
    await kit.ingest('generic', { title: 'MFA method added', severity: 'Medium', user: 'walk@contoso.com' }),
  ];
  const { changes } = await correlateAlerts(
    ctx,
    related.map((a) => a.id),
  );
  seeded.incidentUuid = changes[0]?.incidentUuid as string;
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
  await kit?.close();
});

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
    const bucket = await kit.deps.db
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

  it('classes a live enrich_indicator as REST classes POST /v1/enrichments (enrichment), a stored one as authenticated', async () => {
    const base = await kit.serve({
      security: {
        rateLimits: {
          limits: { authenticated: 0, ingest: 0, enrichment: 1, workflow_execute: 0, unauthenticated: 0 },
          windowSeconds: 3600,
        },
      },
    });
    const { key, prefix } = await keyWith(['enrichments:read']);
    const live = call('enrich_indicator', { type: 'ip', value: '198.51.100.7', live: true });
    expect((await rpc(base, key, live)).status).toBe(200);
    expect((await rpc(base, key, live)).status).toBe(429);
    const stored = call('enrich_indicator', { type: 'ip', value: '198.51.100.7' });
    expect((await rpc(base, key, stored)).status).toBe(200);
    const buckets = await kit.deps.db
      .selectFrom('rate_limit_buckets')
      .select(['bucket', 'count'])
      .where('bucket', 'like', `%:key:${prefix}`)
      .execute();
    expect(buckets).toEqual([{ bucket: `enrichment:key:${prefix}`, count: 2 }]);
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
    const audited = await kit.deps.db
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
    const rows = await kit.deps.db
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

describe('refusals inside MCP are classified and audited as REST classifies them (core gate)', () => {
  /** The newest `n` auth_failed rows, oldest first. */
  async function lastFailures(n: number) {
    const rows = await kit.deps.db
      .selectFrom('activity_events')
      .select(['actor_key_prefix', 'references'])
      .where('event_type', '=', 'auth_failed')
      .orderBy('id', 'desc')
      .limit(n)
      .execute();
    return rows.reverse();
  }

  it("a tool, resource or subscription outside the key's scopes is an insufficient_scope auth failure", async () => {
    const { key, prefix } = await keyWith(['workflows:read']);
    const tool = await rpc(
      open,
      key,
      call('post_alert_finding', { alert_uuid: seeded.alertUuid, summary: 'refused', confidence: 'low' }),
    );
    expect(text(((await tool.json()) as { result: unknown }).result)).toMatch(/^FORBIDDEN/);
    const read = await rpc(open, key, {
      jsonrpc: '2.0',
      id: 2,
      method: 'resources/read',
      params: { uri: `calseta://alerts/${seeded.alertUuid}` },
    });
    expect(((await read.json()) as { error: { message: string } }).error.message).toMatch(/FORBIDDEN/);
    const client = await connect(open, key);
    await expect(client.subscribeResource({ uri: 'calseta://alerts' })).rejects.toThrow(/FORBIDDEN/);

    const refusal = (route: string, scopes: string[]) => ({
      actor_key_prefix: prefix,
      references: expect.objectContaining({
        reason: 'insufficient_scope',
        code: 'FORBIDDEN',
        route,
        required_scopes: scopes,
        client_ip: '127.0.0.1',
      }),
    });
    expect(await lastFailures(3)).toEqual([
      refusal('mcp tools/call post_alert_finding', ['alerts:write']),
      refusal('mcp resources/read alert', ['alerts:read']),
      refusal('mcp resources/subscribe', ['alerts:read']),
    ]);
  });

  it("the header's shape says invalid_format or invalid_key, as for REST", async () => {
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    const cases = [
      ['Basic dXNlcjpwYXNz', 'invalid_format'],
      ['Bearer cai_short', 'invalid_format'],
      [`Bearer cai_${'q'.repeat(43)}`, 'invalid_key'],
    ] as const;
    for (const [authorization] of cases) {
      expect((await rpc(open, null, list, { authorization })).status).toBe(401);
    }
    const rows = await lastFailures(cases.length);
    expect(rows.map((row) => (row.references as { reason: string }).reason)).toEqual(cases.map(([, reason]) => reason));
    expect(rows.map((row) => row.actor_key_prefix)).toEqual([null, 'cai_shor', 'cai_qqqq']);
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
      search_incidents: {},
      get_incident: { incident_uuid: seeded.incidentUuid },
      post_incident_finding: { incident_uuid: seeded.incidentUuid, summary: 'walk', confidence: 'low' },
      update_incident_status: { incident_uuid: seeded.incidentUuid, status: 'Triaging' },
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
      incident: `calseta://incidents/${seeded.incidentUuid}`,
      'incident-timeline': `calseta://incidents/${seeded.incidentUuid}/timeline`,
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
    expect(resources.length).toBe(16);

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
    const findings = await kit.deps.db
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

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mockProviderEnv, startTokenIntel, type TokenIntelServer } from '@calseta/mock-providers';
import { SCOPES, type Scope } from '@calseta/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

// Audit finding (issue 15, Critical): multi-step providers kept every step's body as the indicator's
// raw result, and `GET /v1/indicators/{uuid}` handed Entra's `access_token` to a read-only agent key.
// Here: every builtin provider (over the mock providers) and a runtime JSON provider with a token step
// (created over REST, against a real token-issuing server) enrich real indicators; then every non-admin
// key reads every GET route of the OpenAPI document (path parameters filled with real uuids), the
// on-demand enrichment, the indicator PATCH, and the agent webhook payload. No credential value and no
// JWT-shaped string may appear in any body.

const JWT_SHAPED = /eyJ[A-Za-z0-9_-]{7,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/;
const NIL_UUID = '00000000-0000-4000-8000-000000000000';

const INDICATORS = [
  { type: 'ip', value: '185.220.101.32' },
  { type: 'domain', value: 'evil.example.com' },
  { type: 'hash_sha256', value: 'de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c' },
  { type: 'account', value: 'r.chen@contoso.com' },
  { type: 'email', value: 'j.martinez@contoso.com' },
];

interface AgentEndpoint {
  url: string;
  host: string;
  bodies: string[];
  next(): Promise<string>;
  close(): Promise<void>;
}

/** An agent's webhook endpoint that records what it is sent. */
async function startAgentEndpoint(): Promise<AgentEndpoint> {
  const bodies: string[] = [];
  const waiting: Array<(body: string) => void> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      bodies.push(body);
      res.end('{}');
      waiting.shift()?.(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    host: `127.0.0.1:${port}`,
    bodies,
    next: () => new Promise((resolve) => waiting.push(resolve)),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let h: Harness;
let intel: TokenIntelServer;
let agent: AgentEndpoint;
let alertUuid: string;
let webhookBody: string;
/** Every credential value the providers were configured with or issued. */
let credentials: string[];

function leaks(body: unknown): string[] {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const found = credentials.filter((c) => text.includes(c));
  const jwt = JWT_SHAPED.exec(text);
  if (jwt) found.push(`JWT-shaped ${jwt[0].slice(0, 24)}…`);
  return found;
}

beforeAll(async () => {
  intel = await startTokenIntel();
  agent = await startAgentEndpoint();
  h = await createHarness({ mockProviders: true, dedupWindowHours: 0, allowHosts: [intel.host, agent.host] });
  h.deps.config.agentDispatch = { retryBaseSeconds: 0 };

  const created = await h.request('POST', '/v1/enrichment-providers', { json: intel.provider() });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const mapped = await h.request('POST', '/v1/enrichment-field-extractions/bulk', {
    json: { extractions: intel.extractions() },
  });
  expect(mapped.status, JSON.stringify(mapped.body)).toBe(201);
  const registered = await h.request('POST', '/v1/agents', {
    json: { name: 'reader-agent', endpoint_url: agent.url },
  });
  expect(registered.status, JSON.stringify(registered.body)).toBe(201);
  await h.startWorker();

  const enriched = h.nextJob((o) => o.name === 'enrich-alert');
  const delivered = agent.next();
  const res = await h.request('POST', '/v1/ingest/generic', {
    json: {
      title: 'Credential probe',
      severity: 'high',
      rule_name: 'Credential probe rule',
      indicators: INDICATORS,
    },
  });
  expect(res.status).toBe(202);
  alertUuid = res.body.data.alert_uuid;
  expect((await enriched).state).toBe('completed');
  webhookBody = await delivered;
  // A second alert with the same indicators: correlation puts both in an incident, which is probed too.
  const again = h.nextJob((o) => o.name === 'enrich-alert');
  const second = await h.request('POST', '/v1/ingest/generic', {
    json: { title: 'Credential probe, again', severity: 'high', indicators: INDICATORS },
  });
  expect(second.status).toBe(202);
  expect((await again).state).toBe('completed');

  const env = mockProviderEnv(h.mock as NonNullable<Harness['mock']>);
  credentials = [
    env.VIRUSTOTAL_API_KEY,
    env.ABUSEIPDB_API_KEY,
    env.OKTA_API_TOKEN,
    env.ENTRA_CLIENT_SECRET,
    intel.clientSecret,
    ...intel.issued,
  ].filter((c): c is string => typeof c === 'string' && c !== '');
});

afterAll(async () => {
  await h?.close();
  await intel?.close();
  await agent?.close();
});

describe('provider credentials are never readable by a non-admin key', () => {
  it('every provider really answered (with its authentication steps) before anything is read', async () => {
    const rows = await h.query<{ type: string; results: Record<string, { status: string }> }>(
      `SELECT i.type, i.enrichment_results AS results FROM indicators i
       JOIN alert_indicators ai ON ai.indicator_id = i.id JOIN alerts a ON a.id = ai.alert_id WHERE a.uuid = $1`,
      [alertUuid],
    );
    const answered = new Set(
      rows.flatMap((r) =>
        Object.entries(r.results ?? {})
          .filter(([, result]) => result.status === 'success')
          .map(([name]) => name),
      ),
    );
    expect([...answered].sort()).toEqual(['abuseipdb', 'entra', 'okta', 'token_intel', 'virustotal']);
    // The token steps ran: Entra's mock and the intel server issued tokens that were then used.
    expect(intel.issued.length).toBeGreaterThan(0);
    expect(h.mock?.stats().byEndpoint['entra POST /{tenant}/oauth2/v2.0/token']).toBeGreaterThan(0);
    // And nothing of them is stored.
    const stored = await h.query<{ text: string }>(
      "SELECT coalesce(string_agg(enrichment_results::text, ''), '') AS text FROM indicators",
    );
    expect(leaks(stored[0]?.text)).toEqual([]);
    const cached = await h.query<{ text: string }>(
      "SELECT coalesce(string_agg(result::text || coalesce(raw::text, ''), ''), '') AS text FROM enrichment_cache",
    );
    expect(cached[0]?.text).not.toBe('');
    expect(leaks(cached[0]?.text)).toEqual([]);
  });

  it('every GET route, for every non-admin scope, with real uuids', async () => {
    const doc = (await h.request('GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string; required?: boolean }> }>>;
    };
    const firstUuid = async (table: string) =>
      (await h.query<{ uuid: string }>(`SELECT uuid::text FROM ${table} ORDER BY id LIMIT 1`))[0]?.uuid ?? NIL_UUID;
    const allUuids = async (table: string) =>
      (await h.query<{ uuid: string }>(`SELECT uuid::text FROM ${table} ORDER BY id`)).map((r) => r.uuid);
    const candidates: Record<string, (path: string) => Promise<string[]>> = {
      alert_uuid: async () => [alertUuid],
      indicator_uuid: () => allUuids('indicators'),
      provider_uuid: () => allUuids('enrichment_providers'),
      extraction_uuid: async () => [await firstUuid('enrichment_field_extractions')],
      rule_uuid: async () => [await firstUuid('detection_rules')],
      doc_uuid: async () => [await firstUuid('context_documents')],
      version: async () => ['1'],
      run_uuid: async (path) => [await firstUuid(path.startsWith('/v1/agent-runs') ? 'agent_runs' : 'workflow_runs')],
      agent_uuid: async () => [await firstUuid('agent_registrations')],
      key_uuid: async () => [await firstUuid('api_keys')],
      mapping_uuid: async () => [await firstUuid('indicator_field_mappings')],
      source_uuid: async () => [await firstUuid('source_integrations')],
      approval_uuid: async () => [await firstUuid('workflow_approval_requests')],
      workflow_uuid: async () => [await firstUuid('workflows')],
      incident_uuid: async () => {
        const incidents = await allUuids('incidents');
        expect(incidents.length).toBeGreaterThan(0);
        return incidents;
      },
      source_name: async () => ['generic'],
      name: async () => ['probe'],
    };

    const urls: string[] = [];
    const unknown: string[] = [];
    for (const [template, operations] of Object.entries(doc.paths)) {
      if (operations.get === undefined) continue;
      let expanded = [template];
      for (const param of template.match(/\{[a-z_]+\}/g) ?? []) {
        const name = param.slice(1, -1);
        const values = candidates[name];
        if (values === undefined) {
          unknown.push(`${template}: ${name}`);
          continue;
        }
        const options = await values(template);
        expanded = expanded.flatMap((url) => options.map((value) => url.replace(param, value)));
      }
      urls.push(...expanded);
    }
    // A new path parameter must be given real values here, or this walk would quietly skip it.
    expect(unknown).toEqual([]);

    const keys = await Promise.all(
      [...SCOPES.filter((s) => s !== 'admin').map((s) => [s]), SCOPES.filter((s) => s !== 'admin')].map(
        async (scopes) => ({ scopes, key: await h.createKey({ scopes: scopes as Scope[], key_type: 'agent' }) }),
      ),
    );
    const found: string[] = [];
    let readable = 0;
    for (const { scopes, key } of keys) {
      for (const url of urls) {
        const res = await h.request('GET', url, { key });
        if (res.status === 200) readable += 1;
        for (const leak of leaks(res.body)) found.push(`${scopes.join('+')} GET ${url} → ${res.status}: ${leak}`);
      }
    }
    expect(found).toEqual([]);
    // The walk reached the routes that hold provider results.
    const reader = keys.find((k) => k.scopes.length === 1 && k.scopes[0] === 'alerts:read')?.key;
    for (const uuid of await allUuids('indicators')) {
      const res = await h.request('GET', `/v1/indicators/${uuid}`, { key: reader });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body.data.enrichment_results ?? {}).length).toBeGreaterThan(0);
    }
    expect(readable).toBeGreaterThan(urls.length);
  });

  it('on-demand enrichment (enrichments:read) returns no credential', async () => {
    const key = await h.createKey({ scopes: ['enrichments:read'], key_type: 'agent' });
    for (const indicator of INDICATORS) {
      for (const bypass_cache of [false, true]) {
        const res = await h.request('POST', '/v1/enrichments', { key, json: { ...indicator, bypass_cache } });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(leaks(res.body), `${indicator.type} bypass_cache=${bypass_cache}`).toEqual([]);
      }
    }
  });

  it('the indicator PATCH response returns no credential', async () => {
    const key = await h.createKey({ scopes: ['alerts:write'], key_type: 'agent' });
    const uuids = await h.query<{ uuid: string }>('SELECT uuid::text FROM indicators ORDER BY id');
    for (const { uuid } of uuids) {
      const res = await h.request('PATCH', `/v1/indicators/${uuid}`, { key, json: { malice: 'Suspicious' } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(Object.keys(res.body.data.enrichment_results ?? {}).length).toBeGreaterThan(0);
      expect(leaks(res.body)).toEqual([]);
    }
  });

  it('the agent webhook payload carries no credential', () => {
    expect(webhookBody).toContain('r.chen@contoso.com');
    expect(leaks(webhookBody)).toEqual([]);
  });
});

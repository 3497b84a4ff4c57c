import { randomBytes } from 'node:crypto';
import { contextFor, createApiKey, createEnrichmentProvider, createFieldExtractions, SYSTEM } from '@calseta/core';
import { startTokenIntel, type TokenIntelServer } from '@calseta/mock-providers';
import { type ExtractionCreateInput, type ProviderCreateInput, SCOPES, type Scope } from '@calseta/schema';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type McpKit, startMcpKit } from './kit.js';

// Audit finding (issue 15, Critical), over MCP: every resource and every tool that reads, for every
// non-admin scope, after every builtin provider (mock providers) and a runtime JSON provider with a
// token step (a real token-issuing server) enriched real indicators. No credential value and no
// JWT-shaped string may appear in anything MCP returns. The REST side is
// apps/api/test/credentials.security.test.ts.

const JWT_SHAPED = /eyJ[A-Za-z0-9_-]{7,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/;
/** Tools that change state other than an indicator's verdict: not called here (they return no provider body). */
const WRITERS = [
  'execute_workflow',
  'post_alert_finding',
  'update_alert_malice',
  'update_alert_status',
  'post_incident_finding',
  'update_incident_status',
];

const INDICATORS = [
  { type: 'ip', value: '185.220.101.32' },
  { type: 'domain', value: 'evil.example.com' },
  { type: 'hash_sha256', value: 'de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c' },
  { type: 'account', value: 'r.chen@contoso.com' },
  { type: 'email', value: 'j.martinez@contoso.com' },
] as const;

let kit: McpKit;
let intel: TokenIntelServer;
let base: URL;
let alertUuid: string;
let credentials: string[];

function leaks(body: unknown): string[] {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const found = credentials.filter((c) => text.includes(c));
  const jwt = JWT_SHAPED.exec(text);
  if (jwt) found.push(`JWT-shaped ${jwt[0].slice(0, 24)}…`);
  return found;
}

const connect = (key: string): Promise<Client> => kit.connect(base, key);

beforeAll(async () => {
  intel = await startTokenIntel();
  kit = await startMcpKit({
    mockProviders: true,
    allowHosts: [intel.host],
    config: { dedupWindowHours: 0, encryptionKey: randomBytes(32).toString('base64') },
  });
  const ctx = contextFor(kit.deps, SYSTEM);
  await createEnrichmentProvider(ctx, intel.provider() as ProviderCreateInput);
  // Its extractions include the request metadata the API echoes (an Authorization header).
  await createFieldExtractions(ctx, { extractions: intel.extractions() as ExtractionCreateInput[] });
  alertUuid = (
    await kit.ingest(
      'generic',
      {
        title: 'Credential probe',
        severity: 'high',
        rule_name: 'Credential probe rule',
        indicators: INDICATORS,
      },
      { enrich: true },
    )
  ).uuid;
  // A second alert with the same indicators: correlation puts both in an incident, which is probed too.
  await kit.ingest(
    'generic',
    { title: 'Credential probe, again', severity: 'high', indicators: INDICATORS },
    { enrich: true },
  );
  base = await kit.serve();

  const env = kit.providerEnv;
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
  await kit?.close();
  await intel?.close();
});

describe('provider credentials are never readable over MCP by a non-admin key', () => {
  it('the providers answered with their token steps (the probe has something to find)', async () => {
    const rows = await kit.deps.db.selectFrom('indicators').select(['enrichment_results']).execute();
    const answered = new Set(
      rows.flatMap((r) =>
        Object.entries((r.enrichment_results ?? {}) as Record<string, { status: string }>)
          .filter(([, result]) => result.status === 'success')
          .map(([name]) => name),
      ),
    );
    expect([...answered].sort()).toEqual(['abuseipdb', 'entra', 'okta', 'token_intel', 'virustotal']);
    expect(intel.issued.length).toBeGreaterThan(0);
  });

  it('every resource and every reading tool, for every non-admin scope', async () => {
    const ids = async (table: 'indicators' | 'detection_rules' | 'context_documents' | 'workflows' | 'incidents') =>
      (await kit.deps.db.selectFrom(table).select('uuid').orderBy('id').execute()).map((r) => r.uuid);
    const indicatorUuids = await ids('indicators');
    const incidentUuids = await ids('incidents');
    expect(incidentUuids.length).toBeGreaterThan(0);
    const fill: Record<string, () => Promise<string[]>> = {
      'calseta://alerts/{uuid}': async () => [`calseta://alerts/${alertUuid}`],
      'calseta://alerts/{uuid}/context': async () => [`calseta://alerts/${alertUuid}/context`],
      'calseta://alerts/{uuid}/activity': async () => [`calseta://alerts/${alertUuid}/activity`],
      'calseta://detection-rules/{uuid}': async () =>
        (await ids('detection_rules')).map((u) => `calseta://detection-rules/${u}`),
      'calseta://context-documents/{uuid}': async () =>
        (await ids('context_documents')).map((u) => `calseta://context-documents/${u}`),
      'calseta://workflows/{uuid}': async () => (await ids('workflows')).map((u) => `calseta://workflows/${u}`),
      'calseta://incidents/{uuid}': async () => (await ids('incidents')).map((u) => `calseta://incidents/${u}`),
      'calseta://incidents/{uuid}/timeline': async () =>
        (await ids('incidents')).map((u) => `calseta://incidents/${u}/timeline`),
      'calseta://enrichments/{type}/{value}': async () =>
        INDICATORS.map((i) => `calseta://enrichments/${i.type}/${encodeURIComponent(i.value)}`),
    };
    const calls: Array<[string, Record<string, unknown>]> = [
      ['search_alerts', {}],
      ['search_incidents', {}],
      ...incidentUuids.map((uuid): [string, Record<string, unknown>] => ['get_incident', { incident_uuid: uuid }]),
      ['get_alert_context', { alert_uuid: alertUuid }],
      ['get_alert_context', { alert_uuid: alertUuid, detail: 'full' }],
      ['search_detection_rules', {}],
      ['list_workflows', {}],
      ['get_metrics', {}],
      ...indicatorUuids.map((uuid): [string, Record<string, unknown>] => [
        'enrich_indicator',
        { indicator_uuid: uuid },
      ]),
      ...INDICATORS.flatMap(
        (i): Array<[string, Record<string, unknown>]> => [
          ['enrich_indicator', { type: i.type, value: i.value }],
          ['enrich_indicator', { type: i.type, value: i.value, live: true }],
          ['enrich_indicator', { type: i.type, value: i.value, live: true, bypass_cache: true }],
        ],
      ),
      ...indicatorUuids.map((uuid): [string, Record<string, unknown>] => [
        'update_indicator_malice',
        { indicator_uuid: uuid, malice: 'Suspicious' },
      ]),
    ];

    const scopeSets = [...SCOPES.filter((s) => s !== 'admin').map((s) => [s]), SCOPES.filter((s) => s !== 'admin')];
    const found: string[] = [];
    let answered = 0;
    for (const scopes of scopeSets) {
      const { key } = await createApiKey(contextFor(kit.deps, SYSTEM), {
        name: `probe-${scopes.join('+')}`,
        scopes: scopes as Scope[],
        key_type: 'agent',
      });
      const client = await connect(key);
      const label = scopes.join('+');

      // Every tool is either called here or a known writer: a new reading tool cannot go unwatched.
      const tools = (await client.listTools()).tools.map((t) => t.name);
      expect(tools.filter((t) => !WRITERS.includes(t) && !calls.some(([name]) => name === t))).toEqual([]);

      const uris = new Set<string>();
      for (const resource of (await client.listResources()).resources) uris.add(resource.uri);
      for (const template of (await client.listResourceTemplates()).resourceTemplates) {
        const expand = fill[template.uriTemplate];
        expect(expand, `no values for ${template.uriTemplate}`).toBeDefined();
        for (const uri of (await expand?.()) ?? []) uris.add(uri);
      }
      for (const uri of uris) {
        try {
          const result = await client.readResource({ uri });
          answered += 1;
          for (const leak of leaks(result)) found.push(`${label} read ${uri}: ${leak}`);
        } catch (error) {
          for (const leak of leaks(String(error))) found.push(`${label} read ${uri} (error): ${leak}`);
        }
      }
      for (const [name, args] of calls) {
        if (!tools.includes(name)) continue;
        const result = await client.callTool({ name, arguments: args });
        if (result.isError !== true) answered += 1;
        for (const leak of leaks(result)) found.push(`${label} ${name}(${JSON.stringify(args)}): ${leak}`);
      }
    }
    expect(found).toEqual([]);
    expect(answered).toBeGreaterThan(scopeSets.length * 5);
  });

  it('an alerts:read key reads every indicator with its provider results', async () => {
    const { key } = await createApiKey(contextFor(kit.deps, SYSTEM), {
      name: 'reader',
      scopes: ['alerts:read'],
      key_type: 'agent',
    });
    const client = await connect(key);
    for (const i of INDICATORS) {
      const result = await client.callTool({ name: 'enrich_indicator', arguments: { type: i.type, value: i.value } });
      expect(result.isError, JSON.stringify(result)).not.toBe(true);
      const indicator = (result.structuredContent as { indicator: { enrichment_results: Record<string, unknown> } })
        .indicator;
      expect(Object.keys(indicator.enrichment_results).length).toBeGreaterThan(0);
      // The echoed Authorization header reaches the result only redacted (by name, and in text).
      expect(indicator.enrichment_results.token_intel).toMatchObject({
        extracted: { request_seen: { authorization: '[REDACTED]', note: 'served for Bearer [REDACTED]' } },
      });
      expect(leaks(result)).toEqual([]);
    }
  });
});

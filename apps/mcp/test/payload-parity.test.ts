/**
 * Issue 17: the same agent payload goes out over REST, MCP and webhooks. REST (`GET
 * /v1/alerts/{uuid}/context`) is `getAlertContext`; webhooks build with `buildAlertPayload` (and
 * apps/api/test/dispatch.test.ts checks a delivered body equals the REST one); here MCP's tool and
 * resource are compared with both, for a case-study alert enriched by the mock providers.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import {
  buildAlertPayload,
  type CoreDeps,
  contextFor,
  createApiKey,
  createCore,
  createLogger,
  enrichAlert,
  extractAlertIndicators,
  getAlertContext,
  ingestAlert,
  JobQueue,
  parseAllowedHosts,
  providerEnvFrom,
  SYSTEM,
  seedSystemRows,
} from '@calseta/core';
import { createTestDatabase } from '@calseta/db/testing';
import { type MockProvidersServer, mockProviderEnv, startMockProviders } from '@calseta/mock-providers';
import { AgentPayloadSchema } from '@calseta/schema';
import { serve } from '@hono/node-server';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { McpSessions } from '../src/sessions.js';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let queue: JobQueue;
let mock: MockProvidersServer;
let deps: CoreDeps;
let sessions: McpSessions;
let server: ReturnType<typeof serve>;
let client: Client;
let alert: { uuid: string; id: number };

beforeAll(async () => {
  database = await createTestDatabase();
  const logger = createLogger({ service: 'test', level: 'silent' });
  queue = new JobQueue({ url: database.url, logger, supervise: false, maxConnections: 4 });
  await queue.start();
  mock = await startMockProviders();
  const providerEnv = mockProviderEnv(mock);
  deps = createCore({
    db: database.db,
    queue,
    logger,
    config: {
      dedupWindowHours: 24,
      webhookSecrets: {},
      outbound: { allowHosts: parseAllowedHosts(providerEnv.SSRF_ALLOWED_HOSTS) },
      enrichment: { providerEnv: providerEnvFrom(providerEnv) },
    },
  });
  await seedSystemRows(deps);
  sessions = new McpSessions();
  await sessions.start(deps);
  server = serve({ fetch: createApp(deps, sessions).fetch, hostname: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const { key } = await createApiKey(contextFor(deps, SYSTEM), { name: 'parity', scopes: ['alerts:read'] });

  const ctx = contextFor(deps, SYSTEM);
  const payload = JSON.parse(
    readFileSync(
      new URL('../../../packages/integrations/fixtures/04_sentinel_impossible_travel.json', import.meta.url),
      'utf8',
    ),
  );
  const { alert_uuid } = await ingestAlert(ctx, { sourceName: 'sentinel', payload });
  const row = await deps.db.selectFrom('alerts').select('id').where('uuid', '=', alert_uuid).executeTakeFirstOrThrow();
  await extractAlertIndicators(ctx, row.id);
  await enrichAlert(ctx, row.id);
  alert = { uuid: alert_uuid, id: row.id };

  client = new Client({ name: 'parity-test', version: '0.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL('/mcp', base), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
});

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await sessions.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await queue.stop();
  await deps.enrichment.close();
  await deps.agentFetch.close();
  await deps.workflowFetch.close();
  await deps.approvalFetch.close();
  await mock.close();
  await database.drop();
});

it('MCP (tool and resource), REST and webhooks serve the same payload, which the published schema describes', async () => {
  const rest = await getAlertContext(contextFor(deps, SYSTEM), alert.uuid);
  const webhook = await buildAlertPayload(contextFor(deps, SYSTEM), alert.id);
  expect(webhook).toEqual(rest);

  const tool = await client.callTool({ name: 'get_alert_context', arguments: { alert_uuid: alert.uuid } });
  expect(tool.isError).toBeFalsy();
  expect(tool.structuredContent).toEqual(rest);
  const resource = await client.readResource({ uri: `calseta://alerts/${alert.uuid}/context` });
  const [content] = resource.contents as { text: string }[];
  expect(JSON.parse(String(content?.text))).toEqual(rest);

  expect(AgentPayloadSchema.safeParse(rest).error).toBeUndefined();
  // The identity facts are there (not an empty shell that would trivially agree).
  const account = rest.indicators.find((i) => i.type === 'account');
  expect(account?.verdict).toBe('Context');
  expect(Object.keys(account?.providers ?? {})).toEqual(expect.arrayContaining(['okta', 'entra']));
});

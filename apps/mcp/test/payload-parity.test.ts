/**
 * Issue 17: the same agent payload goes out over REST, MCP and webhooks. REST (`GET
 * /v1/alerts/{uuid}/context`) is `getAlertContext`; webhooks build with `buildAlertPayload` (and
 * apps/api/test/dispatch.test.ts checks a delivered body equals the REST one); here MCP's tool and
 * resource are compared with both, for a case-study alert enriched by the mock providers.
 */
import { buildAlertPayload, contextFor, getAlertContext, SYSTEM } from '@calseta/core';
import { AgentPayloadSchema } from '@calseta/schema';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixture, type McpKit, startMcpKit } from './kit.js';

let kit: McpKit;
let client: Client;
let alert: { uuid: string; id: number };

beforeAll(async () => {
  kit = await startMcpKit({ mockProviders: true });
  const base = await kit.serve();
  const { key } = await kit.key(['alerts:read']);
  alert = await kit.ingest('sentinel', fixture('04_sentinel_impossible_travel.json'), { enrich: true });
  client = await kit.connect(base, key);
});

afterAll(async () => {
  await kit?.close();
});

it('MCP (tool and resource), REST and webhooks serve the same payload, which the published schema describes', async () => {
  const rest = await getAlertContext(contextFor(kit.deps, SYSTEM), { uuid: alert.uuid });
  const webhook = await buildAlertPayload(contextFor(kit.deps, SYSTEM), alert.id);
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

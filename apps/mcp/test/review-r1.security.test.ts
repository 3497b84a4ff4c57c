/**
 * Review R1 of "MCP goes through the same gate as REST" (issue 15): the gate counts one hit per HTTP
 * request, but the Streamable HTTP transport (SDK 1.x) serves a JSON-RPC batch of up to 100
 * messages in one POST — 100 `execute_workflow` calls for one `workflow_execute` hit. A batch is
 * refused (MCP 2025-06-18 dropped JSON-RPC batching), so one request is one counted message.
 */
import { contextFor, createApiKey, createWorkflow, SYSTEM } from '@calseta/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type McpKit, startMcpKit } from './kit.js';

let kit: McpKit;
let base: URL;
let workflowUuid: string;

beforeAll(async () => {
  kit = await startMcpKit();
  base = await kit.serve({
    security: {
      rateLimits: {
        limits: { authenticated: 5, ingest: 0, enrichment: 1, workflow_execute: 1, unauthenticated: 5 },
        windowSeconds: 3600,
      },
    },
  });
  workflowUuid = (
    await createWorkflow(contextFor(kit.deps, SYSTEM), {
      name: 'Unreviewed action',
      workflow_type: 'indicator',
      indicator_types: ['ip'],
      code: 'export async function run(ctx) {\n  return WorkflowResult.ok("done", {});\n}',
      state: 'active',
      approval_mode: 'never',
    })
  ).uuid;
});

afterAll(async () => {
  await kit?.close();
});

const execute = (id: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: {
    name: 'execute_workflow',
    arguments: { workflow_uuid: workflowUuid, indicator_type: 'ip', indicator_value: `198.51.100.${id}` },
  },
});

describe('a JSON-RPC batch does not multiply the rate-limit budget', () => {
  it('20 execute_workflow calls in one POST do not become 20 runs on a budget of 1 a window', async () => {
    const key = (
      await createApiKey(contextFor(kit.deps, SYSTEM), {
        name: 'batcher',
        scopes: ['workflows:execute'],
        key_type: 'human',
      })
    ).key;
    const response = await fetch(new URL('/mcp', base), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${key}`,
      },
      body: JSON.stringify(Array.from({ length: 20 }, (_, i) => execute(i + 1))),
    });
    await response.text();
    const runs = await kit.deps.db
      .selectFrom('workflow_runs')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(runs.n)).toBeLessThanOrEqual(1);
    expect(response.status).toBe(400);
  });
});

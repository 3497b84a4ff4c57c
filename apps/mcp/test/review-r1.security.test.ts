/**
 * Review R1 of "MCP goes through the same gate as REST" (issue 15): the gate counts one hit per HTTP
 * request, but the Streamable HTTP transport (SDK 1.x) serves a JSON-RPC batch of up to 100
 * messages in one POST — 100 `execute_workflow` calls for one `workflow_execute` hit. A batch is
 * refused (MCP 2025-06-18 dropped JSON-RPC batching), so one request is one counted message.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import {
  type CoreDeps,
  contextFor,
  createApiKey,
  createCore,
  createLogger,
  createWorkflow,
  JobQueue,
  SYSTEM,
  seedSystemRows,
} from '@calseta/core';
import { createTestDatabase } from '@calseta/db/testing';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { McpSessions } from '../src/sessions.js';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let queue: JobQueue;
let deps: CoreDeps;
let sessions: McpSessions;
let server: ReturnType<typeof serve>;
let base: URL;
let workflowUuid: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const logger = createLogger({ service: 'test', level: 'silent' });
  queue = new JobQueue({ url: database.url, logger, supervise: false, maxConnections: 4 });
  await queue.start();
  deps = createCore({ db: database.db, queue, logger, config: { dedupWindowHours: 24, webhookSecrets: {} } });
  await seedSystemRows(deps);
  sessions = new McpSessions();
  await sessions.start(deps);
  const app = createApp(deps, sessions, {
    security: {
      rateLimits: {
        limits: { authenticated: 5, ingest: 0, enrichment: 1, workflow_execute: 1, unauthenticated: 5 },
        windowSeconds: 3600,
      },
    },
  });
  server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  workflowUuid = (
    await createWorkflow(contextFor(deps, SYSTEM), {
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
  await sessions?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await queue?.stop();
  await deps?.enrichment.close();
  await deps?.agentFetch.close();
  await deps?.workflowFetch.close();
  await deps?.approvalFetch.close();
  await database?.drop();
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
      await createApiKey(contextFor(deps, SYSTEM), {
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
    const runs = await deps.db
      .selectFrom('workflow_runs')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(runs.n)).toBeLessThanOrEqual(1);
    expect(response.status).toBe(400);
  });
});

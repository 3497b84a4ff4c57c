/**
 * The MCP tests' one setup: a core on a fresh test database (`@calseta/core/testing`, first-party
 * integrations, seeded, queue started), optionally real (mock) providers, MCP apps served on random
 * ports, SDK clients over Streamable HTTP, raw JSON-RPC posts, and one `close()` for all of it.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import {
  type CoreConfig,
  type CoreDeps,
  contextFor,
  createApiKey,
  extractAlertIndicators,
  ingestAlert,
  parseAllowedHosts,
  processAlert,
  providerEnvFrom,
  SYSTEM,
} from '@calseta/core';
import { createTestCore, type TestCore } from '@calseta/core/testing';
import { firstParty } from '@calseta/integrations';
import { type MockProvidersServer, mockProviderEnv, startMockProviders } from '@calseta/mock-providers';
import type { ApiKeyCreate } from '@calseta/schema';
import { serve } from '@hono/node-server';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createApp, type McpAppOptions } from '../src/app.js';
import { McpSessions } from '../src/sessions.js';

export interface McpKitOptions {
  /** Start the mock providers and point core's builtin providers at them. */
  mockProviders?: boolean;
  /** More hosts outbound requests may reach besides the mock providers (e.g. a token-issuing server). */
  allowHosts?: string[];
  /** Merged over the kit's core configuration. */
  config?: Partial<CoreConfig>;
}

export interface McpKit {
  core: TestCore;
  deps: CoreDeps;
  /** Set with `mockProviders`. */
  mock: MockProvidersServer | undefined;
  /** The mock providers' environment (credentials, base URLs); empty without `mockProviders`. */
  providerEnv: Record<string, string>;
  /** Serve an MCP app (with its own sessions, started here) on a random port: its base URL. */
  serve(options?: McpAppOptions, sessions?: McpSessions): Promise<URL>;
  /** A new key with these scopes, and its public prefix. */
  key(scopes: ApiKeyCreate['scopes'], input?: Partial<ApiKeyCreate>): Promise<{ key: string; prefix: string }>;
  /** An SDK client over Streamable HTTP, closed by `close()`. */
  connect(base: URL, key: string): Promise<Client>;
  /** Ingest a payload as the system, extract its indicators and (with `enrich`) enrich it now. */
  ingest(sourceName: string, payload: unknown, options?: { enrich?: boolean }): Promise<{ uuid: string; id: number }>;
  close(): Promise<void>;
}

export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../../../packages/integrations/fixtures/${name}`, import.meta.url), 'utf8'));
}

export async function startMcpKit(options: McpKitOptions = {}): Promise<McpKit> {
  const mock = options.mockProviders ? await startMockProviders() : undefined;
  const providerEnv = mock ? mockProviderEnv(mock) : {};
  const core = await createTestCore({
    integrations: firstParty,
    startQueue: true,
    queueConnections: 4,
    seed: true,
    config: {
      ...(mock && {
        outbound: {
          allowHosts: [...parseAllowedHosts(providerEnv.SSRF_ALLOWED_HOSTS), ...(options.allowHosts ?? [])],
        },
        enrichment: { providerEnv: providerEnvFrom(providerEnv) },
      }),
      ...options.config,
    },
  }).catch(async (error: unknown) => {
    await mock?.close();
    throw error;
  });
  const { deps } = core;
  const sessions: McpSessions[] = [];
  const servers: ReturnType<typeof serve>[] = [];
  const clients: Client[] = [];

  return {
    core,
    deps,
    mock,
    providerEnv,
    async serve(appOptions, mcpSessions = new McpSessions()) {
      await mcpSessions.start(deps);
      sessions.push(mcpSessions);
      const server = serve({ fetch: createApp(deps, mcpSessions, appOptions).fetch, hostname: '127.0.0.1', port: 0 });
      servers.push(server);
      await once(server, 'listening');
      return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    },
    async key(scopes, input = {}) {
      const created = await createApiKey(contextFor(deps, SYSTEM), {
        name: `mcp ${scopes.join(',')}`,
        ...input,
        scopes,
      });
      return { key: created.key, prefix: created.key_prefix };
    },
    async connect(base, key) {
      const client = new Client({ name: 'calseta-test', version: '0.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL('/mcp', base), {
          requestInit: { headers: { authorization: `Bearer ${key}` } },
        }),
      );
      clients.push(client);
      return client;
    },
    async ingest(sourceName, payload, { enrich = false } = {}) {
      const ctx = contextFor(deps, SYSTEM);
      const { alert_uuid } = await ingestAlert(ctx, { sourceName, payload });
      const row = await deps.db
        .selectFrom('alerts')
        .select('id')
        .where('uuid', '=', alert_uuid)
        .executeTakeFirstOrThrow();
      await extractAlertIndicators(ctx, row.id);
      if (enrich) await processAlert(ctx, { alert_id: row.id, reason: 'manual' });
      return { uuid: alert_uuid, id: row.id };
    },
    async close() {
      for (const client of clients) await client.close().catch(() => undefined);
      for (const s of sessions) await s.close();
      for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
      await core.close();
      await mock?.close();
    },
  };
}

/** One JSON-RPC POST on /mcp, raw (`key` null: no Authorization header). */
export function rpc(base: URL, key: string | null, body: unknown, headers: Record<string, string> = {}) {
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

/** A tools/call message. */
export const call = (name: string, args: Record<string, unknown>, id = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

/** The text of a tool result's first content item. */
export function text(result: unknown): string {
  const [first] = ((result as { content?: unknown }).content ?? []) as { text?: string }[];
  return first?.text ?? '';
}

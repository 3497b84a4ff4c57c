import { type Permission, ServiceError } from '@calseta/core';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  type CallToolResult,
  ErrorCode,
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import {
  jsonContents,
  protocolError,
  type ResourceDefinition,
  requirementMeta,
  type ToolDefinition,
  toolError,
  toolResult,
  type Variables,
} from './define.js';
import type { Caller } from './gate.js';
import { portableSchema } from './portable-schema.js';
import { RESOURCES } from './resources/index.js';
import { TOOLS } from './tools/index.js';

export { errorMessage } from './define.js';

export const SERVER_NAME = 'Calseta';

const INSTRUCTIONS = [
  'Calseta is the data layer for security AI agents: alerts normalized, enriched and packaged with their context.',
  'Start with the `calseta://alerts` resource or `search_alerts`, then `get_alert_context` (the agent payload,',
  'fitted to `token_budget` tokens). Record conclusions with `post_alert_finding` and triage with `update_alert_status`.',
  '`enrich_indicator` returns stored results unless `live: true` is passed (live calls spend provider quota).',
  'Subscribe to `calseta://alerts` to be told when an alert has been enriched.',
].join(' ');

/**
 * What each tool and resource needs (declared in tools/ and resources/; core's scope table,
 * PERMISSIONS, says which scopes grant each). Checked before it runs — the verbs check again — and
 * published in `_meta` (`calseta/permissions`, `calseta/required_scopes`), as REST publishes
 * `x-required-scopes`.
 */
export const TOOL_PERMISSIONS: Readonly<Record<string, readonly Permission[]>> = Object.fromEntries(
  TOOLS.map((tool) => [tool.name, tool.permissions]),
);
export const RESOURCE_PERMISSIONS: Readonly<Record<string, readonly Permission[]>> = Object.fromEntries(
  RESOURCES.map((resource) => [resource.name, resource.permissions]),
);

export interface McpServerOptions {
  /**
   * The resource URIs this session is subscribed to. Given for sessions that can receive
   * notifications (stateful HTTP, SSE, stdio); the server then offers `resources/subscribe`.
   */
  subscriptions?: Set<string>;
}

/** Resources a client may subscribe to: the alert list, one alert, one alert's payload. */
const SUBSCRIBABLE = /^calseta:\/\/alerts(\/[^/]+(\/context)?)?$/;

/**
 * The MCP server for one caller: the tools of tools/ and the resources of resources/, each one
 * core verb. Every call re-authenticates and passes the caller's permission check (a refusal is
 * audited by core's gate); writes are audited; failures come back readable, never as a crash.
 */
export function buildMcpServer(caller: Caller, options: McpServerOptions = {}): McpServer {
  const server = new McpServer({ name: SERVER_NAME, version: '0.1.0' }, { instructions: INSTRUCTIONS });
  for (const resource of RESOURCES) registerResource(server, caller, resource);
  if (options.subscriptions) serveSubscriptions(server, caller, options.subscriptions);
  for (const tool of TOOLS) registerTool(server, caller, tool);
  listPortableSchemas(server);
  return server;
}

function registerTool(server: McpServer, caller: Caller, tool: ToolDefinition): void {
  const operation = `tools/call ${tool.name}`;
  const call = async (args: Record<string, unknown>): Promise<CallToolResult> => {
    try {
      const ctx = await caller.context();
      const refused = await caller.refusal(ctx, tool.permissions, operation);
      if (refused) return toolError(refused);
      const result = await tool.run(ctx, args);
      if (tool.writes) await caller.audit(ctx, operation, tool.writes(args));
      return toolResult(result);
    } catch (error) {
      return toolError(error);
    }
  };
  const { name, description, inputSchema, outputSchema, annotations } = tool;
  server.registerTool(
    name,
    { description, inputSchema, outputSchema, annotations, _meta: requirementMeta(tool.permissions) },
    call as never,
  );
}

function registerResource(server: McpServer, caller: Caller, resource: ResourceDefinition): void {
  const operation = `resources/read ${resource.name}`;
  const read = async (uri: URL, variables: Variables) => {
    try {
      const ctx = await caller.context();
      const refused = await caller.refusal(ctx, resource.permissions, operation);
      if (refused) throw refused;
      return jsonContents(uri, await resource.read(ctx, variables));
    } catch (error) {
      throw protocolError(error);
    }
  };
  const metadata = {
    description: resource.description,
    mimeType: 'application/json',
    _meta: requirementMeta(resource.permissions),
  };
  if (!resource.uri.includes('{')) {
    server.registerResource(resource.name, resource.uri, metadata, (uri) => read(uri, {}));
    return;
  }
  const { list } = resource;
  // A template's listing is empty (not an error) when the key may not read the collection.
  const listed = list
    ? async () => {
        try {
          const found = await list(await caller.context());
          return { resources: found.map((r) => ({ ...r, mimeType: 'application/json' })) };
        } catch (error) {
          if (error instanceof ServiceError) return { resources: [] };
          throw error;
        }
      }
    : undefined;
  server.registerResource(resource.name, new ResourceTemplate(resource.uri, { list: listed }), metadata, (uri, v) =>
    read(uri, v),
  );
}

function serveSubscriptions(server: McpServer, caller: Caller, subscriptions: Set<string>): void {
  server.server.registerCapabilities({ resources: { subscribe: true } });
  server.server.setRequestHandler(SubscribeRequestSchema, async ({ params }) => {
    if (!SUBSCRIBABLE.test(params.uri)) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Only calseta://alerts, calseta://alerts/{uuid} and calseta://alerts/{uuid}/context can be subscribed to.`,
      );
    }
    try {
      const refused = await caller.refusal(await caller.context(), ['alerts:read'], 'resources/subscribe');
      if (refused) throw refused;
    } catch (error) {
      throw protocolError(error);
    }
    subscriptions.add(params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async ({ params }) => {
    subscriptions.delete(params.uri);
    return {};
  });
}

type RequestHandler = (request: unknown, extra: unknown) => Promise<unknown>;

/**
 * Serve tools/list with portable schemas (`portableSchema`): the SDK's own listing, post-processed.
 * The SDK has no hook for its JSON Schema output, so its registered handler is wrapped.
 */
function listPortableSchemas(server: McpServer): void {
  const handlers = (server.server as unknown as { _requestHandlers: Map<string, RequestHandler> })._requestHandlers;
  const list = handlers.get('tools/list');
  if (!list) throw new Error('tools/list is not registered');
  handlers.set('tools/list', async (request, extra) => {
    const result = (await list(request, extra)) as { tools: Array<Record<string, unknown>> };
    return {
      ...result,
      tools: result.tools.map((tool) => ({
        ...tool,
        inputSchema: portableSchema(tool.inputSchema),
        ...(tool.outputSchema !== undefined && { outputSchema: portableSchema(tool.outputSchema) }),
      })),
    };
  });
}

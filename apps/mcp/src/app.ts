import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type AuthenticatedKey,
  type CoreDeps,
  type GateOptions,
  LIVE,
  probeReadiness,
  readinessStatus,
} from '@calseta/core';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { type Context, Hono } from 'hono';
import { admitRequest, type CallSite, callerFor, type Env, rpcError } from './gate.js';
import { buildMcpServer } from './server.js';
import { McpSessions } from './sessions.js';

export interface McpAppOptions {
  /** Rate limits and trusted proxies, as the API's (core's gate); absent = no rate limiting. */
  security?: GateOptions;
  /** Largest request body accepted (bytes); default 1 MiB. */
  maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY_BYTES = 1_048_576;

/**
 * The MCP endpoints:
 * - `POST/GET/DELETE /mcp` — Streamable HTTP. `initialize` opens a session (so the client can
 *   subscribe and receive notifications on `GET /mcp`); any other request is served on its own, so a
 *   request that reaches a replica without the session (or after it expired) still works.
 * - `GET /sse` + `POST /messages?sessionId=` — the legacy HTTP+SSE transport for older clients.
 * Every request passes core's gate like a REST request (gate.ts), and its body is read only after
 * the key is known, up to `maxBodyBytes`. A session only ever serves the key that opened it.
 */
export function createApp(
  deps: CoreDeps,
  sessions: McpSessions = new McpSessions(),
  options: McpAppOptions = {},
): Hono<Env> {
  const app = new Hono<Env>();
  const security = options.security ?? {};
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const admit = (c: Context<Env>) => admitRequest(c, deps, security, maxBodyBytes);
  /** A server for one client; its calls re-authenticate, so revocation and scope changes apply mid-session. */
  const serverFor = (site: CallSite, subscriptions?: Set<string>) =>
    buildMcpServer(callerFor(deps, security, site), subscriptions ? { subscriptions } : {});

  app.get('/health', (c) => c.json({ status: 'ok', service: 'mcp' }));
  // The probes, unauthenticated like /health (the same answers as on the ops port).
  app.get('/health/live', (c) => c.json(LIVE));
  app.get('/health/ready', async (c) => {
    const readiness = await probeReadiness(deps);
    return c.json(readiness, readinessStatus(readiness));
  });

  /** One request on a server and transport of its own (no session). */
  async function statelessRequest(c: Context<Env>, site: CallSite, parsedBody: unknown): Promise<Response> {
    const server = serverFor(site);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw, { parsedBody });
    } finally {
      // JSON responses are complete when handleRequest returns; nothing outlives the request.
      void server.close();
    }
  }

  async function openSession(
    c: Context<Env>,
    key: AuthenticatedKey,
    site: CallSite,
    parsedBody: unknown,
  ): Promise<Response> {
    const subscriptions = new Set<string>();
    const server = serverFor(site, subscriptions);
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) =>
        sessions.add({
          id,
          keyId: key.id,
          server,
          subscriptions,
          lastSeen: Date.now(),
          close: () => transport.close(),
          handleRequest: (request, parsed) => transport.handleRequest(request, { parsedBody: parsed }),
        }),
      onsessionclosed: (id) => sessions.remove(id),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.remove(transport.sessionId);
    };
    await server.connect(transport);
    return transport.handleRequest(c.req.raw, { parsedBody });
  }

  app.post('/mcp', async (c) => {
    const admitted = await admit(c);
    if (admitted instanceof Response) return admitted;
    const { key, body, site } = admitted;
    const sessionId = c.req.header('mcp-session-id');
    if (sessionId) {
      const handle = sessions.get(sessionId, key.id)?.handleRequest;
      return handle ? handle(c.req.raw, body) : statelessRequest(c, site, body);
    }
    return isInitializeRequest(body) ? openSession(c, key, site, body) : statelessRequest(c, site, body);
  });

  app.on(['GET', 'DELETE'], '/mcp', async (c) => {
    const admitted = await admit(c);
    if (admitted instanceof Response) return admitted;
    const sessionId = c.req.header('mcp-session-id');
    if (!sessionId) {
      // Without a session there is nothing to stream or end (the SDK client reads 405 as "no stream").
      c.header('Allow', 'POST');
      return rpcError(c, 405, -32000, 'Method not allowed without an Mcp-Session-Id: initialize a session first.');
    }
    const handle = sessions.get(sessionId, admitted.key.id)?.handleRequest;
    if (!handle) return rpcError(c, 404, -32001, 'Session not found: initialize a new one.');
    const response = await handle(c.req.raw);
    if (c.req.method === 'GET' && response.ok) sessions.emit('stream', sessionId);
    return response;
  });

  // ------------------------------------------------------------------ legacy HTTP+SSE
  const sseTransports = new Map<string, SSEServerTransport>();

  app.get('/sse', async (c) => {
    const admitted = await admit(c);
    if (admitted instanceof Response) return admitted;
    const { outgoing } = c.env;
    const transport = new SSEServerTransport('/messages', outgoing as ServerResponse);
    const subscriptions = new Set<string>();
    const server = serverFor({ ...admitted.site, path: '/messages' }, subscriptions);
    const id = transport.sessionId;
    sseTransports.set(id, transport);
    sessions.add({
      id,
      keyId: admitted.key.id,
      server,
      subscriptions,
      lastSeen: Date.now(),
      close: () => transport.close(),
    });
    transport.onclose = () => {
      sseTransports.delete(id);
      sessions.remove(id);
    };
    await server.connect(transport); // starts the event stream on `outgoing`
    sessions.emit('stream', id);
    return RESPONSE_ALREADY_SENT;
  });

  app.post('/messages', async (c) => {
    const admitted = await admit(c);
    if (admitted instanceof Response) return admitted;
    const id = c.req.query('sessionId') ?? '';
    const transport = sseTransports.get(id);
    if (!transport || !sessions.get(id, admitted.key.id)) {
      return rpcError(c, 404, -32001, 'Session not found: open a new stream on GET /sse.');
    }
    const { incoming, outgoing } = c.env;
    await transport.handlePostMessage(incoming as IncomingMessage, outgoing as ServerResponse, admitted.body);
    return RESPONSE_ALREADY_SENT;
  });

  app.onError((error, c) => {
    deps.logger.error({ err: error }, 'MCP request failed');
    return c.json({ error: { code: 'INTERNAL_ERROR', message: 'Internal server error.' } }, 500);
  });

  return app;
}

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type AuthenticatedKey,
  authenticate,
  type CoreDeps,
  contextFor,
  ERROR_STATUS,
  recordAuthFailure,
  ServiceError,
} from '@calseta/core';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { buildMcpServer, type ContextSource } from './server.js';
import { McpSessions } from './sessions.js';

type Env = { Bindings: HttpBindings };

/** Auth failures per client IP and minute that become audit rows (the log line is always written). */
const AUTH_FAILURE_AUDIT_CAP = 30;

/** A JSON-RPC error answered by this layer (before any transport sees the request). */
function rpcError(c: Context<Env>, status: ContentfulStatusCode, code: number, message: string): Response {
  return c.json({ jsonrpc: '2.0', error: { code, message }, id: null }, status);
}

/**
 * The MCP endpoints:
 * - `POST/GET/DELETE /mcp` — Streamable HTTP. `initialize` opens a session (so the client can
 *   subscribe and receive notifications on `GET /mcp`); any other request is served on its own, so a
 *   request that reaches a replica without the session (or after it expired) still works.
 * - `GET /sse` + `POST /messages?sessionId=` — the legacy HTTP+SSE transport for older clients.
 * Every request authenticates its bearer key; a session only ever serves the key that opened it.
 */
export function createApp(deps: CoreDeps, sessions: McpSessions = new McpSessions()): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/health', (c) => c.json({ status: 'ok', service: 'mcp' }));

  /** The caller's key, or the 401/403 answer to send. */
  async function caller(c: Context<Env>): Promise<AuthenticatedKey | Response> {
    try {
      return await authenticate(deps, c.req.header('authorization'));
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      const authorization = c.req.header('authorization');
      const reason = error.code === 'KEY_EXPIRED' ? 'key_expired' : authorization ? 'invalid_key' : 'missing_header';
      const clientIp = c.env?.incoming?.socket?.remoteAddress ?? 'unknown';
      deps.logger.warn(
        {
          event: 'auth_failure',
          reason,
          code: error.code,
          method: c.req.method,
          path: c.req.path,
          client_ip: clientIp,
        },
        error.message,
      );
      // Audited like REST failures: one statement, capped per client IP and minute.
      await recordAuthFailure(
        deps.db,
        {
          reason,
          code: error.code,
          method: c.req.method,
          route: `mcp ${c.req.path}`,
          path: c.req.path,
          clientIp,
          keyPrefix: /^Bearer\s+(cai_\S{4})/i.exec(authorization ?? '')?.[1] ?? null,
        },
        AUTH_FAILURE_AUDIT_CAP,
      ).catch((auditError: unknown) => deps.logger.error({ err: auditError }, 'could not record auth failure'));
      c.header('WWW-Authenticate', 'Bearer');
      return c.json(
        { error: { code: error.code, message: error.message } },
        (ERROR_STATUS[error.code] ?? 401) as ContentfulStatusCode,
      );
    }
  }

  /** Calls re-authenticate (through the key cache), so revocation and scope changes apply mid-session. */
  const contextOf =
    (authorization: string | undefined): ContextSource =>
    async () =>
      contextFor(deps, { type: 'mcp', key: await authenticate(deps, authorization) });

  /** One request on a server and transport of its own (no session). */
  async function statelessRequest(c: Context<Env>, parsedBody: unknown): Promise<Response> {
    const server = buildMcpServer(contextOf(c.req.header('authorization')));
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

  async function openSession(c: Context<Env>, key: AuthenticatedKey, parsedBody: unknown): Promise<Response> {
    const subscriptions = new Set<string>();
    const server = buildMcpServer(contextOf(c.req.header('authorization')), { subscriptions });
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
    const key = await caller(c);
    if (key instanceof Response) return key;
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return rpcError(c, 400, -32700, 'Parse error: the body is not JSON.');
    }
    const sessionId = c.req.header('mcp-session-id');
    if (sessionId) {
      const handle = sessions.get(sessionId, key.id)?.handleRequest;
      return handle ? handle(c.req.raw, body) : statelessRequest(c, body);
    }
    return isInitializeRequest(body) ? openSession(c, key, body) : statelessRequest(c, body);
  });

  app.on(['GET', 'DELETE'], '/mcp', async (c) => {
    const key = await caller(c);
    if (key instanceof Response) return key;
    const sessionId = c.req.header('mcp-session-id');
    if (!sessionId) {
      // Without a session there is nothing to stream or end (the SDK client reads 405 as "no stream").
      c.header('Allow', 'POST');
      return rpcError(c, 405, -32000, 'Method not allowed without an Mcp-Session-Id: initialize a session first.');
    }
    const handle = sessions.get(sessionId, key.id)?.handleRequest;
    if (!handle) return rpcError(c, 404, -32001, 'Session not found: initialize a new one.');
    const response = await handle(c.req.raw);
    if (c.req.method === 'GET' && response.ok) sessions.emit('stream', sessionId);
    return response;
  });

  // ------------------------------------------------------------------ legacy HTTP+SSE
  const sseTransports = new Map<string, SSEServerTransport>();

  app.get('/sse', async (c) => {
    const key = await caller(c);
    if (key instanceof Response) return key;
    const { outgoing } = c.env;
    const transport = new SSEServerTransport('/messages', outgoing as ServerResponse);
    const subscriptions = new Set<string>();
    const server = buildMcpServer(contextOf(c.req.header('authorization')), { subscriptions });
    const id = transport.sessionId;
    sseTransports.set(id, transport);
    sessions.add({ id, keyId: key.id, server, subscriptions, lastSeen: Date.now(), close: () => transport.close() });
    transport.onclose = () => {
      sseTransports.delete(id);
      sessions.remove(id);
    };
    await server.connect(transport); // starts the event stream on `outgoing`
    sessions.emit('stream', id);
    return RESPONSE_ALREADY_SENT;
  });

  app.post('/messages', async (c) => {
    const key = await caller(c);
    if (key instanceof Response) return key;
    const id = c.req.query('sessionId') ?? '';
    const transport = sseTransports.get(id);
    if (!transport || !sessions.get(id, key.id)) {
      return rpcError(c, 404, -32001, 'Session not found: open a new stream on GET /sse.');
    }
    const { incoming, outgoing } = c.env;
    await transport.handlePostMessage(incoming as IncomingMessage, outgoing as ServerResponse);
    return RESPONSE_ALREADY_SENT;
  });

  app.onError((error, c) => {
    deps.logger.error({ err: error }, 'MCP request failed');
    return c.json({ error: { code: 'INTERNAL_ERROR', message: 'Internal server error.' } }, 500);
  });

  return app;
}

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type AuthenticatedKey,
  admit,
  authenticate,
  type CoreDeps,
  clientIp,
  contextFor,
  ERROR_STATUS,
  type GateOptions,
  type RateLimitClass,
  ServiceError,
} from '@calseta/core';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { buildMcpServer, type ContextSource, rateLimitClassOfMessage } from './server.js';
import { McpSessions } from './sessions.js';

type Env = { Bindings: HttpBindings };

export interface McpAppOptions {
  /** Rate limits and trusted proxies, as the API's (core's gate); absent = no rate limiting. */
  security?: GateOptions;
  /** Largest request body accepted (bytes); default 1 MiB. */
  maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY_BYTES = 1_048_576;

/** A JSON-RPC error answered by this layer (before any transport sees the request). */
function rpcError(c: Context<Env>, status: ContentfulStatusCode, code: number, message: string): Response {
  return c.json({ jsonrpc: '2.0', error: { code, message }, id: null }, status);
}

/** The body as JSON, reading no more than `limit` bytes (streamed bytes count, not just Content-Length). */
async function readJson(request: Request, limit: number): Promise<unknown> {
  const tooLarge = () => new ServiceError('PAYLOAD_TOO_LARGE', `Request body exceeds ${limit} bytes.`);
  if (Number(request.headers.get('content-length') ?? 0) > limit) throw tooLarge();
  const reader = request.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const chunk = reader ? await reader.read() : { done: true as const, value: undefined };
    if (chunk.done) break;
    size += chunk.value.byteLength;
    if (size > limit) {
      await reader?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(chunk.value);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ServiceError('INVALID_JSON', 'Parse error: the body is not JSON.');
  }
}

/**
 * The MCP endpoints:
 * - `POST/GET/DELETE /mcp` — Streamable HTTP. `initialize` opens a session (so the client can
 *   subscribe and receive notifications on `GET /mcp`); any other request is served on its own, so a
 *   request that reaches a replica without the session (or after it expired) still works.
 * - `GET /sse` + `POST /messages?sessionId=` — the legacy HTTP+SSE transport for older clients.
 * Every request passes core's gate like a REST request (key, per-IP failure limit and audit, the
 * key's rate-limit class — the same buckets as REST), and its body is read only after the key is
 * known, up to `maxBodyBytes`. A session only ever serves the key that opened it.
 */
export function createApp(
  deps: CoreDeps,
  sessions: McpSessions = new McpSessions(),
  options: McpAppOptions = {},
): Hono<Env> {
  const app = new Hono<Env>();
  const security = options.security ?? {};
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  app.get('/health', (c) => c.json({ status: 'ok', service: 'mcp' }));

  /**
   * The caller's key, or the answer to send (401/403/429, or 413/400 for the body). `classify`
   * gives the request's rate-limit class once the key is known (reading the body when needed).
   */
  async function caller(
    c: Context<Env>,
    classify: RateLimitClass | (() => Promise<RateLimitClass>) = 'authenticated',
  ): Promise<AuthenticatedKey | Response> {
    const peer = c.env?.incoming?.socket?.remoteAddress;
    const ip = clientIp(peer, c.req.header('x-forwarded-for'), security.trustedProxies ?? []);
    let admission: Awaited<ReturnType<typeof admit>>;
    try {
      admission = await admit(deps, security, {
        authorization: c.req.header('authorization'),
        rateLimitClass: classify,
        method: c.req.method,
        route: `mcp ${c.req.path}`,
        path: c.req.path,
        clientIp: ip,
        logger: deps.logger,
      });
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      return error.code === 'PAYLOAD_TOO_LARGE'
        ? rpcError(c, 413, -32600, error.message)
        : rpcError(c, 400, -32700, error.message);
    }
    if (admission.ok) return admission.key;
    const { error } = admission;
    if (error.code === 'RATE_LIMITED') c.header('Retry-After', String(error.details?.retry_after_seconds ?? 60));
    else if (error.code === 'UNAUTHORIZED' || error.code === 'KEY_EXPIRED') c.header('WWW-Authenticate', 'Bearer');
    return c.json(
      { error: { code: error.code, message: error.message, ...(error.details && { details: error.details }) } },
      (ERROR_STATUS[error.code] ?? 401) as ContentfulStatusCode,
    );
  }

  /** Gate a POST carrying JSON-RPC: its body (read after authentication) decides its rate-limit class. */
  async function postCaller(c: Context<Env>): Promise<{ key: AuthenticatedKey; body: unknown } | Response> {
    let body: unknown;
    const key = await caller(c, async () => {
      body = await readJson(c.req.raw, maxBodyBytes);
      return rateLimitClassOfMessage(body);
    });
    if (key instanceof Response) return key;
    // The gate counts one hit per request: a JSON-RPC batch (up to 100 messages in the SDK) would
    // multiply every budget by its length. MCP 2025-06-18 dropped batching; one message per POST.
    if (Array.isArray(body) && body.length > 1) {
      return rpcError(c, 400, -32600, 'JSON-RPC batches are not supported: send one message per request.');
    }
    return { key, body };
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
    const admitted = await postCaller(c);
    if (admitted instanceof Response) return admitted;
    const { key, body } = admitted;
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
    const admitted = await postCaller(c);
    if (admitted instanceof Response) return admitted;
    const { key, body } = admitted;
    const id = c.req.query('sessionId') ?? '';
    const transport = sseTransports.get(id);
    if (!transport || !sessions.get(id, key.id)) {
      return rpcError(c, 404, -32001, 'Session not found: open a new stream on GET /sse.');
    }
    const { incoming, outgoing } = c.env;
    await transport.handlePostMessage(incoming as IncomingMessage, outgoing as ServerResponse, body);
    return RESPONSE_ALREADY_SENT;
  });

  app.onError((error, c) => {
    deps.logger.error({ err: error }, 'MCP request failed');
    return c.json({ error: { code: 'INTERNAL_ERROR', message: 'Internal server error.' } }, 500);
  });

  return app;
}

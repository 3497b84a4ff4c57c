import { authenticate, type CoreDeps, contextFor, ERROR_STATUS, ServiceError } from '@calseta/core';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { buildMcpServer } from './server.js';

/**
 * The MCP endpoint over Streamable HTTP, stateless: every request authenticates its bearer key and
 * gets a server and transport of its own (JSON responses, no sessions, no SSE stream to keep).
 */
export function createApp(deps: CoreDeps): Hono {
  const app = new Hono();

  app.get('/health', (c) => c.json({ status: 'ok', service: 'mcp' }));

  app.on(['POST', 'GET', 'DELETE'], '/mcp', async (c) => {
    let ctx: ReturnType<typeof contextFor>;
    try {
      const key = await authenticate(deps, c.req.header('authorization'));
      ctx = contextFor(deps, { type: 'mcp', key });
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      deps.logger.warn(
        { event: 'auth_failure', code: error.code, method: c.req.method, path: c.req.path },
        error.message,
      );
      c.header('WWW-Authenticate', 'Bearer');
      return c.json(
        { error: { code: error.code, message: error.message } },
        (ERROR_STATUS[error.code] ?? 401) as ContentfulStatusCode,
      );
    }
    if (c.req.method === 'GET') {
      // Stateless: there is no session for the server to push to, so no standalone SSE stream (the
      // SDK client treats 405 as "no stream" instead of reconnecting to one that closes at once).
      c.header('Allow', 'POST, DELETE');
      return c.json(
        { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this server is stateless.' }, id: null },
        405,
      );
    }
    const server = buildMcpServer(ctx);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw);
    } finally {
      // JSON responses are complete when handleRequest returns; nothing outlives the request.
      void server.close();
    }
  });

  app.onError((error, c) => {
    deps.logger.error({ err: error }, 'MCP request failed');
    return c.json({ error: { code: 'INTERNAL_ERROR', message: 'Internal server error.' } }, 500);
  });

  return app;
}

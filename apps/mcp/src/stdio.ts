import type { Readable, Writable } from 'node:stream';
import { authenticate, type CoreDeps } from '@calseta/core';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { callerFor } from './gate.js';
import { buildMcpServer } from './server.js';
import { McpSessions } from './sessions.js';

export interface StdioOptions {
  /** The API key the client acts with (`CALSETA_API_KEY`). */
  apiKey: string;
  stdin?: Readable;
  stdout?: Writable;
}

/**
 * Serve MCP over stdio for one desktop client until its input ends. Same server, same verbs and
 * the same scope checks as over HTTP; the key is checked before anything is served, and again on
 * every call (revocation applies at once). Notifications of enriched alerts arrive as over HTTP.
 */
export async function serveStdio(deps: CoreDeps, options: StdioOptions): Promise<void> {
  const authorization = `Bearer ${options.apiKey}`;
  const key = await authenticate(deps, authorization);
  const subscriptions = new Set<string>();
  // No network peer and no rate limits (one local client); refusals and writes are audited as over HTTP.
  const caller = callerFor(deps, {}, { authorization, clientIp: 'stdio', path: 'stdio' });
  const server = buildMcpServer(caller, { subscriptions });
  const stdin = options.stdin ?? process.stdin;
  const transport = new StdioServerTransport(stdin, options.stdout ?? process.stdout);
  // One session, for as long as the client runs: never idle-closed.
  const sessions = new McpSessions({ idleMs: Number.POSITIVE_INFINITY, subscribedIdleMs: Number.POSITIVE_INFINITY });
  sessions.add({
    id: 'stdio',
    keyId: key.id,
    server,
    subscriptions,
    lastSeen: Date.now(),
    close: () => transport.close(),
  });
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = resolve;
  });
  // The SDK's stdio transport does not watch for end of input: the client going away ends the server.
  stdin.once('end', () => void server.close());
  await sessions.start(deps);
  await server.connect(transport);
  await closed;
  await sessions.close();
}

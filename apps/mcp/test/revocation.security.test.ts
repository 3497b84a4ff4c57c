/**
 * Audit findings: key revocation across processes was untested (the revoke and the probe ran in one
 * process, so a broken NOTIFY listener still passed), and a revoked key's open MCP stream kept
 * receiving update notices. Here the API and the MCP server are real child processes (as `pnpm dev`
 * runs them) and the key is revoked from this process: both refuse the key within seconds — far
 * below the key cache's 60 s TTL, so only the cross-process notification can make that happen —
 * and the key's open MCP streams (Streamable HTTP GET stream, legacy SSE) are closed at once.
 */
import { randomBytes } from 'node:crypto';
import { contextFor, createApiKey, revokeApiKey, SYSTEM } from '@calseta/core';
import { createTestCore, type TestCore } from '@calseta/core/testing';
import { firstParty } from '@calseta/integrations';
import { appArgs, ProcessGroup } from '@calseta/process-harness';
import { afterAll, beforeAll, expect, it } from 'vitest';

/** Far below the key cache's TTL (60 s): a process that only forgets by TTL fails. */
const PROMPTLY_MS = 10_000;
const STARTUP_MS = 90_000;

const procs = new ProcessGroup();
let core: TestCore;
let apiUrl: string;
let mcpUrl: string;

/** Poll `condition` until it returns a value, at most `deadlineMs`; a dead child fails at once. */
const until = <T>(what: string, deadlineMs: number, condition: () => Promise<T | undefined>) =>
  procs.until(what, condition, { timeoutMs: deadlineMs, everyMs: 50 });

beforeAll(async () => {
  // This process creates the queues first (processes creating them at once can deadlock in pg-boss).
  core = await createTestCore({ integrations: firstParty, startQueue: true, seed: true });
  const env = {
    DATABASE_URL: core.databaseUrl,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    // Any free port for the ops listener: several processes of a kind share this host.
    OPS_PORT: '0',
    LOG_LEVEL: 'info',
    DB_POOL_SIZE: '4',
  };
  // As `pnpm dev` runs them: the sources through tsx.
  const api = procs.start({
    name: 'api',
    args: appArgs('api', 'tsx'),
    env: { ...env, API_HOST: '127.0.0.1', API_PORT: '0', LOG_REQUESTS: 'false' },
  });
  const mcp = procs.start({
    name: 'mcp',
    args: appArgs('mcp', 'tsx'),
    env: { ...env, MCP_HOST: '127.0.0.1', MCP_PORT: '0' },
  });
  [apiUrl, mcpUrl] = await Promise.all([api.listening(STARTUP_MS), mcp.listening(STARTUP_MS)]);
}, STARTUP_MS + 30_000);

afterAll(async () => {
  await procs.stopAll('SIGTERM');
  await core?.close();
});

const RPC_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** Resolves once the stream ends (the server closed it); rejects after `PROMPTLY_MS`. */
async function ended(what: string, body: ReadableStream<Uint8Array>): Promise<number> {
  const started = Date.now();
  const reader = body.getReader();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} still open ${PROMPTLY_MS} ms after the revocation`)),
      PROMPTLY_MS,
    );
  });
  try {
    await Promise.race([
      (async () => {
        for (;;) if ((await reader.read()).done) return;
      })(),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => undefined);
  }
  return Date.now() - started;
}

it('a key revoked in one process is refused by the others promptly, and its open MCP streams are closed', async () => {
  const created = await createApiKey(contextFor(core.deps, SYSTEM), { name: 'to-revoke', scopes: ['alerts:read'] });
  const authorization = `Bearer ${created.key}`;

  // The key works in both child processes (and is now in their key caches).
  expect((await fetch(`${apiUrl}/v1/alerts`, { headers: { authorization } })).status).toBe(200);
  const init = await fetch(`${mcpUrl}/mcp`, {
    method: 'POST',
    headers: { ...RPC_HEADERS, authorization },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'revocation', version: '0' } },
    }),
  });
  expect(init.status).toBe(200);
  const sessionId = String(init.headers.get('mcp-session-id'));
  const session = { ...RPC_HEADERS, authorization, 'mcp-session-id': sessionId };
  const initialized = await fetch(`${mcpUrl}/mcp`, {
    method: 'POST',
    headers: session,
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  expect(initialized.status).toBe(202);
  const subscribed = await fetch(`${mcpUrl}/mcp`, {
    method: 'POST',
    headers: session,
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'resources/subscribe', params: { uri: 'calseta://alerts' } }),
  });
  expect(subscribed.status).toBe(200);
  // The session's notification stream (where update notices arrive) and a legacy SSE stream.
  const stream = await fetch(`${mcpUrl}/mcp`, { headers: { ...session, accept: 'text/event-stream' } });
  expect(stream.status).toBe(200);
  const sse = await fetch(`${mcpUrl}/sse`, { headers: { authorization, accept: 'text/event-stream' } });
  expect(sse.status).toBe(200);
  const sseReader = (sse.body as ReadableStream<Uint8Array>).getReader();
  expect(new TextDecoder().decode((await sseReader.read()).value)).toContain('event: endpoint');
  sseReader.releaseLock();

  const revokedAt = Date.now();
  await revokeApiKey(contextFor(core.deps, SYSTEM), { uuid: created.uuid });
  const [streamClosedMs, sseClosedMs, apiRefusedMs, mcpRefusedMs] = await Promise.all([
    ended('the Streamable HTTP GET stream', stream.body as ReadableStream<Uint8Array>),
    ended('the legacy SSE stream', sse.body as ReadableStream<Uint8Array>),
    until('the API to refuse the revoked key', PROMPTLY_MS, async () => {
      const response = await fetch(`${apiUrl}/v1/alerts`, { headers: { authorization } });
      await response.arrayBuffer();
      return response.status === 401 ? Date.now() - revokedAt : undefined;
    }),
    until('the MCP server to refuse the revoked key', PROMPTLY_MS, async () => {
      const response = await fetch(`${mcpUrl}/mcp`, {
        method: 'POST',
        headers: { ...RPC_HEADERS, authorization },
        body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
      });
      await response.arrayBuffer();
      return response.status === 401 ? Date.now() - revokedAt : undefined;
    }),
  ]);
  // The session's next request is refused too.
  const next = await fetch(`${mcpUrl}/mcp`, {
    method: 'POST',
    headers: session,
    body: JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/list' }),
  });
  expect(next.status).toBe(401);
  process.stdout.write(
    `revocation: API refused after ${apiRefusedMs} ms, MCP after ${mcpRefusedMs} ms; ` +
      `MCP GET stream closed after ${streamClosedMs} ms, SSE after ${sseClosedMs} ms\n`,
  );
}, 60_000);

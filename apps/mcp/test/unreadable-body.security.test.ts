/**
 * A key's MCP requests whose body cannot be read (not JSON, or over the cap) spend its rate-limit
 * budget like any other request, as REST counts a request before reading its body. They used to
 * leave the gate before the count: a key could send unreadable bodies (each read up to the cap, 1 MiB
 * by default) without limit.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type McpKit, rpc, startMcpKit } from './kit.js';

let kit: McpKit;
let base: URL;

beforeAll(async () => {
  kit = await startMcpKit();
  base = await kit.serve({
    security: {
      rateLimits: {
        limits: { authenticated: 3, ingest: 0, enrichment: 0, workflow_execute: 0, unauthenticated: 0 },
        windowSeconds: 3600,
      },
    },
    maxBodyBytes: 1024,
  });
});

afterAll(async () => {
  await kit?.close();
});

it('unreadable bodies are counted: the next request of the key is over its limit', async () => {
  const { key } = await kit.key(['alerts:read']);
  const notJson = await rpc(base, key, '{"jsonrpc": "2.0", "id": 1, "method": ');
  expect(notJson.status).toBe(400);
  const tooLarge = await rpc(base, key, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'x'.repeat(2048) }));
  expect(tooLarge.status).toBe(413);
  expect((await rpc(base, key, { jsonrpc: '2.0', id: 1, method: 'tools/list' })).status).toBe(200);
  const refused = await rpc(base, key, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
  expect(refused.status).toBe(429);
  expect(refused.headers.get('retry-after')).not.toBeNull();
});

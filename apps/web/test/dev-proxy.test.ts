/**
 * `pnpm dev` (and so `npm run up`): the browser talks to Vite on 5173, which proxies the API's paths.
 * The API accepts a cookie-authenticated write only from the origin the browser addressed, so the
 * proxy must pass the browser's Host through; with Vite's default for a plain string target
 * (changeOrigin) the API-key sign-in and every write were refused (CSRF_REJECTED).
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../api/test/harness.js';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('the Vite dev server in front of the API', () => {
  let h: Harness;
  let vite: ViteDevServer;
  let origin: string;

  beforeAll(async () => {
    h = await createHarness();
    // vite.config.ts reads the API's port from the environment, as `pnpm dev` sets it.
    // process.env is written here on purpose: test infrastructure only.
    process.env.API_PORT = new URL(h.baseUrl).port;
    vite = await createServer({
      root: WEB,
      configFile: path.join(WEB, 'vite.config.ts'),
      logLevel: 'silent',
      server: { port: 0, strictPort: false, host: '127.0.0.1' },
    });
    await vite.listen();
    const address = (vite.httpServer as NonNullable<ViteDevServer['httpServer']>).address() as AddressInfo;
    origin = `http://localhost:${address.port}`;
  }, 60_000);

  afterAll(async () => {
    await vite?.close();
    await h?.close();
  });

  it('signs in with an API key through the proxy and writes with the session cookie and CSRF token', async () => {
    // What the browser sends from the page it was served: its own Origin, to its own host.
    const signIn = await fetch(`${origin}/v1/auth/session`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: h.adminKey }),
    });
    expect(signIn.status, await signIn.clone().text()).toBeLessThan(300);
    const cookie =
      (signIn.headers.getSetCookie().find((c) => c.startsWith('calseta_session=')) ?? '').split(';')[0] ?? '';
    expect(cookie).toMatch(/^calseta_session=./);
    const session = await fetch(`${origin}/v1/auth/session`, { headers: { cookie } });
    expect(session.status).toBe(200);
    const csrf = ((await session.json()) as { data: { csrf_token: string } }).data.csrf_token;
    const write = await fetch(`${origin}/v1/context-documents`, {
      method: 'POST',
      headers: { origin, cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Dev runbook', document_type: 'runbook', is_global: true, content: '# Steps' }),
    });
    expect(write.status, await write.clone().text()).toBe(201);
  });
});

/** The API serving the built UI (`pnpm start`): files, SPA fallback, and never in the API's way. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webApp } from '../../api/src/web-app.js';

describe('webApp middleware', () => {
  let root: string;

  beforeAll(async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'calseta-web-'));
    root = path.join(dir, 'dist');
    await mkdir(path.join(root, 'assets'), { recursive: true });
    await writeFile(path.join(root, 'index.html'), '<!doctype html><div id="root"></div>');
    await writeFile(path.join(root, 'assets', 'index-abc.js'), 'console.log(1)');
    await writeFile(path.join(dir, 'secret.txt'), 'outside the root');
  });
  afterAll(() => rm(path.dirname(root), { recursive: true, force: true }));

  /**
   * Call the middleware with just what it reads (method, decoded path, Accept); a request it passes
   * on (to the API's routes) comes back as a 404 here. Paths are given raw, as the router decodes them.
   */
  const call = async (urlPath: string, { accept = 'text/html', method = 'GET' } = {}) => {
    const c = {
      req: {
        method,
        path: decodeURIComponent(urlPath),
        header: (name: string) => (name === 'accept' ? accept : undefined),
      },
    };
    const res = await webApp(root)(c as never, async () => {});
    return res instanceof Response ? res : new Response('passed on', { status: 404 });
  };
  const get = (urlPath: string, accept = 'text/html') => call(urlPath, { accept });

  it('serves files with their type, hashed assets immutable, and its own CSP', async () => {
    const js = await get('/assets/index-abc.js', '*/*');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect(js.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('answers browser navigations to client routes with index.html', async () => {
    for (const url of ['/', '/alerts/0190', '/settings/api-keys']) {
      const res = await get(url);
      expect(res.status, url).toBe(200);
      expect(await res.text()).toContain('id="root"');
      expect(res.headers.get('cache-control')).toBe('no-cache');
    }
  });

  it('never answers for the API, docs, OpenAPI or health, nor for non-HTML requests it has no file for', async () => {
    for (const url of ['/v1/alerts', '/v1', '/openapi.json', '/docs', '/health', '/v1/unknown']) {
      expect((await get(url)).status, url).toBe(404);
    }
    expect((await get('/missing.js', '*/*')).status).toBe(404);
    expect((await call('/alerts', { method: 'POST' })).status).toBe(404);
  });

  it('does not read outside its root', async () => {
    for (const url of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/../../secret.txt']) {
      const res = await get(url, '*/*');
      expect(await res.text(), url).not.toContain('outside the root');
    }
  });
});

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { LIVE, probeHealth, probeReadiness, readinessStatus } from '@calseta/core';
import { OpenAPIHono } from '@hono/zod-openapi';
import { Hono } from 'hono';
import type { AppEnv } from '../types.js';

/**
 * `/health`: no auth, 200 while the database answers, 503 when it does not. `/health/live` (no I/O)
 * and `/health/ready` (database, migrations, queue): the probes, as on the ops port.
 */
export function healthRoutes(version: string) {
  const routes = new OpenAPIHono<AppEnv>();
  routes.get('/health', async (c) => {
    const health = await probeHealth(c.get('deps'), version);
    return c.json(health, health.status === 'ok' ? 200 : 503);
  });
  routes.openAPIRegistry.registerPath({
    method: 'get',
    path: '/health',
    tags: ['System'],
    summary: 'Liveness and database reachability (no API key)',
    description:
      '`{status, version, database, queue, queue_depth, mocked_providers}`; `mocked_providers` names the active providers answering from the built-in mock (demo data: no real credential), empty in production.',
    responses: { 200: { description: 'Up.' }, 503: { description: 'The database does not answer.' } },
  });
  routes.get('/health/live', (c) => c.json(LIVE));
  routes.get('/health/ready', async (c) => {
    const readiness = await probeReadiness(c.get('deps'));
    return c.json(readiness, readinessStatus(readiness));
  });
  routes.openAPIRegistry.registerPath({
    method: 'get',
    path: '/health/live',
    tags: ['System'],
    summary: 'Liveness: the process answers (no API key, no I/O)',
    description: '`{status: "ok"}` whenever the process serves requests, even with the database down.',
    responses: { 200: { description: 'The process is up.' } },
  });
  routes.openAPIRegistry.registerPath({
    method: 'get',
    path: '/health/ready',
    tags: ['System'],
    summary: 'Readiness: database, migrations and queue (no API key)',
    description:
      '`{status: "ready" | "not_ready", failing, checks}`: `checks.database`, `checks.migrations` (every migration of this build applied) and `checks.queue` (its schema installed), each `{status: "ok"}` or `{status: "fail", reason}`; `failing` names the checks that failed.',
    responses: {
      200: { description: 'Ready to serve.' },
      503: { description: 'Not ready: `failing` names the checks.' },
    },
  });
  return routes;
}

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>Calseta API reference</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/init.js"></script>
</body>
</html>`;

// A separate file, because the CSP forbids inline scripts.
const INIT_JS = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: true });`;

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

/** `/docs`: the API reference, with every asset served from this process (works offline). */
export function docsRoutes() {
  const require = createRequire(import.meta.url);
  const assetDir = dirname(require.resolve('swagger-ui-dist/package.json'));
  const cache = new Map<string, Buffer>();
  return new Hono<AppEnv>()
    .get('/docs', (c) => c.html(DOCS_HTML))
    .get('/docs/assets/init.js', (c) => c.body(INIT_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }))
    .get('/docs/assets/:file', async (c) => {
      const file = c.req.param('file');
      const type = ASSETS[file];
      if (!type) return c.notFound();
      let content = cache.get(file);
      if (!content) {
        content = await readFile(join(assetDir, file));
        cache.set(file, content);
      }
      return c.body(new Uint8Array(content), 200, { 'Content-Type': type, 'Cache-Control': 'public, max-age=86400' });
    });
}

// The web UI's container: serves the built Vite app (WEB_ROOT) on WEB_PORT and proxies the API's
// paths to API_UPSTREAM, so the browser talks to one origin exactly as under `pnpm dev`. Client
// routes (/alerts/…) get index.html. No dependencies: node:http only.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';

// biome-ignore lint/style/noProcessEnv: a standalone container script, not an app (no env.ts)
const env = process.env;
const ROOT = path.resolve(env.WEB_ROOT ?? 'public');
const PORT = Number(env.WEB_PORT ?? 5173);
const HOST = env.WEB_HOST ?? '0.0.0.0';
const UPSTREAM = new URL(env.API_UPSTREAM ?? 'http://api:8000');

/** Paths that belong to the API (the same list the Vite dev server proxies). */
const API_PATHS = /^\/(v1(\/|$|\?)|health$|openapi\.json$|docs(\/|$))/;

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

// As the API sends with the built UI (apps/api/src/web-app.ts).
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

async function fileIn(urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const resolved = path.resolve(ROOT, `.${path.posix.normalize(decoded)}`);
  if (resolved !== ROOT && !resolved.startsWith(ROOT + path.sep)) return null;
  try {
    return (await stat(resolved)).isFile() ? resolved : null;
  } catch {
    return null;
  }
}

function proxy(req, res) {
  const forwardedFor = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
  const upstream = http.request(
    {
      protocol: UPSTREAM.protocol,
      hostname: UPSTREAM.hostname,
      port: UPSTREAM.port || 80,
      method: req.method,
      path: req.url,
      // The browser's Host goes through: the API accepts a cookie-authenticated write only from the
      // origin the browser addressed (issue 21's CSRF check), as under `pnpm dev`.
      headers: { ...req.headers, host: req.headers.host ?? UPSTREAM.host, 'x-forwarded-for': forwardedFor },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'BAD_GATEWAY', message: 'The API is not reachable.' } }));
  });
  req.pipe(upstream);
}

async function handle(req, res) {
  const urlPath = (req.url ?? '/').split('?')[0] ?? '/';
  if (API_PATHS.test(urlPath)) return proxy(req, res);
  if (urlPath === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    return res.end('{"status":"ok","service":"web"}');
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' });
    return res.end();
  }
  let file = urlPath === '/' ? null : await fileIn(urlPath);
  if (!file && (urlPath === '/' || (req.headers.accept ?? '').includes('text/html')))
    file = await fileIn('/index.html');
  if (!file) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
    return res.end('Not found');
  }
  res.writeHead(200, {
    'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'Cache-Control': urlPath.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    ...SECURITY_HEADERS,
  });
  if (req.method === 'HEAD') return res.end();
  createReadStream(file).pipe(res);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch(() => {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
server.listen(PORT, HOST, () => {
  const { port } = server.address();
  const line = { msg: `Calseta web UI on http://localhost:${port}`, port, api: UPSTREAM.href };
  process.stdout.write(`${JSON.stringify(line)}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));

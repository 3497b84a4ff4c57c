import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './types.js';

/** apps/web/dist, from apps/api/src (tsx) and from apps/api/dist (the bundle) alike. */
const DEFAULT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');

/** Paths that belong to the API: never answered with the web app, even when no route matches. */
const API_PATHS = /^\/(v1(\/|$)|openapi\.json$|docs(\/|$)|health$)/;

const TYPES: Record<string, string> = {
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

// The SPA loads only its own bundles; CodeMirror and the charts set inline styles.
const WEB_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async function fileIn(root: string, urlPath: string): Promise<string | null> {
  const resolved = path.resolve(root, `.${path.posix.normalize(urlPath)}`);
  if (resolved !== root && !resolved.startsWith(root + path.sep)) return null;
  try {
    return (await stat(resolved)).isFile() ? resolved : null;
  } catch {
    return null;
  }
}

/**
 * The built web UI (`pnpm start`): static files from apps/web/dist, and index.html for browser
 * navigations to client routes (`/alerts/…`). Registered before the API's security headers: these
 * responses carry their own CSP, which lets the page run its scripts. Does nothing without a build.
 */
export function webApp(root = DEFAULT_ROOT): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const method = c.req.method;
    if ((method !== 'GET' && method !== 'HEAD') || API_PATHS.test(c.req.path)) return next();
    let file = c.req.path === '/' ? null : await fileIn(root, c.req.path);
    if (!file && (c.req.header('accept') ?? '').includes('text/html')) file = await fileIn(root, '/index.html');
    if (!file) return next();
    const body = await readFile(file);
    const hashed = c.req.path.startsWith('/assets/');
    return new Response(method === 'HEAD' ? null : body, {
      headers: {
        'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'Cache-Control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
        'Content-Security-Policy': WEB_CSP,
        'X-Content-Type-Options': 'nosniff',
        'X-Frame-Options': 'DENY',
        'Referrer-Policy': 'no-referrer',
      },
    });
  };
}

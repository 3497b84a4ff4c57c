import { observeHttpRequest } from '@calseta/core';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from '../types.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Request latency for /metrics (issue 22), by method, status and the route's pattern: after the
 * chain ran, `routePath` is the pattern of the handler that answered (`/v1/alerts/:uuid`) or of the
 * last middleware when none did, never the raw path, so a scan of random URLs adds no series.
 */
export function requestMetrics(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const method = METHODS.has(c.req.method) ? c.req.method : 'OTHER';
      observeHttpRequest(method, routePath(c) || 'unmatched', c.res.status, (performance.now() - started) / 1000);
    }
  };
}

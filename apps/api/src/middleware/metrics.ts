import { observeHttpRequest } from '@calseta/core';
import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { AppEnv } from '../types.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Request latency for /metrics (issue 22), by method, status and the route's pattern: after the
 * chain ran, the route at `routeIndex` is the handler that answered (`/v1/alerts/:alert_uuid`), or a
 * middleware that answered itself (`*`, `/v1/*`); a 404 that no handler gave is `unmatched`. Never
 * the raw path, so a scan of random URLs adds no series.
 */
export function requestMetrics(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const method = METHODS.has(c.req.method) ? c.req.method : 'OTHER';
      const route = matchedRoutes(c)[c.req.routeIndex];
      const label = route === undefined || (route.method === 'ALL' && c.res.status === 404) ? 'unmatched' : route.path;
      observeHttpRequest(method, label, c.res.status, (performance.now() - started) / 1000);
    }
  };
}

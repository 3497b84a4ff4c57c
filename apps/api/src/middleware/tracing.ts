import { serveRequest } from '@calseta/core';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from '../types.js';

/**
 * A SERVER span per request (a no-op while tracing is off), first in the chain so the request's log
 * line carries its trace id. Named after the route's pattern once it is known, never the raw path
 * (which holds ids); the ingest verb's span and everything the alert goes through follow in its trace.
 */
export function requestTracing(): MiddlewareHandler<AppEnv> {
  return (c, next) =>
    serveRequest(
      { traceparent: c.req.header('traceparent'), tracestate: c.req.header('tracestate') },
      c.req.method,
      { 'http.request.method': c.req.method },
      async (span) => {
        await next();
        const route = routePath(c);
        span.updateName(route ? `${c.req.method} ${route}` : c.req.method);
        span.setAttributes({ 'http.route': route || undefined, 'http.response.status_code': c.res.status });
        if (c.res.status >= 500) span.setStatus({ code: 2 }); // SpanStatusCode.ERROR
      },
    );
}

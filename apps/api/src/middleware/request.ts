import { randomUUID } from 'node:crypto';
import type { CoreDeps } from '@calseta/core';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { errorResponse } from '../errors.js';
import type { AppEnv } from '../types.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Request id (inbound X-Request-ID or a new one), dependencies and a request-scoped logger. */
export function requestContext(deps: CoreDeps, logRequests: boolean): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const inbound = c.req.header('x-request-id');
    const requestId = inbound && REQUEST_ID.test(inbound) ? inbound : randomUUID();
    const logger = deps.logger.child({ request_id: requestId });
    c.set('requestId', requestId);
    c.set('logger', logger);
    c.set('deps', deps);
    c.header('X-Request-ID', requestId);
    const started = performance.now();
    await next();
    if (logRequests) {
      logger.info(
        {
          method: c.req.method,
          path: c.req.path,
          status: c.res.status,
          duration_ms: Math.round((performance.now() - started) * 10) / 10,
        },
        'request',
      );
    }
  };
}

const API_CSP = "default-src 'none'; frame-ancestors 'none'";
const DOCS_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Permissions-Policy', 'geolocation=(), microphone=(), camera=()');
    c.header('Cross-Origin-Resource-Policy', 'same-origin');
    c.header('Content-Security-Policy', c.req.path.startsWith('/docs') ? DOCS_CSP : API_CSP);
  };
}

/** Body cap by route class (ingest vs everything else); counts streamed bytes, not just Content-Length. */
export function bodyLimits(ingestBytes: number, otherBytes: number): MiddlewareHandler<AppEnv> {
  const limiter = (maxSize: number, label: string) =>
    bodyLimit({
      maxSize,
      onError: (c) =>
        errorResponse(c as never, 'PAYLOAD_TOO_LARGE', `Request body exceeds the ${label} limit.`, {
          max_bytes: maxSize,
        }),
    });
  const ingest = limiter(ingestBytes, `${ingestBytes / 1_048_576} MB ingest`);
  const other = limiter(otherBytes, `${otherBytes / 1_048_576} MB request`);
  return (c, next) => {
    const isIngest = c.req.path.startsWith('/v1/ingest/') || c.req.path === '/v1/alerts';
    return (isIngest ? ingest : other)(c, next);
  };
}

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * Bodies are JSON: anything else is a 415, unparseable JSON a 400, both before any handler runs.
 * The bytes stay cached on the request for handlers that need them (signature checks).
 */
export function jsonBodies(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const method = c.req.method;
    if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') return next();
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.byteLength === 0) return next();
    const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim() ?? '';
    if (!JSON_TYPE.test(type)) {
      return errorResponse(c, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as JSON with "Content-Type: application/json".');
    }
    try {
      c.set('body', JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)));
    } catch (error) {
      return errorResponse(c, 'INVALID_JSON', 'The request body is not valid JSON.', {
        reason: error instanceof Error ? error.message.slice(0, 200) : 'unparseable',
      });
    }
    return next();
  };
}

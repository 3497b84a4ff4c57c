import { admit, auditWrite, contextFor, type GateSite, type Permission, rateLimitClassOf } from '@calseta/core';
import type { Context, MiddlewareHandler } from 'hono';
import { errorResponse } from '../errors.js';
import type { AppEnv } from '../types.js';
import { csrfCheck, sessionTokenOf } from './csrf.js';
import { rateLimited, setRateLimitHeaders } from './rate-limit.js';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/**
 * POST routes that are not `api_write` audited: dry runs and lookups that change nothing, and
 * ingest, whose every alert already gets an `alert_ingested` / `alert_deduplicated` event naming the
 * key (a second row per alert would double the hot path's writes).
 */
const NOT_AUDITED = new Set([
  'POST /v1/ingest/:source_name',
  'POST /v1/alerts',
  'POST /v1/indicator-mappings/test-extraction',
  'POST /v1/enrichments',
  'POST /v1/enrichment-providers/:provider_uuid/test',
  'POST /v1/workflows/generate',
  'POST /v1/workflows/:workflow_uuid/test',
]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function resourceIdOf(c: Context<AppEnv>, created: unknown): string | null {
  for (const value of Object.values(c.req.param() as Record<string, string>)) {
    if (UUID.test(value)) return value;
  }
  const data = (created as { data?: Record<string, unknown> } | null)?.data;
  const id = data?.uuid ?? data?.alert_uuid ?? data?.run_uuid ?? data?.approval_uuid;
  return typeof id === 'string' ? id : null;
}

/** The created resource's uuid, read back from a 201/202 answer. */
async function createdOf(c: Context<AppEnv>): Promise<unknown> {
  if (c.res.status !== 201 && c.res.status !== 202) return null;
  try {
    return await c.res.clone().json();
  } catch {
    return null;
  }
}

/** Where the request came in, as the gate's audit and log rows describe it. */
export function gateSite(c: Context<AppEnv>): Omit<GateSite, 'authorization'> {
  return {
    method: c.req.method,
    route: c.req.routePath,
    path: c.req.path,
    clientIp: c.get('clientIp'),
    requestId: c.get('requestId'),
    logger: c.get('logger'),
  };
}

/**
 * Core's gate (`admit`: authenticate the bearer key — or, without an Authorization header, the
 * session cookie, whose writes must pass the CSRF check — check `permission`, audit failures, count
 * the request against the key's or person's rate limit) before anything else about the request is
 * read — the route's body is read only after this — then hand the handler a service context for
 * that key or person (its logger carries the request id). Successful writes are audited once the
 * handler has answered.
 */
export function requirePermission(permission: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const deps = c.get('deps');
    const admission = await admit(deps, c.get('security') ?? {}, {
      ...gateSite(c),
      authorization: c.req.header('authorization'),
      sessionToken: sessionTokenOf(c),
      checkSession: (session) => csrfCheck(c, session),
      permission,
      rateLimitClass: rateLimitClassOf(c.req.method, c.req.routePath),
    });
    if (admission.rate) setRateLimitHeaders(c, admission.rate);
    if (!admission.ok) {
      const { error } = admission;
      if (error.code === 'RATE_LIMITED') return rateLimited(c, Number(error.details?.retry_after_seconds ?? 60));
      return errorResponse(c, error.code, error.message, error.details);
    }
    const ctx = contextFor(deps, { type: 'api', key: admission.key }, c.get('requestId'));
    ctx.logger = c.get('logger');
    c.set('ctx', ctx);
    c.set('session', admission.session);
    await next();
    if (
      WRITE_METHODS.has(c.req.method) &&
      c.res.status < 400 &&
      !NOT_AUDITED.has(`${c.req.method} ${c.req.routePath}`)
    ) {
      await auditWrite(ctx, {
        method: c.req.method,
        route: c.req.routePath,
        path: c.req.path,
        status: c.res.status,
        resourceId: resourceIdOf(c, await createdOf(c)),
      });
    }
  };
}

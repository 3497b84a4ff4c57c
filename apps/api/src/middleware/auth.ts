import {
  authenticate,
  authorize,
  contextFor,
  type Permission,
  rateLimitClassOf,
  recordApiWrite,
  recordAuthFailure,
  ServiceError,
} from '@calseta/core';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../types.js';
import { checkRateLimit, rateLimited } from './rate-limit.js';

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
/** Without configured limits, at most this many auth failures per IP per minute become audit rows. */
const DEFAULT_AUDIT_CAP = 30;

function failureReason(error: ServiceError, authorization: string | undefined, authenticated: boolean): string {
  if (authenticated) return 'insufficient_scope';
  if (error.code === 'KEY_EXPIRED') return 'key_expired';
  if (!authorization) return 'missing_header';
  return /^Bearer\s+cai_\S+$/i.test(authorization.trim()) && !error.message.startsWith('Malformed')
    ? 'invalid_key'
    : 'invalid_format';
}

/** The first 8 characters of a presented `cai_` token (the public key prefix), never more. */
function presentedPrefix(authorization: string | undefined): string | null {
  const token = /^Bearer\s+(cai_\S+)$/i.exec(authorization?.trim() ?? '')?.[1];
  return token ? token.slice(0, 8) : null;
}

/**
 * Audit the failure (one statement: per-IP counter + capped audit row) and decide the answer:
 * the original 401/403, or 429 once the client IP has failed too often this minute.
 */
async function onAuthFailure(
  c: Context<AppEnv>,
  error: ServiceError,
  permission: Permission,
  authenticated: { prefix: string; name: string } | null,
) {
  const authorization = c.req.header('authorization');
  const reason = failureReason(error, authorization, authenticated !== null);
  const keyPrefix = authenticated?.prefix ?? presentedPrefix(authorization);
  const logger = c.get('logger');
  logger.warn(
    {
      event: 'auth_failure',
      reason,
      code: error.code,
      permission,
      ...(error.code === 'FORBIDDEN' && { required_scopes: error.details?.required_scopes }),
      method: c.req.method,
      path: c.req.path,
      key_prefix: keyPrefix,
      client_ip: c.get('clientIp'),
    },
    error.message,
  );
  const limits = c.get('security')?.rateLimits;
  const unauthedLimit = limits?.limits.unauthenticated ?? 0;
  try {
    const { count, resetSeconds } = await recordAuthFailure(
      c.get('deps').db,
      {
        reason,
        code: error.code,
        method: c.req.method,
        route: c.req.routePath,
        path: c.req.path,
        clientIp: c.get('clientIp'),
        keyPrefix,
        keyName: authenticated?.name ?? null,
        ...(error.code === 'FORBIDDEN' && { requiredScopes: error.details?.required_scopes as string[] }),
        requestId: c.get('requestId'),
      },
      unauthedLimit > 0 ? unauthedLimit : DEFAULT_AUDIT_CAP,
      limits?.windowSeconds,
    );
    if (limits && unauthedLimit > 0 && count > unauthedLimit) return rateLimited(c, resetSeconds);
  } catch (auditError) {
    // The audit must never turn a 401 into a 500; the log line above already recorded it.
    logger.error({ err: auditError }, 'could not record auth failure');
  }
  throw error;
}

function resourceIdOf(c: Context<AppEnv>, created: unknown): string | null {
  for (const value of Object.values(c.req.param() as Record<string, string>)) {
    if (UUID.test(value)) return value;
  }
  const data = (created as { data?: Record<string, unknown> } | null)?.data;
  const id = data?.uuid ?? data?.alert_uuid ?? data?.run_uuid ?? data?.approval_uuid;
  return typeof id === 'string' ? id : null;
}

/** Audit a successful write: who (key), what (method, route, resource), when. */
async function auditWrite(c: Context<AppEnv>) {
  let created: unknown = null;
  if (c.res.status === 201 || c.res.status === 202) {
    try {
      created = await c.res.clone().json();
    } catch {
      created = null;
    }
  }
  try {
    await recordApiWrite(c.get('ctx'), {
      method: c.req.method,
      route: c.req.routePath,
      path: c.req.path,
      status: c.res.status,
      resourceId: resourceIdOf(c, created),
    });
  } catch (error) {
    // The write itself is committed; losing its audit row is logged loudly, not turned into a 500.
    c.get('logger').error({ err: error, method: c.req.method, path: c.req.path }, 'could not record API write audit');
  }
}

/**
 * Authenticate the bearer key and check `permission` before anything else about the request is
 * read, count the request against the key's rate limit, then hand the handler a service context
 * for that key (its logger carries the request id). Failures are logged and audited; successful
 * writes are audited once the handler has answered.
 */
export function requirePermission(permission: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const deps = c.get('deps');
    let key: Awaited<ReturnType<typeof authenticate>> | null = null;
    try {
      key = await authenticate(deps, c.req.header('authorization'));
      const actor = { type: 'api', key } as const;
      authorize({ actor }, permission);
      c.set('ctx', { ...contextFor(deps, actor, c.get('requestId')), logger: c.get('logger') });
    } catch (error) {
      if (error instanceof ServiceError) {
        return onAuthFailure(c, error, permission, key && { prefix: key.prefix, name: key.name });
      }
      throw error;
    }
    const refused = await checkRateLimit(c, rateLimitClassOf(c.req.method, c.req.routePath), `key:${key.prefix}`);
    if (refused) return refused;
    await next();
    if (
      WRITE_METHODS.has(c.req.method) &&
      c.res.status < 400 &&
      !NOT_AUDITED.has(`${c.req.method} ${c.req.routePath}`)
    ) {
      await auditWrite(c);
    }
  };
}

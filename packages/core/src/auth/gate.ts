import { z } from 'zod';
import type { AuthenticatedKey, CoreDeps, ServiceContext } from '../infra/context.js';
import { ServiceError } from '../infra/errors.js';
import type { Logger } from '../infra/logger.js';
import { type ApiWrite, recordApiWrite, recordAuthFailure } from './audit.js';
import { parseTrustedProxies, type TrustedProxies } from './client-ip.js';
import { authenticate, bearerToken } from './keys.js';
import { authorize, type Permission } from './permissions.js';
import { hitRateLimit, type RateLimitClass, type RateLimitConfig, type RateLimitResult } from './rate-limit.js';
import { DEFAULT_SESSION_POLICY, type ResolvedSession, resolveSession, type SessionPolicy } from './sessions.js';

/**
 * The environment of the gate, shared by every transport that serves keys (API and MCP), so one
 * key has one budget whichever door it uses.
 */
export const GateEnvSchema = z.object({
  /** Requests per minute per API key (or client IP on unauthenticated routes); 0 switches a class off. */
  RATE_LIMIT_AUTHED_PER_MINUTE: z.coerce.number().int().min(0).default(600),
  RATE_LIMIT_INGEST_PER_MINUTE: z.coerce.number().int().min(0).default(6_000),
  RATE_LIMIT_ENRICHMENT_PER_MINUTE: z.coerce.number().int().min(0).default(60),
  RATE_LIMIT_WORKFLOW_EXECUTE_PER_MINUTE: z.coerce.number().int().min(0).default(30),
  /** Failed authentications per client IP per minute before 429 (and the audit-row cap per IP). */
  RATE_LIMIT_UNAUTHED_PER_MINUTE: z.coerce.number().int().min(0).default(30),
  /** Comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed; empty trusts none. */
  TRUSTED_PROXIES: z.string().default(''),
});

export interface GateOptions {
  /** Absent: no rate limiting (tests, embedded use). */
  rateLimits?: RateLimitConfig;
  /** Proxies whose X-Forwarded-For is believed; default none. */
  trustedProxies?: TrustedProxies;
  /** Lifetime of browser sessions (cookie); default 8 h idle, 7 d absolute. */
  sessions?: SessionPolicy;
}

/** The gate's options from the parsed environment. */
export function gateOptionsFrom(env: z.infer<typeof GateEnvSchema>): Required<Omit<GateOptions, 'sessions'>> {
  return {
    rateLimits: {
      limits: {
        authenticated: env.RATE_LIMIT_AUTHED_PER_MINUTE,
        ingest: env.RATE_LIMIT_INGEST_PER_MINUTE,
        enrichment: env.RATE_LIMIT_ENRICHMENT_PER_MINUTE,
        workflow_execute: env.RATE_LIMIT_WORKFLOW_EXECUTE_PER_MINUTE,
        unauthenticated: env.RATE_LIMIT_UNAUTHED_PER_MINUTE,
      },
    },
    trustedProxies: parseTrustedProxies(env.TRUSTED_PROXIES),
  };
}

/** Where a request or call came in, as any transport describes it (for the log and audit rows). */
export interface GateSite {
  authorization: string | undefined;
  /**
   * The session cookie's token, when the transport accepts browser sessions (REST). Used only when no
   * Authorization header is sent: a bearer key always wins, so agents are never affected by cookies.
   */
  sessionToken?: string | undefined;
  method: string;
  /** The route pattern (`/v1/agents/:agent_uuid`, `mcp /mcp`, `mcp tools/call <tool>`) for the audit row. */
  route: string;
  path: string;
  clientIp: string;
  requestId?: string;
  logger: Logger;
}

/** One request at the door. */
export interface GateRequest extends GateSite {
  /**
   * Checked right after authentication (REST routes). MCP checks each tool's and resource's
   * permissions per call (`checkPermissions`), since one request names its operation in the body.
   */
  permission?: Permission;
  /**
   * The request's rate-limit class, or how to find it once the key is known (MCP reads the body —
   * only after authentication — to see which tool is called). What it throws propagates.
   */
  rateLimitClass: RateLimitClass | (() => Promise<RateLimitClass>);
  /**
   * Checked right after a session authenticated, before the permission (REST: CSRF — Origin and
   * X-CSRF-Token on writes). An error returned is the answer; it is audited like the gate's own.
   */
  checkSession?: (session: ResolvedSession) => ServiceError | null;
}

export type Admission =
  /** `session`: present when the request was authenticated by its session cookie. */
  | { ok: true; key: AuthenticatedKey; rate: RateLimitResult | null; session?: ResolvedSession }
  /** `error` is the 401/403 to answer, or RATE_LIMITED (`details.retry_after_seconds`). */
  | { ok: false; error: ServiceError; rate: RateLimitResult | null };

/** Without configured limits, at most this many auth failures per IP per minute become audit rows. */
const DEFAULT_AUDIT_CAP = 30;
const BEARER_KEY = /^Bearer\s+(cai_\S+)$/i;

/** Why a request was refused, from the error's code and the header's shape (never the message text). */
function failureReason(error: ServiceError, request: GateSite): string {
  if (error.code === 'FORBIDDEN') return 'insufficient_scope';
  if (error.code === 'KEY_EXPIRED') return 'key_expired';
  if (error.code === 'CSRF_REJECTED') return 'csrf_rejected';
  const { authorization } = request;
  if (!authorization && request.sessionToken) return 'invalid_session';
  const bearer = bearerToken(authorization);
  return 'fault' in bearer ? bearer.fault : 'invalid_key';
}

/** The first 8 characters of a presented `cai_` token (the public key prefix), never more. */
function presentedPrefix(authorization: string | undefined): string | null {
  const token = BEARER_KEY.exec(authorization?.trim() ?? '')?.[1];
  return token ? token.slice(0, 8) : null;
}

export function rateLimitedError(retryAfter: number): ServiceError {
  return new ServiceError('RATE_LIMITED', `Rate limit exceeded. Retry after ${retryAfter} seconds.`, {
    retry_after_seconds: retryAfter,
  });
}

/**
 * Count one request of class `cls` for `subject` when limits are configured and the class is on:
 * the result (for RateLimit headers), or null when not limited.
 */
export async function countRequest(
  deps: Pick<CoreDeps, 'db'>,
  limits: RateLimitConfig | undefined,
  cls: RateLimitClass,
  subject: string,
): Promise<RateLimitResult | null> {
  const limit = limits?.limits[cls] ?? 0;
  if (!limits || limit <= 0) return null;
  return hitRateLimit(deps.db, `${cls}:${subject}`, limit, limits.windowSeconds);
}

/**
 * The one door every transport serving API keys goes through (REST routes, MCP over HTTP):
 * authenticate the bearer key (a hash lookup through the key cache — before any body is read),
 * check the permission, classify a failure by its code and audit it (one statement: per-IP
 * counter + capped audit row; too many failures from one IP become 429), then count the request
 * against the key's rate-limit class.
 */
export async function admit(
  deps: Pick<CoreDeps, 'db' | 'apiKeys' | 'logger'>,
  options: GateOptions,
  request: GateRequest,
): Promise<Admission> {
  let key: AuthenticatedKey;
  let session: ResolvedSession | undefined;
  try {
    if (!request.authorization && request.sessionToken) {
      session =
        (await resolveSession(deps, request.sessionToken, options.sessions ?? DEFAULT_SESSION_POLICY)) ?? undefined;
      if (!session) throw new ServiceError('UNAUTHORIZED', 'Your session has expired or was ended. Sign in again.');
      key = session.key;
    } else {
      key = await authenticate(deps, request.authorization);
    }
  } catch (error) {
    if (!(error instanceof ServiceError)) throw error;
    return { ok: false, error: await authFailure(deps, options, request, error, null), rate: null };
  }
  const sessionError = session && request.checkSession?.(session);
  if (sessionError)
    return { ok: false, error: await authFailure(deps, options, request, sessionError, key), rate: null };
  const refused = await checkPermissions(deps, options, request, key, request.permission ? [request.permission] : []);
  if (refused) return { ok: false, error: refused, rate: null };
  const cls = typeof request.rateLimitClass === 'function' ? await request.rateLimitClass() : request.rateLimitClass;
  // A person has one budget whether they act through a session or a key of theirs.
  const subject = key.user ? `user:${key.user.uuid}` : `key:${key.prefix}`;
  const rate = await countRequest(deps, options.rateLimits, cls, subject);
  if (rate && !rate.allowed) {
    request.logger.warn({ event: 'rate_limited', class: cls, subject, count: rate.count }, 'rate limited');
    return { ok: false, error: rateLimitedError(rate.resetSeconds), rate };
  }
  return session ? { ok: true, key, rate, session } : { ok: true, key, rate };
}

/**
 * Check an authenticated key against every one of `permissions` (a transport whose request names its
 * operation only in the body — MCP's tools and resources — calls this per call): null when allowed,
 * else the FORBIDDEN to answer, audited and counted per client IP as the gate's own refusals (or
 * RATE_LIMITED once that IP has failed too often).
 */
export async function checkPermissions(
  deps: Pick<CoreDeps, 'db'>,
  options: GateOptions,
  site: GateSite,
  key: AuthenticatedKey,
  permissions: readonly Permission[],
): Promise<ServiceError | null> {
  try {
    for (const permission of permissions) authorize({ actor: { type: 'api', key } }, permission);
    return null;
  } catch (error) {
    if (!(error instanceof ServiceError)) throw error;
    return authFailure(deps, options, site, error, key);
  }
}

async function authFailure(
  deps: Pick<CoreDeps, 'db'>,
  options: GateOptions,
  request: GateSite & { permission?: Permission },
  error: ServiceError,
  key: AuthenticatedKey | null,
): Promise<ServiceError> {
  const reason = failureReason(error, request);
  const keyPrefix = key?.prefix ?? presentedPrefix(request.authorization);
  request.logger.warn(
    {
      event: 'auth_failure',
      reason,
      code: error.code,
      ...(request.permission && { permission: request.permission }),
      ...(error.code === 'FORBIDDEN' && { required_scopes: error.details?.required_scopes }),
      method: request.method,
      path: request.path,
      key_prefix: keyPrefix,
      client_ip: request.clientIp,
    },
    error.message,
  );
  const unauthedLimit = options.rateLimits?.limits.unauthenticated ?? 0;
  try {
    const { count, resetSeconds } = await recordAuthFailure(
      deps.db,
      {
        reason,
        code: error.code,
        method: request.method,
        route: request.route,
        path: request.path,
        clientIp: request.clientIp,
        keyPrefix,
        keyName: key?.name ?? null,
        ...(error.code === 'FORBIDDEN' && { requiredScopes: error.details?.required_scopes as string[] }),
        ...(request.requestId !== undefined && { requestId: request.requestId }),
      },
      unauthedLimit > 0 ? unauthedLimit : DEFAULT_AUDIT_CAP,
      options.rateLimits?.windowSeconds,
    );
    if (unauthedLimit > 0 && count > unauthedLimit) return rateLimitedError(resetSeconds);
  } catch (auditError) {
    // The audit must never turn a 401 into a 500; the log line above already recorded it.
    request.logger.error({ err: auditError }, 'could not record auth failure');
  }
  return error;
}

/**
 * A body, read only after admission and at most `limit` bytes: the bytes, or null once more than
 * `limit` arrived (reading stops there, so no client makes a process buffer an endless stream;
 * streamed bytes count, not just Content-Length). Node's IncomingMessage and a web ReadableStream
 * are both async iterables, so every transport reads through this one function.
 */
export async function readCapped(body: AsyncIterable<Uint8Array>, limit: number): Promise<Uint8Array | null> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks, size);
}

/**
 * Audit a successful write (`api_write`: who, what, when), whichever transport it came through.
 * The write itself is committed: losing its audit row is logged loudly, never turned into an error.
 */
export async function auditWrite(ctx: ServiceContext, write: ApiWrite): Promise<void> {
  try {
    await recordApiWrite(ctx, write);
  } catch (error) {
    ctx.logger.error({ err: error, method: write.method, path: write.path }, 'could not record API write audit');
  }
}

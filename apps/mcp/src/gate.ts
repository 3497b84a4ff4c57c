import {
  type AuthenticatedKey,
  admit,
  auditWrite,
  authenticate,
  type CoreDeps,
  checkPermissions,
  clientIp,
  contextFor,
  ERROR_STATUS,
  type GateOptions,
  type Permission,
  type RateLimitClass,
  rateLimitClassOf,
  readCapped,
  type ServiceContext,
  ServiceError,
} from '@calseta/core';
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { TOOLS } from './tools/index.js';

/**
 * MCP's side of core's gate, the same door REST routes go through: `admit` (authenticate, classify
 * a failure by its code, per-IP failure limit and audit, the key's rate-limit class in REST's
 * buckets) for every HTTP request, and for every tool call and resource read a `Caller` that
 * re-authenticates, checks the operation's permissions (`checkPermissions`: a refusal is audited
 * as `insufficient_scope`, as REST's) and audits writes (`api_write`).
 */

export type Env = { Bindings: HttpBindings };

/** Where a client's calls come from: the request that opened its session (or stdio). */
export interface CallSite {
  authorization: string | undefined;
  clientIp: string;
  /** `/mcp`, `/messages` or `stdio`. */
  path: string;
}

/** What a tool or resource handler needs of the caller, whatever the transport. */
export interface Caller {
  /** The caller's context, re-authenticated (through the key cache), so revocation applies at once. */
  context(): Promise<ServiceContext>;
  /** Null when the caller holds every permission; else the refusal, audited by core's gate. */
  refusal(ctx: ServiceContext, permissions: readonly Permission[], operation: string): Promise<ServiceError | null>;
  /** Audit a committed write (`api_write`), as REST audits its writes. */
  audit(ctx: ServiceContext, operation: string, resourceId: string): Promise<void>;
}

export function callerFor(deps: CoreDeps, security: GateOptions, site: CallSite): Caller {
  const at = (operation: string) => ({
    authorization: site.authorization,
    method: 'POST',
    route: `mcp ${operation}`,
    path: site.path,
    clientIp: site.clientIp,
    logger: deps.logger,
  });
  return {
    context: async () => contextFor(deps, { type: 'mcp', key: await authenticate(deps, site.authorization) }),
    refusal: (ctx, permissions, operation) =>
      ctx.actor.type === 'system'
        ? Promise.resolve(null)
        : checkPermissions(deps, security, at(operation), ctx.actor.key, permissions),
    audit: (ctx, operation, resourceId) =>
      auditWrite(ctx, { method: 'POST', route: `mcp ${operation}`, path: site.path, status: 200, resourceId }),
  };
}

const TOOLS_BY_NAME = new Map(TOOLS.map((tool) => [tool.name, tool]));

/**
 * The rate-limit class of a JSON-RPC message: a tools/call is classed as its REST twin is (core's
 * one table); everything else is `authenticated`. A batch is classed by its first message (and
 * refused right after the gate: one message per request).
 */
export function rateLimitClassOfMessage(body: unknown): RateLimitClass {
  const message = (Array.isArray(body) ? body[0] : body) as { method?: unknown; params?: unknown } | null;
  if (message?.method !== 'tools/call') return 'authenticated';
  const { name, arguments: args } = (message.params ?? {}) as { name?: unknown; arguments?: unknown };
  const twin = TOOLS_BY_NAME.get(String(name))?.restTwin?.((args ?? {}) as Record<string, unknown>);
  return twin ? rateLimitClassOf(...twin) : 'authenticated';
}

/** A JSON-RPC error answered by the door (before any transport sees the request). */
export function rpcError(c: Context<Env>, status: ContentfulStatusCode, code: number, message: string): Response {
  return c.json({ jsonrpc: '2.0', error: { code, message }, id: null }, status);
}

export interface Admitted {
  key: AuthenticatedKey;
  /** The parsed JSON-RPC message (POST only). */
  body: unknown;
  site: CallSite;
}

/** The body as JSON, at most `limit` bytes, through core's one capped reader. */
async function readJson(c: Context<Env>, limit: number): Promise<unknown> {
  const tooLarge = new ServiceError('PAYLOAD_TOO_LARGE', `Request body exceeds ${limit} bytes.`);
  if (Number(c.req.header('content-length') ?? 0) > limit) throw tooLarge;
  const stream = c.req.raw.body;
  const bytes = stream ? await readCapped(stream as AsyncIterable<Uint8Array>, limit) : new Uint8Array(0);
  if (bytes === null) throw tooLarge;
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    throw new ServiceError('INVALID_JSON', 'Parse error: the body is not JSON.');
  }
}

/**
 * Admit an HTTP request through core's gate: the key (401/403/429 otherwise), then — for a POST,
 * only once the key is known — the body, up to `maxBodyBytes` (413; 400 when not JSON), whose
 * message decides the rate-limit class. The answer to send when refused.
 */
export async function admitRequest(
  c: Context<Env>,
  deps: CoreDeps,
  security: GateOptions,
  maxBodyBytes: number,
): Promise<Admitted | Response> {
  const site: CallSite = {
    authorization: c.req.header('authorization'),
    clientIp: clientIp(
      c.env?.incoming?.socket?.remoteAddress,
      c.req.header('x-forwarded-for'),
      security.trustedProxies ?? [],
    ),
    path: c.req.path,
  };
  const post = c.req.method === 'POST';
  let body: unknown;
  let unreadable: ServiceError | undefined;
  const admission = await admit(deps, security, {
    ...site,
    rateLimitClass: post
      ? async () => {
          try {
            body = await readJson(c, maxBodyBytes);
          } catch (error) {
            if (!(error instanceof ServiceError)) throw error;
            // Still counted, as REST counts a request before its body: garbage is not a free request.
            unreadable = error;
            return 'authenticated';
          }
          return rateLimitClassOfMessage(body);
        }
      : 'authenticated',
    method: c.req.method,
    route: `mcp ${c.req.path}`,
    logger: deps.logger,
  });
  if (admission.ok && unreadable) {
    return unreadable.code === 'PAYLOAD_TOO_LARGE'
      ? rpcError(c, 413, -32600, unreadable.message)
      : rpcError(c, 400, -32700, unreadable.message);
  }
  if (!admission.ok) {
    const { error } = admission;
    if (error.code === 'RATE_LIMITED') c.header('Retry-After', String(error.details?.retry_after_seconds ?? 60));
    else if (error.code === 'UNAUTHORIZED' || error.code === 'KEY_EXPIRED') c.header('WWW-Authenticate', 'Bearer');
    return c.json(
      { error: { code: error.code, message: error.message, ...(error.details && { details: error.details }) } },
      (ERROR_STATUS[error.code] ?? 401) as ContentfulStatusCode,
    );
  }
  // The gate counts one hit per request: a JSON-RPC batch (up to 100 messages in the SDK) would
  // multiply every budget by its length. MCP 2025-06-18 dropped batching; one message per POST.
  if (Array.isArray(body) && body.length > 1) {
    return rpcError(c, 400, -32600, 'JSON-RPC batches are not supported: send one message per request.');
  }
  return { key: admission.key, body, site };
}

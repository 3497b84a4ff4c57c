import { randomUUID } from 'node:crypto';
import { type CoreDeps, clientIp, type Logger, readCapped } from '@calseta/core';
import type { HttpBindings } from '@hono/node-server';
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { errorResponse } from '../errors.js';
import type { AppEnv, SecurityOptions } from '../types.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * `parent.child(bindings)`, made when first used. A child logger costs ~15 µs (its bindings pass
 * through the redaction paths), and most requests never log: a 202 writes no line unless
 * LOG_REQUESTS is on.
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  const real = () => {
    child ??= parent.child(bindings);
    return child;
  };
  return new Proxy(parent, {
    get(_target, property) {
      const target = real();
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    set: (_target, property, value) => Reflect.set(real(), property, value),
    has: (_target, property) => Reflect.has(real(), property),
  });
}

/** Recent peers' addresses as `clientIp` writes them (parsing one costs 2–5 µs); bounded. */
const PEERS = new Map<string, string>();

/** The client address of a request that no trusted proxy forwarded: its socket peer's. */
function peerAddress(peer: string | undefined): string {
  if (peer === undefined) return clientIp(peer, undefined, []);
  let address = PEERS.get(peer);
  if (address === undefined) {
    address = clientIp(peer, undefined, []);
    if (PEERS.size >= 1_024) PEERS.clear();
    PEERS.set(peer, address);
  }
  return address;
}

/** Request id (inbound X-Request-ID or a new one), dependencies and a request-scoped logger. */
export function requestContext(
  deps: CoreDeps,
  logRequests: boolean,
  security: SecurityOptions = {},
): MiddlewareHandler<AppEnv> {
  const trusted = security.trustedProxies ?? [];
  return async (c, next) => {
    const inbound = c.req.header('x-request-id');
    const requestId = inbound && REQUEST_ID.test(inbound) ? inbound : randomUUID();
    const logger = lazyChild(deps.logger, { request_id: requestId });
    const peer = (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket?.remoteAddress;
    c.set('requestId', requestId);
    c.set('logger', logger);
    c.set('deps', deps);
    c.set('security', security);
    const forwarded = trusted.length > 0 ? c.req.header('x-forwarded-for') : undefined;
    c.set('clientIp', forwarded ? clientIp(peer, forwarded, trusted) : peerAddress(peer));
    c.header('X-Request-ID', requestId);
    const started = performance.now();
    await next();
    if (logRequests) {
      logger.info(
        {
          method: c.req.method,
          path: c.req.path,
          status: c.res.status,
          client_ip: c.get('clientIp'),
          duration_ms: Math.round((performance.now() - started) * 10) / 10,
        },
        'request',
      );
    }
  };
}

const API_CSP = "default-src 'none'; frame-ancestors 'none'";
/** The browser approval page: inline styles only, forms post back to this origin, nothing else loads. */
const APPROVAL_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
const DOCS_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

const HSTS = 'max-age=63072000; includeSubDomains';

const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'no-referrer'],
  ['Permissions-Policy', 'geolocation=(), microphone=(), camera=()'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
];

/**
 * The security headers of every API answer. Set before the handler runs, so `c.json()` builds the
 * response with them: a header set on a finished response makes hono copy the whole response (a
 * native Response with a streamed body) once per header. Checked afterwards all the same, and
 * overwritten where a handler changed or dropped one (a raw `Response` carries none of them).
 */
export function securityHeaders(hsts = false): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const path = c.req.path;
    const csp = path.startsWith('/docs') ? DOCS_CSP : path.startsWith('/v1/approvals/') ? APPROVAL_CSP : API_CSP;
    const wanted: Array<readonly [string, string]> = [...SECURITY_HEADERS, ['Content-Security-Policy', csp]];
    if (hsts) wanted.push(['Strict-Transport-Security', HSTS]);
    for (const [name, value] of wanted) c.header(name, value);
    await next();
    const headers = c.res.headers;
    for (const [name, value] of wanted) if (headers.get(name) !== value) c.header(name, value);
  };
}

/**
 * Opt-in CORS (`CORS_ALLOWED_ORIGINS`): only the listed origins (or `*`) get CORS headers, for bearer
 * keys. Credentials are never allowed: the session cookie serves this site's own pages only, and no
 * other origin can read a session's answers (its CSRF token among them).
 */
export function corsFor(origins: readonly string[]): MiddlewareHandler<AppEnv> {
  const any = origins.includes('*');
  return cors({
    origin: any ? '*' : (origin) => (origins.includes(origin) ? origin : null),
    allowMethods: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'X-Request-ID'],
    exposeHeaders: ['X-Request-ID', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'],
    credentials: false,
    maxAge: 600,
  });
}

/**
 * V8's JSON errors quote the body (`Unexpected token 'c', "{"a": cai_…"... is not valid JSON`):
 * keep the reason, never echo the input back (it may be a credential pasted in the wrong place).
 */
function parseErrorReason(message: string): string {
  return message.replace(/,\s.*is not valid JSON$/s, '').slice(0, 200);
}

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;
/** Refuses malformed UTF-8; stateless (no `stream` option), so one serves every request. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const MULTIPART_TYPE = /^multipart\/form-data$/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded$/i;

/** The browser approval form and Slack's interactivity callback post URL-encoded forms. */
const isFormRoute = (path: string) => path.startsWith('/v1/approvals/');

/** `METHOD path` of the routes that also take `multipart/form-data` (file uploads). */
const multipartRoutes = new Set<string>();

/**
 * Let a route take a `multipart/form-data` body as well as JSON (a file upload): the bytes are
 * read and size-checked like any body, then left for the route to parse (`c.req.parseBody()`).
 * Call it where the route is defined; `path` is the concrete request path.
 */
export function acceptMultipart(method: string, path: string): void {
  multipartRoutes.add(`${method.toUpperCase()} ${path}`);
}

function isIngest(path: string): boolean {
  return path.startsWith('/v1/ingest/') || path === '/v1/alerts';
}

/** JSON escapes of characters Postgres cannot store in text or jsonb: NUL and UTF-16 surrogates. */
const UNSTORABLE_ESCAPE = /\\u(0000|d[89a-f][0-9a-f]{2})/i;
/** NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this looks for.
const UNSTORABLE_CHAR = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The value with NUL and unpaired surrogates (in keys and strings) replaced by U+FFFD, so a payload
 * carrying them is stored rather than lost to a database error. Signatures still see the original
 * bytes.
 */
function storable(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(UNSTORABLE_CHAR, '\uFFFD');
  if (Array.isArray(value)) return value.map(storable);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storable(k) as string, storable(v)]));
  }
  return value;
}

/** The body size limits (ingest vs other routes) `readBody` applies. */
export function bodyLimits(ingestBytes: number, otherBytes: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('bodyLimits', { ingest: ingestBytes, other: otherBytes });
    await next();
  };
}

/**
 * Read and check a JSON body (routes may opt in to multipart uploads, see `acceptMultipart`). It
 * runs after the caller is authenticated (`apiRoute` puts it behind the gate; the token and
 * signature routes have their own credential in the body), so an unauthenticated request's body is
 * never read. Over the size limit (ingest vs other routes; streamed bytes count, not just
 * Content-Length) is 413, not JSON 415, unparseable 400. Under Node the bytes come straight from the
 * socket stream; they are then cached on the request, so validators and handlers (signature checks
 * need the exact bytes) reuse them.
 */
export const readBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  const method = c.req.method;
  if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') return next();
  const limits = c.get('bodyLimits');
  const limit = isIngest(c.req.path) ? limits.ingest : limits.other;
  const tooLarge = () =>
    errorResponse(c, 'PAYLOAD_TOO_LARGE', `Request body exceeds the ${limit / 1_048_576} MB limit of this route.`, {
      max_bytes: limit,
    });
  if (Number(c.req.header('content-length') ?? 0) > limit) return tooLarge();
  // Under Node straight from the socket stream; elsewhere (app.request in tests) the web stream.
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  const stream = incoming ?? c.req.raw.body;
  const bytes = stream ? await readCapped(stream as AsyncIterable<Uint8Array>, limit) : new Uint8Array(0);
  if (bytes === null) return tooLarge();
  const cache = c.req.bodyCache as Record<string, Promise<unknown>>;
  if (bytes.byteLength === 0) {
    // No body reads as an empty object: validators then name the missing fields.
    cache.text = Promise.resolve('{}');
    cache.arrayBuffer = Promise.resolve(new ArrayBuffer(0));
    return next();
  }
  const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim() ?? '';
  if (MULTIPART_TYPE.test(type) && multipartRoutes.has(`${method} ${c.req.path}`)) {
    cache.arrayBuffer = Promise.resolve(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return next();
  }
  if (FORM_TYPE.test(type) && isFormRoute(c.req.path)) {
    // Left as bytes for the route (Slack signatures are over the exact body).
    cache.arrayBuffer = Promise.resolve(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return next();
  }
  if (!JSON_TYPE.test(type)) {
    return errorResponse(c, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as JSON with "Content-Type: application/json".');
  }
  let text: string;
  try {
    text = UTF8.decode(bytes);
    let parsed: unknown = JSON.parse(text);
    if (UNSTORABLE_ESCAPE.test(text)) {
      parsed = storable(parsed);
      text = JSON.stringify(parsed);
    }
    c.set('body', parsed);
  } catch (error) {
    return errorResponse(c, 'INVALID_JSON', 'The request body is not valid JSON.', {
      reason: error instanceof Error ? parseErrorReason(error.message) : 'unparseable',
    });
  }
  cache.arrayBuffer = Promise.resolve(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  cache.text = Promise.resolve(text);
  return next();
};

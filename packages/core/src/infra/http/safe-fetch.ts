import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import net from 'node:net';
import { Agent, buildConnector, type Dispatcher, Headers } from 'undici';
import { OutboundBlockedError, OutboundRequestError } from './errors.js';
import {
  addressVerdict,
  blockedHostname,
  type CompiledPolicy,
  checkUrl,
  compile,
  ipLiteral,
  isAllowListedHost,
  type OutboundPolicy,
  outboundPolicy,
} from './policy.js';

export interface LookupAddress {
  address: string;
  family: number;
}

/** Resolves a hostname to every address it has. Tests inject answers that point inside. */
export type LookupPort = (hostname: string) => Promise<readonly LookupAddress[]>;

/** The default `LookupPort`: the OS resolver (`dns.lookup` with `all: true`), as Node itself would use. */
export const systemLookup: LookupPort = (hostname) => dns.promises.lookup(hostname, { all: true });

export interface SafeFetchOptions {
  lookup?: LookupPort;
  /** Extra trusted CA certificates (PEM) for TLS, e.g. an internal provider's private CA. Replaces the default roots. */
  ca?: string | Buffer | Array<string | Buffer>;
}

export interface SafeRequestInit {
  /** Default `GET`. */
  method?: string;
  /** A `host` header is ignored: the Host is always the URL's. */
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Caller cancellation; the policy's timeout applies as well. */
  signal?: AbortSignal;
  /** A shorter timeout for this request (the policy's `timeoutMs` is the ceiling). */
  timeoutMs?: number;
}

/** A fully read response (the body is already buffered, within `maxResponseBytes`). */
export interface SafeResponse {
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly headers: Headers;
  /** The final URL, after redirects. */
  readonly url: string;
  readonly redirected: boolean;
  readonly bytes: Uint8Array;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

export type SafeFetch = ((url: string | URL, init?: SafeRequestInit) => Promise<SafeResponse>) & {
  /** Close pooled connections; pending requests finish first. */
  close(): Promise<void>;
};

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/**
 * The only request headers that follow a redirect to another origin. Any other header may carry a
 * credential under a name only its API knows (VirusTotal `x-apikey`, AbuseIPDB `Key`, GreyNoise `key`,
 * an agent's auth header): dropping all of them by default is the only rule that cannot miss one.
 */
export const CROSS_ORIGIN_SAFE_HEADERS: ReadonlySet<string> = new Set([
  'accept',
  'accept-language',
  'user-agent',
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
]);
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location'];
/** Connect failures after which the next (already checked) address of the same answer is tried. */
const RETRY_NEXT_ADDRESS = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'EAFNOSUPPORT',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const REDIRECT_BODY_DRAIN_BYTES = 64 * 1024;

type ConnectResult = Parameters<buildConnector.Callback>;

/**
 * Resolve the connection target once and check every address. Returns the addresses to connect to
 * (all of them allowed) and the TLS servername (the original hostname; none for IP literals).
 */
async function resolveTarget(
  policy: CompiledPolicy,
  lookup: LookupPort,
  lookupTimeoutMs: number,
  options: buildConnector.Options,
): Promise<{ addresses: string[]; servername: string | undefined }> {
  const { hostname, port, protocol } = options;
  const allowListed = isAllowListedHost(policy, hostname, port, protocol);
  const literal = ipLiteral(hostname);
  if (literal !== null) {
    const reason = addressVerdict(policy, literal, allowListed);
    if (reason) throw new OutboundBlockedError(reason, hostname);
    return { addresses: [literal], servername: options.servername || undefined };
  }
  if (!allowListed) {
    const reason = blockedHostname(hostname);
    if (reason) throw new OutboundBlockedError(reason, hostname);
  }
  const answers = await within(
    lookup(hostname).catch(() => {
      // Reference quirk 32 allowed hosts that did not resolve; here that is a refusal.
      throw new OutboundBlockedError(`Blocked unresolvable hostname ${hostname}`, hostname);
    }),
    lookupTimeoutMs,
    () => new OutboundRequestError('timeout', `DNS lookup of ${hostname} timed out`),
  );
  if (answers.length === 0) throw new OutboundBlockedError(`Blocked hostname without addresses ${hostname}`, hostname);
  for (const { address } of answers) {
    if (net.isIP(address) === 0) {
      throw new OutboundBlockedError(`Blocked non-address DNS answer for ${hostname}`, hostname);
    }
    const reason = addressVerdict(policy, address, allowListed);
    if (reason) throw new OutboundBlockedError(`${reason} (resolved from ${hostname})`, hostname);
  }
  return { addresses: answers.map((answer) => answer.address), servername: options.servername || hostname };
}

/**
 * An undici connector that resolves once, checks, and connects the socket to the checked address
 * itself: the name is never handed to the socket layer, so nothing can resolve it a second time.
 * TLS still verifies the original hostname (servername drives SNI and the certificate check).
 */
function safeConnector(
  policy: CompiledPolicy,
  lookup: LookupPort,
  lookupTimeoutMs: number,
  base: buildConnector.connector,
): buildConnector.connector {
  return (options, callback) => {
    resolveTarget(policy, lookup, lookupTimeoutMs, options).then(
      ({ addresses, servername }) => {
        const attempt = (index: number) => {
          const address = addresses[index];
          if (address === undefined) return;
          base({ ...options, hostname: address, servername }, (...result: ConnectResult) => {
            const [error] = result;
            const code = (error as NodeJS.ErrnoException | null)?.code;
            if (error && index + 1 < addresses.length && code && RETRY_NEXT_ADDRESS.has(code)) attempt(index + 1);
            else callback(...result);
          });
        };
        attempt(0);
      },
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), null),
    );
  };
}

/** Handed to the socket layer as a tripwire: the connector only ever passes IP literals. */
const noLookup: LookupFunction = (hostname, _options, callback) => {
  callback(new OutboundBlockedError(`Blocked unexpected second DNS lookup of ${hostname}`, hostname), '', 4);
};

/** `promise`, or `onTimeout()` after `ms`: a hung resolver must not hold a connection slot forever. */
function within<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * `promise`, rejected as soon as `signal` aborts. undici only honours a request's signal once the
 * request is on a socket, so a request still waiting for its connection would otherwise hang on.
 * A value that arrives after the abort is handed to `discard`.
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, discard?: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) discard?.(value);
        else resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function discardBody(response: Dispatcher.ResponseData): void {
  response.body.on('error', () => undefined).destroy();
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else if (value !== undefined) headers.append(name, value);
  }
  return headers;
}

function requestHeaders(input: Record<string, string> | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input ?? {})) {
    if (name.toLowerCase() !== 'host') headers[name.toLowerCase()] = value;
  }
  return headers;
}

function decode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

function redirectTarget(location: string, current: URL): URL | string {
  try {
    return new URL(location, current);
  } catch {
    return location;
  }
}

/**
 * Validate a URL up front (e.g. an agent endpoint on create): the URL checks plus one resolution
 * with every address checked. Returns the parsed URL; throws `OutboundBlockedError`. This does not
 * replace `safeFetch` at call time: DNS can change between the two.
 */
export async function checkOutboundUrl(
  policyInput: Partial<OutboundPolicy>,
  input: string | URL,
  options: Pick<SafeFetchOptions, 'lookup'> = {},
): Promise<URL> {
  const policy = compile(outboundPolicy(policyInput));
  const url = checkUrl(policy, input);
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  await resolveTarget(policy, options.lookup ?? systemLookup, Math.min(policy.policy.timeoutMs, 10_000), {
    hostname,
    port: url.port,
    protocol: url.protocol,
  });
  return url;
}

/**
 * An HTTP client that can only reach what `policy` allows (see `OutboundPolicy`). One connection
 * pool per instance; call `close()` when done with it.
 */
export function createSafeFetch(policyInput: Partial<OutboundPolicy>, options: SafeFetchOptions = {}): SafeFetch {
  const policy = compile(outboundPolicy(policyInput));
  const { timeoutMs: policyTimeout, maxRedirects, maxResponseBytes } = policy.policy;
  const lookup = options.lookup ?? systemLookup;
  const connectTimeoutMs = Math.min(policyTimeout, 10_000);
  const base = buildConnector({
    timeout: connectTimeoutMs,
    lookup: noLookup,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
  });
  const agent = new Agent({
    connect: safeConnector(policy, lookup, connectTimeoutMs, base),
    headersTimeout: policyTimeout,
    bodyTimeout: policyTimeout,
  });

  async function send(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: string | Uint8Array | undefined,
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    const request = agent.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: method as Dispatcher.HttpMethod,
      headers,
      body: body ?? null,
      signal,
    });
    return untilAborted(request, signal, discardBody);
  }

  async function readBody(response: Dispatcher.ResponseData): Promise<Uint8Array> {
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxResponseBytes) {
      discardBody(response);
      throw new OutboundRequestError('too_large', `Response body of ${declared} bytes exceeds ${maxResponseBytes}`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxResponseBytes) {
        // Leaving the loop destroys the stream (and with it the connection).
        throw new OutboundRequestError('too_large', `Response body exceeds ${maxResponseBytes} bytes`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, total);
  }

  const safeFetch = async (input: string | URL, init: SafeRequestInit = {}): Promise<SafeResponse> => {
    const timeoutMs = Math.min(init.timeoutMs ?? policyTimeout, policyTimeout);
    // One controller for the deadline and the caller's signal (not AbortSignal.timeout/any: their
    // timer resources and weak references cost every call).
    const controller = new AbortController();
    const { signal } = controller;
    const timeout = { aborted: false };
    const timer = setTimeout(() => {
      timeout.aborted = true;
      controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    }, timeoutMs);
    const forward = () => controller.abort(init.signal?.reason);
    if (init.signal?.aborted) forward();
    else init.signal?.addEventListener('abort', forward, { once: true });
    try {
      return await fetchWithin(input, init, signal, timeout, timeoutMs);
    } finally {
      clearTimeout(timer);
      init.signal?.removeEventListener('abort', forward);
    }
  };

  const fetchWithin = async (
    input: string | URL,
    init: SafeRequestInit,
    signal: AbortSignal,
    timeout: { aborted: boolean },
    timeoutMs: number,
  ): Promise<SafeResponse> => {
    const failure = (error: unknown, redirected: boolean): Error => {
      if (error instanceof OutboundBlockedError) {
        return redirected ? new OutboundBlockedError(`Redirect refused: ${error.reason}`, error.host) : error;
      }
      if (error instanceof OutboundRequestError) return error;
      if (timeout.aborted) {
        return new OutboundRequestError('timeout', `Outbound request timed out after ${timeoutMs} ms`, {
          cause: error,
        });
      }
      if (init.signal?.aborted)
        return new OutboundRequestError('aborted', 'Outbound request aborted', { cause: error });
      const message = error instanceof Error ? error.message : String(error);
      return new OutboundRequestError('network', `Outbound request failed: ${message}`, { cause: error });
    };

    let url = checkUrl(policy, input);
    let method = (init.method ?? 'GET').toUpperCase();
    let body = init.body;
    let headers = requestHeaders(init.headers);

    for (let hop = 0; ; hop += 1) {
      let response: Dispatcher.ResponseData;
      try {
        response = await send(url, method, headers, body, signal);
      } catch (error) {
        throw failure(error, hop > 0);
      }
      const location = response.headers.location;
      if (!REDIRECT_STATUSES.has(response.statusCode) || typeof location !== 'string') {
        let bytes: Uint8Array;
        try {
          bytes = await untilAborted(readBody(response), signal);
        } catch (error) {
          throw failure(error, false);
        }
        return {
          status: response.statusCode,
          statusText: response.statusText,
          ok: response.statusCode >= 200 && response.statusCode < 300,
          headers: toHeaders(response.headers),
          url: url.href,
          redirected: hop > 0,
          bytes,
          text: async () => decode(bytes),
          json: async () => JSON.parse(decode(bytes)) as unknown,
        };
      }
      try {
        await untilAborted(response.body.dump({ limit: REDIRECT_BODY_DRAIN_BYTES, signal }), signal);
      } catch (error) {
        throw failure(error, false);
      }
      if (hop >= maxRedirects)
        throw new OutboundRequestError('too_many_redirects', `More than ${maxRedirects} redirects`);
      let next: URL;
      try {
        next = checkUrl(policy, redirectTarget(location, url));
      } catch (error) {
        throw failure(error, true);
      }
      const status = response.statusCode;
      const becomesGet =
        (status === 303 && method !== 'GET' && method !== 'HEAD') ||
        ((status === 301 || status === 302) && method === 'POST');
      if (next.origin !== url.origin) {
        // A 307/308 resends the body, which may hold credentials (an OAuth client secret): never to another origin.
        if (body !== undefined && !becomesGet) {
          throw failure(
            new OutboundBlockedError(`a request body is not resent to another origin (${next.host})`, next.hostname),
            true,
          );
        }
        headers = Object.fromEntries(Object.entries(headers).filter(([name]) => CROSS_ORIGIN_SAFE_HEADERS.has(name)));
      }
      if (becomesGet) {
        method = 'GET';
        body = undefined;
        headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !BODY_HEADERS.includes(name)));
      }
      url = next;
    }
  };

  return Object.assign(safeFetch, { close: () => agent.close() });
}

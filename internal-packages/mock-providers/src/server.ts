import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { abuseipdb } from './abuseipdb.js';
import { createTokenIssuer, entra } from './entra.js';
import { okta } from './okta.js';
import {
  type FaultOptions,
  type HandlerContext,
  type MockProviderName,
  type MockProvidersOptions,
  type MockRequest,
  type MockResponse,
  PROVIDER_NAMES,
  type ProviderModule,
  type RouteMatch,
} from './types.js';
import { Directory } from './users.js';
import { Rng } from './util.js';
import { virustotal } from './virustotal.js';

const MODULES: readonly ProviderModule[] = [virustotal, abuseipdb, okta, entra];
const MEMO_LIMIT = 5000;
const BODY_LIMIT = 1024 * 1024;

export interface MockStats {
  /** Every request to a provider path (control endpoints under /__mock are not counted). */
  requests: number;
  byProvider: Record<MockProviderName | 'unmatched', number>;
  /** Templated endpoint per provider, e.g. `virustotal GET /api/v3/ip_addresses/{ip}`. */
  byEndpoint: Record<string, number>;
  /** Raw request path (no query string) as received. */
  byPath: Record<string, number>;
  /** `provider:value`, e.g. `virustotal:185.220.101.34`, `okta:j.martinez@contoso.com`. */
  byValue: Record<string, number>;
  byStatus: Record<string, number>;
  faults: { rateLimited: number; serverErrors: number; malformed: number };
}

/** Base URL per provider: use it where the real service's origin would go. */
export interface MockBaseUrls {
  /** Replaces `https://www.virustotal.com` (paths `/api/v3/...`). */
  virustotal: string;
  /** Replaces `https://api.abuseipdb.com` (path `/api/v2/check`). */
  abuseipdb: string;
  /** Replaces `https://{your-org}.okta.com` (paths `/api/v1/users/...`). */
  okta: string;
  /** Replaces `https://login.microsoftonline.com` (path `/{tenant}/oauth2/v2.0/token`). */
  entraLogin: string;
  /** Replaces `https://graph.microsoft.com` (paths `/v1.0/...`). */
  graph: string;
}

export type MockOptionsPatch = Omit<MockProvidersOptions, 'port' | 'host'>;

export interface MockProvidersServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  baseUrls: MockBaseUrls;
  stats(): MockStats;
  /** Clears the statistics and the fault sequences (the Nth-request counters and rate windows). */
  reset(): void;
  /** Changes options for the following requests (fields present in `partial` replace the current ones) and restarts the fault sequences. */
  setOptions(partial: MockOptionsPatch): void;
  options(): MockOptionsPatch;
  close(): Promise<void>;
}

export function mockBaseUrls(url: string): MockBaseUrls {
  const root = url.replace(/\/+$/, '');
  return {
    virustotal: `${root}/virustotal`,
    abuseipdb: `${root}/abuseipdb`,
    okta: `${root}/okta`,
    entraLogin: `${root}/entra-login`,
    graph: `${root}/graph`,
  };
}

/**
 * Rewrites a real provider URL to the mock (`https://www.virustotal.com/api/v3/files/x` →
 * `http://127.0.0.1:8090/virustotal/api/v3/files/x`); null for hosts the mock does not serve.
 */
export function toMockUrl(realUrl: string, mockUrl: string): string | null {
  let u: URL;
  try {
    u = new URL(realUrl);
  } catch {
    return null;
  }
  const bases = mockBaseUrls(mockUrl);
  const host = u.hostname.toLowerCase();
  let base: string | null = null;
  if (host === 'www.virustotal.com' || host === 'virustotal.com') base = bases.virustotal;
  else if (host === 'api.abuseipdb.com') base = bases.abuseipdb;
  else if (/\.(okta|oktapreview|okta-emea|okta-gov)\.com$/.test(host)) base = bases.okta;
  else if (host === 'login.microsoftonline.com') base = bases.entraLogin;
  else if (host === 'graph.microsoft.com') base = bases.graph;
  if (!base) return null;
  return `${base}${u.pathname}${u.search}`;
}

function emptyStats(): MockStats {
  return {
    requests: 0,
    byProvider: { virustotal: 0, abuseipdb: 0, okta: 0, entra: 0, unmatched: 0 },
    byEndpoint: {},
    byPath: {},
    byValue: {},
    byStatus: {},
    faults: { rateLimited: 0, serverErrors: 0, malformed: 0 },
  };
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

/** Evenly spread deterministic hits: rate 0.25 → requests 4, 8, 12, … */
function evenHit(seq: number, rate: number | undefined): boolean {
  if (!rate || rate <= 0) return false;
  if (rate >= 1) return true;
  return Math.floor(seq * rate + 1e-9) > Math.floor((seq - 1) * rate + 1e-9);
}

function validateFaults(f: FaultOptions | undefined, where: string): void {
  if (!f) return;
  for (const key of ['errorRate', 'malformedRate'] as const) {
    const v = f[key];
    if (v !== undefined && (typeof v !== 'number' || v < 0 || v > 1 || Number.isNaN(v))) {
      throw new RangeError(`${where}${key} must be a number in 0..1`);
    }
  }
  const lat = f.latencyMs;
  if (typeof lat === 'number' && (lat < 0 || !Number.isFinite(lat)))
    throw new RangeError(`${where}latencyMs must be ≥ 0`);
  if (typeof lat === 'object' && (lat.min < 0 || lat.max < lat.min)) {
    throw new RangeError(`${where}latencyMs needs 0 ≤ min ≤ max`);
  }
  const rl = f.rateLimit;
  if (rl?.every !== undefined && (!Number.isInteger(rl.every) || rl.every < 1)) {
    throw new RangeError(`${where}rateLimit.every must be an integer ≥ 1`);
  }
  if (rl?.perMinute !== undefined && (!Number.isInteger(rl.perMinute) || rl.perMinute < 0)) {
    throw new RangeError(`${where}rateLimit.perMinute must be an integer ≥ 0`);
  }
}

function validate(o: MockOptionsPatch): void {
  validateFaults(o, '');
  for (const [name, f] of Object.entries(o.providers ?? {})) {
    if (!PROVIDER_NAMES.includes(name as MockProviderName)) throw new RangeError(`unknown provider "${name}"`);
    validateFaults(f, `providers.${name}.`);
  }
}

function effectiveFaults(o: MockOptionsPatch, provider: MockProviderName): FaultOptions {
  const p = o.providers?.[provider] ?? {};
  return {
    latencyMs: 'latencyMs' in p ? p.latencyMs : o.latencyMs,
    errorRate: 'errorRate' in p ? p.errorRate : o.errorRate,
    rateLimit: 'rateLimit' in p ? p.rateLimit : o.rateLimit,
    malformedRate: 'malformedRate' in p ? p.malformedRate : o.malformedRate,
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= BODY_LIMIT) chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function serialize(body: unknown, indent: number | undefined): string {
  if (typeof body === 'string') return body;
  return JSON.stringify(body, null, indent);
}

export async function startMockProviders(options: MockProvidersOptions = {}): Promise<MockProvidersServer> {
  const { port = 0, host = '127.0.0.1', ...rest } = options;
  validate(rest);
  let current: MockOptionsPatch = { ...rest };
  let stats = emptyStats();
  const seq = new Map<MockProviderName, number>();
  const windows = new Map<MockProviderName, number[]>();
  let globalSeq = 0;
  const directory = new Directory();
  const tokens = createTokenIssuer();
  const memoStore = new Map<string, unknown>();
  const memo = <T>(key: string, make: () => T): T => {
    if (memoStore.has(key)) {
      const v = memoStore.get(key) as T;
      memoStore.delete(key);
      memoStore.set(key, v);
      return v;
    }
    const v = make();
    memoStore.set(key, v);
    if (memoStore.size > MEMO_LIMIT) {
      const oldest = memoStore.keys().next().value;
      if (oldest !== undefined) memoStore.delete(oldest);
    }
    return v;
  };

  function resolveRoute(
    method: string,
    pathname: string,
    query: URLSearchParams,
  ): { module: ProviderModule; prefix: string; path: string; match: RouteMatch | null } | null {
    for (const module of MODULES) {
      for (const prefix of module.prefixes) {
        if (pathname === prefix || pathname.startsWith(`${prefix}/`)) {
          const path = pathname.slice(prefix.length) || '/';
          return { module, prefix, path, match: module.match(method, path, query) };
        }
      }
    }
    for (const module of MODULES) {
      const match = module.match(method, pathname, query);
      if (match) return { module, prefix: '', path: pathname, match };
    }
    return null;
  }

  function send(res: ServerResponse, status: number, text: string, headers: Record<string, string>): void {
    const body = Buffer.from(text, 'utf8');
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      ...headers,
      'Content-Length': String(body.length),
    });
    res.end(body);
  }

  async function control(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    const method = req.method ?? 'GET';
    if (pathname === '/__mock/health') return send(res, 200, JSON.stringify({ ok: true }), {});
    if (pathname === '/__mock/stats' && method === 'GET') return send(res, 200, JSON.stringify(api.stats()), {});
    if (pathname === '/__mock/reset' && method === 'POST') {
      api.reset();
      return send(res, 200, JSON.stringify({ ok: true }), {});
    }
    if (pathname === '/__mock/options') {
      if (method === 'GET') return send(res, 200, JSON.stringify(api.options()), {});
      if (method === 'POST' || method === 'PATCH') {
        try {
          const patch = JSON.parse((await readBody(req)) || '{}') as MockOptionsPatch;
          api.setOptions(patch);
          return send(res, 200, JSON.stringify(api.options()), {});
        } catch (err) {
          return send(res, 400, JSON.stringify({ error: err instanceof Error ? err.message : String(err) }), {});
        }
      }
    }
    return send(res, 404, JSON.stringify({ error: `no control endpoint ${method} ${pathname}` }), {});
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const hostHeader = req.headers.host ?? `${host}:${port}`;
    const url = new URL(req.url ?? '/', `http://${hostHeader}`);
    const pathname = url.pathname;
    if (pathname.startsWith('/__mock/')) return control(req, res, pathname);

    const route = resolveRoute(method, pathname, url.searchParams);
    stats.requests++;
    bump(stats.byPath, pathname);
    if (!route) {
      stats.byProvider.unmatched++;
      bump(stats.byStatus, '404');
      return send(
        res,
        404,
        JSON.stringify({
          error: 'not_found',
          message: `No mock provider serves ${method} ${pathname}`,
          prefixes: MODULES.flatMap((m) => m.prefixes),
        }),
        {},
      );
    }
    const { module, match } = route;
    const provider = module.name;
    stats.byProvider[provider]++;
    if (match) {
      bump(stats.byEndpoint, `${provider} ${match.endpoint}`);
      if (match.value !== undefined) bump(stats.byValue, `${provider}:${match.value}`);
    }
    const n = (seq.get(provider) ?? 0) + 1;
    seq.set(provider, n);
    const gs = ++globalSeq;
    const faults = effectiveFaults(current, provider);

    // Latency (deterministic sequence for a range).
    let latency = 0;
    if (typeof faults.latencyMs === 'number') latency = faults.latencyMs;
    else if (faults.latencyMs) {
      latency = new Rng('latency', String(gs)).int(faults.latencyMs.min, faults.latencyMs.max);
    }
    const body = await readBody(req);
    if (latency > 0) await sleep(latency);

    const common: Record<string, string> = {
      'x-mock-provider': provider,
      'x-mock-latency-ms': String(latency),
      'x-mock-request-seq': String(n),
    };
    const finish = (r: MockResponse, fault?: string): void => {
      bump(stats.byStatus, String(r.status));
      let text = serialize(r.body, r.indent);
      const headers = { ...r.headers, ...common };
      if (fault) headers['x-mock-fault'] = fault;
      if (!fault && r.status === 200 && evenHit(n, faults.malformedRate)) {
        text = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
        headers['x-mock-fault'] = 'malformed';
        stats.faults.malformed++;
      }
      send(res, r.status, text, headers);
    };

    // Rate limiting: every Nth request, then the per-minute window.
    const rl = faults.rateLimit;
    if (rl?.every && n % rl.every === 0) {
      stats.faults.rateLimited++;
      return finish(module.rateLimited(match, rl.retryAfterSeconds ?? 1, { providerCount: n }), 'rate-limit');
    }
    if (rl?.perMinute !== undefined) {
      const now = Date.now();
      const win = (windows.get(provider) ?? []).filter((t) => t > now - 60_000);
      if (win.length >= rl.perMinute) {
        windows.set(provider, win);
        const oldest = win[0] ?? now;
        const retry = rl.retryAfterSeconds ?? Math.max(1, Math.ceil((oldest + 60_000 - now) / 1000));
        stats.faults.rateLimited++;
        return finish(module.rateLimited(match, retry, { providerCount: n }), 'rate-limit');
      }
      win.push(now);
      windows.set(provider, win);
    }
    if (evenHit(n, faults.errorRate)) {
      stats.faults.serverErrors++;
      return finish(module.serverError(match), 'server-error');
    }
    if (!match) return finish(module.notFoundPath(route.path));

    const mockReq: MockRequest = {
      method,
      path: route.path,
      query: url.searchParams,
      headers: req.headers,
      body,
      base: `${url.protocol}//${hostHeader}${route.prefix}`,
    };
    const ctx: HandlerContext = {
      apiKeys: current.apiKeys ?? {},
      directory,
      providerCount: stats.byProvider[provider],
      tokens,
      memo,
    };
    return finish(match.handle(mockReq, ctx));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        send(
          res,
          500,
          JSON.stringify({ error: 'mock_failure', message: err instanceof Error ? err.message : String(err) }),
          {},
        );
      } else {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const displayHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const baseUrl = `http://${displayHost}:${address.port}`;

  const api: MockProvidersServer = {
    url: baseUrl,
    port: address.port,
    baseUrls: mockBaseUrls(baseUrl),
    stats() {
      return structuredClone(stats);
    },
    reset() {
      stats = emptyStats();
      seq.clear();
      windows.clear();
      globalSeq = 0;
    },
    setOptions(partial) {
      const next: MockOptionsPatch = { ...current };
      for (const [k, v] of Object.entries(partial) as [keyof MockOptionsPatch, unknown][]) {
        if (k === 'providers' && v && typeof v === 'object') {
          next.providers = { ...current.providers, ...(v as MockOptionsPatch['providers']) };
        } else {
          (next as Record<string, unknown>)[k] = v;
        }
      }
      validate(next);
      current = next;
      seq.clear();
      windows.clear();
      globalSeq = 0;
    },
    options() {
      return structuredClone(current);
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
  return api;
}

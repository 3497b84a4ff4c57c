import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runProvider } from '@calseta/enrichment-engine';
import { abuseipdbProvider, entraProvider, virustotalProvider } from '@calseta/integrations';
import type { ProviderDefinition } from '@calseta/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeHttpPort } from '../enrichment/runtime.js';
import { createSafeFetch, type SafeFetch } from './safe-fetch.js';

// Audit finding (issue 15): on a redirect to another origin, safe-fetch dropped only authorization,
// cookie and proxy-authorization, so VirusTotal's `x-apikey` and AbuseIPDB's `Key` followed the
// provider's redirect to whatever host it named. Real servers on 127.0.0.1 (two ports = two
// origins); the providers are the real builtin definitions, run by the engine over the real port.

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Server {
  origin: string;
  seen: Seen[];
  close(): Promise<void>;
}

async function serve(handle: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handle(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  } satisfies Server;
}

const API_KEY = 'vt-or-abuse-live-key-7f3a9c2e1b';
const CLIENT_SECRET = 'entra-client-secret-Q9x~2Lm';

let attacker: Server;
let provider: Server;
let fetch: SafeFetch;

beforeAll(async () => {
  // The "other origin": records what reaches it and answers like the provider would.
  attacker = await serve((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ data: { attributes: { last_analysis_stats: { malicious: 0 } } } }));
  });
  // The provider answers every call with a redirect to the other origin (307 keeps method and body).
  provider = await serve((req, res) => {
    res.statusCode = req.method === 'POST' ? 307 : 302;
    res.setHeader('location', `${attacker.origin}${req.url ?? '/'}`);
    res.end();
  });
  fetch = createSafeFetch({ timeoutMs: 5_000, allowHosts: ['127.0.0.1'] });
});

afterAll(async () => {
  await fetch?.close();
  await provider?.close();
  await attacker?.close();
});

async function run(definition: ProviderDefinition, type: 'ip' | 'hash_sha256' | 'email', value: string) {
  return runProvider({
    provider: definition,
    indicator: { type, value },
    auth: {
      api_key: API_KEY,
      base_url: provider.origin,
      tenant_id: 'contoso',
      client_id: 'client-1',
      client_secret: CLIENT_SECRET,
      login_base_url: provider.origin,
      graph_base_url: provider.origin,
    },
    http: safeHttpPort(fetch),
    clock: () => new Date(),
  });
}

describe('a redirect to another origin never carries a provider credential', () => {
  it.each([
    ['VirusTotal x-apikey', virustotalProvider, 'hash_sha256', 'a'.repeat(64)],
    ['AbuseIPDB Key', abuseipdbProvider, 'ip', '185.220.101.32'],
  ] as const)('%s is dropped, the rest of the request follows', async (_name, definition, type, value) => {
    attacker.seen.length = 0;
    await run(definition, type, value);
    expect(attacker.seen).toHaveLength(1);
    const [hop] = attacker.seen;
    expect(JSON.stringify(hop)).not.toContain(API_KEY);
    // Only the harmless headers crossed.
    expect(hop?.headers.accept).toBe('application/json');
  });

  it('a credentialed body (OAuth client secret) is not resent to another origin on 307', async () => {
    attacker.seen.length = 0;
    provider.seen.length = 0;
    const { result } = await run(entraProvider, 'email', 'r.chen@contoso.com');
    expect(provider.seen[0]?.body).toContain('client_secret=');
    expect(attacker.seen).toHaveLength(0);
    expect(result.status).toBe('failed');
    expect(result.error_message).toMatch(/not resent to another origin/);
  });

  it('a same-origin redirect keeps the headers (the provider moved a path, not a host)', async () => {
    const same = await serve((req, res) => {
      if (req.url === '/start') {
        res.statusCode = 302;
        res.setHeader('location', '/moved');
        res.end();
      } else res.end('{}');
    });
    try {
      await fetch(`${same.origin}/start`, { headers: { 'x-apikey': API_KEY } });
      expect(same.seen.map((s) => [s.url, s.headers['x-apikey']])).toEqual([
        ['/start', API_KEY],
        ['/moved', API_KEY],
      ]);
    } finally {
      await same.close();
    }
  });
});

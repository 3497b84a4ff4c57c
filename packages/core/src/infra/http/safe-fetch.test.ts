import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { OutboundBlockedError, OutboundRequestError } from './errors.js';
import type { OutboundPolicy } from './policy.js';
import {
  checkOutboundUrl,
  createSafeFetch,
  type LookupAddress,
  type LookupPort,
  type SafeFetch,
} from './safe-fetch.js';

// Every server here listens on 127.0.0.1 with an OS-chosen port; nothing leaves the machine.

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

interface TestServer {
  port: number;
  origin: string;
  hits: number;
  requests: http.IncomingMessage[];
}

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
}

async function serve(handler: Handler): Promise<TestServer> {
  const state: TestServer = { port: 0, origin: '', hits: 0, requests: [] };
  const server = http.createServer((req, res) => {
    state.hits += 1;
    state.requests.push(req);
    handler(req, res);
  });
  state.port = await listen(server);
  state.origin = `http://127.0.0.1:${state.port}`;
  return state;
}

function client(policy: Partial<OutboundPolicy>, lookup?: LookupPort, ca?: string): SafeFetch {
  const safeFetch = createSafeFetch(
    { timeoutMs: 5_000, ...policy },
    { ...(lookup ? { lookup } : {}), ...(ca ? { ca } : {}) },
  );
  cleanups.push(() => safeFetch.close());
  return safeFetch;
}

/** A fake resolver answering from a table, counting calls per hostname. */
function fakeDns(answers: Record<string, string[] | Error | ((call: number) => string[])>) {
  const calls: string[] = [];
  const lookup: LookupPort = async (hostname) => {
    calls.push(hostname);
    const answer = answers[hostname];
    if (answer === undefined)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    if (answer instanceof Error) throw answer;
    const list = typeof answer === 'function' ? answer(calls.filter((name) => name === hostname).length) : answer;
    return list.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { lookup, calls };
}

async function blocked(promise: Promise<unknown>): Promise<OutboundBlockedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OutboundBlockedError);
  const blockedError = error as OutboundBlockedError;
  expect(blockedError.code).toBe('SSRF_BLOCKED');
  return blockedError;
}

async function failed(promise: Promise<unknown>): Promise<OutboundRequestError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OutboundRequestError);
  return error as OutboundRequestError;
}

describe('safeFetch refuses SSRF bypass forms', () => {
  it.each([
    ['http://127.0.0.1/', /loopback address 127\.0\.0\.1/],
    ['http://localhost/', /internal hostname: localhost/],
    ['http://[::1]/', /loopback address ::1/],
    ['http://0.0.0.0/', /unspecified address 0\.0\.0\.0/],
    ['http://0/', /unspecified address 0\.0\.0\.0/],
    ['http://2130706433/', /loopback address 127\.0\.0\.1/],
    ['http://0x7f000001/', /loopback address 127\.0\.0\.1/],
    ['http://0177.0.0.1/', /loopback address 127\.0\.0\.1/],
    ['http://127.1/', /loopback address 127\.0\.0\.1/],
    ['http://0x7f.1/', /loopback address 127\.0\.0\.1/],
    ['http://%31%32%37.0.0.1/', /loopback address 127\.0\.0\.1/],
    ['http://１２７.0.0.1/', /loopback address 127\.0\.0\.1/],
    ['http://127.0.0.1./', /loopback address 127\.0\.0\.1/],
    ['http://user:secret@127.0.0.1/', /loopback address 127\.0\.0\.1/],
    ['http://127.0.0.1\\@example.com/', /loopback address 127\.0\.0\.1/],
    ['https://127.0.0.1/', /loopback/],
    ['http://[::ffff:127.0.0.1]/', /IPv4-mapped .* loopback address 127\.0\.0\.1/],
    ['http://[::ffff:7f00:1]/', /IPv4-mapped .* loopback address 127\.0\.0\.1/],
    ['http://[0:0:0:0:0:ffff:169.254.169.254]/', /IPv4-mapped .* cloud metadata address 169\.254\.169\.254/],
    ['http://[::7f00:1]/', /IPv4-compatible/],
    ['http://[::]/', /unspecified address ::/],
    ['http://169.254.169.254/latest/meta-data/', /cloud metadata address 169\.254\.169\.254/],
    ['http://169.254.170.2/v2/credentials', /cloud metadata address 169\.254\.170\.2/],
    ['http://metadata.google.internal/', /internal hostname: metadata\.google\.internal/],
    ['http://metadata.google.internal./', /internal hostname: metadata\.google\.internal/],
    ['http://METADATA.GOOG/', /internal hostname: metadata\.goog/],
    ['http://100.100.100.200/', /cloud metadata address 100\.100\.100\.200/],
    ['http://[fd00:ec2::254]/', /cloud metadata address fd00:ec2::254/],
    ['http://10.0.0.1/', /private address 10\.0\.0\.1/],
    ['http://192.168.1.1/', /private address 192\.168\.1\.1/],
    ['http://172.16.0.1/', /private address 172\.16\.0\.1/],
    ['http://100.64.0.1/', /carrier-grade NAT address 100\.64\.0\.1/],
    ['http://[fe80::1]/', /link-local address fe80::1/],
    ['http://[fe80::1%25eth0]/', /invalid URL/],
    ['http://[fc00::1]/', /unique-local address fc00::1/],
    ['http://[fec0::1]/', /site-local/],
    ['http://[64:ff9b::7f00:1]/', /NAT64 .* loopback address 127\.0\.0\.1/],
    ['http://[2002:7f00:1::]/', /6to4 .* loopback address 127\.0\.0\.1/],
    ['http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/', /Teredo client .* loopback/],
    ['http://255.255.255.255/', /broadcast/],
    ['http://224.0.0.1/', /multicast/],
    ['http://240.0.0.1/', /reserved/],
    ['http://198.18.0.1/', /benchmarking/],
    ['http://192.0.2.1/', /documentation/],
    ['http://app.localhost/', /suffix \.localhost/],
    ['http://localhost./', /internal hostname: localhost/],
    ['http://printer.local/', /suffix \.local/],
    ['http://db.internal/', /suffix \.internal/],
    ['http://jira.corp/', /suffix \.corp/],
    ['http://nas.lan/', /suffix \.lan/],
    ['http://router.home.arpa/', /suffix \.home\.arpa/],
    ['ftp://example.com/', /scheme ftp:/],
    ['file:///etc/passwd', /scheme file:/],
    ['gopher://x/', /scheme gopher:/],
    ['data:text/plain,hi', /scheme data:/],
    ['not a url', /invalid URL/],
  ])('%s', async (url, reason) => {
    // The resolver answers everything with loopback: if a form slipped through as a "hostname",
    // the call would be counted (and blocked for a different reason).
    const calls: string[] = [];
    const lookup: LookupPort = async (hostname) => {
      calls.push(hostname);
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const error = await blocked(client({}, lookup)(url));
    expect(error.reason).toMatch(reason);
    expect(calls).toEqual([]);
  });
});

describe('safeFetch checks what hostnames resolve to', () => {
  it('refuses a hostname whose DNS answer is 127.0.0.1', async () => {
    const dns = fakeDns({ 'evil.example': ['127.0.0.1'] });
    const error = await blocked(client({}, dns.lookup)('http://evil.example/'));
    expect(error.reason).toBe('Blocked loopback address 127.0.0.1 (resolved from evil.example)');
    expect(dns.calls).toEqual(['evil.example']);
  });

  it('refuses a hostname whose answer mixes a public and a private address', async () => {
    // 127.0.0.1 plays the public address (allowed via allowCidrs) so a regression could only ever
    // connect locally; the live server proves nothing was sent to it.
    const target = await serve((_req, res) => res.end('reached'));
    const dns = fakeDns({ 'mixed.example': ['127.0.0.1', '10.0.0.5'] });
    const safeFetch = client({ allowCidrs: ['127.0.0.1/32'] }, dns.lookup);
    const error = await blocked(safeFetch(`http://mixed.example:${target.port}/`));
    expect(error.reason).toBe('Blocked private address 10.0.0.5 (resolved from mixed.example)');
    expect(target.hits).toBe(0);
  });

  it('refuses a hostname resolving to an IPv4-mapped metadata address', async () => {
    const dns = fakeDns({ 'mapped.example': ['::ffff:169.254.169.254'] });
    const error = await blocked(client({}, dns.lookup)('http://mapped.example/'));
    expect(error.reason).toMatch(/IPv4-mapped .* cloud metadata/);
  });

  it('refuses a hostname that fails to resolve (reference quirk 32 fixed)', async () => {
    const dns = fakeDns({});
    const error = await blocked(client({}, dns.lookup)('http://nowhere.example/'));
    expect(error.reason).toBe('Blocked unresolvable hostname nowhere.example');
    expect(dns.calls).toEqual(['nowhere.example']);
  });

  it('refuses a hostname with an empty answer', async () => {
    const dns = fakeDns({ 'empty.example': [] });
    const error = await blocked(client({}, dns.lookup)('http://empty.example/'));
    expect(error.reason).toMatch(/without addresses/);
  });

  it('connects to the checked address: one lookup per connection, a later rebinding answer is not used', async () => {
    // 127.0.0.1 stands in for a public address (opened by allowCidrs); the rebinding answer is
    // 127.0.0.2, outside the allowed range. Each response closes its connection, so every request
    // needs a new one.
    const target = await serve((req, res) => {
      res.setHeader('connection', 'close');
      res.end(req.socket.localAddress);
    });
    const dns = fakeDns({ 'rebind.example': (call) => (call === 1 ? ['127.0.0.1'] : ['127.0.0.2']) });
    const safeFetch = client({ allowCidrs: ['127.0.0.1/32'] }, dns.lookup);

    const first = await safeFetch(`http://rebind.example:${target.port}/`);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('127.0.0.1');
    expect(first.url).toBe(`http://rebind.example:${target.port}/`);
    expect(target.requests[0]?.headers.host).toBe(`rebind.example:${target.port}`);
    expect(dns.calls).toEqual(['rebind.example']); // resolved once: checked and connected with the same answer

    const second = await blocked(safeFetch(`http://rebind.example:${target.port}/`));
    expect(second.reason).toBe('Blocked loopback address 127.0.0.2 (resolved from rebind.example)');
    expect(dns.calls).toEqual(['rebind.example', 'rebind.example']);
    expect(target.hits).toBe(1);
  });

  it('falls back to the next checked address of the same answer without resolving again', async () => {
    const target = await serve((req, res) => res.end(req.socket.localAddress));
    // Nothing listens on [::1]:port (refused, or unreachable without IPv6): the second address is used.
    const dns = fakeDns({ 'dual.example': ['::1', '127.0.0.1'] });
    const safeFetch = client({ allowCidrs: ['::1/128', '127.0.0.1/32'] }, dns.lookup);
    const response = await safeFetch(`http://dual.example:${target.port}/`);
    expect(await response.text()).toBe('127.0.0.1');
    expect(dns.calls).toEqual(['dual.example']);
  });

  it('resolves allow-listed hostnames through the same port, once', async () => {
    const target = await serve((_req, res) => res.end('ok'));
    const dns = fakeDns({ 'provider.internal': ['127.0.0.1'] });
    const safeFetch = client({ allowHosts: [`PROVIDER.internal:${target.port}`] }, dns.lookup);
    const response = await safeFetch(`http://provider.internal:${target.port}/`);
    expect(await response.text()).toBe('ok');
    expect(dns.calls).toEqual(['provider.internal']);
    // Another port of the same host is not allow-listed.
    await blocked(safeFetch(`http://provider.internal:${target.port + 1}/`));
  });

  it('times out while DNS hangs', async () => {
    const lookup: LookupPort = () => new Promise<never>(() => undefined);
    const started = Date.now();
    const error = await failed(client({ timeoutMs: 150 }, lookup)('http://slow-dns.example/'));
    expect(error.kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe('safeFetch against allow-listed local servers', () => {
  it('returns a JSON body', async () => {
    const target = await serve((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, path: req.url, auth: req.headers.authorization ?? null }));
    });
    const safeFetch = client({ allowHosts: [`127.0.0.1:${target.port}`] });
    const response = await safeFetch(`${target.origin}/v1/lookup?q=1`, { headers: { Authorization: 'Bearer t' } });
    expect(response.status).toBe(200);
    expect(response.ok).toBe(true);
    expect(response.redirected).toBe(false);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ method: 'GET', path: '/v1/lookup?q=1', auth: 'Bearer t' });
  });

  it('sends a body and ignores a caller-supplied Host header', async () => {
    const target = await serve((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => res.end(JSON.stringify({ method: req.method, host: req.headers.host, body })));
    });
    const safeFetch = client({ allowHosts: ['127.0.0.1'] });
    const response = await safeFetch(target.origin, {
      method: 'post',
      headers: { host: 'metadata.google.internal', 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(await response.json()).toEqual({ method: 'POST', host: `127.0.0.1:${target.port}`, body: '{"a":1}' });
  });

  it('refuses a non-allow-listed port of an allow-listed host', async () => {
    const other = await serve((_req, res) => res.end('secret'));
    const error = await blocked(client({ allowHosts: ['127.0.0.1:1'] })(other.origin));
    expect(error.reason).toMatch(/loopback/);
    expect(other.hits).toBe(0);
  });

  it('refuses plain http when allowHttp is false, even for a live server', async () => {
    const target = await serve((_req, res) => res.end('ok'));
    const error = await blocked(client({ allowHttp: false, allowHosts: ['127.0.0.1'] })(target.origin));
    expect(error.reason).toMatch(/https required/);
    expect(target.hits).toBe(0);
  });

  it('fails a response larger than maxResponseBytes (declared length)', async () => {
    const target = await serve((_req, res) => res.end('x'.repeat(2_000)));
    const error = await failed(client({ allowHosts: ['127.0.0.1'], maxResponseBytes: 1_000 })(target.origin));
    expect(error.kind).toBe('too_large');
  });

  it('fails a streamed response once it passes maxResponseBytes, without reading it all', async () => {
    let written = 0;
    const target = await serve((_req, res) => {
      // Chunked, no content-length, and endless: only the client's abort stops it.
      const chunk = 'y'.repeat(16 * 1024);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) written += chunk.length;
      };
      res.on('drain', pump);
      pump();
    });
    const error = await failed(client({ allowHosts: ['127.0.0.1'], maxResponseBytes: 100_000 })(target.origin));
    expect(error.kind).toBe('too_large');
    expect(written).toBeLessThan(50 * 1024 * 1024);
  });

  it('accepts a response of exactly maxResponseBytes', async () => {
    const target = await serve((_req, res) => res.end('z'.repeat(1_000)));
    const response = await client({ allowHosts: ['127.0.0.1'], maxResponseBytes: 1_000 })(target.origin);
    expect((await response.text()).length).toBe(1_000);
  });

  it('times out against a server that never responds', async () => {
    const target = await serve(() => undefined); // holds the socket open, never answers
    const started = Date.now();
    const error = await failed(client({ allowHosts: ['127.0.0.1'], timeoutMs: 200 })(target.origin));
    const elapsed = Date.now() - started;
    expect(error.kind).toBe('timeout');
    expect(error.message).toMatch(/timed out after 200 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(3_000);
    expect(target.hits).toBe(1);
  });

  it('reports a caller abort as aborted', async () => {
    const controller = new AbortController();
    const target = await serve(() => controller.abort());
    const error = await failed(client({ allowHosts: ['127.0.0.1'] })(target.origin, { signal: controller.signal }));
    expect(error.kind).toBe('aborted');
  });

  it('reports a refused connection as a network error', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await failed(client({ allowHosts: ['127.0.0.1'] })(`http://127.0.0.1:${port}/`));
    expect(error.kind).toBe('network');
  });
});

describe('safeFetch redirects', () => {
  function redirecting(location: (req: http.IncomingMessage) => string, status = 302): Handler {
    return (req, res) => {
      res.statusCode = status;
      res.setHeader('location', location(req));
      res.end('moved');
    };
  }

  it('refuses an allow-listed server redirecting to the metadata address', async () => {
    const source = await serve(redirecting(() => 'http://169.254.169.254/latest/meta-data/'));
    const error = await blocked(client({ allowHosts: [`127.0.0.1:${source.port}`] })(source.origin));
    expect(error.reason).toBe('Redirect refused: Blocked cloud metadata address 169.254.169.254');
  });

  it('refuses a redirect to a non-allow-listed local port', async () => {
    const secret = await serve((_req, res) => res.end('secret'));
    const source = await serve(redirecting(() => `${secret.origin}/admin`));
    const error = await blocked(client({ allowHosts: [`127.0.0.1:${source.port}`] })(source.origin));
    expect(error.reason).toBe('Redirect refused: Blocked loopback address 127.0.0.1');
    expect(secret.hits).toBe(0);
  });

  it('refuses a redirect to a hostname that resolves inside', async () => {
    const secret = await serve((_req, res) => res.end('secret'));
    const source = await serve(redirecting(() => `http://innocent.example:${secret.port}/`));
    const dns = fakeDns({ 'innocent.example': ['127.0.0.1'] });
    const error = await blocked(client({ allowHosts: [`127.0.0.1:${source.port}`] }, dns.lookup)(source.origin));
    expect(error.reason).toBe('Redirect refused: Blocked loopback address 127.0.0.1 (resolved from innocent.example)');
    expect(secret.hits).toBe(0);
  });

  it('refuses a redirect to another scheme', async () => {
    const source = await serve(redirecting(() => 'file:///etc/passwd'));
    const error = await blocked(client({ allowHosts: ['127.0.0.1'] })(source.origin));
    expect(error.reason).toBe('Redirect refused: Blocked scheme file: (only http and https)');
  });

  it('refuses a chain longer than maxRedirects', async () => {
    const loop = await serve(redirecting((req) => `/hop/${Number(req.url?.split('/')[2] ?? 0) + 1}`));
    const error = await failed(client({ allowHosts: ['127.0.0.1'], maxRedirects: 3 })(`${loop.origin}/hop/0`));
    expect(error.kind).toBe('too_many_redirects');
    expect(loop.hits).toBe(4); // the original request and three followed hops
  });

  it('follows up to maxRedirects hops', async () => {
    const loop = await serve((req, res) => {
      const hop = Number(req.url?.split('/')[2] ?? 0);
      if (hop < 3) redirecting(() => `/hop/${hop + 1}`, 307)(req, res);
      else res.end(`arrived ${hop}`);
    });
    const response = await client({ allowHosts: ['127.0.0.1'], maxRedirects: 3 })(`${loop.origin}/hop/0`);
    expect(await response.text()).toBe('arrived 3');
  });

  it('follows a redirect between two allow-listed servers', async () => {
    const target = await serve((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ at: 'target', path: req.url, auth: req.headers.authorization ?? null }));
    });
    const source = await serve(redirecting(() => `${target.origin}/landing`));
    const safeFetch = client({ allowHosts: [`127.0.0.1:${source.port}`, `127.0.0.1:${target.port}`] });
    const response = await safeFetch(`${source.origin}/start`, { headers: { authorization: 'Bearer secret' } });
    expect(response.status).toBe(200);
    expect(response.redirected).toBe(true);
    expect(response.url).toBe(`${target.origin}/landing`);
    // Credentials do not follow a redirect to another origin.
    expect(await response.json()).toEqual({ at: 'target', path: '/landing', auth: null });
    expect(source.hits).toBe(1);
  });

  it('turns a POST into a GET on 303 and keeps method and body on 307', async () => {
    const seen: Array<{ method: string | undefined; body: string }> = [];
    const server = await serve((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        seen.push({ method: req.method, body });
        if (req.url === '/see-other') redirecting(() => '/done', 303)(req, res);
        else if (req.url === '/temporary') redirecting(() => '/done', 307)(req, res);
        else res.end('done');
      });
    });
    const safeFetch = client({ allowHosts: ['127.0.0.1'] });
    await safeFetch(`${server.origin}/see-other`, { method: 'POST', body: 'payload' });
    await safeFetch(`${server.origin}/temporary`, { method: 'POST', body: 'payload' });
    expect(seen).toEqual([
      { method: 'POST', body: 'payload' },
      { method: 'GET', body: '' },
      { method: 'POST', body: 'payload' },
      { method: 'POST', body: 'payload' },
    ]);
  });

  it('returns a 3xx without Location as is', async () => {
    const server = await serve((_req, res) => {
      res.statusCode = 304;
      res.end();
    });
    const response = await client({ allowHosts: ['127.0.0.1'] })(server.origin);
    expect(response.status).toBe(304);
    expect(response.redirected).toBe(false);
  });
});

describe('safeFetch over TLS', () => {
  const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
  const cert = fixture('tls-cert.pem');
  const key = fixture('tls-key.pem');

  async function serveTls(): Promise<{ port: number; servernames: Array<string | false | null> }> {
    const servernames: Array<string | false | null> = [];
    const server = https.createServer({ cert, key }, (req, res) => {
      servernames.push((req.socket as TLSSocket).servername);
      res.end(`hello ${req.headers.host}`);
    });
    return { port: await listen(server), servernames };
  }

  it('connects to the checked address and validates the certificate against the original hostname', async () => {
    const server = await serveTls();
    const dns = fakeDns({ 'calseta-tls.test': ['127.0.0.1'] });
    const safeFetch = client({ allowCidrs: ['127.0.0.1/32'] }, dns.lookup, cert);
    const response = await safeFetch(`https://calseta-tls.test:${server.port}/`);
    expect(await response.text()).toBe(`hello calseta-tls.test:${server.port}`);
    expect(server.servernames).toEqual(['calseta-tls.test']); // SNI carried the name, not the IP
    expect(dns.calls).toEqual(['calseta-tls.test']);
  });

  it('fails when the certificate does not match the requested hostname', async () => {
    const server = await serveTls();
    const dns = fakeDns({ 'other-name.test': ['127.0.0.1'] });
    const safeFetch = client({ allowCidrs: ['127.0.0.1/32'] }, dns.lookup, cert);
    const error = await failed(safeFetch(`https://other-name.test:${server.port}/`));
    expect(error.kind).toBe('network');
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });
});

describe('checkOutboundUrl', () => {
  it('checks the URL and every resolved address, resolving once', async () => {
    const dns = fakeDns({ 'hooks.example': ['127.0.0.1'], 'inside.example': ['10.1.1.1'] });
    const policy = { allowCidrs: ['127.0.0.1/32'] };
    const url = await checkOutboundUrl(policy, 'https://Hooks.Example/agent', { lookup: dns.lookup });
    expect(url.href).toBe('https://hooks.example/agent');
    expect((await blocked(checkOutboundUrl(policy, 'https://inside.example/', { lookup: dns.lookup }))).reason).toBe(
      'Blocked private address 10.1.1.1 (resolved from inside.example)',
    );
    expect((await blocked(checkOutboundUrl(policy, 'https://gone.example/', { lookup: dns.lookup }))).reason).toBe(
      'Blocked unresolvable hostname gone.example',
    );
    await blocked(checkOutboundUrl(policy, 'http://[::1]/', { lookup: dns.lookup }));
    expect(dns.calls).toEqual(['hooks.example', 'inside.example', 'gone.example']);
  });
});

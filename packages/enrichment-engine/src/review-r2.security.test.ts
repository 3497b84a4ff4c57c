/**
 * Review R2 of the provider-credential fix (issue 15, Critical; docs/security.md): a runtime JSON
 * provider as an outside author writes one, against a real HTTP server that issues a session token
 * and whose lookup echoes what it received (some APIs echo request metadata). Whatever the shape —
 * the token sent as a query parameter or in a body instead of a header, echoed under an unusual
 * name, a Basic header, an API key in the query string — no credential may be in the stored result.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type HttpConfigInput, HttpConfigSchema } from '@calseta/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpPort } from './ports.js';
import { REDACTED, redactCredentials, redactText } from './redact.js';
import { resultSteps, runSteps } from './steps.js';

let server: http.Server;
let base: string;
/** Every session token the server issued. */
const issued: string[] = [];
const API_KEY = `k-${randomBytes(12).toString('hex')}`;
const BASIC = `svc-intel:${randomBytes(9).toString('hex')}`;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      const url = req.url ?? '/';
      if (url === '/login') {
        const session = `s${randomBytes(16).toString('hex')}`;
        issued.push(session);
        res.end(JSON.stringify({ session, expires_in: 3600 }));
        return;
      }
      // The lookup: answers, and echoes every credential it saw, under names real APIs use.
      const seen = new URL(url, 'http://x').searchParams.get('session') ?? '';
      const token = String(req.headers['x-auth-token'] ?? '') || seen || (body.match(/"s[0-9a-f]{32}"/)?.[0] ?? '');
      res.end(
        JSON.stringify({
          score: 3,
          request: {
            url,
            'X-Auth-Token': token,
            auth: { client_token: token },
            sessionKey: token,
            line: `Authorization: ${req.headers.authorization ?? ''}`,
          },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const port: HttpPort = async (request) => {
  const started = performance.now();
  const res = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    signal: request.signal,
  });
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return { status: res.status, headers, body: await res.text(), durationMs: performance.now() - started };
};

async function storedRaw(
  lookup: Record<string, unknown>,
  auth: Record<string, string> = {},
): Promise<{ text: string; raw: unknown }> {
  const config = HttpConfigSchema.parse({
    steps: [
      { name: 'login', method: 'POST', url: `${base}/login` },
      { name: 'lookup', ...lookup },
    ],
  } as HttpConfigInput);
  const outcome = await runSteps({
    config,
    indicator: { type: 'ip', value: '185.220.101.32' },
    auth,
    http: port,
    clock: () => new Date(),
  });
  expect(outcome.status).toBe('success');
  return { text: JSON.stringify(outcome.raw), raw: outcome.raw };
}

function leaked(text: string): string[] {
  const base64 = Buffer.from(BASIC).toString('base64');
  return [...issued, API_KEY, BASIC, base64].filter((secret) => text.includes(secret));
}

describe('no credential in a runtime provider’s stored result (review R2)', () => {
  it('a session token sent as a query parameter: the login step is not a result', async () => {
    const { text, raw } = await storedRaw({
      url: `${base}/lookup`,
      query_params: { session: '{{steps.login.session}}' },
    });
    expect(leaked(text)).toEqual([]);
    expect(raw).toMatchObject({ lookup: { score: 3 } });
  });

  it('a session token in the URL’s query string', async () => {
    const { text } = await storedRaw({ url: `${base}/lookup?session={{steps.login.session}}` });
    expect(leaked(text)).toEqual([]);
  });

  it('a session token sent in a JSON body', async () => {
    const { text } = await storedRaw({
      method: 'POST',
      url: `${base}/lookup`,
      json_body: { session: '{{steps.login.session}}', ip: '{{indicator.value}}' },
    });
    expect(leaked(text)).toEqual([]);
  });

  it('a token header echoed back as X-Auth-Token, client_token and sessionKey', async () => {
    const { text } = await storedRaw({ url: `${base}/lookup`, headers: { 'X-Auth-Token': '{{steps.login.session}}' } });
    expect(leaked(text)).toEqual([]);
  });

  it('Basic credentials echoed in text, and an API key named `key` echoed in the URL', async () => {
    const { text } = await storedRaw(
      {
        url: `${base}/lookup`,
        query_params: { key: '{{auth.key}}' },
        headers: { Authorization: 'Basic {{auth.basic | base64}}', 'X-Auth-Token': '{{steps.login.session}}' },
      },
      { key: API_KEY, basic: BASIC },
    );
    expect(leaked(text)).toEqual([]);
  });
});

describe('an API key in the URL path, under a name that says nothing (review R2)', () => {
  it('is redacted where the answer echoes the URL', async () => {
    const { text } = await storedRaw(
      { url: `${base}/v1/{{auth.license}}/lookup`, headers: { 'X-Auth-Token': '{{steps.login.session}}' } },
      { license: API_KEY, tenant_id: 'contoso-tenant-0001', base_url: base },
    );
    expect(leaked(text)).toEqual([]);
    expect(text).toContain('"url":"/v1/');
  });
});

describe('result-step inference keeps lookup chains (review R2)', () => {
  it('an id sent in a later body or URL path keeps its step a result; a credential-named member does not', () => {
    const steps = (second: Record<string, unknown>) =>
      HttpConfigSchema.parse({
        steps: [
          { name: 'first', url: 'https://a.test/s' },
          { name: 'second', ...second },
        ],
      });
    expect(resultSteps(steps({ url: 'https://a.test/o/{{steps.first.data.id}}' }))).toEqual([true, true]);
    expect(resultSteps(steps({ url: 'https://a.test/o', json_body: { id: '{{steps.first.data.id}}' } }))).toEqual([
      true,
      true,
    ]);
    for (const name of ['session', 'sessionKey', 'client_token', 'key', 'sid', 'ticket']) {
      expect(resultSteps(steps({ url: 'https://a.test/o', query_params: { q: `{{steps.first.${name}}}` } }))).toEqual([
        false,
        true,
      ]);
    }
    expect(resultSteps(steps({ url: 'https://a.test/o', headers: { 'X-Id': '{{steps.first.id}}' } }))).toEqual([
      false,
      true,
    ]);
  });
});

describe('the name-based second line knows more spellings (review R2)', () => {
  it('credential names by their ending, x-auth, and the word after any authorization scheme', () => {
    const echoed = {
      'X-Auth-Token': 'a1',
      client_token: 'hvs.b2',
      sessionKey: 'c3',
      'x-auth': 'd4',
      shared_secret: 'e5',
    };
    expect(Object.values(redactCredentials(echoed) as Record<string, unknown>)).toEqual(Array(5).fill(REDACTED));
    // Facts that only mention a credential stay.
    expect(redactCredentials({ passwordChanged: '2024-01-02', token_type: 'Bearer' })).toEqual({
      passwordChanged: '2024-01-02',
      token_type: 'Bearer',
    });
    const basic = Buffer.from('svc:hunter2hunter2').toString('base64');
    expect(redactText(`Authorization: Basic ${basic}`)).not.toContain(basic.slice(0, 12));
    expect(redactText('Authorization: Digest abcdef0123456789')).not.toContain('abcdef0123456789');
    expect(redactText('basic information about the host')).toBe('basic information about the host');
  });
});

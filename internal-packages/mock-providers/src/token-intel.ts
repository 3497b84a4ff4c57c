/**
 * A small threat-intel API behind an OAuth client-credentials token, for testing runtime JSON
 * providers with an authentication step (the shape of many commercial intel APIs):
 *
 *   POST /oauth/token            form: grant_type=client_credentials, client_id, client_secret
 *                                → { access_token (opaque), refresh_token, id_token (a JWT), token_type, expires_in }
 *   GET  /v1/lookup/{type}/{value}  Authorization: Bearer <access_token>
 *                                → { indicator, type, reputation, score, categories, request: { authorization } }
 *
 * The lookup echoes the Authorization header it received (some APIs echo request metadata), so a
 * result that keeps it shows whether the engine's redaction works. Every token issued and every path
 * received is recorded.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KNOWN_BAD } from './data.js';

export interface TokenIntelServer {
  url: string;
  /** `host:port`, for the SSRF allow-list. */
  host: string;
  clientId: string;
  clientSecret: string;
  /** Every access, refresh and id token issued so far. */
  issued: string[];
  /** Raw request paths (with query) in arrival order. */
  paths: string[];
  /**
   * A runtime provider definition (the REST create body) for this server: a token step with no
   * `result` flag (as providers written before the flag) and a lookup step.
   */
  provider(name?: string): Record<string, unknown>;
  /**
   * Field extractions for that provider (the REST bulk-create body's `extractions`), including the
   * echoed request metadata, as an author mapping "what the API saw" would write.
   */
  extractions(name?: string): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

const TYPES = ['ip', 'domain', 'hash_sha256', 'account', 'email'];
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export async function startTokenIntel(): Promise<TokenIntelServer> {
  const clientId = 'intel-client';
  const clientSecret = `intel-secret-${randomBytes(12).toString('hex')}`;
  const issued: string[] = [];
  const paths: string[] = [];
  const live = new Set<string>();

  const answer = (res: http.ServerResponse, status: number, body: unknown) => {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const path = req.url ?? '/';
      paths.push(path);
      if (req.method === 'POST' && path === '/oauth/token') {
        const form = new URLSearchParams(body);
        if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) {
          answer(res, 401, { error: 'invalid_client' });
          return;
        }
        const access = `ti-at-${randomBytes(16).toString('hex')}`;
        const refresh = `ti-rt-${randomBytes(16).toString('hex')}`;
        const id = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: clientId, iat: 1 })}.${randomBytes(16).toString('base64url')}`;
        issued.push(access, refresh, id);
        live.add(access);
        answer(res, 200, {
          token_type: 'Bearer',
          expires_in: 3600,
          access_token: access,
          refresh_token: refresh,
          id_token: id,
        });
        return;
      }
      const match = /^\/v1\/lookup\/([a-z0-9_]+)\/([^/?#]+)$/.exec(path);
      if (req.method === 'GET' && match) {
        const authorization = req.headers.authorization ?? '';
        if (!live.has(authorization.replace(/^Bearer /, ''))) {
          answer(res, 401, { error: 'invalid_token' });
          return;
        }
        const value = decodeURIComponent(match[2] ?? '');
        const bad = Object.values(KNOWN_BAD).some((list) => (list as readonly string[]).includes(value));
        answer(res, 200, {
          indicator: value,
          type: match[1],
          reputation: bad ? 'bad' : 'clean',
          score: bad ? 95 : 3,
          categories: bad ? ['c2', 'scanner'] : [],
          request: { authorization, note: `served for ${authorization}` },
        });
        return;
      }
      answer(res, 404, { error: 'not_found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    host: `127.0.0.1:${port}`,
    clientId,
    clientSecret,
    issued,
    paths,
    provider: (name = 'token_intel') => ({
      provider_name: name,
      display_name: 'Token-authenticated intel',
      supported_indicator_types: TYPES,
      auth_type: 'oauth2_client_credentials',
      auth_config: { client_id: clientId, client_secret: clientSecret, base_url: url },
      http_config: {
        steps: [
          {
            name: 'token',
            method: 'POST',
            url: '{{auth.base_url | raw}}/oauth/token',
            form_body: {
              grant_type: 'client_credentials',
              client_id: '{{auth.client_id}}',
              client_secret: '{{auth.client_secret}}',
            },
          },
          {
            name: 'lookup',
            url: '{{auth.base_url | raw}}/v1/lookup/{{indicator.type}}/{{indicator.value}}',
            headers: { Authorization: 'Bearer {{steps.token.access_token}}', Accept: 'application/json' },
          },
        ],
      },
      malice_rules: {
        rules: [{ field: 'lookup.reputation', operator: '==', value: 'bad', verdict: 'Malicious' }],
        default_verdict: 'Benign',
      },
    }),
    extractions: (name = 'token_intel') =>
      TYPES.flatMap((indicator_type) => [
        { provider_name: name, indicator_type, source_path: 'lookup.score', target_key: 'score', value_type: 'int' },
        {
          provider_name: name,
          indicator_type,
          source_path: 'lookup.request',
          target_key: 'request_seen',
          value_type: 'dict',
        },
      ]),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

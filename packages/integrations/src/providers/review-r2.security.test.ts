import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CachePort,
  type CoalescePort,
  enrichIndicator,
  type HttpPort,
  type RatePort,
} from '@calseta/enrichment-engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entraProvider } from './entra.js';
import { oktaProvider } from './okta.js';

// Review R2 (issue 15, dot segments / account validation): Okta's `GET /api/v1/users/me` answers
// with the user the API token belongs to (an administrator). An alert whose account indicator is
// `me` — any alert source can send one — had Okta describe that administrator (profile, groups,
// manager) into a result every `alerts:read` key reads. A real server records the paths it receives.

let paths: string[];
let server: http.Server;
let base: string;

beforeAll(async () => {
  paths = [];
  server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(
      req.url?.includes('/oauth2/') ? '{"access_token":"t"}' : '{"id":"00uADMIN","profile":{"login":"admin@corp"}}',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const port: HttpPort = async (request) => {
  const response = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    signal: request.signal,
  });
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: await response.text(),
    durationMs: 0,
  };
};
const noCache: CachePort = { get: async () => undefined, set: async () => {} };
const direct: CoalescePort = { run: (_key, work) => work() };
const open: RatePort = { acquire: async () => ({ ok: true }), pause: async () => {} };

describe('an account named after the caller never reaches an identity provider (review R2)', () => {
  it.each(['me', 'ME', ' me '])('account %j is refused before any call', async (value) => {
    paths.length = 0;
    const outcome = await enrichIndicator({
      indicator: { type: 'account', value },
      providers: [oktaProvider, entraProvider],
      ports: { http: port, cache: noCache, coalesce: direct, rate: open, clock: () => new Date() },
      auth: () => ({
        api_token: 'okta-admin-token',
        tenant_id: 't',
        client_id: 'c',
        client_secret: 's',
        base_url: base,
        login_base_url: base,
        graph_base_url: base,
      }),
    });
    expect(paths.filter((path) => path.includes('/users/'))).toEqual([]);
    expect(outcome.enrichable).toBe(false);
  });
});

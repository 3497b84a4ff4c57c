import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type HttpPort, runProvider } from '@calseta/enrichment-engine';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { oktaProvider } from './okta.js';

// Okta's `manager_lookup` step reads `/api/v1/users/{profile.managerId}`: a user whose managerId is
// empty (or `..`) must not turn it into `/api/v1/users/` — the list of every user, asked with the
// admin token and stored as the result. A real server on 127.0.0.1 records the paths it receives.

let paths: string[];
let managerId: string;
let server: http.Server;
let base: string;

beforeAll(async () => {
  paths = [];
  server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    const user = { id: '00u1', status: 'ACTIVE', profile: { login: 'j.doe@example.com', managerId } };
    res.end(JSON.stringify(req.url === '/api/v1/users/j.doe%40example.com' ? user : [user, user]));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const http_: HttpPort = async (request) => {
  const response = await fetch(request.url, { method: request.method, headers: request.headers });
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: await response.text(),
    durationMs: 0,
  };
};

it.each(['', '..', '.'])('a managerId of %j never asks for another path than a user', async (value) => {
  paths.length = 0;
  managerId = value;
  const { result } = await runProvider({
    provider: oktaProvider,
    indicator: { type: 'email', value: 'j.doe@example.com' },
    auth: { api_token: 'okta-admin-token', base_url: base },
    http: http_,
    clock: () => new Date(),
  });
  // The optional step is skipped; the user is still described.
  expect(result.status).toBe('success');
  expect(paths.filter((p) => !/^\/api\/v1\/users\/[^/?]+(\/(groups|factors))?$/.test(p))).toEqual([]);
  expect(Object.keys(result.raw as object)).not.toContain('manager_lookup');
});

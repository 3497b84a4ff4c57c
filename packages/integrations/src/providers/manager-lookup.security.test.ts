import { runProvider } from '@calseta/enrichment-engine';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { oktaProvider } from './okta.js';
import { fetchHttp, type RecordingServer, startRecordingServer } from './test-kit.js';

// Okta's `manager_lookup` step reads `/api/v1/users/{profile.managerId}`: a user whose managerId is
// empty (or `..`) must not turn it into `/api/v1/users/` — the list of every user, asked with the
// admin token and stored as the result. A real server on 127.0.0.1 records the paths it receives.

let paths: string[];
let managerId: string;
let server: RecordingServer;
let base: string;

beforeAll(async () => {
  server = await startRecordingServer((path) => {
    const user = { id: '00u1', status: 'ACTIVE', profile: { login: 'j.doe@example.com', managerId } };
    return JSON.stringify(path === '/api/v1/users/j.doe%40example.com' ? user : [user, user]);
  });
  ({ paths, base } = server);
});
afterAll(() => server?.close());

it.each(['', '..', '.'])('a managerId of %j never asks for another path than a user', async (value) => {
  paths.length = 0;
  managerId = value;
  const { result } = await runProvider({
    provider: oktaProvider,
    indicator: { type: 'email', value: 'j.doe@example.com' },
    auth: { api_token: 'okta-admin-token', base_url: base },
    http: fetchHttp,
    clock: () => new Date(),
  });
  // The optional step is skipped; the user is still described.
  expect(result.status).toBe('success');
  expect(paths.filter((p) => !/^\/api\/v1\/users\/[^/?]+(\/(groups|factors))?$/.test(p))).toEqual([]);
  expect(Object.keys(result.raw as object)).not.toContain('manager_lookup');
});

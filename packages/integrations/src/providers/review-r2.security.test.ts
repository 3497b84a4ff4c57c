import { enrichIndicator } from '@calseta/enrichment-engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entraProvider } from './entra.js';
import { oktaProvider } from './okta.js';
import { direct, fetchHttp, noCache, open, type RecordingServer, startRecordingServer } from './test-kit.js';

// Review R2 (issue 15, dot segments / account validation): Okta's `GET /api/v1/users/me` answers
// with the user the API token belongs to (an administrator). An alert whose account indicator is
// `me` — any alert source can send one — had Okta describe that administrator (profile, groups,
// manager) into a result every `alerts:read` key reads. A real server records the paths it receives.

let paths: string[];
let server: RecordingServer;
let base: string;

beforeAll(async () => {
  server = await startRecordingServer((path) =>
    path.includes('/oauth2/') ? '{"access_token":"t"}' : '{"id":"00uADMIN","profile":{"login":"admin@corp"}}',
  );
  ({ paths, base } = server);
});
afterAll(() => server?.close());

describe('an account named after the caller never reaches an identity provider (review R2)', () => {
  it.each(['me', 'ME', ' me '])('account %j is refused before any call', async (value) => {
    paths.length = 0;
    const outcome = await enrichIndicator({
      indicator: { type: 'account', value },
      providers: [oktaProvider, entraProvider],
      ports: { http: fetchHttp, cache: noCache, coalesce: direct, rate: open, clock: () => new Date() },
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

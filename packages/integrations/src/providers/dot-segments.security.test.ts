import { enrichIndicator, runProvider } from '@calseta/enrichment-engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entraProvider } from './entra.js';
import { oktaProvider } from './okta.js';
import { direct, fetchHttp, noCache, open, type RecordingServer, startRecordingServer } from './test-kit.js';

// Audit finding (issue 15): an indicator value `.` or `..` was left unencoded in a provider URL, and
// URL parsers collapse such a segment: Okta `/api/v1/users/..` became `/api/v1/` (and `/users/.`
// the list of every user) — called with the admin API token. A real server on 127.0.0.1 records the
// paths it receives; the builtin Okta and Entra definitions run over real HTTP.

let paths: string[];
let server: RecordingServer;
let base: string;

beforeAll(async () => {
  server = await startRecordingServer((path) =>
    // Answers everything, as a real directory would answer a list request.
    path.includes('/oauth2/') ? '{"access_token":"t"}' : '{"id":"00u1","value":[]}',
  );
  ({ paths, base } = server);
});
afterAll(() => server?.close());

/** Okta's admin token and Entra's app credentials, every base URL on the recording server. */
const authFor = () => ({
  api_token: 'okta-admin-token',
  tenant_id: 't',
  client_id: 'c',
  client_secret: 's',
  base_url: base,
  login_base_url: base,
  graph_base_url: base,
});

describe('dot segments never reach an identity provider', () => {
  it.each(['.', '..', ' .. '])(
    'the pipeline refuses account %j with a clear skip reason, before any call',
    async (value) => {
      paths.length = 0;
      const outcome = await enrichIndicator({
        indicator: { type: 'account', value },
        providers: [oktaProvider, entraProvider],
        ports: { http: fetchHttp, cache: noCache, coalesce: direct, rate: open, clock: () => new Date() },
        auth: authFor,
      });
      expect(paths).toEqual([]);
      expect(outcome.enrichable).toBe(false);
      for (const result of outcome.results) {
        expect(result).toMatchObject({ status: 'skipped', skip_reason: 'not_enrichable' });
        expect(result.error_message).toMatch(/dot segment/);
      }
    },
  );

  it.each(['.', '..'])('the URL templating refuses %j even when a caller skips the gate', async (value) => {
    paths.length = 0;
    const { result } = await runProvider({
      provider: oktaProvider,
      indicator: { type: 'account', value },
      auth: authFor(),
      http: fetchHttp,
      clock: () => new Date(),
    });
    expect(paths).toEqual([]);
    expect(result.status).toBe('failed');
    expect(result.error_message).toMatch(/dot segment/);
  });

  it('an ordinary account is looked up at its own path', async () => {
    paths.length = 0;
    await runProvider({
      provider: oktaProvider,
      indicator: { type: 'account', value: 'j.doe' },
      auth: authFor(),
      http: fetchHttp,
      clock: () => new Date(),
    });
    expect(paths[0]).toBe('/api/v1/users/j.doe');
  });
});

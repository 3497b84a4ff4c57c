import { abuseipdbAuth, entraAuth, oktaAuth, virustotalAuth } from '@calseta/integrations';
import { describe, expect, it } from 'vitest';
import { missingBuiltinAuth, resolveBuiltinAuth } from './builtin-auth.js';

// The first-party auth specs (a devDependency) against core's resolver: the reference env vars map and
// the real base URLs are the defaults.
describe('resolveBuiltinAuth', () => {
  it('maps the reference env vars and defaults the real base URLs', () => {
    expect(resolveBuiltinAuth(virustotalAuth, { env: { VIRUSTOTAL_API_KEY: 'k' } })).toEqual({
      api_key: 'k',
      base_url: 'https://www.virustotal.com',
    });
    expect(resolveBuiltinAuth(abuseipdbAuth, { env: { ABUSEIPDB_API_KEY: 'k' } })).toEqual({
      api_key: 'k',
      base_url: 'https://api.abuseipdb.com',
    });
    expect(resolveBuiltinAuth(oktaAuth, { env: { OKTA_DOMAIN: 'acme.okta.com', OKTA_API_TOKEN: 't' } })).toEqual({
      domain: 'acme.okta.com',
      api_token: 't',
      base_url: 'https://acme.okta.com',
    });
    expect(
      resolveBuiltinAuth(entraAuth, {
        env: { ENTRA_TENANT_ID: 'tid', ENTRA_CLIENT_ID: 'cid', ENTRA_CLIENT_SECRET: 's' },
      }),
    ).toEqual({
      tenant_id: 'tid',
      client_id: 'cid',
      client_secret: 's',
      login_base_url: 'https://login.microsoftonline.com',
      graph_base_url: 'https://graph.microsoft.com',
    });
  });

  it('prefers stored config over env over defaults, ignores empty values, reports what is missing', () => {
    const auth = resolveBuiltinAuth(virustotalAuth, {
      env: { VIRUSTOTAL_API_KEY: 'env', VIRUSTOTAL_BASE_URL: 'http://127.0.0.1:1/virustotal' },
      stored: { api_key: 'db', base_url: '' },
    });
    expect(auth).toEqual({ api_key: 'db', base_url: 'http://127.0.0.1:1/virustotal' });
    const okta = resolveBuiltinAuth(oktaAuth, { env: { OKTA_API_TOKEN: 't' } });
    expect(okta).toEqual({ api_token: 't' });
    expect(missingBuiltinAuth(oktaAuth, okta)).toEqual(['base_url']);
    expect(missingBuiltinAuth(virustotalAuth, auth)).toEqual([]);
  });
});

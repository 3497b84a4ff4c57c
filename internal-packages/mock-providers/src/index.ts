/**
 * @calseta/mock-providers — an HTTP server that speaks the real APIs of the builtin enrichment
 * providers (VirusTotal v3, AbuseIPDB v2, Okta, Microsoft Entra ID / Graph) with deterministic,
 * full-size responses and switchable faults. For development, tests and benchmarks only.
 */
import type { MockBaseUrls } from './server.js';

export { ABUSEIPDB_DAILY_LIMIT } from './abuseipdb.js';
export {
  type IndicatorKind,
  KNOWN_BAD,
  KNOWN_SUSPICIOUS,
  type MockVerdict,
  mockVerdict,
  NOT_FOUND_RULES,
  NOT_FOUND_VALUES,
} from './data.js';
export { GRAPH_APP_ROLES } from './entra.js';
export { OKTA_RATE_LIMIT } from './okta.js';
export {
  type MockBaseUrls,
  type MockOptionsPatch,
  type MockProvidersServer,
  type MockStats,
  mockBaseUrls,
  startMockProviders,
  toMockUrl,
} from './server.js';
export { startTokenIntel, type TokenIntelServer } from './token-intel.js';
export type { ApiKeys, FaultOptions, MockProviderName, MockProvidersOptions } from './types.js';
export { KNOWN_USERS, type MockUser, SYNTHETIC_USER_RE } from './users.js';
export { MOCK_NOW_MS, vtUrlId } from './util.js';

/**
 * The environment that points Calseta's builtin providers (VirusTotal, AbuseIPDB, Okta, Entra) at a
 * running mock server, with placeholder credentials, and allows that server through the SSRF guard.
 * `CALSETA_MOCK_ENV` names the variables that come from the mock, so Calseta knows (and says) which
 * providers answer with demo data; a provider's own real credential overrides them all.
 */
export function mockProviderEnv(server: { url: string; baseUrls: MockBaseUrls }): Record<string, string> {
  const b = server.baseUrls;
  const providers: Record<string, string> = {
    VIRUSTOTAL_API_KEY: 'mock-virustotal-key',
    VIRUSTOTAL_BASE_URL: b.virustotal,
    ABUSEIPDB_API_KEY: 'mock-abuseipdb-key',
    ABUSEIPDB_BASE_URL: b.abuseipdb,
    OKTA_DOMAIN: 'mock.okta.test',
    OKTA_API_TOKEN: 'mock-okta-token',
    OKTA_BASE_URL: b.okta,
    ENTRA_TENANT_ID: 'contoso-tenant',
    ENTRA_CLIENT_ID: 'calseta-mock',
    ENTRA_CLIENT_SECRET: 'mock-entra-secret',
    ENTRA_LOGIN_BASE_URL: b.entraLogin,
    ENTRA_GRAPH_BASE_URL: b.graph,
  };
  return {
    ...providers,
    CALSETA_MOCK_ENV: Object.keys(providers).join(','),
    SSRF_ALLOWED_HOSTS: new URL(server.url).host,
  };
}

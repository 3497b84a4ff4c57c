/**
 * @calseta/mock-providers — an HTTP server that speaks the real APIs of the builtin enrichment
 * providers (VirusTotal v3, AbuseIPDB v2, Okta, Microsoft Entra ID / Graph) with deterministic,
 * full-size responses and switchable faults. For development, tests and benchmarks only.
 */
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
export type { ApiKeys, FaultOptions, MockProviderName, MockProvidersOptions } from './types.js';
export { KNOWN_USERS, type MockUser, SYNTHETIC_USER_RE } from './users.js';
export { MOCK_NOW_MS, vtUrlId } from './util.js';

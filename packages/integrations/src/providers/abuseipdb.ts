import { ProviderDefinitionSchema } from '@calseta/schema';
import { type BuiltinAuthSpec, type BuiltinProvider, extractionsFor } from './shared.js';

/**
 * AbuseIPDB API v2 `check` (reference §4.9), `verbose` for the country name and the recent reports,
 * whose category ids say what the address was reported for. AbuseIPDB never 404s a valid IP: an unknown one comes back
 * with score 0 and no reports, so there is no `not_found_status`. Base URL from `auth.base_url`
 * (default `https://api.abuseipdb.com`).
 */

export const abuseipdbAuth: BuiltinAuthSpec = {
  type: 'api_key',
  env_var_mapping: { ABUSEIPDB_API_KEY: 'api_key', ABUSEIPDB_BASE_URL: 'base_url' },
  defaults: { base_url: 'https://api.abuseipdb.com' },
  required: ['api_key', 'base_url'],
};

export const abuseipdbProvider = ProviderDefinitionSchema.parse({
  provider_name: 'abuseipdb',
  display_name: 'AbuseIPDB',
  supported_indicator_types: ['ip'],
  http_config: {
    steps: [
      {
        name: 'lookup',
        result: true,
        method: 'GET',
        url: '{{auth.base_url | raw}}/api/v2/check',
        headers: { Key: '{{auth.api_key}}', Accept: 'application/json' },
        query_params: { ipAddress: '{{indicator.value}}', maxAgeInDays: 90, verbose: 'true' },
        timeout_seconds: 30,
        expected_status: [200],
      },
    ],
  },
  malice_rules: {
    rules: [
      { field: 'data.abuseConfidenceScore', operator: '>=', value: 75, verdict: 'Malicious' },
      { field: 'data.abuseConfidenceScore', operator: '>=', value: 25, verdict: 'Suspicious' },
    ],
    default_verdict: 'Benign',
    // Not known to the provider: it answered but cannot judge the value.
    not_found_verdict: 'Unknown',
  },
  field_extractions: extractionsFor(
    ['ip'],
    [
      ['abuse_confidence_score', 'data.abuseConfidenceScore', 'int'],
      ['total_reports', 'data.totalReports', 'int'],
      ['num_distinct_users', 'data.numDistinctUsers', 'int'],
      ['last_reported_at', 'data.lastReportedAt', 'string'],
      ['country_code', 'data.countryCode', 'string'],
      ['country_name', 'data.countryName', 'string'],
      ['categories', 'data.reports.*.categories.*', 'list'],
      ['isp', 'data.isp', 'string'],
      ['domain', 'data.domain', 'string'],
      ['usage_type', 'data.usageType', 'string'],
      ['is_tor', 'data.isTor', 'bool'],
      ['is_whitelisted', 'data.isWhitelisted', 'bool'],
      ['is_public', 'data.isPublic', 'bool'],
    ],
  ),
  cache_ttl_by_type: { ip: 3600 },
  default_cache_ttl_seconds: 3600,
});

export const abuseipdbBuiltin: BuiltinProvider = { definition: abuseipdbProvider, auth: abuseipdbAuth };

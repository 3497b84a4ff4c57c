import { type IndicatorType, ProviderDefinitionSchema } from '@calseta/schema';
import { type BuiltinAuthSpec, type BuiltinProvider, extractionsFor } from './shared.js';

/**
 * VirusTotal API v3 (reference §4.9, plus `url`). One step `lookup`, URL by type; the object lives
 * under `data.attributes`. 404 `NotFoundError` = unknown to VirusTotal. URL ids are the unpadded
 * base64url of the URL (VirusTotal's documented identifier). Base URL from `auth.base_url`
 * (default `https://www.virustotal.com`), so the same definition serves the mock.
 */

const A = 'data.attributes';
const HASHES = ['hash_md5', 'hash_sha1', 'hash_sha256'] as const satisfies readonly IndicatorType[];
const TYPES = ['ip', 'domain', ...HASHES, 'url'] as const satisfies readonly IndicatorType[];
const API = '{{auth.base_url | raw}}/api/v3';

const COMMON = [
  ['malicious_count', `${A}.last_analysis_stats.malicious`, 'int'],
  ['suspicious_count', `${A}.last_analysis_stats.suspicious`, 'int'],
  ['harmless_count', `${A}.last_analysis_stats.harmless`, 'int'],
  ['undetected_count', `${A}.last_analysis_stats.undetected`, 'int'],
  ['timeout_count', `${A}.last_analysis_stats.timeout`, 'int'],
  ['reputation', `${A}.reputation`, 'int'],
  ['tags', `${A}.tags`, 'list'],
  ['last_analysis_date', `${A}.last_analysis_date`, 'int'],
] as const;

export const virustotalAuth: BuiltinAuthSpec = {
  type: 'api_key',
  env_var_mapping: { VIRUSTOTAL_API_KEY: 'api_key', VIRUSTOTAL_BASE_URL: 'base_url' },
  defaults: { base_url: 'https://www.virustotal.com' },
  required: ['api_key', 'base_url'],
};

export const virustotalProvider = ProviderDefinitionSchema.parse({
  provider_name: 'virustotal',
  display_name: 'VirusTotal',
  supported_indicator_types: [...TYPES],
  http_config: {
    steps: [
      {
        name: 'lookup',
        result: true,
        method: 'GET',
        url_by_type: {
          ip: `${API}/ip_addresses/{{indicator.value}}`,
          domain: `${API}/domains/{{indicator.value}}`,
          hash_md5: `${API}/files/{{indicator.value}}`,
          hash_sha1: `${API}/files/{{indicator.value}}`,
          hash_sha256: `${API}/files/{{indicator.value}}`,
          url: `${API}/urls/{{indicator.value | base64url}}`,
        },
        headers: { 'x-apikey': '{{auth.api_key}}', Accept: 'application/json' },
        timeout_seconds: 30,
        expected_status: [200],
        not_found_status: [404],
      },
    ],
  },
  malice_rules: {
    rules: [
      { field: `${A}.last_analysis_stats.malicious`, operator: '>=', value: 5, verdict: 'Malicious' },
      { field: `${A}.last_analysis_stats.malicious`, operator: '>=', value: 1, verdict: 'Suspicious' },
      { field: `${A}.last_analysis_stats.suspicious`, operator: '>=', value: 3, verdict: 'Suspicious' },
    ],
    default_verdict: 'Benign',
    // Not known to the provider: it answered but cannot judge the value.
    not_found_verdict: 'Unknown',
  },
  field_extractions: [
    ...extractionsFor(
      ['ip'],
      [
        ...COMMON,
        ['country', `${A}.country`, 'string'],
        ['as_owner', `${A}.as_owner`, 'string'],
        ['asn', `${A}.asn`, 'int'],
        ['network', `${A}.network`, 'string'],
      ],
    ),
    ...extractionsFor(
      ['domain'],
      [
        ...COMMON,
        ['registrar', `${A}.registrar`, 'string'],
        ['creation_date', `${A}.creation_date`, 'int'],
        ['categories', `${A}.categories`, 'dict'],
      ],
    ),
    ...extractionsFor(HASHES, [
      ...COMMON,
      ['meaningful_name', `${A}.meaningful_name`, 'string'],
      ['names', `${A}.names`, 'list'],
      ['type_description', `${A}.type_description`, 'string'],
      ['size', `${A}.size`, 'int'],
      ['popular_threat_label', `${A}.popular_threat_classification.suggested_threat_label`, 'string'],
      ['first_submission_date', `${A}.first_submission_date`, 'int'],
    ]),
    ...extractionsFor(
      ['url'],
      [
        ...COMMON,
        ['last_final_url', `${A}.last_final_url`, 'string'],
        ['last_http_response_code', `${A}.last_http_response_code`, 'int'],
        ['title', `${A}.title`, 'string'],
        ['categories', `${A}.categories`, 'dict'],
        ['threat_names', `${A}.threat_names`, 'list'],
      ],
    ),
  ],
  cache_ttl_by_type: { ip: 3600, domain: 21_600, hash_md5: 86_400, hash_sha1: 86_400, hash_sha256: 86_400, url: 1800 },
  default_cache_ttl_seconds: 3600,
});

export const virustotalBuiltin: BuiltinProvider = { definition: virustotalProvider, auth: virustotalAuth };

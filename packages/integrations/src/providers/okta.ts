import { ProviderDefinitionSchema } from '@calseta/schema';
import { type BuiltinAuthSpec, type BuiltinProvider, extractionsFor, NO_VERDICT } from './shared.js';

/**
 * Okta Users API (reference §4.9): (1) `user_lookup` by id, login or short name (404 `E0000007` =
 * not found), then, all optional, (2) `user_groups`, (3) `user_factors` (enrolled MFA factors,
 * `GET /api/v1/users/{id}/factors`) and (4) `manager_lookup` — the user named by the standard
 * profile attribute `managerId`, for the manager's email (a user without one skips the step: the
 * template value is missing). Base URL from `auth.base_url`, default `https://{auth.domain}`
 * (reference `OKTA_DOMAIN`). Context only: no verdict.
 */

const USERS = '{{auth.base_url | raw}}/api/v1/users';
const HEADERS = { Authorization: 'SSWS {{auth.api_token}}', Accept: 'application/json' };
const P = 'user_lookup.profile';

export const oktaAuth: BuiltinAuthSpec = {
  type: 'api_token',
  env_var_mapping: { OKTA_DOMAIN: 'domain', OKTA_API_TOKEN: 'api_token', OKTA_BASE_URL: 'base_url' },
  defaults: { base_url: 'https://{domain}' },
  required: ['api_token', 'base_url'],
};

export const oktaProvider = ProviderDefinitionSchema.parse({
  provider_name: 'okta',
  display_name: 'Okta',
  supported_indicator_types: ['account', 'email'],
  http_config: {
    steps: [
      {
        name: 'user_lookup',
        result: true,
        url: `${USERS}/{{indicator.value | urlencode}}`,
        headers: HEADERS,
        expected_status: [200],
        not_found_status: [404],
      },
      {
        name: 'user_groups',
        result: true,
        url: `${USERS}/{{steps.user_lookup.id}}/groups`,
        headers: HEADERS,
        optional: true,
      },
      {
        name: 'user_factors',
        result: true,
        url: `${USERS}/{{steps.user_lookup.id}}/factors`,
        headers: HEADERS,
        optional: true,
      },
      {
        name: 'manager_lookup',
        result: true,
        url: `${USERS}/{{steps.user_lookup.profile.managerId | urlencode}}`,
        headers: HEADERS,
        optional: true,
      },
    ],
  },
  malice_rules: NO_VERDICT,
  field_extractions: extractionsFor(
    ['account', 'email'],
    [
      ['user_id', 'user_lookup.id', 'string'],
      ['login', `${P}.login`, 'string'],
      ['email', `${P}.email`, 'string'],
      ['display_name', `${P}.displayName`, 'string'],
      ['first_name', `${P}.firstName`, 'string'],
      ['last_name', `${P}.lastName`, 'string'],
      ['department', `${P}.department`, 'string'],
      ['title', `${P}.title`, 'string'],
      ['user_type', `${P}.userType`, 'string'],
      ['manager', `${P}.manager`, 'string'],
      ['manager_id', `${P}.managerId`, 'string'],
      ['manager_email', 'manager_lookup.profile.email', 'string'],
      ['city', `${P}.city`, 'string'],
      ['country_code', `${P}.countryCode`, 'string'],
      ['status', 'user_lookup.status', 'string'],
      ['created', 'user_lookup.created', 'string'],
      ['last_login', 'user_lookup.lastLogin', 'string'],
      ['password_changed', 'user_lookup.passwordChanged', 'string'],
      ['credential_provider', 'user_lookup.credentials.provider.type', 'string'],
      ['groups', 'user_groups.*.profile.name', 'list'],
      ['mfa_factors', 'user_factors.*.factorType', 'list'],
    ],
  ),
  cache_ttl_by_type: { account: 900, email: 900 },
  default_cache_ttl_seconds: 900,
});

export const oktaBuiltin: BuiltinProvider = { definition: oktaProvider, auth: oktaAuth };

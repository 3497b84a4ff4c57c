import { ProviderDefinitionSchema } from '@calseta/schema';
import { type BuiltinAuthSpec, type BuiltinProvider, extractionsFor, NO_VERDICT } from './shared.js';

/**
 * Microsoft Entra ID through Microsoft Graph v1.0 (reference §4.9): (1) `token` — client-credentials
 * grant on the identity platform (form body), (2) `user_lookup` by object id or UPN (404
 * `Request_ResourceNotFound` = not found), (3) `user_groups` (`memberOf`: groups and directory roles),
 * (4) `user_manager` and (5) `user_auth_methods` (registered authentication methods: password,
 * Authenticator, phone, FIDO2, …), all optional. A user without a manager gets 404 on `/manager`: that only
 * skips the optional step (the reference listed 404 as not-found there, which would turn a found user
 * into `not_found`). Needs application permissions `User.Read.All` + `GroupMember.Read.All`
 * (or `Directory.Read.All`), and `UserAuthenticationMethod.Read.All` for the methods (without it
 * that step is skipped). Base URLs from `auth.login_base_url` (default
 * `https://login.microsoftonline.com`) and `auth.graph_base_url` (default `https://graph.microsoft.com`).
 * No token caching across calls (as in the reference); the token step is not a result, so the stored
 * result holds the lookups only. Context only: no verdict (`Context`).
 */

const GRAPH = '{{auth.graph_base_url | raw}}/v1.0/users';
const BEARER = { Authorization: 'Bearer {{steps.token.access_token}}', Accept: 'application/json' };
const USER_SELECT = [
  'id',
  'displayName',
  'userPrincipalName',
  'mail',
  'accountEnabled',
  'department',
  'jobTitle',
  'lastPasswordChangeDateTime',
  'createdDateTime',
  'userType',
  'onPremisesSyncEnabled',
].join(',');

export const entraAuth: BuiltinAuthSpec = {
  type: 'oauth2_client_credentials',
  env_var_mapping: {
    ENTRA_TENANT_ID: 'tenant_id',
    ENTRA_CLIENT_ID: 'client_id',
    ENTRA_CLIENT_SECRET: 'client_secret',
    ENTRA_LOGIN_BASE_URL: 'login_base_url',
    ENTRA_GRAPH_BASE_URL: 'graph_base_url',
  },
  defaults: { login_base_url: 'https://login.microsoftonline.com', graph_base_url: 'https://graph.microsoft.com' },
  required: ['tenant_id', 'client_id', 'client_secret', 'login_base_url', 'graph_base_url'],
};

export const entraProvider = ProviderDefinitionSchema.parse({
  provider_name: 'entra',
  display_name: 'Microsoft Entra ID',
  supported_indicator_types: ['account', 'email'],
  http_config: {
    steps: [
      {
        name: 'token',
        // Authentication only: its body (the access token) feeds the Bearer headers and is never kept.
        result: false,
        method: 'POST',
        url: '{{auth.login_base_url | raw}}/{{auth.tenant_id}}/oauth2/v2.0/token',
        headers: { Accept: 'application/json' },
        form_body: {
          client_id: '{{auth.client_id}}',
          client_secret: '{{auth.client_secret}}',
          scope: 'https://graph.microsoft.com/.default',
          grant_type: 'client_credentials',
        },
        expected_status: [200],
      },
      {
        name: 'user_lookup',
        result: true,
        url: `${GRAPH}/{{indicator.value}}?$select=${USER_SELECT}`,
        headers: BEARER,
        expected_status: [200],
        not_found_status: [404],
      },
      {
        name: 'user_groups',
        result: true,
        url: `${GRAPH}/{{steps.user_lookup.id}}/memberOf?$select=displayName`,
        headers: BEARER,
        optional: true,
      },
      {
        name: 'user_manager',
        result: true,
        url: `${GRAPH}/{{steps.user_lookup.id}}/manager?$select=displayName,mail,jobTitle`,
        headers: BEARER,
        optional: true,
      },
      {
        name: 'user_auth_methods',
        result: true,
        url: `${GRAPH}/{{steps.user_lookup.id}}/authentication/methods`,
        headers: BEARER,
        optional: true,
      },
    ],
  },
  malice_rules: NO_VERDICT,
  field_extractions: extractionsFor(
    ['account', 'email'],
    [
      ['object_id', 'user_lookup.id', 'string'],
      ['user_principal_name', 'user_lookup.userPrincipalName', 'string'],
      ['display_name', 'user_lookup.displayName', 'string'],
      ['mail', 'user_lookup.mail', 'string'],
      ['account_enabled', 'user_lookup.accountEnabled', 'bool'],
      ['department', 'user_lookup.department', 'string'],
      ['job_title', 'user_lookup.jobTitle', 'string'],
      ['user_type', 'user_lookup.userType', 'string'],
      ['created', 'user_lookup.createdDateTime', 'string'],
      ['last_password_change', 'user_lookup.lastPasswordChangeDateTime', 'string'],
      ['on_premises_synced', 'user_lookup.onPremisesSyncEnabled', 'bool'],
      ['groups', 'user_groups.value.*.displayName', 'list'],
      ['manager', 'user_manager.displayName', 'string'],
      ['manager_email', 'user_manager.mail', 'string'],
      ['manager_title', 'user_manager.jobTitle', 'string'],
      // Whole method objects: their kind is in `@odata.type`, which a dot path cannot name (the
      // payload shows the kind only).
      ['mfa_methods', 'user_auth_methods.value', 'list'],
    ],
  ),
  cache_ttl_by_type: { account: 900, email: 900 },
  default_cache_ttl_seconds: 900,
});

export const entraBuiltin: BuiltinProvider = { definition: entraProvider, auth: entraAuth };

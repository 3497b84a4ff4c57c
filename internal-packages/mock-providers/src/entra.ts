/**
 * Microsoft identity platform + Microsoft Graph mock:
 *   login:  POST /{tenant}/oauth2/v2.0/token   (client credentials)
 *   graph:  GET  /v1.0/users/{id|upn}, /memberOf, /transitiveMemberOf, /manager,
 *                /authentication/methods, /identityProtection/riskyUsers/{id}   (`beta` accepted too)
 *   writes (the builtin workflows): POST /users/{id}/revokeSignInSessions, PATCH /users/{id}
 *                {accountEnabled}, DELETE /users/{id}/authentication/{kind}Methods/{methodId};
 *                kept per server (accountEnabled, removed methods)
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  decodeSegment,
  type HandlerContext,
  header,
  type MockRequest,
  type MockResponse,
  type ProviderModule,
  type RouteMatch,
  type TokenIssuer,
} from './types.js';
import { entraObjectId, type MockUser } from './users.js';
import { Rng } from './util.js';

const GRAPH_CONTENT_TYPE =
  'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const GRAPH_APP_ROLES = [
  'User.Read.All',
  'Directory.Read.All',
  'GroupMember.Read.All',
  'AuditLog.Read.All',
  'IdentityRiskyUser.Read.All',
  'UserAuthenticationMethod.Read.All',
];

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

function tenantGuid(tenant: string): string {
  return GUID_RE.test(tenant) ? tenant.toLowerCase() : new Rng('tenant', tenant.toLowerCase()).uuid();
}

/** JWT-shaped access tokens (v1, like Graph's), HMAC-signed with a per-server random key. */
export function createTokenIssuer(lifetimeSeconds = 3599): TokenIssuer {
  const key = randomBytes(32);
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const sign = (data: string) => createHmac('sha256', key).update(data).digest('base64url');
  return {
    issue(tenant, clientId, scope) {
      const now = Math.floor(Date.now() / 1000);
      const tid = tenantGuid(tenant);
      const head = b64({
        typ: 'JWT',
        nonce: randomBytes(16).toString('base64url'),
        alg: 'RS256',
        x5t: 'mock',
        kid: 'mock',
      });
      const payload = b64({
        aud: scope.replace(/\/\.default$/, ''),
        iss: `https://sts.windows.net/${tid}/`,
        iat: now,
        nbf: now,
        exp: now + lifetimeSeconds,
        aio: randomBytes(24).toString('base64url'),
        app_displayname: 'Calseta',
        appid: clientId,
        appidacr: '1',
        idp: `https://sts.windows.net/${tid}/`,
        idtyp: 'app',
        oid: new Rng('sp', clientId).uuid(),
        rh: '0.mock.',
        roles: GRAPH_APP_ROLES,
        sub: new Rng('sp', clientId).uuid(),
        tenant_region_scope: 'NA',
        tid,
        uti: randomBytes(16).toString('base64url'),
        ver: '1.0',
        wids: ['0997a1d0-0d1d-4acb-b408-d5ca73121e90'],
        xms_tcdt: 1_600_000_000,
      });
      return { token: `${head}.${payload}.${sign(`${head}.${payload}`)}`, expiresIn: lifetimeSeconds };
    },
    verify(token) {
      const parts = token.split('.');
      if (parts.length !== 3) return 'invalid';
      const [head = '', payload = '', sig = ''] = parts;
      const expected = Buffer.from(sign(`${head}.${payload}`));
      const given = Buffer.from(sig);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid';
      try {
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: number };
        if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) return 'expired';
      } catch {
        return 'invalid';
      }
      return 'ok';
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

function aadError(status: number, error: string, code: number, message: string): MockResponse {
  const now = new Date();
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const stamp = now
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${stamp}`,
      error_codes: [code],
      timestamp: stamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
  };
}

function graphError(status: number, code: string, message: string): MockResponse {
  const requestId = randomUUID();
  return {
    status,
    headers: { 'Content-Type': GRAPH_CONTENT_TYPE, 'request-id': requestId, 'client-request-id': requestId },
    body: {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString().replace(/\.\d+Z$/, ''),
          'request-id': requestId,
          'client-request-id': requestId,
        },
      },
    },
  };
}

function graphNotFound(what: string): MockResponse {
  return graphError(
    404,
    'Request_ResourceNotFound',
    `Resource '${what}' does not exist or one of its queried reference-property objects are not present.`,
  );
}

// ---------------------------------------------------------------------------------------------
// Token endpoint
// ---------------------------------------------------------------------------------------------

function handleToken(rawTenant: string, req: MockRequest, ctx: HandlerContext): MockResponse {
  const tenant = decodeSegment(rawTenant) ?? rawTenant;
  if (tenant.toLowerCase().includes('unknown')) {
    return aadError(
      400,
      'invalid_tenant',
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    );
  }
  const contentType = header(req, 'content-type') ?? '';
  const form = contentType.includes('application/x-www-form-urlencoded')
    ? new URLSearchParams(req.body)
    : new URLSearchParams();
  const required = (name: string) =>
    aadError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`);
  const grantType = form.get('grant_type');
  if (!grantType) return required('grant_type');
  if (grantType !== 'client_credentials') {
    return aadError(
      400,
      'unsupported_grant_type',
      70003,
      `The app requested an unsupported grant type '${grantType}'.`,
    );
  }
  const clientId = form.get('client_id');
  if (!clientId) return required('client_id');
  const scope = form.get('scope');
  if (!scope) return required('scope');
  if (!scope.endsWith('/.default')) {
    return aadError(
      400,
      'invalid_scope',
      1_002_012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  const secret = form.get('client_secret');
  if (!secret) {
    return aadError(
      401,
      'invalid_client',
      7_000_216,
      "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
    );
  }
  const expected = ctx.apiKeys.entraClientSecret;
  if (expected && secret !== expected) {
    return aadError(
      401,
      'invalid_client',
      7_000_215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
    );
  }
  const { token, expiresIn } = ctx.tokens.issue(tenant, clientId, scope);
  return {
    status: 200,
    headers: { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' },
    body: { token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: token },
  };
}

// ---------------------------------------------------------------------------------------------
// Graph
// ---------------------------------------------------------------------------------------------

/** Every property of microsoft.graph.user the mock accepts in $select (unmodelled ones read null). */
const USER_PROPERTIES = [
  'id',
  'aboutMe',
  'accountEnabled',
  'ageGroup',
  'assignedLicenses',
  'assignedPlans',
  'birthday',
  'businessPhones',
  'city',
  'companyName',
  'consentProvidedForMinor',
  'country',
  'createdDateTime',
  'creationType',
  'customSecurityAttributes',
  'deletedDateTime',
  'department',
  'displayName',
  'employeeHireDate',
  'employeeId',
  'employeeLeaveDateTime',
  'employeeOrgData',
  'employeeType',
  'externalUserState',
  'externalUserStateChangeDateTime',
  'faxNumber',
  'givenName',
  'hireDate',
  'identities',
  'imAddresses',
  'interests',
  'isResourceAccount',
  'jobTitle',
  'lastPasswordChangeDateTime',
  'legalAgeGroupClassification',
  'licenseAssignmentStates',
  'mail',
  'mailNickname',
  'mobilePhone',
  'mySite',
  'officeLocation',
  'onPremisesDistinguishedName',
  'onPremisesDomainName',
  'onPremisesExtensionAttributes',
  'onPremisesImmutableId',
  'onPremisesLastSyncDateTime',
  'onPremisesProvisioningErrors',
  'onPremisesSamAccountName',
  'onPremisesSecurityIdentifier',
  'onPremisesSyncEnabled',
  'onPremisesUserPrincipalName',
  'otherMails',
  'passwordPolicies',
  'passwordProfile',
  'pastProjects',
  'postalCode',
  'preferredDataLocation',
  'preferredLanguage',
  'preferredName',
  'provisionedPlans',
  'proxyAddresses',
  'responsibilities',
  'schools',
  'securityIdentifier',
  'serviceProvisioningErrors',
  'showInAddressList',
  'signInActivity',
  'signInSessionsValidFromDateTime',
  'skills',
  'state',
  'streetAddress',
  'surname',
  'usageLocation',
  'userPrincipalName',
  'userType',
] as const;
const USER_PROPERTY_BY_LOWER = new Map<string, string>(USER_PROPERTIES.map((p) => [p.toLowerCase(), p]));

const DEFAULT_USER_SELECT = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];

const COUNTRY_NAMES: Record<string, string> = { US: 'United States' };

function graphTime(iso: string | null): string | null {
  return iso ? iso.replace(/\.\d+Z$/, 'Z') : null;
}

function graphUser(u: MockUser): Record<string, unknown> {
  const r = new Rng('graph-user', u.login);
  const onPrem = u.credentialProvider.type === 'ACTIVE_DIRECTORY';
  const domain = u.login.split('@')[1] ?? '';
  const lastSignIn = graphTime(u.lastLogin);
  const nonInteractive = u.lastLogin
    ? graphTime(new Date(new Date(u.lastLogin).getTime() + 1_800_000).toISOString())
    : null;
  return {
    id: u.entraId,
    accountEnabled: u.accountEnabled,
    businessPhones: u.businessPhone ? [u.businessPhone] : [],
    city: u.city || null,
    companyName: u.company,
    country: COUNTRY_NAMES[u.countryCode] ?? u.countryCode,
    createdDateTime: graphTime(u.created),
    creationType: null,
    deletedDateTime: null,
    department: u.department,
    displayName: u.displayName,
    employeeHireDate: graphTime(u.created),
    employeeId: u.employeeNumber,
    employeeType: u.userType,
    givenName: u.firstName,
    identities: [{ signInType: 'userPrincipalName', issuer: domain, issuerAssignedId: u.login }],
    imAddresses: [u.login],
    jobTitle: u.title,
    lastPasswordChangeDateTime: graphTime(u.passwordChanged),
    mail: u.email,
    mailNickname: u.login.split('@')[0] ?? u.login,
    mobilePhone: u.mobilePhone,
    officeLocation: u.officeLocation,
    onPremisesDistinguishedName: onPrem
      ? `CN=${u.onPremisesSamAccountName},OU=Service Accounts,DC=megacorp,DC=local`
      : null,
    onPremisesDomainName: onPrem ? u.credentialProvider.name : null,
    onPremisesImmutableId: onPrem ? Buffer.from(r.hex(16), 'hex').toString('base64') : null,
    onPremisesLastSyncDateTime: onPrem ? '2026-03-01T23:31:12Z' : null,
    onPremisesSamAccountName: u.onPremisesSamAccountName,
    onPremisesSecurityIdentifier: onPrem
      ? `S-1-5-21-${r.digits(10)}-${r.digits(10)}-${r.digits(10)}-${r.int(1100, 9000)}`
      : null,
    onPremisesSyncEnabled: onPrem ? true : null,
    onPremisesUserPrincipalName: onPrem ? u.login : null,
    otherMails: [],
    passwordPolicies: onPrem ? 'DisablePasswordExpiration' : null,
    postalCode: null,
    preferredLanguage: 'en-US',
    proxyAddresses: [`SMTP:${u.email}`],
    securityIdentifier: `S-1-12-1-${r.digits(10)}-${r.digits(10)}-${r.digits(10)}-${r.digits(9)}`,
    showInAddressList: null,
    signInActivity: {
      lastSignInDateTime: lastSignIn,
      lastSignInRequestId: lastSignIn ? r.uuid() : null,
      lastNonInteractiveSignInDateTime: nonInteractive,
      lastNonInteractiveSignInRequestId: nonInteractive ? r.uuid() : null,
      lastSuccessfulSignInDateTime: lastSignIn,
      lastSuccessfulSignInRequestId: lastSignIn ? r.uuid() : null,
    },
    signInSessionsValidFromDateTime: graphTime(u.passwordChanged),
    state: u.state || null,
    streetAddress: null,
    surname: u.lastName,
    usageLocation: u.countryCode,
    userPrincipalName: u.login,
    userType: 'Member',
  };
}

type Selection = { ok: true; fields: string[] | null } | { ok: false; response: MockResponse };

function parseSelect(req: MockRequest, known: Map<string, string>, typeName: string): Selection {
  const raw = req.query.get('$select');
  if (raw === null || raw.trim() === '') return { ok: true, fields: null };
  const fields: string[] = [];
  for (const part of raw.split(',')) {
    const name = part.trim();
    if (!name) continue;
    const canonical = known.get(name.toLowerCase());
    if (!canonical) {
      return {
        ok: false,
        response: graphError(400, 'BadRequest', `Could not find a property named '${name}' on type '${typeName}'.`),
      };
    }
    if (!fields.includes(canonical)) fields.push(canonical);
  }
  return { ok: true, fields };
}

function project(full: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = f in full ? full[f] : null;
  return out;
}

const ROLE_TEMPLATES: Record<string, [string, string]> = {
  'Global Administrator': [
    '62e90394-69f5-4237-9190-012177145e10',
    'Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.',
  ],
  'Helpdesk Administrator': [
    '729827e3-9c14-49f7-bb1b-9608f156bbb8',
    'Can reset passwords for non-administrators and Helpdesk Administrators.',
  ],
};

function directoryObjects(u: MockUser): Record<string, unknown>[] {
  const groups = u.entraGroups.map((name) => {
    const r = new Rng('entra-group', name);
    const created = graphTime(r.pastIso(300, 2500));
    return {
      '@odata.type': '#microsoft.graph.group',
      id: entraObjectId('group', name),
      deletedDateTime: null,
      classification: null,
      createdDateTime: created,
      creationOptions: [],
      description: `${name}`,
      displayName: name,
      expirationDateTime: null,
      groupTypes: [],
      isAssignableToRole: name.includes('Privileged') ? true : null,
      mail: null,
      mailEnabled: false,
      mailNickname: name.replace(/[^A-Za-z0-9]/g, ''),
      membershipRule: null,
      membershipRuleProcessingState: null,
      onPremisesDomainName: null,
      onPremisesLastSyncDateTime: null,
      onPremisesNetBiosName: null,
      onPremisesSamAccountName: null,
      onPremisesSecurityIdentifier: null,
      onPremisesSyncEnabled: null,
      preferredDataLocation: null,
      preferredLanguage: null,
      proxyAddresses: [],
      renewedDateTime: created,
      resourceBehaviorOptions: [],
      resourceProvisioningOptions: [],
      securityEnabled: true,
      securityIdentifier: `S-1-12-1-${r.digits(10)}-${r.digits(10)}-${r.digits(10)}-${r.digits(9)}`,
      theme: null,
      visibility: null,
      onPremisesProvisioningErrors: [],
      serviceProvisioningErrors: [],
    };
  });
  const roles = u.entraRoles.map((name) => {
    const [templateId, description] = ROLE_TEMPLATES[name] ?? [entraObjectId('role-template', name), name];
    return {
      '@odata.type': '#microsoft.graph.directoryRole',
      id: entraObjectId('role', name),
      deletedDateTime: null,
      description,
      displayName: name,
      roleTemplateId: templateId,
    };
  });
  return [...roles, ...groups];
}

function authMethods(u: MockUser): Record<string, unknown>[] {
  const r = new Rng('entra-auth-methods', u.login);
  const methods: Record<string, unknown>[] = [
    {
      '@odata.type': '#microsoft.graph.passwordAuthenticationMethod',
      id: '28c10230-6103-485e-b985-444c60001490',
      password: null,
      createdDateTime: graphTime(u.passwordChanged),
    },
  ];
  for (const f of u.factors) {
    if (f === 'push') {
      methods.push({
        '@odata.type': '#microsoft.graph.microsoftAuthenticatorAuthenticationMethod',
        id: r.uuid(),
        displayName: r.pick(['iPhone 15', 'iPhone 14 Pro', 'Pixel 8']),
        deviceTag: 'SoftwareTokenActivated',
        phoneAppVersion: `6.8.${r.int(1, 9)}`,
        createdDateTime: graphTime(r.pastIso(30, 900)),
      });
    } else if (f === 'sms') {
      methods.push({
        '@odata.type': '#microsoft.graph.phoneAuthenticationMethod',
        id: '3179e48a-750b-4051-897c-87b9720928f7',
        phoneNumber: u.mobilePhone ?? `+1 555010${r.digits(4)}`,
        phoneType: 'mobile',
        smsSignInState: 'notAllowedByPolicy',
      });
    } else if (f === 'token:software:totp') {
      methods.push({
        '@odata.type': '#microsoft.graph.softwareOathAuthenticationMethod',
        id: r.uuid(),
        secretKey: null,
      });
    } else {
      methods.push({
        '@odata.type': '#microsoft.graph.fido2AuthenticationMethod',
        id: r.alnum(43),
        displayName: 'YubiKey 5 NFC',
        createdDateTime: graphTime(r.pastIso(30, 900)),
        aaGuid: 'cb69481e-8ff7-4039-93ec-0a2729a154a8',
        model: 'YubiKey 5 Series with NFC',
        attestationCertificates: [r.hex(40)],
        attestationLevel: 'attested',
      });
    }
  }
  return methods;
}

type GraphSub = 'user' | 'memberOf' | 'transitiveMemberOf' | 'manager' | 'authMethods' | 'riskyUser';

function graphAuth(req: MockRequest, ctx: HandlerContext): MockResponse | null {
  const auth = header(req, 'authorization') ?? '';
  const m = /^Bearer\s+(.*)$/i.exec(auth.trim());
  const token = m?.[1]?.trim() ?? '';
  if (!token) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
  const state = ctx.tokens.verify(token);
  if (state === 'expired') {
    return graphError(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.');
  }
  if (state === 'invalid' && ctx.apiKeys.entraClientSecret) {
    return graphError(
      401,
      'InvalidAuthenticationToken',
      token.split('.').length === 3
        ? 'Access token validation failure. Invalid audience.'
        : 'IDX14100: JWT is not well formed, there are no dots (.).',
    );
  }
  return null;
}

function handleGraph(
  sub: GraphSub,
  version: string,
  rawKey: string,
  req: MockRequest,
  ctx: HandlerContext,
): MockResponse {
  const denied = graphAuth(req, ctx);
  if (denied) return denied;
  const key = decodeSegment(rawKey) ?? rawKey;
  const user = ctx.directory.findEntra(key);
  if (!user) return graphNotFound(key);
  const meta = `${req.base}/${version}/$metadata`;
  const requestId = new Rng('graph-request', key, sub, String(ctx.providerCount)).uuid();
  const headers = { 'Content-Type': GRAPH_CONTENT_TYPE, 'request-id': requestId, 'client-request-id': requestId };
  const ok = (body: unknown): MockResponse => ({ status: 200, headers, body });

  switch (sub) {
    case 'user': {
      const sel = parseSelect(req, USER_PROPERTY_BY_LOWER, 'microsoft.graph.user');
      if (!sel.ok) return sel.response;
      const fields = sel.fields ?? DEFAULT_USER_SELECT;
      const context = sel.fields ? `${meta}#users(${sel.fields.join(',')})/$entity` : `${meta}#users/$entity`;
      const body = ctx.memo(`graph:user:${context}:${user.entraId}`, () => ({
        '@odata.context': context,
        ...project(graphUser(user), fields),
      }));
      const enabled = stateOf(ENABLED, ctx).get(user.entraId);
      return ok(enabled !== undefined && 'accountEnabled' in body ? { ...body, accountEnabled: enabled } : body);
    }
    case 'memberOf':
    case 'transitiveMemberOf': {
      const objects = directoryObjects(user);
      const known = new Map<string, string>();
      for (const o of objects) for (const k of Object.keys(o)) if (!k.startsWith('@')) known.set(k.toLowerCase(), k);
      for (const k of ['id', 'displayName', 'description', 'mail', 'securityEnabled', 'roleTemplateId'])
        known.set(k.toLowerCase(), k);
      const sel = parseSelect(req, known, 'microsoft.graph.directoryObject');
      if (!sel.ok) return sel.response;
      const fields = sel.fields;
      const context = fields ? `${meta}#directoryObjects(${fields.join(',')})` : `${meta}#directoryObjects`;
      return ok({
        '@odata.context': context,
        value: objects.map((o) => (fields ? { '@odata.type': o['@odata.type'], ...projectPresent(o, fields) } : o)),
      });
    }
    case 'manager': {
      const manager = user.managerLogin ? ctx.directory.findByLogin(user.managerLogin) : undefined;
      if (!manager) return graphNotFound('manager');
      const sel = parseSelect(req, USER_PROPERTY_BY_LOWER, 'microsoft.graph.directoryObject');
      if (!sel.ok) return sel.response;
      const full = graphUser(manager);
      const context = sel.fields
        ? `${meta}#directoryObjects(${sel.fields.join(',')})/$entity`
        : `${meta}#directoryObjects/$entity`;
      const { signInActivity: _omit, ...withoutSignIn } = full;
      return ok({
        '@odata.context': context,
        '@odata.type': '#microsoft.graph.user',
        ...(sel.fields ? project(full, sel.fields) : withoutSignIn),
      });
    }
    case 'authMethods':
      return ok({
        '@odata.context': `${meta}#users('${user.entraId}')/authentication/methods`,
        value: authMethods(user).filter((m) => !stateOf(REMOVED, ctx).get(user.entraId)?.has(String(m.id))),
      });
    case 'riskyUser': {
      if (!user.risk) return graphNotFound(key);
      return ok({
        '@odata.context': `${meta}#identityProtection/riskyUsers/$entity`,
        id: user.entraId,
        isDeleted: false,
        isProcessing: false,
        riskLastUpdatedDateTime: graphTime(user.lastLogin),
        riskLevel: user.risk.level,
        riskState: user.risk.state,
        riskDetail: 'none',
        userDisplayName: user.displayName,
        userPrincipalName: user.login,
      });
    }
  }
}

/** Writes per server (keyed by its directory): entra id → accountEnabled / removed method ids. */
const ENABLED = new WeakMap<object, Map<string, boolean>>();
const REMOVED = new WeakMap<object, Map<string, Set<string>>>();
function stateOf<V>(store: WeakMap<object, Map<string, V>>, ctx: HandlerContext): Map<string, V> {
  let m = store.get(ctx.directory);
  if (!m) {
    m = new Map();
    store.set(ctx.directory, m);
  }
  return m;
}

/** `#microsoft.graph.phoneAuthenticationMethod` → `phoneMethods` (the DELETE path segment). */
function methodSegment(odataType: unknown): string {
  const name = String(odataType)
    .replace('#microsoft.graph.', '')
    .replace(/AuthenticationMethod$/, '');
  return `${name}Methods`;
}

type GraphWrite = 'revoke' | 'patch' | 'deleteMethod';

function handleGraphWrite(
  op: GraphWrite,
  version: string,
  rawKey: string,
  req: MockRequest,
  ctx: HandlerContext,
  method?: { segment: string; id: string },
): MockResponse {
  const denied = graphAuth(req, ctx);
  if (denied) return denied;
  const key = decodeSegment(rawKey) ?? rawKey;
  const user = ctx.directory.findEntra(key);
  if (!user) return graphNotFound(key);
  const requestId = randomUUID();
  const headers = { 'Content-Type': GRAPH_CONTENT_TYPE, 'request-id': requestId, 'client-request-id': requestId };
  switch (op) {
    case 'revoke':
      return {
        status: 200,
        headers,
        body: { '@odata.context': `${req.base}/${version}/$metadata#Edm.Boolean`, value: true },
      };
    case 'patch': {
      let body: unknown;
      try {
        body = JSON.parse(req.body);
      } catch {
        return graphError(400, 'BadRequest', 'Unable to read JSON request payload.');
      }
      if (!body || typeof body !== 'object' || Array.isArray(body)) {
        return graphError(400, 'BadRequest', 'Unable to read JSON request payload.');
      }
      const enabled = (body as Record<string, unknown>).accountEnabled;
      if (enabled !== undefined && typeof enabled !== 'boolean') {
        return graphError(
          400,
          'BadRequest',
          "Invalid value specified for property 'accountEnabled' of resource 'User'.",
        );
      }
      if (typeof enabled === 'boolean') stateOf(ENABLED, ctx).set(user.entraId, enabled);
      return { status: 204, headers: { 'request-id': requestId, 'client-request-id': requestId }, body: '' };
    }
    case 'deleteMethod': {
      const removed = stateOf(REMOVED, ctx);
      const gone = removed.get(user.entraId) ?? new Set<string>();
      const target = authMethods(user).find(
        (m) => m.id === method?.id && methodSegment(m['@odata.type']) === method?.segment && !gone.has(String(m.id)),
      );
      if (!target) return graphNotFound(method?.id ?? '');
      if (method?.segment === 'passwordMethods') {
        return graphError(400, 'BadRequest', 'The password authentication method cannot be deleted.');
      }
      gone.add(String(target.id));
      removed.set(user.entraId, gone);
      return { status: 204, headers: { 'request-id': requestId, 'client-request-id': requestId }, body: '' };
    }
  }
}

const GRAPH_REVOKE_RE = /^\/(v1\.0|beta)\/users\/([^/]+)\/revokeSignInSessions\/?$/;
const GRAPH_METHOD_RE = /^\/(v1\.0|beta)\/users\/([^/]+)\/authentication\/([A-Za-z0-9]+Methods)\/([^/]+)\/?$/;
const GRAPH_PATCH_RE = /^\/(v1\.0|beta)\/users\/([^/]+)\/?$/;

function projectPresent(o: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (f in o) out[f] = o[f];
  return out;
}

const TOKEN_RE = /^\/([^/]+)\/oauth2\/v2\.0\/token\/?$/;
const GRAPH_USER_RE =
  /^\/(v1\.0|beta)\/users\/([^/]+)(?:\/(memberOf|transitiveMemberOf|manager|authentication\/methods))?\/?$/;
const GRAPH_RISKY_RE = /^\/(v1\.0|beta)\/identityProtection\/riskyUsers\/([^/]+)\/?$/;

export const entra: ProviderModule = {
  name: 'entra',
  prefixes: ['/entra-login', '/graph'],
  match(method, path): RouteMatch | null {
    const t = TOKEN_RE.exec(path);
    if (t && method === 'POST') {
      const rawTenant = t[1] ?? '';
      return {
        endpoint: 'POST /{tenant}/oauth2/v2.0/token',
        handle: (req, ctx) => handleToken(rawTenant, req, ctx),
      };
    }
    const revoke = method === 'POST' ? GRAPH_REVOKE_RE.exec(path) : null;
    if (revoke) {
      const version = revoke[1] ?? 'v1.0';
      const rawKey = revoke[2] ?? '';
      return {
        endpoint: `POST /${version}/users/{id}/revokeSignInSessions`,
        value: decodeSegment(rawKey) ?? rawKey,
        handle: (req, ctx) => handleGraphWrite('revoke', version, rawKey, req, ctx),
      };
    }
    const patch = method === 'PATCH' ? GRAPH_PATCH_RE.exec(path) : null;
    if (patch) {
      const version = patch[1] ?? 'v1.0';
      const rawKey = patch[2] ?? '';
      return {
        endpoint: `PATCH /${version}/users/{id}`,
        value: decodeSegment(rawKey) ?? rawKey,
        handle: (req, ctx) => handleGraphWrite('patch', version, rawKey, req, ctx),
      };
    }
    const del = method === 'DELETE' ? GRAPH_METHOD_RE.exec(path) : null;
    if (del) {
      const version = del[1] ?? 'v1.0';
      const rawKey = del[2] ?? '';
      const segment = del[3] ?? '';
      const id = decodeSegment(del[4] ?? '') ?? '';
      return {
        endpoint: `DELETE /${version}/users/{id}/authentication/${segment}/{id}`,
        value: decodeSegment(rawKey) ?? rawKey,
        handle: (req, ctx) => handleGraphWrite('deleteMethod', version, rawKey, req, ctx, { segment, id }),
      };
    }
    if (method !== 'GET') return null;
    const u = GRAPH_USER_RE.exec(path);
    if (u) {
      const version = u[1] ?? 'v1.0';
      const rawKey = u[2] ?? '';
      const tail = u[3];
      const sub: GraphSub =
        tail === undefined ? 'user' : tail === 'authentication/methods' ? 'authMethods' : (tail as GraphSub);
      return {
        endpoint: `GET /${version}/users/{id}${tail ? `/${tail}` : ''}`,
        value: decodeSegment(rawKey) ?? rawKey,
        handle: (req, ctx) => handleGraph(sub, version, rawKey, req, ctx),
      };
    }
    const risky = GRAPH_RISKY_RE.exec(path);
    if (risky) {
      const version = risky[1] ?? 'v1.0';
      const rawKey = risky[2] ?? '';
      return {
        endpoint: `GET /${version}/identityProtection/riskyUsers/{id}`,
        value: decodeSegment(rawKey) ?? rawKey,
        handle: (req, ctx) => handleGraph('riskyUser', version, rawKey, req, ctx),
      };
    }
    return null;
  },
  rateLimited(match, retryAfter) {
    const res = match?.endpoint.startsWith('POST /{tenant}')
      ? aadError(429, 'temporarily_unavailable', 50_196, 'The server temporarily throttled the request. Retry later.')
      : graphError(429, 'TooManyRequests', 'Too many requests.');
    res.headers = { ...res.headers, 'Retry-After': String(retryAfter) };
    return res;
  },
  serverError(match) {
    return match?.endpoint.startsWith('POST /{tenant}')
      ? aadError(
          500,
          'server_error',
          50_000,
          'There was an error issuing a token or an issue with our sign-in service.',
        )
      : graphError(500, 'generalException', 'An unexpected error occurred.');
  },
  notFoundPath(path) {
    return graphError(
      400,
      'BadRequest',
      `Resource not found for the segment '${path.split('/').filter(Boolean).pop() ?? ''}'.`,
    );
  },
};

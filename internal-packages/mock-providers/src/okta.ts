/**
 * Okta Management API mock: users, their groups, factors and linked objects, with
 * `Authorization: SSWS <token>` (an OAuth `Bearer` token is accepted too). Writes the builtin
 * workflows use: `DELETE /users/{id}/sessions` and `POST /users/{id}/lifecycle/{suspend | unsuspend
 * | reset_password | expire_password}`; lifecycle changes are kept per server (the user's `status`).
 */
import { randomBytes } from 'node:crypto';
import {
  credentialOk,
  decodeSegment,
  type HandlerContext,
  header,
  type MockRequest,
  type MockResponse,
  type ProviderModule,
  type RouteMatch,
} from './types.js';
import { groupId, KNOWN_USERS, type MockUser } from './users.js';
import { Rng } from './util.js';

/** Per-minute limit advertised in X-Rate-Limit-* headers (Okta's default for /api/v1/users/{id}). */
export const OKTA_RATE_LIMIT = 600;

function oktaError(status: number, code: string, summary: string): MockResponse {
  return {
    status,
    body: {
      errorCode: code,
      errorSummary: summary,
      errorLink: code,
      errorId: `oae${randomBytes(16).toString('base64url').slice(0, 22)}`,
      errorCauses: [],
    },
  };
}

function notFound(what: string, type = 'User'): MockResponse {
  return oktaError(404, 'E0000007', `Not found: Resource not found: ${what} (${type})`);
}

function oktaHeaders(providerCount: number): Record<string, string> {
  const reset = Math.floor(Date.now() / 60_000) * 60 + 60;
  return {
    'X-Rate-Limit-Limit': String(OKTA_RATE_LIMIT),
    'X-Rate-Limit-Remaining': String(Math.max(0, OKTA_RATE_LIMIT - (providerCount % OKTA_RATE_LIMIT))),
    'X-Rate-Limit-Reset': String(reset),
    'X-Okta-Request-Id': randomBytes(12).toString('base64url'),
  };
}

function authorized(req: MockRequest, ctx: HandlerContext): boolean {
  const auth = header(req, 'authorization') ?? '';
  const m = /^(SSWS|Bearer)\s+(.+)$/i.exec(auth.trim());
  if (!m) return false;
  return credentialOk(m[2], ctx.apiKeys.okta);
}

function shift(iso: string, seconds: number): string {
  return new Date(new Date(iso).getTime() + seconds * 1000).toISOString();
}

function userLinks(u: MockUser, base: string): Record<string, unknown> {
  const self = `${base}/api/v1/users/${u.oktaId}`;
  const schema = { href: `${base}/api/v1/meta/schemas/user/osc${new Rng('schema').alnum(17)}` };
  const type = { href: `${base}/api/v1/meta/types/user/oty${new Rng('type').alnum(17)}` };
  if (u.oktaStatus === 'DEPROVISIONED') {
    return {
      schema,
      activate: { href: `${self}/lifecycle/activate`, method: 'POST' },
      self: { href: self },
      type,
      delete: { href: self, method: 'DELETE' },
    };
  }
  const links: Record<string, unknown> = {
    suspend: { href: `${self}/lifecycle/suspend`, method: 'POST' },
    schema,
    resetPassword: { href: `${self}/lifecycle/reset_password`, method: 'POST' },
    forgotPassword: { href: `${self}/credentials/forgot_password`, method: 'POST' },
    expirePassword: { href: `${self}/lifecycle/expire_password`, method: 'POST' },
    changeRecoveryQuestion: { href: `${self}/credentials/change_recovery_question`, method: 'POST' },
    self: { href: self },
    resetFactors: { href: `${self}/lifecycle/reset_factors`, method: 'POST' },
    type,
    changePassword: { href: `${self}/credentials/change_password`, method: 'POST' },
    deactivate: { href: `${self}/lifecycle/deactivate`, method: 'POST' },
  };
  if (u.credentialProvider.type !== 'OKTA') {
    delete links.resetPassword;
    delete links.forgotPassword;
    delete links.changePassword;
    delete links.changeRecoveryQuestion;
  }
  return links;
}

export function oktaUser(u: MockUser, base: string, findManager: (login: string) => MockUser | undefined) {
  const manager = u.managerLogin ? findManager(u.managerLogin) : undefined;
  const activated = shift(u.created, 240);
  const lastUpdated = u.passwordChanged && u.passwordChanged > activated ? shift(u.passwordChanged, 3) : activated;
  return {
    id: u.oktaId,
    status: u.oktaStatus,
    created: u.created,
    activated: u.oktaStatus === 'DEPROVISIONED' ? null : activated,
    statusChanged: u.oktaStatus === 'DEPROVISIONED' ? shift(u.lastLogin ?? u.created, 86_400) : activated,
    lastLogin: u.lastLogin,
    lastUpdated,
    passwordChanged: u.passwordChanged,
    type: { id: `oty${new Rng('type').alnum(17)}` },
    profile: {
      firstName: u.firstName,
      lastName: u.lastName,
      mobilePhone: u.mobilePhone,
      secondEmail: null,
      login: u.login,
      email: u.email,
      displayName: u.displayName,
      title: u.title,
      department: u.department,
      organization: u.company,
      employeeNumber: u.employeeNumber,
      userType: u.userType,
      city: u.city,
      state: u.state,
      countryCode: u.countryCode,
      primaryPhone: u.businessPhone,
      manager: manager?.displayName ?? null,
      managerId: manager?.oktaId ?? null,
      ...(u.credentialProvider.type === 'ACTIVE_DIRECTORY' ? { samAccountName: u.onPremisesSamAccountName } : {}),
    },
    credentials: {
      ...(u.credentialProvider.type === 'OKTA' ? { password: {} } : {}),
      emails: [{ value: u.email, status: 'VERIFIED', type: 'PRIMARY' }],
      provider: u.credentialProvider,
    },
    _links: userLinks(u, base),
  };
}

const GROUP_DESCRIPTIONS: Record<string, string> = {
  'Okta-Super-Admins': 'Members are assigned the Super Administrator role',
  'IT-Admins': 'IT administrators',
  'VPN-Users': 'Allowed to use the corporate VPN',
  'Service-Accounts': 'Non-human accounts (AD)',
  'Backup-Operators': 'Backup Operators (AD)',
};

function oktaGroups(u: MockUser, base: string) {
  const logo = [
    {
      name: 'medium',
      href: 'https://op1static.oktacdn.com/assets/img/logos/groups/okta-medium.png',
      type: 'image/png',
    },
    { name: 'large', href: 'https://op1static.oktacdn.com/assets/img/logos/groups/okta-large.png', type: 'image/png' },
  ];
  const r = new Rng('okta-groups', u.login);
  const names = u.oktaStatus === 'DEPROVISIONED' ? [] : u.oktaGroups;
  const groups: Record<string, unknown>[] = [];
  const everyoneId = groupId('00g', 'Everyone');
  groups.push({
    id: everyoneId,
    created: '2017-01-10T18:00:00.000Z',
    lastUpdated: '2017-01-10T18:00:00.000Z',
    lastMembershipUpdated: u.created,
    objectClass: ['okta:user_group'],
    type: 'BUILT_IN',
    profile: { name: 'Everyone', description: 'All users in your organization' },
    _links: {
      logo,
      users: { href: `${base}/api/v1/groups/${everyoneId}/users` },
      apps: { href: `${base}/api/v1/groups/${everyoneId}/apps` },
    },
  });
  for (const name of names) {
    const id = groupId('00g', name);
    const fromAd = u.credentialProvider.type === 'ACTIVE_DIRECTORY';
    const created = new Rng('okta-group-created', name).pastIso(400, 2500);
    groups.push({
      id,
      created,
      lastUpdated: created,
      lastMembershipUpdated: r.pastIso(1, 300),
      objectClass: fromAd ? ['okta:windows_security_principal'] : ['okta:user_group'],
      type: fromAd ? 'APP_GROUP' : 'OKTA_GROUP',
      profile: fromAd
        ? {
            name,
            description: GROUP_DESCRIPTIONS[name] ?? null,
            groupType: 'Security',
            samAccountName: name,
            objectSid: `S-1-5-21-${r.digits(10)}-${r.digits(10)}-${r.digits(10)}-${r.int(1100, 9000)}`,
            groupScope: 'Global',
            dn: `CN=${name},OU=Groups,DC=${u.credentialProvider.name.split('.').join(',DC=')}`,
            windowsDomainQualifiedName: `${u.credentialProvider.name.split('.')[0]?.toUpperCase()}\\${name}`,
            externalId: r.alnum(22),
          }
        : { name, description: GROUP_DESCRIPTIONS[name] ?? `${name} group` },
      _links: {
        logo,
        ...(fromAd ? { source: { href: `${base}/api/v1/apps/0oa${new Rng('ad-app').alnum(17)}` } } : {}),
        users: { href: `${base}/api/v1/groups/${id}/users` },
        apps: { href: `${base}/api/v1/groups/${id}/apps` },
      },
    });
  }
  return groups;
}

function oktaFactors(u: MockUser, base: string) {
  const r = new Rng('okta-factors', u.login);
  const self = `${base}/api/v1/users/${u.oktaId}`;
  return u.factors.map((factor) => {
    const prefix = { push: 'opf', sms: 'mbl', 'token:software:totp': 'uft', webauthn: 'fwf' }[factor];
    const id = `${prefix}${r.alnum(17)}`;
    const created = r.pastIso(30, 900);
    const common = {
      id,
      factorType: factor,
      status: 'ACTIVE',
      created,
      lastUpdated: created,
      _links: {
        self: { href: `${self}/factors/${id}`, hints: { allow: ['GET', 'DELETE'] } },
        ...(factor === 'webauthn'
          ? {}
          : { verify: { href: `${self}/factors/${id}/verify`, hints: { allow: ['POST'] } } }),
        user: { href: self, hints: { allow: ['GET'] } },
      },
    };
    if (factor === 'push') {
      return {
        ...common,
        provider: 'OKTA',
        vendorName: 'OKTA',
        profile: {
          credentialId: u.login,
          deviceType: 'SmartPhone_IPhone',
          keys: [{ kty: 'EC', use: 'sig', kid: 'default', x: r.alnum(43), y: r.alnum(43), crv: 'P-256' }],
          name: r.pick(['iPhone 15', 'iPhone 14 Pro', 'iPhone 13']),
          platform: 'IOS',
          version: `17.${r.int(0, 6)}`,
        },
      };
    }
    if (factor === 'sms') {
      return {
        ...common,
        provider: 'OKTA',
        vendorName: 'OKTA',
        profile: { phoneNumber: u.mobilePhone ?? `+1 555-01${r.digits(2)}` },
      };
    }
    if (factor === 'token:software:totp') {
      return { ...common, provider: 'GOOGLE', vendorName: 'GOOGLE', profile: { credentialId: u.login } };
    }
    return {
      ...common,
      provider: 'FIDO',
      vendorName: 'FIDO',
      profile: { credentialId: r.alnum(86), authenticatorName: 'YubiKey 5 NFC' },
    };
  });
}

type Sub = 'user' | 'groups' | 'factors' | 'linkedObjects';

function handle(
  sub: Sub,
  rawKey: string,
  rel: string | undefined,
  req: MockRequest,
  ctx: HandlerContext,
): MockResponse {
  if (!authorized(req, ctx)) return oktaError(401, 'E0000011', 'Invalid token provided');
  const key = decodeSegment(rawKey) ?? rawKey;
  const user = ctx.directory.findOkta(key);
  if (!user) return notFound(key);
  const base = req.base;
  const headers = oktaHeaders(ctx.providerCount);
  const find = (login: string) => ctx.directory.findByLogin(login);
  switch (sub) {
    case 'user': {
      const body = ctx.memo(`okta:user:${base}:${user.oktaId}`, () => oktaUser(user, base, find));
      const changed = statuses(ctx).get(user.oktaId);
      return { status: 200, headers, body: changed ? { ...body, status: changed } : body };
    }
    case 'groups':
      return {
        status: 200,
        headers: { ...headers, Link: `<${base}/api/v1/users/${user.oktaId}/groups>; rel="self"` },
        body: ctx.memo(`okta:groups:${base}:${user.oktaId}`, () => oktaGroups(user, base)),
      };
    case 'factors':
      return {
        status: 200,
        headers,
        body: ctx.memo(`okta:factors:${base}:${user.oktaId}`, () => oktaFactors(user, base)),
      };
    case 'linkedObjects': {
      if (rel === 'manager') {
        const manager = user.managerLogin ? find(user.managerLogin) : undefined;
        return {
          status: 200,
          headers,
          body: manager ? [{ _links: { self: { href: `${base}/api/v1/users/${manager.oktaId}` } } }] : [],
        };
      }
      if (rel === 'subordinate') {
        const subs = KNOWN_USERS.filter((u) => u.managerLogin === user.login);
        return {
          status: 200,
          headers,
          body: subs.map((s) => ({ _links: { self: { href: `${base}/api/v1/users/${s.oktaId}` } } })),
        };
      }
      return notFound(rel ?? '', 'LinkedObject');
    }
  }
}

/** Lifecycle changes per server (keyed by its directory): okta id → status. */
const STATUS = new WeakMap<object, Map<string, string>>();
function statuses(ctx: HandlerContext): Map<string, string> {
  let m = STATUS.get(ctx.directory);
  if (!m) {
    m = new Map();
    STATUS.set(ctx.directory, m);
  }
  return m;
}

type Write = 'sessions' | 'suspend' | 'unsuspend' | 'reset_password' | 'expire_password';

function handleWrite(op: Write, rawKey: string, req: MockRequest, ctx: HandlerContext): MockResponse {
  if (!authorized(req, ctx)) return oktaError(401, 'E0000011', 'Invalid token provided');
  const key = decodeSegment(rawKey) ?? rawKey;
  const user = ctx.directory.findOkta(key);
  if (!user) return notFound(key);
  const headers = oktaHeaders(ctx.providerCount);
  const state = statuses(ctx);
  const status = state.get(user.oktaId) ?? user.oktaStatus;
  const invalid = (summary: string) => oktaError(400, 'E0000001', `Api validation failed: ${summary}`);
  switch (op) {
    case 'sessions':
      return { status: 204, headers, body: '' };
    case 'suspend':
      if (status !== 'ACTIVE') return invalid('Cannot suspend a user that is not active');
      state.set(user.oktaId, 'SUSPENDED');
      return { status: 200, headers, body: {} };
    case 'unsuspend':
      if (status !== 'SUSPENDED') return invalid('Cannot unsuspend a user that is not suspended');
      state.set(user.oktaId, 'ACTIVE');
      return { status: 200, headers, body: {} };
    case 'reset_password': {
      if (status === 'DEPROVISIONED' || user.credentialProvider.type !== 'OKTA') {
        return oktaError(403, 'E0000006', 'You do not have permission to perform the requested action');
      }
      state.set(user.oktaId, 'RECOVERY');
      if (req.query.get('sendEmail') === 'false') {
        const token = randomBytes(15).toString('base64url');
        return { status: 200, headers, body: { resetPasswordUrl: `${req.base}/reset_password/${token}` } };
      }
      return { status: 200, headers, body: {} };
    }
    case 'expire_password': {
      if (status === 'DEPROVISIONED') return invalid('Cannot expire the password of a deprovisioned user');
      state.set(user.oktaId, 'PASSWORD_EXPIRED');
      const find = (login: string) => ctx.directory.findByLogin(login);
      return { status: 200, headers, body: { ...oktaUser(user, req.base, find), status: 'PASSWORD_EXPIRED' } };
    }
  }
}

const SESSIONS_RE = /^\/api\/v1\/users\/([^/]+)\/sessions\/?$/;
const LIFECYCLE_RE = /^\/api\/v1\/users\/([^/]+)\/lifecycle\/(suspend|unsuspend|reset_password|expire_password)\/?$/;

const USER_RE = /^\/api\/v1\/users\/([^/]+)(?:\/(groups|factors|linkedObjects\/([^/]+)))?\/?$/;

export const okta: ProviderModule = {
  name: 'okta',
  prefixes: ['/okta'],
  match(method, path): RouteMatch | null {
    const sessions = method === 'DELETE' ? SESSIONS_RE.exec(path) : null;
    if (sessions) {
      const rawKey = sessions[1] ?? '';
      return {
        endpoint: 'DELETE /api/v1/users/{id}/sessions',
        value: decodeSegment(rawKey) ?? rawKey,
        handle: (req, ctx) => handleWrite('sessions', rawKey, req, ctx),
      };
    }
    const lifecycle = method === 'POST' ? LIFECYCLE_RE.exec(path) : null;
    if (lifecycle) {
      const rawKey = lifecycle[1] ?? '';
      const op = lifecycle[2] as Write;
      return {
        endpoint: `POST /api/v1/users/{id}/lifecycle/${op}`,
        value: decodeSegment(rawKey) ?? rawKey,
        handle: (req, ctx) => handleWrite(op, rawKey, req, ctx),
      };
    }
    const m = USER_RE.exec(path);
    if (!m || method !== 'GET') return null;
    const rawKey = m[1] ?? '';
    const tail = m[2];
    const sub: Sub =
      tail === undefined ? 'user' : tail === 'groups' ? 'groups' : tail === 'factors' ? 'factors' : 'linkedObjects';
    const rel = m[3] ? (decodeSegment(m[3]) ?? m[3]) : undefined;
    const endpoint =
      sub === 'user'
        ? 'GET /api/v1/users/{id}'
        : sub === 'linkedObjects'
          ? `GET /api/v1/users/{id}/linkedObjects/${rel}`
          : `GET /api/v1/users/{id}/${sub}`;
    return {
      endpoint,
      value: decodeSegment(rawKey) ?? rawKey,
      handle: (req, ctx) => handle(sub, rawKey, rel, req, ctx),
    };
  },
  rateLimited(_match, retryAfter) {
    const res = oktaError(429, 'E0000047', 'API call exceeded rate limit due to too many requests.');
    res.headers = {
      'Retry-After': String(retryAfter),
      'X-Rate-Limit-Limit': String(OKTA_RATE_LIMIT),
      'X-Rate-Limit-Remaining': '0',
      'X-Rate-Limit-Reset': String(Math.floor(Date.now() / 1000) + retryAfter),
    };
    return res;
  },
  serverError() {
    return oktaError(500, 'E0000009', 'Internal Server Error');
  },
  notFoundPath(path) {
    return oktaError(404, 'E0000007', `Not found: Resource not found: ${path} (Resource)`);
  },
};

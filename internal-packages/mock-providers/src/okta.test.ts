import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KNOWN_USERS, type MockProvidersServer, NOT_FOUND_VALUES, startMockProviders } from './index.js';

let server: MockProvidersServer;
const AUTH = { Authorization: 'SSWS 00abc-test-token', Accept: 'application/json' };

beforeAll(async () => {
  server = await startMockProviders();
});
afterAll(() => server.close());
beforeEach(() => server.setOptions({ apiKeys: {} }));

async function get(path: string, headers: Record<string, string> = AUTH) {
  const res = await fetch(`${server.baseUrls.okta}/api/v1${path}`, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) as any };
}

const user = (login: string) => `/users/${encodeURIComponent(login)}`;

describe('Okta users', () => {
  it('returns a user object with the fields the extractions read', async () => {
    const { status, body, headers } = await get(user('j.martinez@contoso.com'));
    expect(status).toBe(200);
    expect(body.id).toMatch(/^00u[A-Za-z0-9]{17}$/);
    expect(body).toMatchObject({
      status: 'ACTIVE',
      created: '2021-06-14T16:02:11.000Z',
      lastLogin: '2026-03-01T14:38:47.000Z',
      passwordChanged: expect.any(String),
      activated: expect.any(String),
      statusChanged: expect.any(String),
      lastUpdated: expect.any(String),
      type: { id: expect.stringMatching(/^oty/) },
      profile: {
        login: 'j.martinez@contoso.com',
        email: 'j.martinez@contoso.com',
        firstName: 'Julia',
        lastName: 'Martinez',
        department: 'Finance',
        title: 'Senior Financial Analyst',
        manager: 'Dana Whitfield',
      },
      credentials: { provider: { type: 'OKTA', name: 'OKTA' } },
    });
    expect(body._links.self.href).toBe(`${server.baseUrls.okta}/api/v1/users/${body.id}`);
    expect(headers.get('x-rate-limit-limit')).toBe('600');
  });

  it('finds a user by id, login or unambiguous short name', async () => {
    const byLogin = await get(user('svc_backup@megacorp.com'));
    const byShort = await get('/users/svc_backup');
    const byId = await get(`/users/${byLogin.body.id}`);
    expect(byShort.text).toBe(byLogin.text);
    expect(byId.text).toBe(byLogin.text);
    expect(byLogin.body.profile.userType).toBe('Service');
    expect(byLogin.body.credentials.provider.type).toBe('ACTIVE_DIRECTORY');
  });

  it('knows every fixture account', async () => {
    for (const u of KNOWN_USERS) {
      const r = await get(user(u.login));
      expect(r.status, u.login).toBe(200);
      expect(r.body.id).toBe(u.oktaId);
    }
    for (const short of ['jdoe', 'admin', 'r.chen', 'j.martinez'])
      expect((await get(`/users/${short}`)).status).toBe(200);
  });

  it('reports a deprovisioned user', async () => {
    const { body } = await get(user('former.employee@contoso.com'));
    expect(body.status).toBe('DEPROVISIONED');
    expect(body._links.activate).toBeDefined();
  });

  it('404s unknown users with E0000007', async () => {
    for (const login of [...NOT_FOUND_VALUES.account, 'unknown.person@contoso.com']) {
      const { status, body } = await get(user(login));
      expect(status).toBe(404);
      expect(body).toMatchObject({
        errorCode: 'E0000007',
        errorSummary: `Not found: Resource not found: ${login} (User)`,
        errorLink: 'E0000007',
        errorCauses: [],
      });
      expect(body.errorId).toMatch(/^oae/);
    }
  });

  it('generates synthetic user<digits>@domain accounts and resolves them by id afterwards', async () => {
    const first = await get(user('user42@bench.example.com'));
    expect(first.status).toBe(200);
    expect(first.body.profile.login).toBe('user42@bench.example.com');
    const again = await get(user('user42@bench.example.com'));
    expect(again.text).toBe(first.text);
    expect((await get(`/users/${first.body.id}/groups`)).status).toBe(200);
  });

  it('is deterministic across server instances', async () => {
    const a = await get(user('r.chen@contoso.com'));
    const other = await startMockProviders();
    try {
      const res = await fetch(`${other.baseUrls.okta}/api/v1/users/r.chen%40contoso.com`, { headers: AUTH });
      expect((await res.text()).replaceAll(other.url, server.url)).toBe(a.text);
    } finally {
      await other.close();
    }
  });
});

describe('Okta groups, manager, factors', () => {
  it('lists groups including Everyone; r.chen is an Okta super admin', async () => {
    const { body: u } = await get(user('r.chen@contoso.com'));
    const { status, body, headers } = await get(`/users/${u.id}/groups`);
    expect(status).toBe(200);
    expect(Array.isArray(body)).toBe(true);
    expect(body[0]).toMatchObject({ type: 'BUILT_IN', profile: { name: 'Everyone' } });
    expect(body.map((g: any) => g.profile.name)).toEqual(expect.arrayContaining(['Okta-Super-Admins', 'IT-Admins']));
    for (const g of body) {
      expect(g.id).toMatch(/^00g/);
      expect(g.objectClass).toBeInstanceOf(Array);
    }
    expect(headers.get('link')).toContain('rel="self"');
  });

  it('links the manager through linkedObjects/manager', async () => {
    const { body: u } = await get(user('j.martinez@contoso.com'));
    const { status, body } = await get(`/users/${u.id}/linkedObjects/manager`);
    expect(status).toBe(200);
    expect(body).toHaveLength(1);
    const manager = await fetch(body[0]._links.self.href, { headers: AUTH }).then((r) => r.json() as Promise<any>);
    expect(manager.profile.login).toBe('d.whitfield@contoso.com');
    const { body: top } = await get(user('d.whitfield@contoso.com'));
    expect((await get(`/users/${top.id}/linkedObjects/manager`)).body).toEqual([]);
    expect((await get(`/users/${top.id}/linkedObjects/subordinate`)).body.length).toBeGreaterThan(0);
  });

  it('lists factors', async () => {
    const { body: u } = await get(user('j.martinez@contoso.com'));
    const { body } = await get(`/users/${u.id}/factors`);
    expect(body.map((f: any) => f.factorType)).toEqual(['push', 'sms']);
    expect(body[0]).toMatchObject({ provider: 'OKTA', status: 'ACTIVE' });
  });

  it('404s sub-resources of unknown users', async () => {
    expect((await get('/users/00uDoesNotExist000000/groups')).status).toBe(404);
  });
});

describe('Okta auth', () => {
  it('401s a missing or malformed Authorization header with E0000011', async () => {
    for (const headers of [{}, { Authorization: 'Basic abc' }, { Authorization: 'SSWS ' }] as Record<
      string,
      string
    >[]) {
      const { status, body } = await get(user('jdoe@corp.com'), headers);
      expect(status).toBe(401);
      expect(body.errorCode).toBe('E0000011');
      expect(body.errorSummary).toBe('Invalid token provided');
    }
  });

  it('checks the token when one is configured', async () => {
    server.setOptions({ apiKeys: { okta: 'right-token' } });
    expect((await get(user('jdoe@corp.com'), { Authorization: 'SSWS wrong' })).status).toBe(401);
    expect((await get(user('jdoe@corp.com'), { Authorization: 'SSWS right-token' })).status).toBe(200);
  });
});

describe('Okta writes (builtin workflows)', () => {
  async function call(method: string, path: string, headers: Record<string, string> = AUTH) {
    const res = await fetch(`${server.baseUrls.okta}/api/v1${path}`, { method, headers });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as any) : null };
  }

  it('suspends and unsuspends a user, reflected on GET, with Okta errors for bad transitions', async () => {
    const login = 'user7001@lifecycle.example';
    const id = (await get(user(login))).body.id;
    expect((await call('POST', `/users/${id}/lifecycle/suspend`)).status).toBe(200);
    expect((await get(user(login))).body.status).toBe('SUSPENDED');
    const again = await call('POST', `/users/${id}/lifecycle/suspend`);
    expect(again.status).toBe(400);
    expect(again.body.errorCode).toBe('E0000001');
    expect((await call('POST', `/users/${id}/lifecycle/unsuspend`)).status).toBe(200);
    expect((await get(user(login))).body.status).toBe('ACTIVE');
    expect((await call('POST', `/users/${id}/lifecycle/unsuspend`)).status).toBe(400);
  });

  it('clears sessions (204), resets and expires passwords', async () => {
    const id = (await get(user('user7002@lifecycle.example'))).body.id;
    expect((await call('DELETE', `/users/${id}/sessions`)).status).toBe(204);
    const reset = await call('POST', `/users/${id}/lifecycle/reset_password?sendEmail=true`);
    expect(reset).toEqual({ status: 200, body: {} });
    const link = await call('POST', `/users/${id}/lifecycle/reset_password?sendEmail=false`);
    expect(link.body.resetPasswordUrl).toMatch(/\/reset_password\//);
    const expired = await call('POST', `/users/${id}/lifecycle/expire_password`);
    expect(expired.status).toBe(200);
    expect(expired.body.status).toBe('PASSWORD_EXPIRED');
  });

  it('rejects writes without credentials and for unknown users', async () => {
    expect((await call('DELETE', '/users/user7003@lifecycle.example/sessions', {})).status).toBe(401);
    const missing = await call('POST', '/users/unknown-user@x.example/lifecycle/suspend');
    expect(missing.status).toBe(404);
    expect(missing.body.errorCode).toBe('E0000007');
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MockProvidersServer, startMockProviders } from './index.js';

let server: MockProvidersServer;

beforeAll(async () => {
  server = await startMockProviders();
});
afterAll(() => server.close());
beforeEach(() => server.setOptions({ apiKeys: {} }));

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const GOOD_FORM = {
  client_id: 'app-123',
  client_secret: 'secret',
  scope: 'https://graph.microsoft.com/.default',
  grant_type: 'client_credentials',
};

async function token(form: Record<string, string> = GOOD_FORM, tenant = 'contoso.onmicrosoft.com') {
  const res = await fetch(`${server.baseUrls.entraLogin}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function graph(path: string, bearer?: string) {
  const headers: Record<string, string> = {};
  if (bearer !== undefined) headers.Authorization = `Bearer ${bearer}`;
  const res = await fetch(`${server.baseUrls.graph}/v1.0${path}`, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) as any };
}

let accessToken = '';
beforeAll(async () => {
  accessToken = (await token()).body.access_token;
});

const REFERENCE_SELECT =
  'id,displayName,userPrincipalName,mail,accountEnabled,department,jobTitle,lastPasswordChangeDateTime';

describe('Entra token endpoint', () => {
  it('issues a client-credentials token', async () => {
    const { status, body } = await token();
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599 });
    expect(body.access_token.split('.')).toHaveLength(3);
    const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ aud: 'https://graph.microsoft.com', appid: 'app-123', idtyp: 'app' });
  });

  it('rejects bad requests like the identity platform', async () => {
    const grant = await token({ ...GOOD_FORM, grant_type: 'password' });
    expect(grant.status).toBe(400);
    expect(grant.body.error).toBe('unsupported_grant_type');
    const { grant_type: _g, ...noGrant } = GOOD_FORM;
    expect((await token(noGrant)).body.error_codes).toEqual([900144]);
    const scope = await token({ ...GOOD_FORM, scope: 'https://graph.microsoft.com/User.Read' });
    expect(scope.status).toBe(400);
    expect(scope.body.error).toBe('invalid_scope');
    const { client_secret: _s, ...noSecret } = GOOD_FORM;
    const missing = await token(noSecret);
    expect(missing.status).toBe(401);
    expect(missing.body.error).toBe('invalid_client');
    const tenant = await token(GOOD_FORM, 'unknown-tenant');
    expect(tenant.status).toBe(400);
    expect(tenant.body.error).toBe('invalid_tenant');
    expect(tenant.body.error_description).toMatch(/^AADSTS90002: /);
  });

  it('checks the client secret when one is configured', async () => {
    server.setOptions({ apiKeys: { entraClientSecret: 'the-secret' } });
    const wrong = await token(GOOD_FORM);
    expect(wrong.status).toBe(401);
    expect(wrong.body.error_codes).toEqual([7000215]);
    expect((await token({ ...GOOD_FORM, client_secret: 'the-secret' })).status).toBe(200);
  });
});

describe('Graph users', () => {
  it('answers the reference $select with exactly those properties', async () => {
    const { status, body, headers } = await graph(
      `/users/${encodeURIComponent('r.chen@contoso.com')}?$select=${REFERENCE_SELECT}`,
      accessToken,
    );
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^application\/json;odata\.metadata=minimal/);
    expect(body).toEqual({
      '@odata.context': `${server.baseUrls.graph}/v1.0/$metadata#users(${REFERENCE_SELECT})/$entity`,
      id: 'f9e8d7c6-b5a4-3210-9876-543210fedcba',
      displayName: 'Robert Chen',
      userPrincipalName: 'r.chen@contoso.com',
      mail: 'r.chen@contoso.com',
      accountEnabled: true,
      department: 'IT',
      jobTitle: 'Director of IT Infrastructure',
      lastPasswordChangeDateTime: '2025-09-21T18:03:12Z',
    });
  });

  it('returns the default property set without $select and finds users by object id', async () => {
    const { body } = await graph('/users/e8d4c6b2-a1f3-4e7d-9c5b-d0123456789a', accessToken);
    expect(Object.keys(body)).toEqual([
      '@odata.context',
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
    ]);
    expect(body.userPrincipalName).toBe('j.martinez@contoso.com');
  });

  it('selects signInActivity, on-premises and other properties; unknown properties are a 400', async () => {
    const { body } = await graph(
      '/users/svc_backup%40megacorp.com?$select=signInActivity,onPremisesSamAccountName,onPremisesSyncEnabled,createdDateTime,streetAddress,employeeType',
      accessToken,
    );
    expect(body.signInActivity.lastSignInDateTime).toBe('2026-03-01T18:00:00Z');
    expect(body).toMatchObject({
      onPremisesSamAccountName: 'svc_backup',
      onPremisesSyncEnabled: true,
      createdDateTime: '2018-05-22T07:31:44Z',
      streetAddress: null,
      employeeType: 'Service',
    });
    const bad = await graph('/users/jdoe%40corp.com?$select=id,shoeSize', accessToken);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('BadRequest');
  });

  it('reports a disabled account', async () => {
    const { body } = await graph('/users/former.employee%40contoso.com?$select=accountEnabled', accessToken);
    expect(body.accountEnabled).toBe(false);
  });

  it('404s unknown users and bare short names with Request_ResourceNotFound', async () => {
    for (const key of ['nobody@corp.com', 'svc_backup', 'unknown@contoso.com']) {
      const { status, body } = await graph(`/users/${encodeURIComponent(key)}`, accessToken);
      expect(status).toBe(404);
      expect(body.error.code).toBe('Request_ResourceNotFound');
      expect(body.error.message).toBe(
        `Resource '${key}' does not exist or one of its queried reference-property objects are not present.`,
      );
      expect(body.error.innerError['request-id']).toEqual(expect.any(String));
    }
  });

  it('is deterministic', async () => {
    const path = `/users/admin%40acmeinc.com?$select=${REFERENCE_SELECT},signInActivity`;
    expect((await graph(path, accessToken)).text).toBe((await graph(path, accessToken)).text);
  });
});

describe('Graph relationships', () => {
  it('memberOf lists directory roles and groups; r.chen is a Global Administrator', async () => {
    const { status, body } = await graph(
      '/users/f9e8d7c6-b5a4-3210-9876-543210fedcba/memberOf?$select=displayName',
      accessToken,
    );
    expect(status).toBe(200);
    expect(body['@odata.context']).toBe(`${server.baseUrls.graph}/v1.0/$metadata#directoryObjects(displayName)`);
    expect(body.value).toContainEqual({
      '@odata.type': '#microsoft.graph.directoryRole',
      displayName: 'Global Administrator',
    });
    expect(body.value).toContainEqual({ '@odata.type': '#microsoft.graph.group', displayName: 'IT Operations' });
    const full = await graph('/users/f9e8d7c6-b5a4-3210-9876-543210fedcba/memberOf', accessToken);
    const role = full.body.value.find((o: any) => o.displayName === 'Global Administrator');
    expect(role.roleTemplateId).toBe('62e90394-69f5-4237-9190-012177145e10');
  });

  it('manager returns the manager, or 404 when there is none', async () => {
    const { body } = await graph(
      '/users/e8d4c6b2-a1f3-4e7d-9c5b-d0123456789a/manager?$select=displayName,mail,jobTitle',
      accessToken,
    );
    expect(body).toEqual({
      '@odata.context': `${server.baseUrls.graph}/v1.0/$metadata#directoryObjects(displayName,mail,jobTitle)/$entity`,
      '@odata.type': '#microsoft.graph.user',
      displayName: 'Dana Whitfield',
      mail: 'd.whitfield@contoso.com',
      jobTitle: 'VP Finance',
    });
    const none = await graph('/users/d.whitfield%40contoso.com/manager', accessToken);
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('Request_ResourceNotFound');
  });

  it('serves authentication methods and risky users', async () => {
    const methods = await graph('/users/r.chen%40contoso.com/authentication/methods', accessToken);
    expect(methods.body.value.map((m: any) => m['@odata.type'])).toEqual([
      '#microsoft.graph.passwordAuthenticationMethod',
      '#microsoft.graph.microsoftAuthenticatorAuthenticationMethod',
      '#microsoft.graph.fido2AuthenticationMethod',
    ]);
    const risky = await graph('/identityProtection/riskyUsers/f9e8d7c6-b5a4-3210-9876-543210fedcba', accessToken);
    expect(risky.body).toMatchObject({
      riskLevel: 'high',
      riskState: 'atRisk',
      userPrincipalName: 'r.chen@contoso.com',
    });
    expect((await graph('/identityProtection/riskyUsers/jdoe%40corp.com', accessToken)).status).toBe(404);
  });
});

describe('Graph auth', () => {
  it('401s a missing bearer token', async () => {
    const { status, body } = await graph('/users/jdoe%40corp.com');
    expect(status).toBe(401);
    expect(body.error.code).toBe('InvalidAuthenticationToken');
    expect(body.error.message).toBe('Access token is empty.');
  });

  it('accepts any bearer token by default, only its own tokens once a client secret is configured', async () => {
    expect((await graph('/users/jdoe%40corp.com', 'anything')).status).toBe(200);
    server.setOptions({ apiKeys: { entraClientSecret: 'the-secret' } });
    expect((await graph('/users/jdoe%40corp.com', 'anything')).status).toBe(401);
    const fresh = await token({ ...GOOD_FORM, client_secret: 'the-secret' });
    expect((await graph('/users/jdoe%40corp.com', fresh.body.access_token)).status).toBe(200);
  });
});

describe('Graph writes (builtin workflows)', () => {
  async function call(method: string, path: string, json?: unknown, bearer = accessToken) {
    const headers: Record<string, string> = { Authorization: `Bearer ${bearer}` };
    if (json !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${server.baseUrls.graph}/v1.0${path}`, {
      method,
      headers,
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as any) : null };
  }

  it('revokes sign-in sessions', async () => {
    const res = await call('POST', '/users/user8001@graph.example/revokeSignInSessions');
    expect(res.status).toBe(200);
    expect(res.body.value).toBe(true);
  });

  it('disables and enables an account (PATCH accountEnabled), reflected on GET', async () => {
    const upn = 'user8002@graph.example';
    expect((await call('PATCH', `/users/${upn}`, { accountEnabled: false })).status).toBe(204);
    expect((await graph(`/users/${upn}?$select=accountEnabled`, accessToken)).body.accountEnabled).toBe(false);
    expect((await call('PATCH', `/users/${upn}`, { accountEnabled: true })).status).toBe(204);
    expect((await graph(`/users/${upn}?$select=accountEnabled`, accessToken)).body.accountEnabled).toBe(true);
    expect((await call('PATCH', `/users/${upn}`, { accountEnabled: 'no' })).status).toBe(400);
  });

  it('deletes non-password authentication methods; the password method stays', async () => {
    const upn = 'j.martinez@contoso.com';
    const before = (await graph(`/users/${upn}/authentication/methods`, accessToken)).body.value as any[];
    const segment = (m: any) =>
      `${String(m['@odata.type'])
        .replace('#microsoft.graph.', '')
        .replace(/AuthenticationMethod$/, '')}Methods`;
    const others = before.filter((m) => !String(m['@odata.type']).includes('password'));
    expect(others.length).toBeGreaterThan(0);
    for (const m of others) {
      expect((await call('DELETE', `/users/${upn}/authentication/${segment(m)}/${m.id}`)).status).toBe(204);
    }
    const after = (await graph(`/users/${upn}/authentication/methods`, accessToken)).body.value as any[];
    expect(after.map((m) => m['@odata.type'])).toEqual(['#microsoft.graph.passwordAuthenticationMethod']);
    const pw = after[0];
    expect((await call('DELETE', `/users/${upn}/authentication/passwordMethods/${pw.id}`)).status).toBe(400);
    expect((await call('DELETE', `/users/${upn}/authentication/phoneMethods/nope`)).status).toBe(404);
  });

  it('requires a token', async () => {
    expect((await call('POST', '/users/user8003@graph.example/revokeSignInSessions', undefined, '')).status).toBe(401);
  });
});

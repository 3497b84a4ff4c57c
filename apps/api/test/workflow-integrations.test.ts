import { clearEntraTokenCache } from '@calseta/integrations';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

/**
 * The builtin workflows against the mock Okta / Entra (real Postgres, worker, HTTP): seeded at
 * start-up, active when their provider's credentials resolve, `ctx.integrations` calling the
 * providers through the SSRF-guarded workflow client.
 */
describe('builtin workflows with ctx.integrations (mock Okta / Entra)', () => {
  let h: Harness;
  const byName = new Map<string, { uuid: string; state: string; is_active: boolean }>();

  beforeAll(async () => {
    clearEntraTokenCache();
    h = await createHarness({ mockProviders: true });
    await h.startWorker();
    const list = await h.request('GET', '/v1/workflows?is_system=true&page_size=50');
    for (const wf of list.body.data) byName.set(wf.name, wf);
  });
  afterAll(() => h.close());

  function builtin(name: string) {
    const wf = byName.get(name);
    if (!wf) throw new Error(`builtin ${name} not seeded`);
    return wf;
  }

  /** Execute by a human admin key; approval is switched off on the workflow first (`never`). */
  async function execute(name: string, account: string) {
    const wf = builtin(name);
    const patched = await h.request('PATCH', `/v1/workflows/${wf.uuid}`, { json: { approval_mode: 'never' } });
    expect(patched.status).toBe(200);
    const done = h.nextJob((o) => o.name === 'execute-workflow');
    const res = await h.request('POST', `/v1/workflows/${wf.uuid}/execute`, {
      json: { indicator_type: 'account', indicator_value: account },
    });
    expect(res.status).toBe(202);
    expect((await done).state).toBe('completed');
    return (await h.request('GET', `/v1/workflow-runs/${res.body.data.uuid}`)).body.data;
  }

  async function oktaUser(login: string) {
    const res = await fetch(`${h.mock?.baseUrls.okta}/api/v1/users/${encodeURIComponent(login)}`, {
      headers: { Authorization: 'SSWS mock-okta-token' },
    });
    return (await res.json()) as { status: string };
  }

  it('seeds all nine builtins active when Okta and Entra are configured', () => {
    expect(byName.size).toBe(9);
    for (const wf of byName.values()) expect(wf).toMatchObject({ state: 'active', is_active: true });
  });

  it('Okta — Suspend User suspends the user in Okta; unsuspend restores it', async () => {
    const login = 'user9101@integrations.example';
    const run = await execute('Okta — Suspend User', login);
    expect(run).toMatchObject({
      status: 'succeeded',
      result: { success: true, message: `Suspended Okta user ${login}`, data: { account: login } },
    });
    expect((await oktaUser(login)).status).toBe('SUSPENDED');

    const back = await execute('Okta — Unsuspend User', login);
    expect(back.result.success).toBe(true);
    expect((await oktaUser(login)).status).toBe('ACTIVE');
  });

  it("an Okta error fails the run with Okta's message", async () => {
    const run = await execute('Okta — Unsuspend User', 'user9102@integrations.example');
    expect(run.status).toBe('failed');
    expect(run.result.success).toBe(false);
    expect(run.result.message).toMatch(/Failed to unsuspend Okta user .*Okta HTTP 400: .*not suspended/);
    const missing = await execute('Okta — Revoke All Sessions', 'unknown-person@integrations.example');
    expect(missing.result.message).toMatch(/Okta HTTP 404/);
  });

  it('Okta — Revoke All Sessions, Reset Password and Force Password Expiry call their endpoints', async () => {
    const login = 'user9103@integrations.example';
    h.mock?.reset();
    for (const name of ['Okta — Revoke All Sessions', 'Okta — Reset Password', 'Okta — Force Password Expiry']) {
      expect((await execute(name, login)).result.success).toBe(true);
    }
    const endpoints = h.mock?.stats().byEndpoint ?? {};
    expect(endpoints['okta DELETE /api/v1/users/{id}/sessions']).toBe(1);
    expect(endpoints['okta POST /api/v1/users/{id}/lifecycle/reset_password']).toBe(1);
    expect(endpoints['okta POST /api/v1/users/{id}/lifecycle/expire_password']).toBe(1);
  });

  it('Entra builtins: disable/enable, revoke sessions, reset MFA; one token for all (cached per process)', async () => {
    const upn = 'j.martinez@contoso.com';
    h.mock?.reset();
    expect((await execute('Entra — Disable Account', upn)).result).toMatchObject({
      success: true,
      message: `Disabled Microsoft Entra account ${upn}`,
    });
    expect((await execute('Entra — Revoke Sign-in Sessions', upn)).result.success).toBe(true);
    expect((await execute('Entra — Force MFA Re-registration', upn)).result.success).toBe(true);
    expect((await execute('Entra — Enable Account', upn)).result.success).toBe(true);

    const stats = h.mock?.stats().byEndpoint ?? {};
    expect(stats['entra POST /{tenant}/oauth2/v2.0/token']).toBe(1);
    expect(stats['entra PATCH /v1.0/users/{id}']).toBe(2);
    expect(stats['entra POST /v1.0/users/{id}/revokeSignInSessions']).toBe(1);
    const token = await fetch(`${h.mock?.baseUrls.entraLogin}/contoso-tenant/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'calseta-mock',
        client_secret: 'mock-entra-secret',
        scope: 'https://graph.microsoft.com/.default',
      }),
    }).then((r) => r.json() as Promise<{ access_token: string }>);
    const methods = await fetch(`${h.mock?.baseUrls.graph}/v1.0/users/${upn}/authentication/methods`, {
      headers: { Authorization: `Bearer ${token.access_token}` },
    }).then((r) => r.json() as Promise<{ value: Array<Record<string, string>> }>);
    expect(methods.value.map((m) => m['@odata.type'])).toEqual(['#microsoft.graph.passwordAuthenticationMethod']);
  });

  it('the test endpoint mocks the integrations: reported in http_calls, nothing reaches Okta', async () => {
    const login = 'user9104@integrations.example';
    h.mock?.reset();
    const res = await h.request('POST', `/v1/workflows/${builtin('Okta — Suspend User').uuid}/test`, {
      json: { indicator_type: 'account', indicator_value: login },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      status: 'succeeded',
      success: true,
      message: `Suspended Okta user ${login}`,
      http_calls: [{ method: 'INTEGRATION', url: 'integration://okta/suspendUser', status: null }],
    });
    expect(h.mock?.stats().byProvider.okta ?? 0).toBe(0);
    expect((await oktaUser(login)).status).toBe('ACTIVE');
  });
});

describe('builtin workflows without credentials', () => {
  let h: Harness;
  beforeAll(async () => {
    // Okta configured (not reachable: never called), Entra not.
    h = await createHarness({ providerEnv: { OKTA_DOMAIN: 'okta.invalid', OKTA_API_TOKEN: 'token' } });
  });
  afterAll(() => h.close());

  it('are inactive (and not executable) when their provider lacks credentials', async () => {
    const list = await h.request('GET', '/v1/workflows?is_system=true&page_size=50');
    expect(list.body.meta.total).toBe(9);
    for (const wf of list.body.data) {
      const okta = wf.name.startsWith('Okta');
      expect(wf).toMatchObject({ state: okta ? 'active' : 'inactive', is_active: okta });
      if (!okta) expect(wf.documentation).toMatch(/Microsoft Entra credentials are not configured/);
    }
    const entra = list.body.data.find((w: { name: string }) => w.name === 'Entra — Disable Account');
    const res = await h.request('POST', `/v1/workflows/${entra.uuid}/execute`, {
      json: { indicator_type: 'account', indicator_value: 'someone@example.com' },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });
});

import { beforeEach, describe, expect, it } from 'vitest';
import type { GuardedFetch, GuardedRequestInit, GuardedResponse } from '../fetch.js';
import {
  clearEntraTokenCache,
  EntraIntegration,
  entraWorkflowIntegration,
  OktaIntegration,
  oktaWorkflowIntegration,
} from './index.js';

type Answer = { status: number; json?: unknown };

/** A fetch answering from a function, recording the requests. */
function fakeFetch(answer: (url: string, init: GuardedRequestInit) => Answer) {
  const calls: Array<{ url: string; init: GuardedRequestInit }> = [];
  const fetch: GuardedFetch = async (url, init = {}) => {
    calls.push({ url, init });
    const a = answer(url, init);
    const text = a.json === undefined ? '' : JSON.stringify(a.json);
    const response: GuardedResponse = {
      status: a.status,
      ok: a.status >= 200 && a.status < 300,
      bytes: new TextEncoder().encode(text),
      text: async () => text,
      json: async () => JSON.parse(text),
    };
    return response;
  };
  return { fetch, calls };
}

const ENTRA = {
  tenant_id: 'tenant',
  client_id: 'client',
  client_secret: 'secret',
  login_base_url: 'https://login.test/',
  graph_base_url: 'https://graph.test',
};

describe('EntraIntegration', () => {
  beforeEach(() => clearEntraTokenCache());

  it('reuses the client-credentials token across clients until shortly before expiry', async () => {
    let issued = 0;
    const { fetch, calls } = fakeFetch((url) => {
      if (url.includes('/oauth2/v2.0/token'))
        return { status: 200, json: { access_token: `t${++issued}`, expires_in: 3599 } };
      return { status: 204 };
    });
    await new EntraIntegration(fetch, ENTRA).disableAccount('a@x.test');
    await new EntraIntegration(fetch, ENTRA).enableAccount('a@x.test');
    expect(issued).toBe(1);
    expect(calls[0]?.url).toBe('https://login.test/tenant/oauth2/v2.0/token');
    expect(String(calls[0]?.init.body)).toContain('grant_type=client_credentials');
    expect(calls[1]).toMatchObject({ url: 'https://graph.test/v1.0/users/a%40x.test', init: { method: 'PATCH' } });
    expect(calls[1]?.init.headers?.Authorization).toBe('Bearer t1');
    expect(calls[2]?.init.body).toBe('{"accountEnabled":true}');

    // A token about to expire is replaced.
    clearEntraTokenCache();
    const short = fakeFetch((url) =>
      url.includes('/token')
        ? { status: 200, json: { access_token: `s${++issued}`, expires_in: 60 } }
        : { status: 204 },
    );
    await new EntraIntegration(short.fetch, ENTRA).revokeSessions('a@x.test');
    await new EntraIntegration(short.fetch, ENTRA).revokeSessions('a@x.test');
    expect(short.calls.filter((c) => c.url.includes('/token'))).toHaveLength(2);
  });

  it('drops a token Graph refuses (401) and retries once; other errors carry the Graph message', async () => {
    let issued = 0;
    const { fetch, calls } = fakeFetch((url, init) => {
      if (url.includes('/token')) return { status: 200, json: { access_token: `t${++issued}`, expires_in: 3599 } };
      if (init.headers?.Authorization === 'Bearer t1') return { status: 401, json: { error: { message: 'expired' } } };
      if (url.endsWith('/users/missing%40x.test/revokeSignInSessions')) {
        return {
          status: 404,
          json: { error: { code: 'Request_ResourceNotFound', message: "Resource 'missing' does not exist" } },
        };
      }
      return { status: 200, json: { value: true } };
    });
    const client = new EntraIntegration(fetch, ENTRA);
    await client.revokeSessions('a@x.test');
    expect(issued).toBe(2);
    expect(calls.map((c) => c.init.headers?.Authorization ?? 'token')).toEqual([
      'token',
      'Bearer t1',
      'token',
      'Bearer t2',
    ]);
    await expect(client.revokeSessions('missing@x.test')).rejects.toThrow(
      "Microsoft Graph HTTP 404: Resource 'missing' does not exist",
    );
  });

  it('resetMfa deletes every non-password method at its typed path', async () => {
    const { fetch, calls } = fakeFetch((url, init) => {
      if (url.includes('/token')) return { status: 200, json: { access_token: 't', expires_in: 3599 } };
      if (init.method === 'GET') {
        return {
          status: 200,
          json: {
            value: [
              { '@odata.type': '#microsoft.graph.passwordAuthenticationMethod', id: 'p' },
              { '@odata.type': '#microsoft.graph.phoneAuthenticationMethod', id: 'ph' },
              { '@odata.type': '#microsoft.graph.fido2AuthenticationMethod', id: 'f/2' },
            ],
          },
        };
      }
      return { status: 204 };
    });
    expect(await new EntraIntegration(fetch, ENTRA).resetMfa('u')).toBe(2);
    expect(calls.filter((c) => c.init.method === 'DELETE').map((c) => c.url)).toEqual([
      'https://graph.test/v1.0/users/u/authentication/phoneMethods/ph',
      'https://graph.test/v1.0/users/u/authentication/fido2Methods/f%2F2',
    ]);
  });
});

describe('OktaIntegration', () => {
  it('resolves the user, then calls the lifecycle endpoint with SSWS auth', async () => {
    const { fetch, calls } = fakeFetch((url) => {
      if (url.endsWith('/users/j%40x.test')) return { status: 200, json: { id: '00u1' } };
      if (url.includes('reset_password')) return { status: 200, json: { resetPasswordUrl: 'https://okta/reset' } };
      return { status: 200, json: {} };
    });
    const okta = new OktaIntegration(fetch, { base_url: 'https://okta.test/', api_token: 'tok' });
    expect(await okta.resetPassword('j@x.test')).toBe('https://okta/reset');
    expect(calls.map((c) => `${c.init.method} ${c.url}`)).toEqual([
      'GET https://okta.test/api/v1/users/j%40x.test',
      'POST https://okta.test/api/v1/users/00u1/lifecycle/reset_password?sendEmail=true',
    ]);
    expect(calls[0]?.init.headers?.Authorization).toBe('SSWS tok');
  });

  it("rejects with Okta's errorSummary", async () => {
    const { fetch } = fakeFetch(() => ({
      status: 404,
      json: { errorCode: 'E0000007', errorSummary: 'Not found: Resource not found: nobody (User)' },
    }));
    const okta = new OktaIntegration(fetch, { base_url: 'https://okta.test', api_token: 'tok' });
    await expect(okta.suspendUser('nobody')).rejects.toThrow(
      'Okta HTTP 404: Not found: Resource not found: nobody (User)',
    );
  });
});

describe('workflow integration ports', () => {
  const { fetch } = fakeFetch(() => ({ status: 204 }));

  it('connect only with complete credentials', () => {
    expect(oktaWorkflowIntegration.connect(fetch, { base_url: 'https://okta.test' })).toBeNull();
    expect(oktaWorkflowIntegration.connect(fetch, { base_url: 'https://okta.test', api_token: 't' })).toBeInstanceOf(
      OktaIntegration,
    );
    const { client_secret: _, ...partial } = ENTRA;
    expect(entraWorkflowIntegration.connect(fetch, partial)).toBeNull();
    expect(entraWorkflowIntegration.connect(fetch, ENTRA)).toBeInstanceOf(EntraIntegration);
  });

  it('declare exactly the methods their clients have', () => {
    for (const [port, client] of [
      [oktaWorkflowIntegration, OktaIntegration],
      [entraWorkflowIntegration, EntraIntegration],
    ] as const) {
      const own = Object.getOwnPropertyNames(client.prototype).filter((m) => m !== 'constructor');
      expect([...port.methods].sort()).toEqual(own.sort());
    }
  });
});

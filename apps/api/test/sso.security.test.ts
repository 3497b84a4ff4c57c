import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sso, startSso } from './sso-kit.js';

/**
 * Attacks on sign-in and sessions (issue 21), each against the real provider and the real API.
 * Each failed on the code without its defence (docs/security.md).
 */

let sso: Sso;
beforeAll(async () => {
  sso = await startSso();
});
afterAll(() => sso?.close());

describe('sign-in attacks', () => {
  it('an ID token whose claims were changed without the provider’s key signs no one in', async () => {
    // Bob's token rewritten to say he is Cat (an admin), its signature no longer the provider's.
    sso.op.setIdTokenFault({
      claims: (c) => ({ ...c, sub: 'u-cat', email: 'cat@example.test', groups: ['soc-admins'] }),
      corruptSignature: true,
    });
    try {
      const raw = await sso.signInRaw('bob@example.test');
      expect(raw.location).toBe('/?sign_in_error=invalid_response');
      expect(raw.jar.get(sso.h.baseUrl, 'calseta_session')).toBeUndefined();
    } finally {
      sso.op.setIdTokenFault(undefined);
    }
  });

  it('return_to never leaves the site (no open redirect after sign-in)', async () => {
    for (const target of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', '/\t/evil.example']) {
      expect((await sso.signInRaw('bob@example.test', { returnTo: target })).location, target).toBe('/');
    }
  });

  it('another site cannot sign a victim in with the attacker’s key (login CSRF)', async () => {
    const key = await sso.h.createKey({ scopes: ['alerts:read'] });
    const res = await fetch(`${sso.h.baseUrl}/v1/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ api_key: key }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie().some((c) => c.startsWith('calseta_session='))).toBe(false);
  });
});

describe('session attacks', () => {
  it('a cross-site write carrying the victim’s cookie is refused (CSRF)', async () => {
    const cat = await sso.signIn('cat@example.test');
    // A page on another origin can make the browser send the cookie, but cannot read the CSRF token.
    const res = await sso.call(cat, 'POST', '/v1/api-keys', {
      json: { name: 'attacker', scopes: ['admin'] },
      origin: 'https://evil.example',
      csrf: null,
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('CSRF_REJECTED');
    expect(await sso.h.query("SELECT 1 FROM api_keys WHERE name = 'attacker'")).toHaveLength(0);
  });

  it('an analyst cannot mint a personal key above their roles', async () => {
    const bob = await sso.signIn('bob@example.test');
    for (const scopes of [['admin'], ['approvals:write'], ['alerts:read', 'agents:write']]) {
      const res = await sso.call(bob, 'POST', '/v1/users/me/api-keys', { json: { name: 'up', scopes } });
      expect(res.status, scopes.join()).toBe(403);
    }
    expect(await sso.h.query("SELECT 1 FROM api_keys WHERE name = 'up'")).toHaveLength(0);
  });

  it('a stolen database row gives no session: only the token’s hash is stored', async () => {
    const bob = await sso.signIn('bob@example.test');
    const rows = await sso.h.query<{ token_hash: string }>('SELECT token_hash FROM sessions');
    expect(rows.some((r) => r.token_hash === bob.session)).toBe(false);
    for (const { token_hash } of rows) {
      const res = await fetch(`${sso.h.baseUrl}/v1/alerts`, { headers: { cookie: `calseta_session=${token_hash}` } });
      expect(res.status).toBe(401);
    }
  });
});

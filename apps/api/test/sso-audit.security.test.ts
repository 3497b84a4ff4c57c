import { grantAdmin } from '@calseta/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sso, startSso } from './sso-kit.js';

/**
 * Findings of the adversarial review of issue 21, each against the real provider (its own key signs
 * every token) and the real API. Each failed on the code before its fix.
 */

let sso: Sso;
beforeAll(async () => {
  sso = await startSso();
});
afterAll(() => sso?.close());

/** Sign in with the provider's ID token rewritten (and re-signed with its own key) by `claims`. */
async function signInWithClaims(login: string, claims: (c: Record<string, unknown>) => Record<string, unknown>) {
  sso.op.setIdTokenFault({ claims });
  try {
    return await sso.signInRaw(login);
  } finally {
    sso.op.setIdTokenFault(undefined);
  }
}

const rolesOf = async (email: string) =>
  (
    await sso.h.query<{ idp_roles: string[]; granted_roles: string[] }>(
      'SELECT idp_roles, granted_roles FROM users WHERE lower(email) = $1',
      [email],
    )
  ).flatMap((r) => [...r.idp_roles, ...r.granted_roles]);

describe('return_to after sign-in', () => {
  it('dot segments cannot turn a path into another host (`/.//evil`, `/%2e//evil`, `/a/..//evil`)', async () => {
    // new URL() resolves `/.//evil.example` to the path `//evil.example`: as a Location, another host.
    for (const target of ['/.//evil.example/x', '/..//evil.example', '/%2e//evil.example', '/a/..//evil.example']) {
      const { location } = await sso.signInRaw('bob@example.test', { returnTo: target });
      expect(location, target).toBe('/');
    }
  });
});

describe('emails the provider did not verify grant nothing', () => {
  it('an email without email_verified is not an OIDC_ADMIN_EMAILS admin (nOAuth)', async () => {
    // Dan (no role) presents Fay's email, signed by the provider but never verified by it: Entra ID
    // sends no email_verified, and its email claim is whatever the account's (or a guest's home
    // tenant's) mail attribute says.
    const raw = await signInWithClaims('dan@example.test', (c) => {
      const { email_verified: _, ...rest } = c;
      return { ...rest, email: 'fay@example.test' };
    });
    expect(raw.location).toBe('/?sign_in_error=no_role');
    expect(raw.jar.get(sso.h.baseUrl, 'calseta_session')).toBeUndefined();
    expect(await rolesOf('fay@example.test')).not.toContain('admin');
  });

  it('preferred_username is never a verified email: it claims no pre-provisioned admin row', async () => {
    await grantAdmin(sso.h.deps.db, 'boss@example.test');
    const raw = await signInWithClaims('dan@example.test', (c) => {
      const { email: _e, email_verified: _v, ...rest } = c;
      return { ...rest, preferred_username: 'boss@example.test' };
    });
    expect(raw.location).toBe('/?sign_in_error=no_role');
    // The row pre-provisioned for boss is still unclaimed; nobody signed in holds admin through it.
    const rows = await sso.h.query<{ issuer: string | null }>(
      "SELECT issuer FROM users WHERE lower(email) = 'boss@example.test' AND 'admin' = ANY(granted_roles)",
    );
    expect(rows.map((r) => r.issuer)).toEqual([null]);
  });
});

describe('grant-admin names a verified email', () => {
  it('does not make admin someone who signed in presenting that email unverified', async () => {
    // Dan signs in presenting the boss's email, unverified (no role: refused, but his row stays).
    const raw = await signInWithClaims('dan@example.test', (c) => {
      const { email_verified: _, ...rest } = c;
      return { ...rest, email: 'chief@example.test' };
    });
    expect(raw.location).toBe('/?sign_in_error=no_role');
    // The admin means the real chief: a row waits for them; Dan's row gets nothing.
    expect(await grantAdmin(sso.h.deps.db, 'chief@example.test')).toEqual({ created: true, users: 1 });
    const rows = await sso.h.query<{ issuer: string | null; granted_roles: string[] }>(
      "SELECT issuer, granted_roles FROM users WHERE lower(email) = 'chief@example.test' ORDER BY id",
    );
    expect(rows.map((r) => [r.issuer === null, r.granted_roles])).toEqual([
      [false, []],
      [true, ['admin']],
    ]);
    // Dan signing in again (still unverified) is still refused.
    const again = await signInWithClaims('dan@example.test', (c) => {
      const { email_verified: _, ...rest } = c;
      return { ...rest, email: 'chief@example.test' };
    });
    expect(again.location).toBe('/?sign_in_error=no_role');
  });
});

describe('the ID token kept for logout', () => {
  it('is unreadable in the database (sealed by the session token only the browser holds), yet logout uses it', async () => {
    const raw = await sso.signInRaw('bob@example.test');
    const rows = await sso.h.query<{ id_token: string | null }>(
      'SELECT id_token FROM sessions WHERE revoked_at IS NULL AND id_token IS NOT NULL',
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const { id_token } of rows) expect(id_token).not.toMatch(/eyJ/); // no JWT in the clear
    const cookie = raw.jar.get(sso.h.baseUrl, 'calseta_session');
    const session = await fetch(`${sso.h.baseUrl}/v1/auth/session`, {
      headers: { cookie: `calseta_session=${cookie}` },
    });
    const { csrf_token } = ((await session.json()) as { data: { csrf_token: string } }).data;
    const out = await fetch(`${sso.h.baseUrl}/v1/auth/session`, {
      method: 'DELETE',
      headers: { cookie: `calseta_session=${cookie}`, origin: sso.h.baseUrl, 'x-csrf-token': csrf_token },
    });
    const { logout_url } = ((await out.json()) as { data: { logout_url: string } }).data;
    expect(new URL(logout_url).searchParams.get('id_token_hint')).toMatch(/^eyJ/);
  });
});

describe('a person the provider no longer signs in', () => {
  it('loses their personal keys once their last sign-in is older than 30 days (offboarded at the IdP)', async () => {
    // Offboarding happens at the provider: the person never signs in again, so Calseta never hears of it.
    const eve = await sso.signIn('eve@example.test');
    const created = await sso.call(eve, 'POST', '/v1/users/me/api-keys', {
      json: { name: 'eve-script', scopes: ['alerts:read'] },
    });
    expect(created.status).toBe(201);
    const key = created.body.data.key as string;
    const asKey = () => fetch(`${sso.h.baseUrl}/v1/alerts`, { headers: { authorization: `Bearer ${key}` } });
    expect((await asKey()).status).toBe(200);

    await sso.h.query("UPDATE users SET last_sign_in_at = now() - interval '31 days' WHERE email = 'eve@example.test'");
    sso.h.deps.apiKeys.clear(); // as after any user change (another process's NOTIFY)
    expect((await asKey()).status).toBe(401);

    // Signing in again (the provider still knows her) brings the key back at once.
    await sso.signIn('eve@example.test');
    expect((await asKey()).status).toBe(200);
  });
});

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CookieJar, signInAtProvider } from '@calseta/oidc-test-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './harness.js';
import { type Browser, type Sso, startSso } from './sso-kit.js';

/**
 * Issue 21 against a real OpenID Connect provider (oidc-provider on loopback, its login form filled
 * in over HTTP) and the real API: no token is made by hand except by the provider's own key.
 */

const run = promisify(execFile);
const CODE = `export async function run(ctx) { return WorkflowResult.ok('contained ' + ctx.indicator.value); }`;

let sso: Sso;
let h: Harness;
let op: Sso['op'];
const signIn: Sso['signIn'] = (...args) => sso.signIn(...args);
const signInRaw: Sso['signInRaw'] = (...args) => sso.signInRaw(...args);
const call: Sso['call'] = (...args) => sso.call(...args);
const userUuid: Sso['userUuid'] = (...args) => sso.userUuid(...args);
const callbackUrl = () => sso.callbackUrl();

beforeAll(async () => {
  sso = await startSso();
  ({ h, op } = sso);
});
afterAll(() => sso?.close());

describe('OIDC sign-in', () => {
  it('says how people sign in', async () => {
    const res = await h.request('GET', '/v1/auth/config', { key: null });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ oidc: { enabled: true, display_name: 'Test IdP' }, api_key_sign_in: true });
  });

  it('signs a person in through the provider form: user upserted, roles from groups, HttpOnly Lax cookie', async () => {
    const raw = await signInRaw('ana@example.test');
    expect(raw.status).toBe(302);
    expect(raw.location).toBe('/alerts');
    const cookie = raw.setCookie.find((c) => c.startsWith('calseta_session=')) as string;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/i); // http public URL
    const token = raw.jar.get(h.baseUrl, 'calseta_session') as string;
    const info = await call({ jar: raw.jar, csrf: '', session: token }, 'GET', '/v1/auth/session');
    expect(info.body.data).toMatchObject({
      kind: 'oidc',
      user: { email: 'ana@example.test', name: 'Ana Approver', roles: ['analyst', 'approver'] },
      csrf_token: expect.any(String),
    });
    expect(info.body.data.scopes).toContain('approvals:write');
    expect(info.body.data.scopes).not.toContain('admin');
    // Only the token's hash is stored.
    const rows = await h.query<{ token_hash: string }>('SELECT token_hash FROM sessions');
    expect(rows.map((r) => r.token_hash)).not.toContain(token);
    const [user] = await h.query<{ issuer: string; subject: string; idp_roles: string[] }>(
      "SELECT issuer, subject, idp_roles FROM users WHERE email = 'ana@example.test'",
    );
    expect(user).toMatchObject({ issuer: op.issuer, subject: 'u-ana', idp_roles: ['approver', 'analyst'] });
  });

  it('two first sign-ins of one person at once make one user', async () => {
    const both = await Promise.all([signIn('eve@example.test'), signIn('eve@example.test')]);
    expect(both.every((b) => b.session)).toBe(true);
    expect(await h.query("SELECT 1 FROM users WHERE email = 'eve@example.test'")).toHaveLength(1);
  });

  it('maps groups to roles; one permission table decides', async () => {
    const bob = await signIn('bob@example.test');
    const cat = await signIn('cat@example.test');
    expect((await call(bob, 'GET', '/v1/alerts')).status).toBe(200);
    expect((await call(bob, 'GET', '/v1/users')).status).toBe(403);
    const users = await call(cat, 'GET', '/v1/users');
    expect(users.status).toBe(200);
    const emails = users.body.data.map((u: { email: string }) => u.email);
    expect(emails).toEqual(expect.arrayContaining(['bob@example.test', 'cat@example.test']));
    expect((await call(bob, 'GET', '/v1/users/me')).body.data).toMatchObject({
      email: 'bob@example.test',
      roles: ['analyst'],
    });
  });

  it('refuses a person with no mapped role (the row stays for an admin to grant one), and OIDC_ADMIN_EMAILS bootstraps', async () => {
    const dan = await signInRaw('dan@example.test');
    expect(dan.location).toBe('/?sign_in_error=no_role');
    expect(dan.jar.get(h.baseUrl, 'calseta_session')).toBeUndefined();
    expect(await h.query("SELECT 1 FROM users WHERE email = 'dan@example.test'")).toHaveLength(1);
    const fay = await signIn('fay@example.test');
    expect((await call(fay, 'GET', '/v1/auth/session')).body.data.user.roles).toEqual(['admin']);
  });

  it('`calseta users grant-admin <email>` makes a refused person an admin (the real command)', async () => {
    expect((await signInRaw('dan@example.test')).location).toBe('/?sign_in_error=no_role');
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'apps/cli/src/main.ts', 'users', 'grant-admin', 'Dan@Example.test'],
      {
        cwd: new URL('../../../', import.meta.url),
        // biome-ignore lint/style/noProcessEnv: the child finds node and the system tools on PATH
        env: { ...process.env, DATABASE_URL: h.databaseUrl },
      },
    );
    expect(stdout).toContain('Granted admin to 1 user(s)');
    const dan = await signIn('dan@example.test');
    expect((await call(dan, 'GET', '/v1/auth/session')).body.data.user.roles).toEqual(['admin']);
  });

  it('refuses a disabled user and ends their sessions at once', async () => {
    const eve = await signIn('eve@example.test');
    const cat = await signIn('cat@example.test');
    const disabled = await call(cat, 'PATCH', `/v1/users/${await userUuid('eve@example.test')}`, {
      json: { disabled: true },
    });
    expect(disabled.status).toBe(200);
    expect(disabled.body.data.disabled).toBe(true);
    expect((await call(eve, 'GET', '/v1/alerts')).status).toBe(401);
    expect((await signInRaw('eve@example.test')).location).toBe('/?sign_in_error=disabled');
    // An admin cannot lock themselves out.
    const self = await call(cat, 'PATCH', `/v1/users/${await userUuid('cat@example.test')}`, {
      json: { disabled: true },
    });
    expect(self.status).toBe(409);
  });

  it.each([
    ['an expired ID token', { claims: (c: any) => ({ ...c, iat: c.iat - 7200, exp: c.iat - 3600 }) }],
    ['a foreign nonce', { claims: (c: any) => ({ ...c, nonce: 'someone-elses-nonce' }) }],
    ['another audience', { claims: (c: any) => ({ ...c, aud: 'another-client' }) }],
    ['another issuer', { claims: (c: any) => ({ ...c, iss: 'https://evil.example' }) }],
  ])('refuses %s', async (_what, fault) => {
    op.setIdTokenFault(fault);
    try {
      const raw = await signInRaw('bob@example.test');
      expect(raw.location).toBe('/?sign_in_error=invalid_response');
      expect(raw.jar.get(h.baseUrl, 'calseta_session')).toBeUndefined();
    } finally {
      op.setIdTokenFault(undefined);
    }
  });

  it('refuses a wrong state, a callback without its browser cookie, and a replayed callback', async () => {
    const wrongState = await signInRaw('bob@example.test', {
      tamperCallback: (url) => url.searchParams.set('state', 'forged'),
    });
    expect(wrongState.location).toBe('/?sign_in_error=invalid_response');

    // A callback URL sent to another browser (login CSRF) has no login cookie there.
    const jar = new CookieJar();
    const start = await fetch(`${h.baseUrl}/v1/auth/oidc/login`, { redirect: 'manual' });
    jar.store(`${h.baseUrl}/v1/auth/oidc/login`, start);
    const back = await signInAtProvider(
      start.headers.get('location') as string,
      { login: 'bob@example.test', password: 'pw-bob' },
      callbackUrl(),
    );
    const foreign = await fetch(back, { redirect: 'manual' });
    expect(foreign.headers.get('location')).toBe('/?sign_in_error=login_expired');
    const own = await fetch(back, { redirect: 'manual', headers: { cookie: jar.header(back) } });
    expect(own.headers.get('location')).toBe('/');
    const replay = await fetch(back, { redirect: 'manual', headers: { cookie: jar.header(back) } });
    expect(replay.headers.get('location')).toBe('/?sign_in_error=login_expired');
  });
});

describe('CSRF on cookie-authenticated writes', () => {
  it('refuses no token, a wrong token and a foreign origin; accepts the page; bearer keys are unchanged', async () => {
    const bob = await signIn('bob@example.test');
    const alert = await h.request('POST', '/v1/ingest/generic', {
      json: { title: 'csrf test', severity: 'High', source_ip: '203.0.113.9' },
    });
    expect(alert.status).toBe(202);
    const uuid = alert.body.data.alert_uuid;
    const patch = { status: 'Triaging' };
    for (const [what, options] of [
      ['no token', { csrf: null }],
      ['a wrong token', { csrf: 'x'.repeat(43) }],
      ['a foreign origin', { origin: 'https://evil.example' }],
      ['no origin at all', { origin: null }],
    ] as const) {
      const res = await call(bob, 'PATCH', `/v1/alerts/${uuid}`, { json: patch, ...options });
      expect(res.status, what).toBe(403);
      expect(res.body.error.code, what).toBe('CSRF_REJECTED');
    }
    const ok = await call(bob, 'PATCH', `/v1/alerts/${uuid}`, { json: patch });
    expect(ok.status).toBe(200);
    // The Vite dev server's origin (WEB_ORIGINS) may write too.
    const dev = await call(bob, 'POST', `/v1/alerts/${uuid}/findings`, {
      json: { agent_name: 'analyst', summary: 'looked at it' },
      origin: 'http://localhost:5173',
    });
    expect(dev.status).toBe(201);
    // Agents: a bearer key needs no Origin and no token.
    const agent = await h.createKey({ scopes: ['alerts:write'], key_type: 'agent' });
    expect((await h.request('PATCH', `/v1/alerts/${uuid}`, { key: agent, json: { status: 'Open' } })).status).toBe(200);
    // The person appears as themselves in the audit log and on the finding.
    const events = await h.request('GET', `/v1/activity?event_type=api_write`);
    const mine = events.body.data.filter(
      (e: { actor_user: { email: string } | null }) => e.actor_user?.email === 'bob@example.test',
    );
    expect(mine.length).toBeGreaterThanOrEqual(2);
    const timeline = await h.request('GET', `/v1/alerts/${uuid}/activity`);
    const byBob = timeline.body.data.filter(
      (e: { actor_user: { email: string } | null }) => e.actor_user?.email === 'bob@example.test',
    );
    expect(byBob.map((e: { event_type: string }) => e.event_type)).toEqual(
      expect.arrayContaining(['alert_status_updated', 'alert_finding_added']),
    );
    const detail = await h.request('GET', `/v1/alerts/${uuid}`);
    expect(detail.body.data.agent_findings.at(-1).posted_by.user).toMatchObject({ email: 'bob@example.test' });
  });
});

describe('session lifetime', () => {
  it('ends after idle time and after the absolute lifetime; touches at most once a minute', async () => {
    const idle = await signIn('bob@example.test');
    const absolute = await signIn('bob@example.test');
    const touched = await signIn('bob@example.test');
    const hashOf = async (b: Browser) =>
      (await import('node:crypto')).createHash('sha256').update(b.session).digest('hex');
    await h.query("UPDATE sessions SET last_seen_at = now() - interval '8 hours 1 minute' WHERE token_hash = $1", [
      await hashOf(idle),
    ]);
    await h.query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1", [
      await hashOf(absolute),
    ]);
    expect((await call(idle, 'GET', '/v1/alerts')).status).toBe(401);
    expect((await call(absolute, 'GET', '/v1/alerts')).status).toBe(401);
    expect((await call(idle, 'GET', '/v1/auth/session')).status).toBe(401);

    const seen = async () =>
      (
        (await h.query<{ last_seen_at: Date }>('SELECT last_seen_at FROM sessions WHERE token_hash = $1', [
          await hashOf(touched),
        ])) as [{ last_seen_at: Date }]
      )[0].last_seen_at.getTime();
    const first = await seen();
    for (let i = 0; i < 3; i++) expect((await call(touched, 'GET', '/v1/alerts')).status).toBe(200);
    expect(await seen()).toBe(first); // no write per request
    await h.query("UPDATE sessions SET last_seen_at = now() - interval '2 minutes' WHERE token_hash = $1", [
      await hashOf(touched),
    ]);
    const before = await seen();
    expect((await call(touched, 'GET', '/v1/alerts')).status).toBe(200);
    await expect.poll(seen).toBeGreaterThan(before);
  });

  it('an admin revokes all of a user’s sessions', async () => {
    const bob1 = await signIn('bob@example.test');
    const bob2 = await signIn('bob@example.test');
    const cat = await signIn('cat@example.test');
    const res = await call(cat, 'DELETE', `/v1/users/${await userUuid('bob@example.test')}/sessions`);
    expect(res.status).toBe(200);
    expect(res.body.data.revoked).toBeGreaterThanOrEqual(2);
    expect((await call(bob1, 'GET', '/v1/alerts')).status).toBe(401);
    expect((await call(bob2, 'GET', '/v1/alerts')).status).toBe(401);
    expect((await call(cat, 'GET', '/v1/alerts')).status).toBe(200);
  });

  it('logs out (CSRF-checked) with an RP-initiated logout URL the provider accepts', async () => {
    const ana = await signIn('ana@example.test');
    expect((await call(ana, 'DELETE', '/v1/auth/session', { csrf: null })).status).toBe(403);
    const out = await call(ana, 'DELETE', '/v1/auth/session');
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie().find((c) => c.startsWith('calseta_session='))).toMatch(/Max-Age=0/i);
    const url = new URL(out.body.data.logout_url);
    expect(url.href.startsWith(op.issuer)).toBe(true);
    expect(url.searchParams.get('id_token_hint')).toMatch(/^ey/);
    expect(url.searchParams.get('post_logout_redirect_uri')).toBe(`${h.baseUrl}/`);
    const confirm = await fetch(url, { headers: { cookie: ana.jar.header(op.issuer) } });
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain('Sign out?'); // a valid hint and registered redirect, not an error page
    expect((await call(ana, 'GET', '/v1/alerts')).status).toBe(401);
  });
});

describe('people, not keys, decide approvals', () => {
  it('an approver decides, an analyst cannot, and nobody approves their own request', async () => {
    const bob = await signIn('bob@example.test');
    const ana = await signIn('ana@example.test');
    const wf = await h.request('POST', '/v1/workflows', {
      json: { name: 'contain', code: CODE, state: 'active', risk_level: 'high', approval_mode: 'always' },
    });
    expect(wf.status).toBe(201);
    const execute = (b: Browser) =>
      call(b, 'POST', `/v1/workflows/${wf.body.data.uuid}/execute`, {
        json: { indicator_type: 'ip', indicator_value: '203.0.113.7', reason: 'beaconing', confidence: 0.9 },
      });
    const byBob = await execute(bob);
    expect(byBob.status).toBe(202);
    const bobsRequest = byBob.body.data.approval_request_uuid;
    const analystTries = await call(bob, 'POST', `/v1/workflow-approvals/${bobsRequest}/approve`);
    expect(analystTries.status).toBe(403);
    expect(analystTries.body.error.code).toBe('FORBIDDEN');
    const approved = await call(ana, 'POST', `/v1/workflow-approvals/${bobsRequest}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.body.data.responder_id).toBe(`user:${await userUuid('ana@example.test')}`);

    // Ana's own request: refused through her session and through a personal key of hers alike.
    const byAna = await execute(ana);
    const anasRequest = byAna.body.data.approval_request_uuid;
    const own = await call(ana, 'POST', `/v1/workflow-approvals/${anasRequest}/approve`);
    expect(own.status).toBe(403);
    const key = await call(ana, 'POST', '/v1/users/me/api-keys', {
      json: { name: 'ana laptop', scopes: ['approvals:write', 'workflows:read'] },
    });
    expect(key.status).toBe(201);
    const viaKey = await h.request('POST', `/v1/workflow-approvals/${anasRequest}/approve`, { key: key.body.data.key });
    expect(viaKey.status).toBe(403);
  });
});

describe('personal API keys', () => {
  it('are limited to the person’s roles, record the owner, and stop with them', async () => {
    const bob = await signIn('bob@example.test');
    const tooMuch = await call(bob, 'POST', '/v1/users/me/api-keys', {
      json: { name: 'bob admin', scopes: ['admin'] },
    });
    expect(tooMuch.status).toBe(403);
    const approve = await call(bob, 'POST', '/v1/users/me/api-keys', {
      json: { name: 'bob approve', scopes: ['alerts:read', 'approvals:write'] },
    });
    expect(approve.status).toBe(403);
    expect((await call(bob, 'POST', '/v1/api-keys', { json: { name: 'bob', scopes: ['alerts:read'] } })).status).toBe(
      403,
    ); // the admin route stays admin's
    const created = await call(bob, 'POST', '/v1/users/me/api-keys', {
      json: { name: 'bob cli', scopes: ['alerts:read'] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const key = created.body.data.key as string;
    const [row] = await h.query<{ email: string }>(
      'SELECT u.email FROM api_keys k JOIN users u ON u.id = k.owner_user_id WHERE k.uuid = $1',
      [created.body.data.uuid],
    );
    expect(row?.email).toBe('bob@example.test');
    const me = await h.request('GET', '/v1/users/me', { key });
    expect(me.status).toBe(200);
    expect(me.body.data.email).toBe('bob@example.test');
    expect((await h.request('GET', '/v1/alerts', { key })).status).toBe(200);
    const mine = await call(bob, 'GET', '/v1/users/me/api-keys');
    expect(mine.body.data.map((k: { uuid: string }) => k.uuid)).toEqual([created.body.data.uuid]);

    // Roles shrink → the key shrinks; disabled → the key stops.
    const cat = await signIn('cat@example.test');
    const bobUuid = await userUuid('bob@example.test');
    await h.query("UPDATE users SET idp_roles = '{viewer}' WHERE uuid = $1", [bobUuid]);
    await call(cat, 'PATCH', `/v1/users/${bobUuid}`, { json: { roles: [] } }); // notifies the key caches
    expect((await h.request('GET', '/v1/alerts', { key })).status).toBe(200); // viewer still reads
    await call(cat, 'PATCH', `/v1/users/${bobUuid}`, { json: { disabled: true } });
    expect((await h.request('GET', '/v1/alerts', { key })).status).toBe(401);
    await call(cat, 'PATCH', `/v1/users/${bobUuid}`, { json: { disabled: false } });
    await h.query("UPDATE users SET idp_roles = '{analyst}' WHERE uuid = $1", [bobUuid]);
  });

  it('a key without an owner (an agent’s) works as before and has no person', async () => {
    const agent = await h.createKey({ scopes: ['alerts:read'], key_type: 'agent' });
    expect((await h.request('GET', '/v1/alerts', { key: agent })).status).toBe(200);
    expect((await h.request('GET', '/v1/users/me', { key: agent })).status).toBe(404);
    expect(
      (await h.request('POST', '/v1/api-keys', { key: agent, json: { name: 'x', scopes: ['alerts:read'] } })).status,
    ).toBe(403);
    const personal = await h.request('POST', '/v1/users/me/api-keys', {
      key: agent,
      json: { name: 'x', scopes: ['alerts:read'] },
    });
    expect(personal.status).toBe(404); // only a person signed in mints personal keys
  });
});

describe('API-key sign-in (local use)', () => {
  it('creates a session acting with the key, never storing or returning the key; ends with the key', async () => {
    const key = await h.createKey({ scopes: ['alerts:read', 'alerts:write'] });
    const res = await fetch(`${h.baseUrl}/v1/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: h.baseUrl },
      body: JSON.stringify({ api_key: key }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(key);
    const jar = new CookieJar();
    jar.store(h.baseUrl, res);
    const session = jar.get(h.baseUrl, 'calseta_session') as string;
    const browser: Browser = { jar, csrf: JSON.parse(text).data.csrf_token, session };
    const info = await call(browser, 'GET', '/v1/auth/session');
    expect(info.body.data).toMatchObject({ kind: 'api_key', user: null, scopes: ['alerts:read', 'alerts:write'] });
    expect(JSON.stringify(await h.query('SELECT * FROM sessions'))).not.toContain(key);
    expect((await call(browser, 'GET', '/v1/alerts')).status).toBe(200);

    const foreign = await fetch(`${h.baseUrl}/v1/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ api_key: key }),
    });
    expect(foreign.status).toBe(403);
    const wrong = await fetch(`${h.baseUrl}/v1/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: h.baseUrl },
      body: JSON.stringify({ api_key: `cai_${'A'.repeat(43)}` }),
    });
    expect(wrong.status).toBe(401);

    const [{ uuid }] = (await h.query<{ uuid: string }>(
      'SELECT uuid FROM api_keys WHERE name LIKE $1 ORDER BY id DESC',
      ['%'],
    )) as [{ uuid: string }];
    expect((await h.request('DELETE', `/v1/api-keys/${uuid}`)).status).toBe(204);
    expect((await call(browser, 'GET', '/v1/alerts')).status).toBe(401);
  });
});

import { OidcClient, parseRoleMap } from '@calseta/core';
import { CookieJar, type RunningOidcProvider, signInAtProvider, startOidcProvider } from '@calseta/oidc-test-provider';
import { expect } from 'vitest';
import type { SecurityOptions } from '../src/types.js';
import { createHarness, type Harness, type HarnessOptions } from './harness.js';

/**
 * The SSO test kit: issue 21 against a real OpenID Connect provider (oidc-provider on loopback, its login form filled
 * in over HTTP) and the real API: no token is made by hand except by the provider's own key.
 */

export const USERS = [
  { sub: 'u-ana', email: 'ana@example.test', name: 'Ana Approver', password: 'pw-ana', groups: ['soc', 'soc-leads'] },
  { sub: 'u-bob', email: 'bob@example.test', name: 'Bob Analyst', password: 'pw-bob', groups: ['soc'] },
  { sub: 'u-cat', email: 'cat@example.test', name: 'Cat Admin', password: 'pw-cat', groups: ['soc-admins'] },
  { sub: 'u-dan', email: 'dan@example.test', name: 'Dan Nobody', password: 'pw-dan', groups: ['marketing'] },
  { sub: 'u-eve', email: 'eve@example.test', name: 'Eve Leaver', password: 'pw-eve', groups: ['soc'] },
  { sub: 'u-fay', email: 'fay@example.test', name: 'Fay Boot', password: 'pw-fay', groups: [] },
];

export interface Browser {
  jar: CookieJar;
  csrf: string;
  session: string;
}

/** A running API with a real provider signed into it, and a browser to drive both. */
export async function startSso(options: { harness?: HarnessOptions } = {}) {
  const security: SecurityOptions = { sessions: { idleSeconds: 8 * 3600, absoluteSeconds: 7 * 86_400 }, signIn: {} };
  const h: Harness = await createHarness({ ...options.harness, security });
  const callbackUrl = () => `${h.baseUrl}/v1/auth/oidc/callback`;

  /** Start at our login endpoint, fill the provider's form, come back: the callback's answer. */
  async function signInRaw(
    login: string,
    options: { returnTo?: string; tamperCallback?: (url: URL) => void } = {},
  ): Promise<{ status: number; location: string; jar: CookieJar; setCookie: string[] }> {
    const jar = new CookieJar();
    const start = `${h.baseUrl}/v1/auth/oidc/login?return_to=${encodeURIComponent(options.returnTo ?? '/alerts')}`;
    const res = await fetch(start, { redirect: 'manual' });
    expect(res.status).toBe(302);
    jar.store(start, res);
    const password = USERS.find((u) => u.email === login)?.password ?? 'x';
    const back = new URL(
      await signInAtProvider(res.headers.get('location') as string, { login, password }, callbackUrl(), jar),
    );
    options.tamperCallback?.(back);
    const answer = await fetch(back, { redirect: 'manual', headers: { cookie: jar.header(back.href) } });
    jar.store(back.href, answer);
    return {
      status: answer.status,
      location: answer.headers.get('location') ?? '',
      jar,
      setCookie: answer.headers.getSetCookie(),
    };
  }

  async function signIn(login: string): Promise<Browser> {
    const raw = await signInRaw(login);
    expect(raw.location, `sign-in of ${login}`).toBe('/alerts');
    const session = raw.jar.get(h.baseUrl, 'calseta_session') as string;
    const info = await call({ jar: raw.jar, csrf: '', session }, 'GET', '/v1/auth/session');
    expect(info.status).toBe(200);
    return { jar: raw.jar, csrf: info.body.data.csrf_token, session };
  }

  /** A request as the browser page sends it: the cookie, our Origin and the CSRF token unless told otherwise. */
  async function call(
    browser: Browser,
    method: string,
    path: string,
    options: { json?: unknown; origin?: string | null; csrf?: string | null } = {},
  ): Promise<{ status: number; body: any; headers: Headers }> {
    const headers: Record<string, string> = { cookie: browser.jar.header(h.baseUrl) };
    const origin = options.origin === undefined ? h.baseUrl : options.origin;
    if (origin) headers.origin = origin;
    const csrf = options.csrf === undefined ? browser.csrf : options.csrf;
    if (csrf) headers['x-csrf-token'] = csrf;
    if (options.json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(h.baseUrl + path, {
      method,
      headers,
      ...(options.json !== undefined && { body: JSON.stringify(options.json) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  }

  const userUuid = async (email: string) =>
    ((await h.query<{ uuid: string }>('SELECT uuid FROM users WHERE email = $1', [email]))[0] as { uuid: string }).uuid;

  const op: RunningOidcProvider = await startOidcProvider({
    clients: [
      {
        client_id: 'calseta',
        client_secret: 'calseta-secret',
        redirect_uris: [callbackUrl()],
        post_logout_redirect_uris: [`${h.baseUrl}/`],
      },
    ],
    users: USERS,
  });
  security.signIn = {
    oidc: new OidcClient({
      issuer: op.issuer,
      clientId: 'calseta',
      clientSecret: 'calseta-secret',
      redirectUrl: callbackUrl(),
      postLogoutRedirectUrl: `${h.baseUrl}/`,
      displayName: 'Test IdP',
      scopes: 'openid email profile groups',
      roleClaim: 'groups',
      roleRules: parseRoleMap('admin:soc-admins,approver:soc-leads,analyst:soc'),
      adminEmails: ['fay@example.test'],
    }),
    publicUrl: h.baseUrl,
    webOrigins: ['http://localhost:5173'],
  };

  return {
    h,
    op,
    security,
    callbackUrl,
    signInRaw,
    signIn,
    call,
    userUuid,
    async close() {
      await h.close();
      await op.close();
    },
  };
}

export type Sso = Awaited<ReturnType<typeof startSso>>;

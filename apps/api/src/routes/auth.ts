import {
  admit,
  createSession,
  DEFAULT_SESSION_POLICY,
  endSession,
  resolveSession,
  SESSION_COOKIE,
  ServiceError,
  type SessionPolicy,
} from '@calseta/core';
import { ApiKeySignInSchema, AuthConfigSchema, dataEnvelope, SessionInfoSchema } from '@calseta/schema';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { dataBody } from '../envelope.js';
import { gateSite } from '../middleware/auth.js';
import { csrfCheck, originAllowed, sessionTokenOf } from '../middleware/csrf.js';
import { setRateLimitHeaders } from '../middleware/rate-limit.js';
import { readBody } from '../middleware/request.js';
import { body, errorContent, json } from '../route.js';
import type { AppEnv } from '../types.js';

/** The OIDC request in flight: bound to this browser, sent only to the callback, ten minutes. */
const LOGIN_COOKIE = 'calseta_oidc';
const LOGIN_COOKIE_PATH = '/v1/auth/oidc';

export const authRoutes = new OpenAPIHono<AppEnv>();

function policyOf(c: Context<AppEnv>): SessionPolicy {
  return c.get('security')?.sessions ?? DEFAULT_SESSION_POLICY;
}

/** Secure cookies when people reach us over https (PUBLIC_URL, or this request itself). */
function secure(c: Context<AppEnv>): boolean {
  const publicUrl = c.get('security')?.signIn?.publicUrl;
  return publicUrl ? publicUrl.startsWith('https:') : new URL(c.req.url).protocol === 'https:';
}

function setSessionCookie(c: Context<AppEnv>, token: string): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    secure: secure(c),
    sameSite: 'Lax',
    path: '/',
    maxAge: policyOf(c).absoluteSeconds,
  });
}

function clearSessionCookie(c: Context<AppEnv>): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: secure(c), httpOnly: true, sameSite: 'Lax' });
}

/** After a failed sign-in: back to the UI with a short code (never the provider's text). */
function signInFailed(c: Context<AppEnv>, code: string) {
  return c.redirect(`/?sign_in_error=${encodeURIComponent(code)}`, 302);
}

authRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/auth/config',
    tags: ['Sign-in'],
    summary: 'How people can sign in (public)',
    responses: { 200: json(dataEnvelope(AuthConfigSchema), 'The sign-in options.') },
  }),
  (c) => {
    const oidc = c.get('security')?.signIn?.oidc;
    return c.json(
      dataBody({
        oidc: { enabled: oidc !== undefined, display_name: oidc?.settings.displayName ?? null },
        api_key_sign_in: true,
      }),
      200,
    );
  },
);

authRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/auth/oidc/login',
    tags: ['Sign-in'],
    summary: 'Start single sign-on: redirects to the identity provider',
    description:
      'Authorization code flow with PKCE (S256), state and nonce. `return_to` is a path on this site (else `/`) where the browser lands after signing in.',
    request: { query: z.object({ return_to: z.string().max(2000).optional() }) },
    responses: {
      302: { description: 'To the provider (or `/?sign_in_error=<code>` when it cannot be reached).' },
      404: errorContent('Single sign-on is not configured.'),
    },
  }),
  async (c) => {
    const oidc = c.get('security')?.signIn?.oidc;
    if (!oidc) throw new ServiceError('NOT_FOUND', 'Single sign-on is not configured (OIDC_ISSUER).');
    let begun: { url: string; browserToken: string };
    try {
      begun = await oidc.begin(c.get('deps'), c.req.valid('query').return_to);
    } catch (error) {
      c.get('logger').error({ err: error }, 'cannot start OIDC sign-in (discovery failed?)');
      return signInFailed(c, 'provider_unavailable');
    }
    setCookie(c, LOGIN_COOKIE, begun.browserToken, {
      httpOnly: true,
      secure: secure(c),
      sameSite: 'Lax',
      path: LOGIN_COOKIE_PATH,
      maxAge: 600,
    });
    c.header('Cache-Control', 'no-store');
    return c.redirect(begun.url, 302);
  },
);

authRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/auth/oidc/callback',
    tags: ['Sign-in'],
    summary: 'Where the identity provider returns the browser',
    description:
      'Validates the response (state, PKCE, nonce, ID token signature, issuer, audience, expiry), signs the person in and sets the `calseta_session` cookie. Failures redirect to `/?sign_in_error=<code>`: `login_expired`, `provider_error`, `invalid_response`, `provider_unavailable`, `disabled`, `no_role`, `no_email`.',
    responses: { 302: { description: 'To `return_to`, or to `/?sign_in_error=<code>`.' } },
  }),
  async (c) => {
    const oidc = c.get('security')?.signIn?.oidc;
    if (!oidc) return signInFailed(c, 'provider_unavailable');
    const browserToken = getCookie(c, LOGIN_COOKIE);
    deleteCookie(c, LOGIN_COOKIE, { path: LOGIN_COOKIE_PATH, secure: secure(c), httpOnly: true, sameSite: 'Lax' });
    c.header('Cache-Control', 'no-store');
    const requestId = c.get('requestId');
    const result = await oidc.complete(c.get('deps'), {
      browserToken,
      query: new URL(c.req.url).searchParams,
      policy: policyOf(c),
      ...(requestId !== undefined && { requestId }),
    });
    if (!result.ok) return signInFailed(c, result.code);
    setSessionCookie(c, result.token);
    return c.redirect(result.returnTo, 302);
  },
);

authRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/auth/session',
    tags: ['Sign-in'],
    summary: 'Sign in with an API key (local use): sets the session cookie',
    description:
      "The session acts with the key's scopes for as long as the key stays valid. The key is never stored in the session nor returned. Only from an allowed origin (this site, `PUBLIC_URL`, `WEB_ORIGINS`).",
    middleware: [readBody] as const,
    request: { body: body(ApiKeySignInSchema) },
    responses: {
      200: json(dataEnvelope(SessionInfoSchema), 'Signed in.'),
      401: errorContent('Invalid, revoked or expired key (`UNAUTHORIZED`, `KEY_EXPIRED`).'),
      403: errorContent('Not from an allowed origin (`CSRF_REJECTED`).'),
      429: errorContent('Too many failed sign-ins from this address (`RATE_LIMITED`).'),
    },
  }),
  async (c) => {
    if (!originAllowed(c, c.get('security')?.signIn)) {
      throw new ServiceError('CSRF_REJECTED', 'Sign-in refused: this origin may not sign in here.');
    }
    const deps = c.get('deps');
    // The gate, as for a bearer request: failures are audited and counted per client IP.
    const admission = await admit(deps, c.get('security') ?? {}, {
      ...gateSite(c),
      authorization: `Bearer ${c.req.valid('json').api_key}`,
      rateLimitClass: 'authenticated',
    });
    if (admission.rate) setRateLimitHeaders(c, admission.rate);
    if (!admission.ok) throw admission.error;
    if (admission.key.id === null) throw new ServiceError('UNAUTHORIZED', 'Invalid API key.');
    const session = await createSession(deps, { kind: 'api_key', apiKeyId: admission.key.id }, policyOf(c));
    setSessionCookie(c, session.token);
    const resolved = await resolveSession(deps, session.token, policyOf(c));
    if (!resolved) throw new ServiceError('UNAUTHORIZED', 'Invalid API key.');
    return c.json(dataBody(sessionInfo(resolved)), 200);
  },
);

function sessionInfo(session: NonNullable<Awaited<ReturnType<typeof resolveSession>>>) {
  return {
    kind: session.kind,
    user: session.user,
    scopes: [...session.key.scopes],
    csrf_token: session.csrfToken,
    expires_at: session.expiresAt.toISOString(),
    idle_expires_at: session.idleExpiresAt.toISOString(),
  };
}

authRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/auth/session',
    tags: ['Sign-in'],
    summary: 'The current browser session (cookie): who, what scopes, the CSRF token',
    responses: {
      200: json(dataEnvelope(SessionInfoSchema), 'The session.'),
      401: errorContent('No valid session (`UNAUTHORIZED`).'),
    },
  }),
  async (c) => {
    c.header('Cache-Control', 'no-store');
    const session = await resolveSession(c.get('deps'), sessionTokenOf(c), policyOf(c));
    if (!session) throw new ServiceError('UNAUTHORIZED', 'Not signed in.');
    return c.json(dataBody(sessionInfo(session)), 200);
  },
);

authRoutes.openapi(
  createRoute({
    method: 'delete',
    path: '/v1/auth/session',
    tags: ['Sign-in'],
    summary: 'Sign out: ends the session and clears the cookie (CSRF-checked)',
    description:
      "`logout_url`: the identity provider's RP-initiated logout (with `id_token_hint` and `post_logout_redirect_uri`) when it offers one; open it to sign out there too.",
    responses: {
      200: json(
        dataEnvelope(z.object({ logout_url: z.string().nullable() })),
        'Signed out (also when the session had already ended).',
      ),
      403: errorContent('Missing or wrong `X-CSRF-Token`, or a foreign origin (`CSRF_REJECTED`).'),
    },
  }),
  async (c) => {
    const deps = c.get('deps');
    const token = sessionTokenOf(c);
    const session = await resolveSession(deps, token, policyOf(c));
    if (session && token) {
      const refused = csrfCheck(c, session);
      if (refused) throw refused;
    }
    const ended = token ? await endSession(deps, token) : null;
    clearSessionCookie(c);
    const oidc = c.get('security')?.signIn?.oidc;
    const logoutUrl = session?.kind === 'oidc' && oidc ? await oidc.logoutUrl(ended?.idToken ?? null) : null;
    return c.json(dataBody({ logout_url: logoutUrl }), 200);
  },
);

import { csrfTokenMatches, type ResolvedSession, SESSION_COOKIE, ServiceError } from '@calseta/core';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppEnv, SignInOptions } from '../types.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The session cookie's token, when one was sent. */
export function sessionTokenOf(c: Context<AppEnv>): string | undefined {
  return getCookie(c, SESSION_COOKIE);
}

/**
 * The origin a browser says a request comes from: `Origin`, else `Referer`'s origin. Browsers send
 * Origin on every cross-origin request and on same-origin non-GET fetches; a request with neither is
 * not from a page we trust with a cookie.
 */
function requestOrigin(c: Context<AppEnv>): string | null {
  const origin = c.req.header('origin');
  if (origin && origin !== 'null') return origin;
  const referer = c.req.header('referer');
  if (!referer) return null;
  try {
    return new URL(referer).origin;
  } catch {
    return null;
  }
}

/**
 * True when the browser origin may act with the cookie: this API's own origin (as the browser
 * addressed it: same Host), `PUBLIC_URL`'s, or one of `WEB_ORIGINS`.
 */
export function originAllowed(c: Context<AppEnv>, signIn: SignInOptions | undefined): boolean {
  const origin = requestOrigin(c);
  if (!origin) return false;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  if (host !== '' && host === c.req.header('host')) return true;
  const allowed = [signIn?.publicUrl, ...(signIn?.webOrigins ?? [])].filter((o): o is string => Boolean(o));
  return allowed.some((a) => {
    try {
      return new URL(a).origin === origin;
    } catch {
      return false;
    }
  });
}

/**
 * CSRF defence of cookie-authenticated writes (POST/PUT/PATCH/DELETE): an allowed Origin (or Referer)
 * AND `X-CSRF-Token` equal to the session's token (from `GET /v1/auth/session`). Bearer-key requests
 * never get here: a browser does not attach an Authorization header by itself. SameSite=Lax on the
 * cookie is a third layer, not relied upon.
 */
export function csrfCheck(c: Context<AppEnv>, session: ResolvedSession): ServiceError | null {
  if (SAFE_METHODS.has(c.req.method)) return null;
  const signIn = c.get('security')?.signIn;
  if (!originAllowed(c, signIn)) {
    return new ServiceError(
      'CSRF_REJECTED',
      'Cross-site request refused: this origin may not act with the session cookie (set PUBLIC_URL or WEB_ORIGINS).',
    );
  }
  if (!csrfTokenMatches(session.csrfToken, c.req.header('x-csrf-token'))) {
    return new ServiceError(
      'CSRF_REJECTED',
      'Missing or wrong X-CSRF-Token header: send the csrf_token of GET /v1/auth/session with every write.',
    );
  }
  return null;
}

import { createHash, randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { createSession, type SessionPolicy } from '../auth/sessions.js';
import type { CoreDeps } from '../infra/context.js';
import { type RoleRule, rolesFromClaims } from './role-map.js';
import { signInUser } from './users.js';

/** The relying party's settings (`OIDC_*`, `PUBLIC_URL`); the client secret is never logged or returned. */
export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Registered at the provider: `{PUBLIC_URL}/v1/auth/oidc/callback`. */
  redirectUrl: string;
  /** Where the provider sends the browser after RP-initiated logout (registered there too). */
  postLogoutRedirectUrl: string;
  displayName: string;
  /** Space-separated; `openid` is always requested. */
  scopes: string;
  /** The claim holding groups or roles (dotted path), e.g. `groups`, `roles`, `realm_access.roles`. */
  roleClaim: string;
  roleRules: readonly RoleRule[];
  /** Lower-cased emails granted admin at sign-in (`OIDC_ADMIN_EMAILS`). */
  adminEmails: readonly string[];
  /** Seconds of clock skew tolerated on the ID token's exp/iat/nbf (default 30). */
  clockToleranceSeconds?: number;
}

/** Short codes the callback redirects with (`/?sign_in_error=<code>`): never the provider's text. */
export type SignInError =
  | 'login_expired'
  | 'provider_error'
  | 'invalid_response'
  | 'provider_unavailable'
  | 'disabled'
  | 'no_role'
  | 'no_email';

/** An authorization request lives this long (the person has to sign in at the provider meanwhile). */
const LOGIN_TTL_MS = 10 * 60_000;
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** Only a path on this origin (`/…`, never `//…` or `/\…`), else `/`: no open redirect after sign-in. */
export function safeReturnPath(value: string | null | undefined): string {
  if (!value || value.length > 2000 || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) {
    return '/';
  }
  // Control characters (a tab or newline inside `/\t/evil`) are dropped by URL parsers: refuse them.
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) < 0x20 || value.charCodeAt(i) === 0x7f) return '/';
  const parsed = new URL(value, 'http://calseta.invalid');
  const path = `${parsed.pathname}${parsed.search}${parsed.hash}`;
  // Parsing resolves dot segments: `/.//evil`, `/%2e//evil`, `/a/..//evil` become `//evil`, another host.
  return parsed.origin === 'http://calseta.invalid' && !path.startsWith('//') ? path : '/';
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The OpenID Connect relying party, on `openid-client` (certified; discovery, PKCE S256, state,
 * nonce, ID token signature/iss/aud/exp checks with clock tolerance). Discovery runs at the first
 * sign-in and is retried after a failure, so the API starts while the provider is down.
 */
export class OidcClient {
  private configuration: Promise<oidc.Configuration> | undefined;

  constructor(readonly settings: OidcSettings) {}

  private config(): Promise<oidc.Configuration> {
    this.configuration ??= this.discover().catch((error: unknown) => {
      this.configuration = undefined;
      throw error;
    });
    return this.configuration;
  }

  private async discover(): Promise<oidc.Configuration> {
    const issuer = new URL(this.settings.issuer);
    // Plain http only for a provider on this machine (development, tests); anything else must be https.
    const insecure = issuer.protocol === 'http:' && LOOPBACK.has(issuer.hostname);
    return oidc.discovery(
      issuer,
      this.settings.clientId,
      { [oidc.clockTolerance]: this.settings.clockToleranceSeconds ?? 30 },
      oidc.ClientSecretBasic(this.settings.clientSecret),
      {
        timeout: 10,
        // Verify every ID token's signature against the provider's JWKS too (openid-client may otherwise
        // rely on TLS to the token endpoint alone, as OIDC Core 3.1.3.7 allows).
        execute: [oidc.enableNonRepudiationChecks, ...(insecure ? [oidc.allowInsecureRequests] : [])],
      },
    );
  }

  /**
   * Start a sign-in: store the request (state, nonce, PKCE verifier, return path) under the hash of a
   * new browser token, and give the provider URL plus that token (for a short-lived HttpOnly cookie,
   * which binds the callback to this browser).
   */
  async begin(
    deps: Pick<CoreDeps, 'db'>,
    returnTo: string | null | undefined,
    now = new Date(),
  ): Promise<{ url: string; browserToken: string }> {
    const config = await this.config();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const browserToken = randomBytes(32).toString('base64url');
    await deps.db.deleteFrom('oidc_logins').where('expires_at', '<=', now).execute();
    await deps.db
      .insertInto('oidc_logins')
      .values({
        browser_hash: sha256(browserToken),
        state,
        nonce,
        code_verifier: verifier,
        return_to: safeReturnPath(returnTo),
        expires_at: new Date(now.getTime() + LOGIN_TTL_MS),
      })
      .execute();
    const scope = [...new Set(['openid', ...this.settings.scopes.split(/\s+/).filter(Boolean)])].join(' ');
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUrl,
      scope,
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, browserToken };
  }

  /**
   * Finish a sign-in at the callback: the request stored for this browser (used once), the code
   * exchanged and the ID token validated by openid-client, the person upserted and checked, and a
   * session created. Failures are short codes; details go to the log only.
   */
  async complete(
    deps: Pick<CoreDeps, 'db' | 'apiKeys' | 'logger'>,
    input: { browserToken: string | undefined; query: URLSearchParams; policy: SessionPolicy; requestId?: string },
    now = new Date(),
  ): Promise<{ ok: true; token: string; returnTo: string } | { ok: false; code: SignInError; returnTo: string }> {
    const login = input.browserToken
      ? await deps.db
          .deleteFrom('oidc_logins')
          .where('browser_hash', '=', sha256(input.browserToken))
          .returningAll()
          .executeTakeFirst()
      : undefined;
    if (!login || login.expires_at.getTime() <= now.getTime()) {
      return { ok: false, code: 'login_expired', returnTo: '/' };
    }
    const fail = (code: SignInError) => ({ ok: false as const, code, returnTo: login.return_to });
    if (input.query.has('error')) {
      deps.logger.warn(
        { event: 'oidc_error', error: input.query.get('error')?.slice(0, 100) },
        'provider refused sign-in',
      );
      return fail('provider_error');
    }
    let config: oidc.Configuration;
    try {
      config = await this.config();
    } catch (error) {
      deps.logger.error({ err: error }, 'OIDC discovery failed');
      return fail('provider_unavailable');
    }
    const current = new URL(this.settings.redirectUrl);
    current.search = input.query.toString();
    let claims: oidc.IDToken;
    let idToken: string | undefined;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: login.code_verifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims() as oidc.IDToken;
      idToken = tokens.id_token;
    } catch (error) {
      const e = error as { code?: string; message?: string; error?: string };
      deps.logger.warn(
        { event: 'oidc_rejected', code: e.code, error: e.error, reason: e.message?.slice(0, 200) },
        'OIDC sign-in rejected',
      );
      return fail('invalid_response');
    }
    const verifiedEmail = stringClaim(claims, 'email');
    const email = verifiedEmail ?? stringClaim(claims, 'preferred_username') ?? stringClaim(claims, 'upn');
    const outcome = await signInUser(
      deps,
      {
        issuer: claims.iss,
        subject: claims.sub,
        email: email ?? null,
        // Verified only when the provider says so (a verified-domain `xms_edov` from Entra ID): an email it
        // did not verify, or a username (preferred_username, upn: mutable), must never grant admin (nOAuth).
        emailVerified:
          verifiedEmail !== undefined &&
          (claims.email_verified === true || (claims.email_verified === undefined && claims.xms_edov === true)),
        name: stringClaim(claims, 'name') ?? null,
        idpRoles: rolesFromClaims(claims, this.settings.roleClaim, this.settings.roleRules),
      },
      this.settings.adminEmails,
      input.requestId,
    );
    if (!outcome.ok) return fail(outcome.code);
    const session = await createSession(deps, { kind: 'oidc', userId: outcome.user.id, idToken }, input.policy, now);
    return { ok: true, token: session.token, returnTo: login.return_to };
  }

  /** RP-initiated logout at the provider, when it has an end_session_endpoint; else null. */
  async logoutUrl(idToken: string | null): Promise<string | null> {
    let config: oidc.Configuration;
    try {
      config = await this.config();
    } catch {
      return null;
    }
    if (!config.serverMetadata().end_session_endpoint) return null;
    return oidc.buildEndSessionUrl(config, {
      post_logout_redirect_uri: this.settings.postLogoutRedirectUrl,
      ...(idToken && { id_token_hint: idToken }),
    }).href;
  }
}

function stringClaim(claims: Record<string, unknown>, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value.length > 0 && value.length <= 320 ? value : undefined;
}

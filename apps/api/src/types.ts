import type {
  CoreDeps,
  Logger,
  OidcClient,
  RateLimitConfig,
  ResolvedSession,
  ServiceContext,
  SessionPolicy,
  TrustedProxies,
} from '@calseta/core';

/** Rate limits, client-IP trust, CORS and HSTS (see docs/security.md). */
export interface SecurityOptions {
  /** Absent: no rate limiting (tests, embedded use). */
  rateLimits?: RateLimitConfig;
  /** Proxies whose X-Forwarded-For is believed; default none. */
  trustedProxies?: TrustedProxies;
  /** Origins CORS allows (`*` = any); empty or absent: CORS off. */
  corsOrigins?: readonly string[];
  /** Send Strict-Transport-Security. */
  hsts?: boolean;
  /** Browser sessions' idle and absolute lifetime (default 8 h / 7 d). */
  sessions?: SessionPolicy;
  /** Sign-in (issue 21): OIDC, the public URL and the browser origins allowed to write with a cookie. */
  signIn?: SignInOptions;
}

/** How people sign in (docs/guides/single-sign-on.md). */
export interface SignInOptions {
  /** The relying party; absent: only the API-key sign-in. */
  oidc?: OidcClient;
  /** `PUBLIC_URL`: its origin may write with a cookie; https makes the cookie Secure. */
  publicUrl?: string;
  /** `WEB_ORIGINS`: more origins allowed to write with a cookie (the Vite dev server). */
  webOrigins?: readonly string[];
}

/** Per-request values the middleware sets for handlers. */
export interface AppEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    deps: CoreDeps;
    /** Set by the auth middleware of each authenticated route. */
    ctx: ServiceContext;
    /** The browser session that authenticated the request, when it was the cookie (not a bearer key). */
    session: ResolvedSession | undefined;
    /** The parsed JSON body, when the request had one. */
    body: unknown;
    /** The client's address (the peer, or X-Forwarded-For through trusted proxies). */
    clientIp: string;
    security: SecurityOptions;
    /** Body size limits: ingest routes and the others (bytes). */
    bodyLimits: { ingest: number; other: number };
  };
}

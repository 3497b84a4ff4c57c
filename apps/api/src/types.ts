import type { CoreDeps, Logger, RateLimitConfig, ServiceContext, TrustedProxies } from '@calseta/core';

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
}

/** Per-request values the middleware sets for handlers. */
export interface AppEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    deps: CoreDeps;
    /** Set by the auth middleware of each authenticated route. */
    ctx: ServiceContext;
    /** The parsed JSON body, when the request had one. */
    body: unknown;
    /** The client's address (the peer, or X-Forwarded-For through trusted proxies). */
    clientIp: string;
    security: SecurityOptions;
    /** Body size limits: ingest routes and the others (bytes). */
    bodyLimits: { ingest: number; other: number };
  };
}

import type { CoreDeps, Logger, ServiceContext } from '@calseta/core';

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
  };
}

import type { Actor, CoreDeps, ServiceContext } from './infra/context.js';

/** A verb context for `actor`. */
export function contextFor(deps: CoreDeps, actor: Actor, requestId?: string): ServiceContext {
  return { ...deps, actor, ...(requestId !== undefined && { requestId }) };
}

import type { Actor, CoreDeps, ServiceContext } from './context.js';

/** A verb context for `actor`. */
export function contextFor(deps: CoreDeps, actor: Actor, requestId?: string): ServiceContext {
  return { ...deps, actor, ...(requestId !== undefined && { requestId }) };
}

import { authenticate, authorize, contextFor, type Permission, ServiceError } from '@calseta/core';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../types.js';

/**
 * Authenticate the bearer key and check `permission` before anything else about the request is
 * read, then hand the handler a service context for that key.
 */
export function requirePermission(permission: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const deps = c.get('deps');
    try {
      const key = await authenticate(deps, c.req.header('authorization'));
      const actor = { type: 'api', key } as const;
      authorize({ actor }, permission);
      c.set('ctx', contextFor(deps, actor, c.get('requestId')));
    } catch (error) {
      if (error instanceof ServiceError) {
        c.get('logger').warn(
          { event: 'auth_failure', code: error.code, permission, method: c.req.method, path: c.req.path },
          error.message,
        );
      }
      throw error;
    }
    await next();
  };
}

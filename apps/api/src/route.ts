import { type PERMISSIONS, type Permission, PERMISSIONS as SCOPE_TABLE } from '@calseta/core';
import { createRoute, type RouteConfig, type z } from '@hono/zod-openapi';

type ZodType = z.ZodType;

import { ErrorEnvelopeSchema } from '@calseta/schema';
import { requirePermission } from './middleware/auth.js';
import { readBody } from './middleware/request.js';

type Method = RouteConfig['method'];

const errorContent = (description: string) => ({
  description,
  content: { 'application/json': { schema: ErrorEnvelopeSchema } },
});

/** The error responses every authenticated route can give. */
const COMMON_ERRORS = {
  401: errorContent('Missing, invalid, revoked or expired API key or session (`UNAUTHORIZED`, `KEY_EXPIRED`).'),
  403: errorContent(
    'The key or person lacks the required scope (`FORBIDDEN`, `details.required_scopes`), or a cookie-authenticated write failed the CSRF check (`CSRF_REJECTED`).',
  ),
  422: errorContent('The request failed validation (`VALIDATION_ERROR`, `details.errors`).'),
  429: errorContent(
    'Rate limit of the key exceeded (`RATE_LIMITED`, `Retry-After`, `details.retry_after_seconds`; see docs/security.md).',
  ),
  503: errorContent('The database is unavailable; retry (`SERVICE_UNAVAILABLE`).'),
} as const;

export interface ApiRouteConfig<P extends string>
  extends Omit<RouteConfig, 'path' | 'method' | 'security' | 'middleware'> {
  method: Method;
  path: P;
  /** What the caller must be allowed to do; the scope table in core says which scopes grant it. */
  permission: Permission;
}

/**
 * A route with the scope check wired in and documented: the gate (key, scope, rate limit) runs
 * before the body is even read, and the OpenAPI operation carries the same scopes
 * (`x-required-scopes`).
 */
export function apiRoute<P extends string, R extends ApiRouteConfig<P>>(config: R) {
  const { permission, ...rest } = config;
  const scopes: readonly string[] = SCOPE_TABLE[permission] satisfies (typeof PERMISSIONS)[Permission];
  return createRoute({
    ...rest,
    security: [{ ApiKey: [] }],
    'x-required-scopes': [...scopes],
    description:
      `${rest.description ?? ''}\n\nRequires scope: ${scopes.map((s) => `\`${s}\``).join(' or ')} (or \`admin\`).`.trim(),
    middleware: [requirePermission(permission), readBody] as const,
    responses: { ...COMMON_ERRORS, ...rest.responses },
  });
}

export { errorContent };

/** A JSON response in the OpenAPI document. */
export const json = <T extends ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** A required JSON request body (required, so a wrong Content-Type can never skip validation). */
export const body = <T extends ZodType>(schema: T) => ({ required: true, content: { 'application/json': { schema } } });

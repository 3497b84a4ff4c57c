import { ERROR_STATUS, ServiceError } from '@calseta/core';
import { isDatabaseUnavailable } from '@calseta/db';
import type { ErrorCode, ErrorEnvelope } from '@calseta/schema';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import type { AppEnv } from './types.js';

export function errorBody(
  c: Context<AppEnv>,
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
): ErrorEnvelope {
  return { error: { code, message, ...(details && { details }) }, request_id: c.get('requestId') ?? 'unknown' };
}

export function errorResponse(c: Context<AppEnv>, code: ErrorCode, message: string, details?: Record<string, unknown>) {
  return c.json(errorBody(c, code, message, details), ERROR_STATUS[code] as ContentfulStatusCode);
}

/** zod issues as `{ path, message, code }`, never echoing the input back. */
export function issueList(issues: readonly z.core.$ZodIssue[]) {
  return issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message, code: issue.code }));
}

/** The single mapping from anything thrown to the error envelope. */
export function toErrorResponse(c: Context<AppEnv>, error: unknown) {
  if (error instanceof ServiceError) {
    // A refusal that says when to come back (an overloaded ingest) says it in the header too.
    const retryAfter = error.details?.retry_after_seconds;
    if (typeof retryAfter === 'number') c.header('Retry-After', String(retryAfter));
    return errorResponse(c, error.code, error.message, error.details);
  }
  if (isZodError(error)) {
    return errorResponse(c, 'VALIDATION_ERROR', 'Request validation failed.', { errors: issueList(error.issues) });
  }
  if (error instanceof HTTPException) {
    // Raised by Hono itself (e.g. its validators): keep the status, use our envelope.
    const code =
      error.status === 400 ? 'INVALID_JSON' : error.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION_ERROR';
    return c.json(errorBody(c, code, error.message || 'Bad request.'), error.status);
  }
  if (isDatabaseUnavailable(error)) {
    c.header('Retry-After', '5');
    return errorResponse(c, 'SERVICE_UNAVAILABLE', 'The database is unavailable. Retry shortly; nothing was stored.');
  }
  c.get('logger')?.error({ err: error }, 'unhandled error');
  return errorResponse(c, 'INTERNAL_ERROR', 'An unexpected error occurred.');
}

function isZodError(error: unknown): error is z.ZodError {
  return error instanceof Error && error.name === 'ZodError' && Array.isArray((error as z.ZodError).issues);
}

import type { ErrorCode } from '@calseta/schema';

/** The one error type of core. Transports map `code` to their own status once (see each app's errors.ts). */
export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ServiceError';
    this.code = code;
    this.details = details;
  }
}

export function notFound(what: string): ServiceError {
  return new ServiceError('NOT_FOUND', `${what} not found.`);
}

export function validationError(message: string, errors: Array<{ path: string; message: string }>): ServiceError {
  return new ServiceError('VALIDATION_ERROR', message, { errors });
}

/** HTTP status for each error code: the single table every HTTP transport uses. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  UNAUTHORIZED: 401,
  KEY_EXPIRED: 401,
  INVALID_SIGNATURE: 401,
  FORBIDDEN: 403,
  SOURCE_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  UNKNOWN_SOURCE: 404,
  CONFLICT: 409,
  VALIDATION_ERROR: 422,
  INVALID_PAYLOAD: 422,
  SYSTEM_MAPPING_READONLY: 422,
  BUILTIN_RESTRICTED: 400,
  SYSTEM_EXTRACTION_RESTRICTED: 403,
  PROVIDER_NOT_FOUND: 422,
  PROVIDER_NOT_LOADED: 400,
  ENCRYPTION_NOT_CONFIGURED: 400,
  GENERATION_NOT_CONFIGURED: 400,
  INVALID_JSON: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNSUPPORTED_FORMAT: 422,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
  INVALID_ENDPOINT_URL: 400,
  AGENT_INACTIVE: 422,
  APPROVAL_EXPIRED: 409,
  APPROVAL_ALREADY_DECIDED: 409,
  INVALID_SOURCE: 400,
  CSRF_REJECTED: 403,
};

import { z } from 'zod';

/** The closed set of error codes any Calseta transport can return. */
export const ErrorCodeSchema = z.enum([
  'UNAUTHORIZED',
  'KEY_EXPIRED',
  'FORBIDDEN',
  'NOT_FOUND',
  'VALIDATION_ERROR',
  'UNKNOWN_SOURCE',
  'SOURCE_NOT_ALLOWED',
  'INVALID_SIGNATURE',
  'INVALID_JSON',
  'INVALID_PAYLOAD',
  'CONFLICT',
  'SYSTEM_MAPPING_READONLY',
  'BUILTIN_RESTRICTED',
  'SYSTEM_EXTRACTION_RESTRICTED',
  'PROVIDER_NOT_FOUND',
  'PROVIDER_NOT_LOADED',
  'ENCRYPTION_NOT_CONFIGURED',
  'GENERATION_NOT_CONFIGURED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'UNSUPPORTED_FORMAT',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_ERROR',
  'INVALID_ENDPOINT_URL',
  'AGENT_INACTIVE',
  'APPROVAL_EXPIRED',
  'APPROVAL_ALREADY_DECIDED',
  'INVALID_SOURCE',
  /** A cookie-authenticated write without a valid X-CSRF-Token or from a foreign Origin (issue 21). */
  'CSRF_REJECTED',
]);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

export const ErrorEnvelopeSchema = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
  request_id: z.string(),
});
export type ErrorEnvelope = z.infer<typeof ErrorEnvelopeSchema>;

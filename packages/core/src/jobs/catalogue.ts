import { z } from 'zod';

/**
 * Every background job: its payload schema and retry policy. Payloads are parsed at the worker
 * boundary, so a malformed job fails loudly instead of half-running.
 */
export const JOBS = {
  'enrich-alert': {
    payload: z.object({
      alert_id: z.number().int().positive(),
      reason: z.enum(['ingest', 'escalation', 'manual', 'indicators_added', 'rate_limited']),
      /** Retries of rate-limited providers so far (reason `rate_limited`). */
      attempt: z.number().int().min(0).optional(),
    }),
    /** 1 + 5 retries with exponential backoff from 5 s; a crashed worker's job expires after 5 min. */
    retryLimit: 5,
    retryDelay: 5,
    retryBackoff: true,
    expireInSeconds: 300,
  },
} as const;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]['payload']>;
export const JOB_NAMES = Object.keys(JOBS) as JobName[];

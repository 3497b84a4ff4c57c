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
      /** Deliver to matching agents again although they already received this alert (quirk 23). */
      redispatch: z.boolean().optional(),
    }),
    /** 1 + 5 retries with exponential backoff from 5 s; a crashed worker's job expires after 5 min. */
    retryLimit: 5,
    retryDelay: 5,
    retryBackoff: true,
    expireInSeconds: 300,
  },
  /**
   * One attempt of one agent delivery (`agent_runs` row `run_id`). The handler schedules the next
   * attempt itself (backoff with jitter, `attempt`); pg-boss retries only cover crashes and database
   * errors. Expiry exceeds the longest agent timeout (300 s).
   */
  'dispatch-agent': {
    payload: z.object({
      alert_id: z.number().int().positive(),
      agent_id: z.number().int().positive(),
      run_id: z.number().int().positive().optional(),
      /** 1-based attempt this job makes (default 1). */
      attempt: z.number().int().min(1).optional(),
    }),
    retryLimit: 3,
    retryDelay: 30,
    retryBackoff: true,
    expireInSeconds: 360,
  },
  /**
   * Per-incident agent delivery (incidents/delivery.ts): without `delivery_id`, cut the next revision
   * of (incident, agent) — scheduled at once when the incident opens, after the debounce for updates —
   * and queue its first attempt; with it, one attempt of that revision (the handler schedules the next
   * with backoff). pg-boss retries cover crashes; a crashed attempt is re-taken at once (liveness).
   */
  'deliver-incident': {
    payload: z.object({
      incident_id: z.number().int().positive(),
      agent_id: z.number().int().positive(),
      delivery_id: z.number().int().positive().optional(),
      attempt: z.number().int().min(1).optional(),
    }),
    retryLimit: 5,
    retryDelay: 2,
    retryBackoff: true,
    expireInSeconds: 360,
  },
  /**
   * One run of a workflow (`workflow_runs` row `run_id`) in the sandbox. One attempt: a run is not
   * repeated (it may have acted); expiry exceeds the longest workflow timeout (900 s).
   */
  'execute-workflow': {
    payload: z.object({ run_id: z.number().int().positive() }),
    retryLimit: 0,
    retryDelay: 0,
    retryBackoff: false,
    expireInSeconds: 960,
  },
  /**
   * One approval notification (Slack / Teams webhook): a new request, a decision, an expiry or the
   * approved run's result. No token: the notifier derives the browser link's token at send time
   * (approvals/token.ts), so the queue never holds a usable link. 1 + 2 retries, 30 s apart.
   */
  'notify-approval': {
    payload: z.object({
      approval_id: z.number().int().positive(),
      event: z.enum(['requested', 'decided', 'expired', 'executed']),
    }),
    retryLimit: 2,
    retryDelay: 30,
    retryBackoff: true,
    expireInSeconds: 120,
  },
  /** Expire pending approval requests past `expires_at` and notify (the worker schedules it every minute). */
  'sweep-approvals': {
    payload: z.object({}),
    retryLimit: 0,
    retryDelay: 0,
    retryBackoff: false,
    expireInSeconds: 120,
  },
} as const;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]['payload']>;
export const JOB_NAMES = Object.keys(JOBS) as JobName[];

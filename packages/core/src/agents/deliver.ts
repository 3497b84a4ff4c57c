import type { AgentRegistrationRow } from '@calseta/db';
import { SpanStatusCode } from '@opentelemetry/api';
import type { ServiceContext } from '../infra/context.js';
import { OutboundBlockedError, OutboundRequestError } from '../infra/http/errors.js';
import type { OutboundPolicy } from '../infra/http/policy.js';
import { createSafeFetch, type SafeFetch } from '../infra/http/safe-fetch.js';
import { isSealed } from '../infra/secrets/box.js';
import { propagateTrace, withSpan } from '../infra/telemetry/tracing.js';
import { deliveryHeaders } from './signing.js';

/** The longest agent timeout (`timeout_seconds` max). */
const MAX_AGENT_TIMEOUT_MS = 300_000;
/** Stored response bodies are cut to this many characters. */
const RESPONSE_BODY_CHARS = 2_000;

/**
 * The one SSRF-guarded client of agent webhooks: the process's outbound policy (`allowHosts` from
 * `SSRF_ALLOWED_HOSTS`), with the longest agent timeout as ceiling (each request uses its agent's),
 * no redirects (a 30x would turn a signed POST into something else) and small response bodies.
 */
export function createAgentFetch(outbound: Partial<OutboundPolicy>): SafeFetch {
  return createSafeFetch({
    ...outbound,
    timeoutMs: MAX_AGENT_TIMEOUT_MS,
    maxRedirects: 0,
    maxResponseBytes: 1_048_576,
  });
}

export const authHeaderContext = (agentUuid: string) => `agent:${agentUuid}:auth_header`;
export const signingSecretContext = (agentUuid: string) => `agent:${agentUuid}:signing_secret`;

type SecretColumns = Pick<
  AgentRegistrationRow,
  'uuid' | 'auth_header_name' | 'auth_header_value_encrypted' | 'signing_secret_encrypted'
>;

function openSealed(ctx: ServiceContext, stored: string | null, context: string): string | null {
  if (stored === null || ctx.secrets === null) return null;
  try {
    const sealed: unknown = JSON.parse(stored);
    if (!isSealed(sealed)) return null;
    const value = ctx.secrets.open(sealed, context);
    return typeof value === 'string' ? value : null;
  } catch {
    return null;
  }
}

/** The agent's signing secret; null when it cannot be decrypted (no or another ENCRYPTION_KEY). */
export function signingSecretOf(ctx: ServiceContext, agent: SecretColumns): string | null {
  return openSealed(ctx, agent.signing_secret_encrypted, signingSecretContext(agent.uuid));
}

/** `{name: value}` of the agent's auth header, or null (none configured or not decryptable). */
export function authHeaderOf(ctx: ServiceContext, agent: SecretColumns): Record<string, string> | null {
  if (agent.auth_header_name === null) return null;
  const value = openSealed(ctx, agent.auth_header_value_encrypted, authHeaderContext(agent.uuid));
  return value === null ? null : { [agent.auth_header_name]: value };
}

export interface AttemptOutcome {
  ok: boolean;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  /** Parsed JSON, or `{raw}` (at most 2,000 characters); null without a response. */
  response_body: unknown;
  /** The URL was refused by the outbound policy (SSRF): retrying will not help. */
  blocked: boolean;
}

function responseBody(text: string): unknown {
  if (text === '') return null;
  try {
    const parsed: unknown = JSON.parse(text);
    if (text.length <= RESPONSE_BODY_CHARS * 4) return parsed;
  } catch {
    // not JSON
  }
  return { raw: text.slice(0, RESPONSE_BODY_CHARS) };
}

type Target = SecretColumns & Pick<AgentRegistrationRow, 'endpoint_url' | 'timeout_seconds'>;
type Delivery = { body: string; event: string; deliveryId: string; idempotencyKey: string; secret: string };

/**
 * One signed POST of `body` to the agent: SSRF-checked at call time (DNS may have changed since the
 * endpoint was registered), the agent's timeout, its auth header. Never throws for network errors.
 */

export function postToAgent(ctx: ServiceContext, agent: Target, input: Delivery): Promise<AttemptOutcome> {
  // One span per delivery attempt (its HTTP span inside); the outcome, never the body or headers. The
  // agent gets the trace context (traceparent) and may continue the alert's trace.
  return withSpan(
    'agent delivery attempt',
    { 'calseta.agent.uuid': agent.uuid, 'calseta.event': input.event },
    async (span) => {
      const outcome = await propagateTrace(() => attempt(ctx, agent, input));
      span.setAttributes({
        'calseta.delivery.ok': outcome.ok,
        'http.response.status_code': outcome.status_code ?? undefined,
      });
      if (!outcome.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error ?? 'failed' });
      return outcome;
    },
  );
}

async function attempt(ctx: ServiceContext, agent: Target, input: Delivery): Promise<AttemptOutcome> {
  const headers = {
    ...(authHeaderOf(ctx, agent) ?? {}),
    ...deliveryHeaders({
      secret: input.secret,
      body: input.body,
      event: input.event,
      deliveryId: input.deliveryId,
      idempotencyKey: input.idempotencyKey,
    }),
  };
  if (agent.auth_header_name !== null && authHeaderOf(ctx, agent) === null) {
    ctx.logger.warn({ agent_uuid: agent.uuid }, 'agent auth header could not be decrypted; sent without it');
  }
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const response = await ctx.agentFetch(agent.endpoint_url, {
      method: 'POST',
      headers,
      body: input.body,
      timeoutMs: agent.timeout_seconds * 1000,
    });
    const text = await response.text();
    return {
      ok: response.ok,
      status_code: response.status,
      error: response.ok ? null : `HTTP ${response.status}`,
      duration_ms: elapsed(),
      response_body: responseBody(text),
      blocked: false,
    };
  } catch (error) {
    const blocked = error instanceof OutboundBlockedError;
    const message = blocked
      ? `Blocked by SSRF protection: ${error.reason}`
      : error instanceof OutboundRequestError
        ? error.kind === 'timeout'
          ? `Timeout: ${error.message}`
          : error.kind === 'too_many_redirects'
            ? 'Redirects are not followed for agent webhooks'
            : `Connection error: ${error.message}`
        : `Connection error: ${error instanceof Error ? error.message : String(error)}`;
    return { ok: false, status_code: null, error: message, duration_ms: elapsed(), response_body: null, blocked };
  }
}

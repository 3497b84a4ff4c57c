import { isDatabaseUnavailable } from '@calseta/db';
import type { AlertSource } from '@calseta/plugin-sdk';
import type { IngestAccepted } from '@calseta/schema';
import { hasScope } from '../auth/keys.js';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../infra/context.js';
import { ServiceError } from '../infra/errors.js';
import { newUuid } from '../infra/ids.js';
import { countIngest, UNKNOWN_SOURCE } from '../infra/telemetry/metrics.js';
import { traceCarrier, withSpan } from '../infra/telemetry/tracing.js';
import { sourceIngestPolicy } from '../sources/integrations.js';
import { boundedRuleRef } from './detection-rules.js';
import { extractIndicators } from './extract.js';
import { fingerprint } from './fingerprint.js';
import { settleSeverity } from './severity.js';

export interface IngestInput {
  sourceName: string;
  /** The parsed JSON body. */
  payload: unknown;
  /** Present for webhooks: the exact bytes and headers, for signature checks. */
  webhook?: { rawBody: Uint8Array; headers: Readonly<Record<string, string>> };
}

/**
 * Ingest one alert: check, normalize, fingerprint, then in ONE transaction (shared with alerts
 * arriving at the same moment, see IngestBatcher) store it — or count it on its duplicate — and
 * enqueue its pipeline job. Returning means both are committed.
 */
export async function ingestAlert(ctx: ServiceContext, input: IngestInput): Promise<IngestAccepted> {
  // The source label is a registered source's name, never the caller's text.
  const source = ctx.sources.has(input.sourceName) ? input.sourceName : UNKNOWN_SOURCE;
  try {
    // The alert's span (under the request's); its job carries the trace on (JobQueue.send, the batch statement).
    const accepted = await withSpan('ingest alert', { 'calseta.source': source }, () => admitAndStore(ctx, input));
    if (accepted.is_duplicate) countIngest(source, 'duplicate', accepted.status);
    else countIngest(source, 'accepted');
    return accepted;
  } catch (error) {
    // The code the caller gets (apps/api errors.ts): a ServiceError's, else the database's absence or an internal error.
    const reason =
      error instanceof ServiceError
        ? error.code
        : isDatabaseUnavailable(error)
          ? 'SERVICE_UNAVAILABLE'
          : 'INTERNAL_ERROR';
    countIngest(source, 'refused', reason);
    throw error;
  }
}

async function admitAndStore(ctx: ServiceContext, input: IngestInput): Promise<IngestAccepted> {
  authorize(ctx, 'alerts:ingest');
  const source = ctx.sources.get(input.sourceName);
  if (
    ctx.actor.type !== 'system' &&
    ctx.actor.key.allowedSources &&
    !ctx.actor.key.allowedSources.includes(source.name)
  ) {
    throw new ServiceError('SOURCE_NOT_ALLOWED', `This API key may not ingest from "${source.name}".`, {
      allowed_sources: ctx.actor.key.allowedSources,
    });
  }
  await checkAuthenticity(ctx, source, input.webhook);
  const raw = input.payload;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ServiceError('INVALID_PAYLOAD', 'The payload must be a JSON object.');
  }
  // JSON allows \u0000 in strings; Postgres cannot store it. Refuse clearly rather than fail late.
  if (containsNul(raw)) {
    throw new ServiceError(
      'INVALID_PAYLOAD',
      'The payload contains a NUL character (\\u0000), which cannot be stored.',
    );
  }
  const validation = ctx.sources.validate(source, raw);
  if (!validation.ok) {
    throw new ServiceError('INVALID_PAYLOAD', `The payload is not a valid ${source.displayName} alert.`, {
      errors: validation.issues,
    });
  }
  const plugin = ctx.sources.normalize(source, raw);
  const normalized = { ...plugin, ...settleSeverity(plugin) };
  // The fingerprint covers what the plugin found plus custom normalized mappings. System mappings
  // are left out: they re-find what plugins already report, and including them would change every
  // fingerprint relative to the reference implementation (dedup must agree across both).
  const customRules = (await ctx.mappingRules.forSource(ctx.db, source.name)).filter((r) => !r.is_system);
  const { indicators } = extractIndicators(ctx.sources, source, raw, normalized, customRules, { rawPass: false });
  const print = fingerprint(normalized.title, source.name, indicators);
  // Bounded here, so every path that stores a rule stub (the batch statement, the link-up) gets it.
  const ruleRef = boundedRuleRef(ctx.sources.detectionRule(source, raw));
  return ctx.ingest.submit({
    ctx,
    uuid: newUuid(),
    fingerprint: print,
    sourceName: source.name,
    normalized,
    raw: raw as Record<string, unknown>,
    ruleRef,
    ingestedAt: new Date(),
    // Captured here: the batch statement commits in another request's context.
    ...traceCarrier(),
  });
}

function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (value && typeof value === 'object') {
    // Keys, then values, without building an [key, value] pair per member (this walks every alert).
    for (const key of Object.keys(value)) {
      if (key.includes('\u0000') || containsNul((value as Record<string, unknown>)[key])) return true;
    }
  }
  return false;
}

/**
 * An alert's authenticity, before anything is parsed further or stored: the source integration's
 * `webhook_secret` when one is configured (a disabled integration refuses everything), else the
 * process's `<SOURCE>_WEBHOOK_SECRET`, else nothing is checked (no integration configured keeps
 * the open behaviour; the API key still authenticates the caller). The plugin compares in
 * constant time (HMAC-SHA256 over the exact raw bytes, or the shared-secret header for Splunk).
 * Programmatic ingest (`POST /v1/alerts`, no `webhook`) passes the same checks: its body is our
 * envelope, which no source signature covers, so a source that requires one takes it only from an
 * admin (who could set the secret anyway) or the system — never as a bypass for an ingest key.
 */
async function checkAuthenticity(
  ctx: ServiceContext,
  source: AlertSource,
  webhook: IngestInput['webhook'],
): Promise<void> {
  const policy = await sourceIngestPolicy(ctx, source.name);
  if (policy.configured && !policy.active) {
    throw new ServiceError('SOURCE_NOT_ALLOWED', `The "${source.name}" source integration is disabled.`, {
      source_name: source.name,
    });
  }
  const secret = (policy.configured ? policy.secret : null) ?? ctx.config.webhookSecrets[source.name];
  if (!secret) return;
  if (webhook === undefined) {
    if (ctx.actor.type === 'system' || hasScope(ctx.actor.key, ['admin'])) return;
    throw new ServiceError(
      'INVALID_SIGNATURE',
      `The "${source.name}" source requires signed webhooks: send its alerts to POST /v1/ingest/${source.name} with its signature header.`,
    );
  }
  let valid = false;
  try {
    valid = source.verifySignature?.({ ...webhook, secret }) === true;
  } catch {
    valid = false;
  }
  if (!valid) throw new ServiceError('INVALID_SIGNATURE', `Webhook signature check failed for "${source.name}".`);
}

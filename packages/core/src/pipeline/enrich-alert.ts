import { isDeepStrictEqual } from 'node:util';
import { aggregateVerdict, cacheKey, type EnrichIndicatorOutcome } from '@calseta/enrichment-engine';
import {
  type EnrichmentProviderResult,
  type EnrichmentStatus,
  type EnrichmentSummary,
  type IndicatorType,
  type MaliceLevel,
  MaliceLevelSchema,
  type ProviderTally,
} from '@calseta/schema';
import { withoutRaw } from '../indicators/raw.js';
import type { ServiceContext } from '../infra/context.js';

/** Rate-limited providers are retried this many times per alert before counting as failed. */
export const MAX_RATE_LIMIT_RETRIES = 20;

/**
 * Sent (on commit) when alerts' enrichment completes; the payload is a JSON array of
 * `{ alert_uuid, status }` (the alerts of one commit; a lone object from older versions is
 * accepted too). The MCP server tells subscribed clients from it.
 */
export const ALERT_ENRICHED_CHANNEL = 'calseta_alert_enriched';

export interface AlertEnrichedEvent {
  alert_uuid: string;
  status: EnrichmentStatus;
}

/** Call `handler` for each alert any process finishes enriching. Resolves once listening. */
export function onAlertEnriched(
  deps: Pick<ServiceContext, 'notifications'>,
  handler: (event: AlertEnrichedEvent) => void,
): Promise<void> {
  return deps.notifications.listen(ALERT_ENRICHED_CHANNEL, (payload) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      return; // not ours: anyone with database access can NOTIFY
    }
    for (const event of Array.isArray(parsed) ? parsed : [parsed]) {
      const e = event as Partial<AlertEnrichedEvent> | null;
      if (typeof e?.alert_uuid === 'string' && typeof e.status === 'string') handler(e as AlertEnrichedEvent);
    }
  });
}

/** Skips that say "this provider does not apply here", not "it could not run". */
const NOT_APPLICABLE = new Set(['unsupported_type', 'not_enrichable', 'not_configured']);

export type StoredResults = Record<string, EnrichmentProviderResult>;

function isDeferred(r: EnrichmentProviderResult): boolean {
  return r.rate_limited && (r.status === 'skipped' || r.status === 'failed');
}

/**
 * Merge fresh results into an indicator's stored ones: a result replaces the provider's previous
 * one, except that a skip (rate limited, not configured…) never erases an earlier real answer, and
 * "does not support this type" is not stored at all.
 */
export function mergeResults(
  previous: StoredResults | null,
  fresh: readonly EnrichmentProviderResult[],
): StoredResults {
  const merged: StoredResults = { ...(previous ?? {}) };
  for (const result of fresh) {
    if (result.skip_reason === 'unsupported_type') continue;
    const before = merged[result.provider_name];
    if (result.status === 'skipped' && before !== undefined && before.status !== 'skipped') continue;
    merged[result.provider_name] = result;
  }
  return merged;
}

/** Same answer from the same fetch (a cache hit of what is stored): nothing to write. */
function sameResult(a: EnrichmentProviderResult | undefined, b: EnrichmentProviderResult | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.status === b.status &&
    a.fetched_at === b.fetched_at &&
    a.verdict === b.verdict &&
    a.skip_reason === b.skip_reason &&
    (a.failure_reason ?? null) === (b.failure_reason ?? null) &&
    a.error_message === b.error_message
  );
}

/** Whether merging changed an indicator's stored results. */
export function resultsChanged(previous: StoredResults | null, merged: StoredResults): boolean {
  const before = previous ?? {};
  const names = new Set([...Object.keys(before), ...Object.keys(merged)]);
  for (const name of names) if (!sameResult(before[name], merged[name])) return true;
  return false;
}

/**
 * The alert's enrichment status, truthfully (reference quirks 20–21 fixed): `Enriched` only when
 * every applicable provider call answered and at least one did; `Partial` when some answered and
 * others failed or wait for a rate limit; `Failed` when none answered; `Pending` while everything
 * applicable waits on a rate limit; `Skipped` when nothing applied (no enrichable indicator, or no
 * configured provider for its types).
 */
export function enrichmentStatus(tallies: Iterable<ProviderTally>): EnrichmentStatus {
  let ok = 0;
  let failed = 0;
  let deferred = 0;
  for (const t of tallies) {
    ok += t.succeeded + t.not_found;
    failed += t.failed;
    deferred += t.deferred;
  }
  if (ok + failed + deferred === 0) return 'Skipped';
  if (ok === 0) return failed > 0 ? 'Failed' : 'Pending';
  return failed + deferred > 0 ? 'Partial' : 'Enriched';
}

export function summarize(
  outcomes: readonly EnrichIndicatorOutcome[],
  verdicts: readonly MaliceLevel[],
  attempt: number,
  now: Date,
): EnrichmentSummary {
  const providers: Record<string, ProviderTally> = {};
  let retryAfterMs = 0;
  let cacheHits = 0;
  for (const outcome of outcomes) {
    for (const r of outcome.results) {
      if (r.skip_reason === 'unsupported_type') continue;
      providers[r.provider_name] ??= { succeeded: 0, not_found: 0, failed: 0, skipped: 0, deferred: 0 };
      const t = providers[r.provider_name] as ProviderTally;
      if (r.cache_hit) cacheHits += 1;
      if (isDeferred(r) && attempt < MAX_RATE_LIMIT_RETRIES) {
        t.deferred += 1;
        retryAfterMs = Math.max(retryAfterMs, r.retry_after_ms ?? 1000);
      } else if (r.status === 'success') t.succeeded += 1;
      else if (r.status === 'not_found') t.not_found += 1;
      else if (r.status === 'failed' || isDeferred(r)) t.failed += 1;
      else t.skipped += 1;
    }
  }
  // Skips that do not apply (private IPs, unconfigured providers) say nothing about success.
  const applicable = Object.values(providers).map((t) => ({ ...t, skipped: 0 }));
  const names = (pick: (t: ProviderTally) => boolean) =>
    Object.entries(providers)
      .filter(([, t]) => pick(t))
      .map(([name]) => name);
  const malice_counts = Object.fromEntries(MaliceLevelSchema.options.map((level) => [level, 0])) as Record<
    MaliceLevel,
    number
  >;
  for (const v of verdicts) malice_counts[v] += 1;
  return {
    status: enrichmentStatus(applicable),
    indicator_count: outcomes.length,
    enrichable_count: outcomes.filter((o) => o.enrichable).length,
    providers,
    providers_succeeded: names((t) => t.succeeded + t.not_found > 0),
    providers_failed: names((t) => t.failed > 0),
    providers_skipped: names((t) => t.skipped > 0 && t.succeeded + t.not_found + t.failed + t.deferred === 0),
    providers_deferred: names((t) => t.deferred > 0),
    retry_at: retryAfterMs > 0 ? new Date(now.getTime() + retryAfterMs).toISOString() : null,
    attempt,
    malice_counts,
    cache_hits: cacheHits,
    completed_at: now.toISOString(),
  };
}

/** Whether a result's skip means the provider could not apply (for callers filtering results). */
export function notApplicable(result: EnrichmentProviderResult): boolean {
  return result.status === 'skipped' && result.skip_reason !== null && NOT_APPLICABLE.has(result.skip_reason);
}

/** An indicator as stored before this enrichment (`id` null: new, not stored yet). */
export interface StoredIndicator {
  id: number | null;
  type: string;
  value: string;
  enrichment_results: unknown;
  malice_source: string | null;
  malice: string;
  malice_overridden_at: Date | null;
  malice_explanation: unknown;
  is_enriched: boolean;
}

/** What an enrichment stores for one indicator (`changed`: differs from what is stored). */
export interface IndicatorUpdate {
  type: string;
  value: string;
  results: StoredResults;
  verdict: MaliceLevel;
  explanation: unknown;
  enriched: boolean;
  changed: boolean;
}

/**
 * Every cached answer the active providers have for `indicators`, read into the cache's memory
 * front by one query (shared by the jobs of one event-loop turn); answers already there cost nothing.
 */
export async function prefetchAnswers(
  ctx: ServiceContext,
  indicators: ReadonlyArray<Pick<StoredIndicator, 'type' | 'value'>>,
): Promise<void> {
  const providers = await ctx.enrichment.registry.active();
  await ctx.enrichment.cache.prefetch(
    indicators.flatMap((i) =>
      providers
        .filter((p) => p.definition.supported_indicator_types.includes(i.type as IndicatorType))
        .map((p) => cacheKey(p.definition.provider_name, i.type, i.value)),
    ),
  );
}

/**
 * Pipeline step 4: every indicator with every active provider, in parallel (engine: cache,
 * coalescing, rate governor, per-call timeouts), after prefetching every cached answer.
 */
export async function runProviders(
  ctx: ServiceContext,
  indicators: ReadonlyArray<Pick<StoredIndicator, 'type' | 'value'>>,
): Promise<EnrichIndicatorOutcome[]> {
  const providers = await ctx.enrichment.registry.active();
  await prefetchAnswers(ctx, indicators);
  const outcomes = await Promise.all(
    // Slim: the pipeline stores results without raw responses (the cache keeps them).
    indicators.map((i) =>
      ctx.enrichment.enrich({ type: i.type as IndicatorType, value: i.value }, { providers, slim: true }),
    ),
  );
  // A port on Postgres (the coalescer) that found our own database unavailable fails the provider's
  // result with `port_unavailable`. Recording it would blame a healthy provider: fail the job
  // instead, and pg-boss retries it once the database is back (nothing was written).
  const interrupted = outcomes
    .flatMap((o) => o.results)
    .find((r) => r.status === 'failed' && r.failure_reason === 'port_unavailable');
  if (interrupted) {
    throw new Error(`Enrichment interrupted by the database (${interrupted.error_message}); the job will be retried.`);
  }
  return outcomes;
}

/**
 * What the providers' answers change: each indicator's merged results, verdict and explanation (an
 * analyst's verdict stands), and the alert's truthful status and per-provider summary.
 */
export function settleEnrichment(
  indicators: readonly StoredIndicator[],
  outcomes: readonly EnrichIndicatorOutcome[],
  attempt: number,
  now: Date,
): { updates: IndicatorUpdate[]; summary: EnrichmentSummary } {
  const updates = indicators.map((indicator, index) => {
    const outcome = outcomes[index] as EnrichIndicatorOutcome;
    const previous = indicator.enrichment_results as StoredResults | null;
    // Kept slim: raw responses stay in the provider cache only (indicators/raw.ts).
    const results = withoutRaw(mergeResults(previous, outcome.results));
    const analyst =
      indicator.malice_source === 'analyst'
        ? { verdict: indicator.malice as MaliceLevel, at: (indicator.malice_overridden_at ?? now).toISOString() }
        : null;
    // Settled (never `Pending`) unless a rate-limited provider is asked again by a delayed job.
    const retrying = attempt < MAX_RATE_LIMIT_RETRIES && outcome.results.some(isDeferred);
    const { verdict, explanation } = aggregateVerdict(Object.values(results), analyst, { settled: !retrying });
    // Enriched = some provider answered for it (reference quirk 20: not merely "was attempted").
    const enriched = Object.values(results).some((r) => r.status === 'success' || r.status === 'not_found');
    const changed =
      indicator.id === null ||
      resultsChanged(previous, results) ||
      enriched !== indicator.is_enriched ||
      (analyst === null &&
        // Deep equality: jsonb does not keep key order.
        (verdict !== indicator.malice || !isDeepStrictEqual(explanation, indicator.malice_explanation ?? null)));
    return { type: indicator.type, value: indicator.value, results, verdict, explanation, enriched, changed };
  });
  const summary = summarize(
    outcomes,
    updates.map((u) => u.verdict),
    attempt,
    now,
  );
  return { updates, summary };
}

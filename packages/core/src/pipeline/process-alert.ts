import type { EnrichmentSummary, ExtractedIndicator, VerdictExplanation } from '@calseta/schema';
import { EVENT_ALERT_ENRICHED } from '../agents/dispatch.js';
import type { ServiceContext } from '../infra/context.js';
import type { JobPayload } from '../infra/jobs/catalogue.js';
import { observeAlertEnriched } from '../infra/telemetry/metrics.js';
import { extractIndicators } from '../ingest/extract.js';
import { type AlertToCommit, commitAlert, type Extraction } from './commit-alert.js';
import { correlateCommitted } from './correlate-committed.js';
import { deliverCommitted } from './deliver-committed.js';
import { prefetchAnswers, runProviders, type StoredIndicator, settleEnrichment } from './enrich-alert.js';
import { loadAlert, storedIndicators } from './load.js';

export { EVENT_ALERT_ENRICHED };

/**
 * The `enrich-alert` job: the pipeline for one alert after ingest, held in memory from start to end.
 *
 * 1. Read the alert and the indicators it has or will have (two statements).
 * 2. Extract (step 3) in memory; enrich (step 4) every indicator with every provider, in parallel.
 * 3. Commit in one transaction, together with the alerts other jobs of this process finish at the
 *    same moment (group commit): new indicators and links, changed results and verdicts, the
 *    alert's status and summary, the activity events, one delivery per matching agent claimed for
 *    its first attempt, the job's own completion and the enriched notification.
 * 4. Deliver (step 5) from memory: the payload is built from what was just stored, signed, POSTed;
 *    the attempts are recorded in one more group commit. A crash between 3 and 4 leaves the delivery
 *    claimed; its lease runs out and the delivery sweeper retries it (docs/adr/0014).
 * 5. Meanwhile correlate the alert into incidents and schedule per-incident deliveries. The job
 *    completes after both (the queue completes the jobs that end together in one statement): a crash
 *    before then retries the job, which finds its work stored and correlates again.
 */
export async function processAlert(
  ctx: ServiceContext,
  data: JobPayload<'enrich-alert'>,
): Promise<{ summary: EnrichmentSummary | null }> {
  const alert = await loadAlert(ctx.db, data.alert_id);
  if (alert === null) return { summary: null }; // deleted since it was queued
  const attempt = data.attempt ?? 0;
  // A rate-limit retry only re-runs the providers: the indicators are already linked.
  const extraction = data.reason === 'rate_limited' ? null : await extract(ctx, alert);
  const extracted = extraction?.indicators ?? [];
  // The cached answers for what extraction found are read while the stored indicators are.
  const [stored] = await Promise.all([storedIndicators(ctx.db, alert.id, extracted), prefetchAnswers(ctx, extracted)]);
  const known = new Map(stored.map((i) => [keyOf(i), i]));
  const indicators: StoredIndicator[] = [...stored];
  for (const found of extracted) {
    if (known.has(keyOf(found))) continue;
    const fresh = { ...NEW_INDICATOR, type: found.type, value: found.value };
    known.set(keyOf(found), { ...fresh, uuid: null, link_id: null, source_field: null });
    indicators.push(fresh);
  }

  const outcomes = await runProviders(ctx, indicators);
  const now = new Date();
  const { updates, summary } = settleEnrichment(indicators, outcomes, attempt, now);
  const item: AlertToCommit = { data, alert, extraction, stored: known, updates, summary, now, attempt };
  const committed = await commitAlert(ctx, item);

  // Ingest → enriched: the alert's first settled enrichment (not a re-enrichment, nor a wait on rate limits).
  const first = alert.enriched_at === null && summary.status !== 'Pending';
  observeAlertEnriched(summary.status, first ? (now.getTime() - alert.ingested_at.getTime()) / 1000 : null);
  ctx.logger.debug(
    { alert_id: alert.id, reason: data.reason, status: summary.status, retry_at: summary.retry_at },
    'alert enriched',
  );
  // Step 5 for agents per alert, and incidents (issue 23) for agents per incident, side by side.
  await Promise.all([deliverCommitted(ctx, alert.id, committed, now), correlateCommitted(ctx, alert.id)]);
  return { summary };
}

const NEW_INDICATOR: Omit<StoredIndicator, 'type' | 'value'> = {
  id: null,
  enrichment_results: null,
  malice_source: 'enrichment',
  malice: 'Pending',
  malice_overridden_at: null,
  malice_explanation: null as VerdictExplanation | null,
  is_enriched: false,
};

export const keyOf = (i: { type: string; value: string }) => `${i.type}\u0000${i.value}`;

/** Step 3 in memory: the three extraction passes over the stored payload. */
async function extract(ctx: ServiceContext, alert: { source_name: string; raw_payload: unknown }): Promise<Extraction> {
  const source = ctx.sources.get(alert.source_name);
  const normalized = ctx.sources.normalize(source, alert.raw_payload);
  const rules = await ctx.mappingRules.forSource(ctx.db, source.name);
  const result = extractIndicators(ctx.sources, source, alert.raw_payload, normalized, rules);
  return {
    indicators: result.indicators as ExtractedIndicator[],
    references: {
      indicator_count: result.indicators.length,
      passes: Object.fromEntries(
        result.passes.map((p) => [p.pass_name, { count: p.indicators.length, error: p.error }]),
      ),
      // What validation refused (a few listed, all counted) and what the per-alert cap left out.
      refused_count: result.refusedCount,
      refused: result.refused.slice(0, 20).map((r) => ({ type: r.type, field: r.field, reason: r.reason })),
      indicators_over_cap: result.overCap,
    },
  };
}

import type {
  EnrichmentRequest,
  IndicatorType,
  OnDemandEnrichment,
  ProviderResultSummary,
  ProviderStatus,
} from '@calseta/schema';
import { alertIdByUuid } from '../alerts/read.js';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../infra/context.js';

/**
 * Enrich one value now with every active provider that supports its type, through the same cache,
 * coalescing and rate governor as the pipeline. Nothing is stored on indicators; fresh provider
 * answers are cached like any other.
 */
export async function enrichOnDemand(ctx: ServiceContext, input: EnrichmentRequest): Promise<OnDemandEnrichment> {
  authorize(ctx, 'enrichments:read');
  const providers = (await ctx.enrichment.registry.active()).filter((p) =>
    p.definition.supported_indicator_types.includes(input.type),
  );
  const outcome = await ctx.enrichment.enrich(
    { type: input.type, value: input.value },
    { providers, bypassCache: input.bypass_cache },
  );
  const results: Record<string, ProviderResultSummary> = {};
  for (const { raw: _raw, ...result } of outcome.results) results[result.provider_name] = result;
  return {
    type: input.type,
    value: input.value,
    enrichable: outcome.enrichable,
    reason: outcome.reason,
    verdict: outcome.verdict,
    explanation: outcome.explanation,
    results,
    cache_hits: outcome.results.filter((r) => r.cache_hit).length,
    enriched_at: new Date().toISOString(),
  };
}

/** The active providers, whether each can run, and its remaining quota. */
export async function listProviderStatus(ctx: ServiceContext): Promise<ProviderStatus[]> {
  authorize(ctx, 'enrichments:read');
  const providers = await ctx.enrichment.registry.active();
  return Promise.all(
    providers.map(async (p): Promise<ProviderStatus> => {
      const quota = await ctx.enrichment.quota(p.definition.provider_name);
      return {
        provider_name: p.definition.provider_name,
        display_name: p.definition.display_name,
        supported_types: [...p.definition.supported_indicator_types] as IndicatorType[],
        is_configured: p.auth.hasCredentials,
        is_mock: p.auth.source === 'mock',
        cache_ttl_seconds: p.definition.default_cache_ttl_seconds,
        rate_limit_per_minute: p.limits.perMinute,
        rate_limit_per_day: p.limits.perDay,
        quota: {
          minute_remaining: quota.minute_remaining,
          day_remaining: quota.day_remaining,
          paused_until: quota.paused_until === null ? null : quota.paused_until.toISOString(),
        },
      };
    }),
  );
}

/** Queue the alert's enrichment again (new indicators, changed providers, or fresher data). */
export async function requestAlertEnrichment(
  ctx: ServiceContext,
  { uuid, ...options }: { uuid: string; redispatch?: boolean },
): Promise<{ alert_uuid: string }> {
  authorize(ctx, 'alerts:write');
  const alertId = await alertIdByUuid(ctx.db, uuid);
  // Agents already notified of this alert are notified again only when asked (quirk 23).
  await ctx.queue.send('enrich-alert', {
    alert_id: alertId,
    reason: 'manual',
    ...(options.redispatch ? { redispatch: true } : {}),
  });
  return { alert_uuid: uuid };
}

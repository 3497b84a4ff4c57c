import {
  type EnrichmentProviderResult,
  MALICE_WEIGHT,
  type MaliceLevel,
  type VerdictExplanation,
} from '@calseta/schema';

export interface AggregateVerdict {
  verdict: MaliceLevel;
  /** Why: the provider/rule that produced the worst verdict, the analyst, or null when nothing said anything. */
  explanation: VerdictExplanation | null;
}

export interface AnalystOverride {
  verdict: MaliceLevel;
  /** When the analyst set it. */
  at: string;
}

/** The worst of some verdicts (Malicious > Suspicious > Benign > Context > Unknown > Pending); Pending for none. */
export function worstVerdict(levels: Iterable<MaliceLevel>): MaliceLevel {
  let worst: MaliceLevel = 'Pending';
  for (const level of levels) if (MALICE_WEIGHT[level] > MALICE_WEIGHT[worst]) worst = level;
  return worst;
}

export interface AggregateOptions {
  /**
   * Enrichment has run for this indicator and nothing will ask again (no rate-limited provider is
   * waiting for a retry): when no provider judged it, the verdict is `Unknown` rather than `Pending`.
   * Default: there are results and none waits on a rate limit (stored results exist only once
   * enrichment ran).
   */
  settled?: boolean;
}

/** A result that waits on a provider's rate limit (a later attempt may answer). */
export function isDeferred(result: EnrichmentProviderResult): boolean {
  return result.rate_limited && (result.status === 'skipped' || result.status === 'failed');
}

/**
 * An indicator's verdict from its provider results: the worst verdict among results that have one
 * (`success` and `not_found`; failed and skipped results say nothing), keeping the explanation of
 * the first result (in input order) that produced it. An analyst override wins over everything.
 * An answer's `Pending` (stored by older versions) counts as `Unknown`: the provider did answer.
 */
export function aggregateVerdict(
  results: Iterable<EnrichmentProviderResult>,
  override?: AnalystOverride | null,
  options: AggregateOptions = {},
): AggregateVerdict {
  if (override !== undefined && override !== null) {
    return {
      verdict: override.verdict,
      explanation: {
        provider: null,
        rule_index: null,
        field: null,
        operator: null,
        expected: null,
        actual: null,
        verdict: override.verdict,
        reason: 'analyst',
        fetched_at: override.at,
      },
    };
  }
  let best: AggregateVerdict | undefined;
  let any = false;
  let waiting = false;
  for (const result of results) {
    any = true;
    if (isDeferred(result)) waiting = true;
    if (result.verdict === null || (result.status !== 'success' && result.status !== 'not_found')) continue;
    const verdict: MaliceLevel = result.verdict === 'Pending' ? 'Unknown' : result.verdict;
    if (best === undefined || MALICE_WEIGHT[verdict] > MALICE_WEIGHT[best.verdict]) {
      best = {
        verdict,
        explanation: result.explanation === null ? null : { ...result.explanation, verdict },
      };
    }
  }
  if (best !== undefined) return best;
  const settled = options.settled ?? (any && !waiting);
  return { verdict: settled ? 'Unknown' : 'Pending', explanation: null };
}

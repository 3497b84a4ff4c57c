import type { contextFor } from '@calseta/core';
import type { AlertToCommit } from '../../../packages/core/src/pipeline/commit-alert.js';
import { settleEnrichment } from '../../../packages/core/src/pipeline/enrich-alert.js';
import { loadAlert, storedIndicators } from '../../../packages/core/src/pipeline/load.js';

const keyOf = (i: { type: string; value: string }) => `${i.type}\u0000${i.value}`;

export interface PipelineItemOptions {
  /** The job's data. Default: a first enrichment after ingest. */
  data?: AlertToCommit['data'];
  /** Leaves the alert Pending, retried at this time (a rate-limited provider). */
  retryAt?: string | null;
  /** Where extraction found the value. Default `src_ip`. */
  sourceField?: string;
  /** Marks every answer changed (written to the indicator), as a fresh provider answer is. */
  changed?: boolean;
}

/**
 * One alert's pipeline result linking the ip `value` (new, or an existing indicator), as processAlert
 * hands it to the commit (packages/core/src/pipeline/commit-alert.ts): for tests that drive the commit
 * of two workers at once.
 */
export async function pipelineItem(
  ctx: ReturnType<typeof contextFor>,
  alertId: number,
  value: string,
  options: PipelineItemOptions = {},
): Promise<AlertToCommit> {
  const alert = await loadAlert(ctx.db, alertId);
  if (alert === null) throw new Error('alert missing');
  const extracted = [{ type: 'ip', value, source_field: options.sourceField ?? 'src_ip' }];
  const stored = await storedIndicators(ctx.db, alertId, extracted);
  if (!stored.some((i) => i.value === value)) {
    // New, as processAlert holds it before the commit inserts it.
    stored.push({
      ...{ id: null, uuid: null, link_id: null, source_field: null, enrichment_results: null, is_enriched: false },
      ...{ type: 'ip', value, malice: 'Pending', malice_source: 'enrichment', malice_overridden_at: null },
      malice_explanation: null,
    });
  }
  const now = new Date();
  const { updates, summary } = settleEnrichment(
    stored,
    stored.map(() => ({ results: [] }) as never),
    0,
    now,
  );
  const retryAt = options.retryAt ?? null;
  return {
    data: options.data ?? { alert_id: alertId, reason: 'ingest' },
    alert,
    extraction: { indicators: extracted as never, references: {} },
    stored: new Map(stored.map((i) => [keyOf(i), i])),
    updates: options.changed ? updates.map((u) => ({ ...u, changed: true })) : updates,
    summary: retryAt === null ? summary : { ...summary, status: 'Pending', retry_at: retryAt },
    now,
    attempt: 0,
  };
}

/**
 * Resolves once `n` backends of the test database wait on a row or a transaction (not an advisory
 * lock: pg-boss takes those) — polled through Postgres, no timer;
 * with `orDone`, also once that settles first (the code under test did not wait: answers false).
 */
export async function lockWaiters(
  h: { query<T>(text: string, values?: unknown[]): Promise<T[]> },
  n: number,
  orDone?: Promise<unknown>,
): Promise<boolean> {
  let done = false;
  void orDone?.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5_000; i++) {
    const [row] = await h.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event IN ('transactionid', 'tuple')",
    );
    if ((row?.n ?? 0) >= n) return true;
    if (done) return false;
  }
  throw new Error(`never saw ${n} lock waiters`);
}

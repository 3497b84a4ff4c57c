import { correlateAlerts } from '../incidents/correlate.js';
import { dispatchIncidentUpdates } from '../incidents/delivery.js';
import type { ServiceContext } from '../infra/context.js';
import { groupCommitPerDatabase } from '../infra/group-commit.js';

const correlatorOf = groupCommitPerDatabase((ctx: ServiceContext) => ({
  commit: async (alertIds: number[]) => {
    await dispatchIncidentUpdates(ctx, await correlateAlerts(ctx, alertIds));
    return alertIds.map(() => undefined);
  },
  keyOf: (id: number) => String(id),
  logger: ctx.logger,
  batchFailed: 'correlating a batch failed; correlating its alerts one by one',
  maxBatch: 50,
}));

/**
 * After an alert's enrichment commit: correlate it into incidents (issue 23) and schedule the
 * per-incident deliveries of what changed. Alerts committed while a correlation runs are correlated
 * together (one transaction, docs/guides/incidents.md). A failure fails the alert's job, whose retry
 * correlates it again (correlation is idempotent).
 */
export function correlateCommitted(ctx: ServiceContext, alertId: number): Promise<undefined> {
  return correlatorOf(ctx).submit(alertId);
}

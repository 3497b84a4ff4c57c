import { correlateAlerts } from '../incidents/correlate.js';
import { dispatchIncidentUpdates } from '../incidents/delivery.js';
import type { ServiceContext } from '../infra/context.js';
import { GroupCommit } from '../infra/group-commit.js';

const correlators = new WeakMap<object, GroupCommit<number, undefined>>();

/**
 * After an alert's enrichment commit: correlate it into incidents (issue 23) and schedule the
 * per-incident deliveries of what changed. Alerts committed while a correlation runs are correlated
 * together (one transaction, docs/guides/incidents.md). A failure fails the alert's job, whose retry
 * correlates it again (correlation is idempotent).
 */
export function correlateCommitted(ctx: ServiceContext, alertId: number): Promise<undefined> {
  let correlator = correlators.get(ctx.db);
  if (correlator === undefined) {
    correlator = new GroupCommit<number, undefined>({
      commit: async (alertIds) => {
        await dispatchIncidentUpdates(ctx, await correlateAlerts(ctx, alertIds));
        return alertIds.map(() => undefined);
      },
      keyOf: (id) => String(id),
      overloaded: () => new Error('unreachable: the worker bounds its own jobs'),
      logger: ctx.logger,
      batchFailed: 'correlating a batch failed; correlating its alerts one by one',
      maxBatch: 50,
      maxWaiting: Number.POSITIVE_INFINITY,
    });
    correlators.set(ctx.db, correlator);
  }
  return correlator.submit(alertId);
}

import { attemptDelivery, recordAttempt } from '../agents/dispatch.js';
import type { ServiceContext } from '../infra/context.js';
import { buildAlertPayload } from '../payload/build.js';
import type { CommittedAlert } from './commit-alert.js';

/**
 * Step 5 from memory: the first attempt of each delivery the commit claimed — the payload built from
 * the indicators just stored (not read back), signed, POSTed — then the attempts recorded together.
 */
export async function deliverCommitted(
  ctx: ServiceContext,
  alertId: number,
  committed: CommittedAlert,
  enrichedAt: Date,
): Promise<void> {
  await Promise.all(
    committed.deliveries.map(async (delivery) => {
      const { agent } = delivery;
      const record = await attemptDelivery(ctx, agent, delivery, 1, () =>
        buildAlertPayload(ctx, alertId, {
          tokenBudget: agent.token_budget ?? undefined,
          ...(committed.alert === undefined ? {} : { alert: committed.alert }),
          indicators: committed.indicators,
          subject: committed.subject,
        }),
      );
      if (record !== null) await recordAttempt(ctx, { ...record, enrichedAt });
    }),
  );
}

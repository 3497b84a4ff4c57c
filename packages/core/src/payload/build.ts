import { loadAlert } from '../alerts/read.js';
import type { ServiceContext } from '../context.js';
import { notFound } from '../errors.js';

/** Default token budget (o200k) of an agent payload. */
export const DEFAULT_TOKEN_BUDGET = 2_000;

export interface PayloadOptions {
  /** o200k tokens the payload must fit in (default DEFAULT_TOKEN_BUDGET). */
  tokenBudget?: number;
}

/**
 * The agent payload of an alert: what webhooks deliver, `GET /v1/alerts/{uuid}/context` returns and
 * MCP serves. PRELIMINARY: the alert detail as is; the budgeted, trimmed builder replaces it.
 */
export async function buildAlertPayload(
  ctx: ServiceContext,
  alertId: number,
  _options: PayloadOptions = {},
): Promise<Record<string, unknown>> {
  const row = await ctx.db.selectFrom('alerts').select('uuid').where('id', '=', alertId).executeTakeFirst();
  if (!row) throw notFound('Alert');
  const { data } = await loadAlert(ctx.db, row.uuid);
  return { alert: data };
}

import type { RelatedAlert } from '@calseta/schema';
import { alertIdByUuid } from '../alerts/read.js';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../infra/context.js';
import { buildAlertPayload, type PayloadOptions, relatedAlerts } from './build.js';
import type { AgentPayload } from './compose.js';

/** `GET /v1/alerts/{uuid}/context`: the agent payload, within the caller's token budget. */
export async function getAlertContext(
  ctx: ServiceContext,
  { uuid, ...options }: { uuid: string } & PayloadOptions,
): Promise<AgentPayload> {
  authorize(ctx, 'alerts:read');
  return buildAlertPayload(ctx, await alertIdByUuid(ctx.db, uuid), options);
}

/** Earlier alerts sharing indicators with this one (what the payload's `related_alerts` is cut from). */
export async function listRelatedAlerts(
  ctx: ServiceContext,
  { uuid, limit = 50 }: { uuid: string; limit?: number },
): Promise<RelatedAlert[]> {
  authorize(ctx, 'alerts:read');
  return relatedAlerts(ctx.db, await alertIdByUuid(ctx.db, uuid), limit);
}

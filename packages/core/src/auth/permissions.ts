import type { Scope } from '@calseta/schema';
import type { ServiceContext } from '../infra/context.js';
import { requireScope } from './keys.js';

/**
 * The scope matrix: each permission a verb needs, and the scopes that grant it (any one of them, or
 * admin). Verbs check it, REST routes check it before reading a body, and the OpenAPI document is
 * generated from it — one table, so the three cannot disagree.
 */
export const PERMISSIONS = {
  'alerts:read': ['alerts:read'],
  'alerts:write': ['alerts:write'],
  /** Deleting destroys evidence (an attacker's alert, or the analyst's record of one): admin only. */
  'alerts:delete': ['admin'],
  'alerts:ingest': ['alerts:write'],
  'indicators:read': ['enrichments:read', 'alerts:read'],
  'api_keys:manage': ['admin'],
  /** People and their sessions (issue 21). */
  'users:manage': ['admin'],
  /**
   * A person's own record and personal keys (within their roles: the verb checks). Every role holds
   * alerts:read, so every signed-in person passes the door; other callers get 404 from the verb.
   */
  'users:self': ['alerts:read'],
  'indicator_mappings:manage': ['admin'],
  'enrichments:read': ['enrichments:read'],
  'enrichment_providers:manage': ['admin'],
  'detection_rules:read': ['alerts:read'],
  'detection_rules:manage': ['admin'],
  'context_documents:read': ['alerts:read'],
  'context_documents:write': ['alerts:write'],
  'findings:write': ['alerts:write'],
  'metrics:read': ['alerts:read'],
  'workflow_metrics:read': ['workflows:read'],
  'agents:read': ['agents:read'],
  'agents:write': ['agents:write'],
  'workflows:read': ['workflows:read'],
  'workflows:write': ['workflows:write'],
  'workflows:execute': ['workflows:execute'],
  'approvals:write': ['approvals:write'],
  'sources:read': ['alerts:read'],
  'sources:manage': ['admin'],
  'settings:read': ['admin'],
  'activity:read': ['admin'],
  /** Incidents group alerts: whoever reads or triages alerts does the same with incidents (issue 23). */
  'incidents:read': ['alerts:read'],
  'incidents:write': ['alerts:write'],
  /** Correlation rules decide what every later alert joins: admin only. */
  'incidents:configure': ['admin'],
} as const satisfies Record<string, readonly Scope[]>;

export type Permission = keyof typeof PERMISSIONS;

/** Throw FORBIDDEN unless the acting key may use `permission`. The system actor may do anything. */
export function authorize(ctx: Pick<ServiceContext, 'actor'>, permission: Permission): void {
  if (ctx.actor.type === 'system') return;
  requireScope(ctx.actor.key, PERMISSIONS[permission]);
}

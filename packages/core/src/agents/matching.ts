import type { Db } from '@calseta/db';
import type { AgentDeliveryMode, TargetingRules } from '@calseta/schema';
import { matchesTargeting, type TargetingSubject } from '../context/targeting.js';
import type { AgentRow } from './registry.js';

/** Without `delivery_mode` an agent is per alert (the default). */
type MatchFields = Pick<AgentRow, 'is_active' | 'trigger_on_sources' | 'trigger_on_severities' | 'trigger_filter'> &
  Partial<Pick<AgentRow, 'delivery_mode'>>;

/**
 * Reference §8.2: active; sources empty or containing the alert's source (exact); severities empty
 * or containing its severity (exact); no filter, or the filter selects it (shared targeting evaluator).
 * Only agents of delivery mode `mode` match: per-alert dispatch never reaches an `incident` agent,
 * which gets the incident instead (incidents/delivery.ts asks for `incident`).
 */
export function agentMatches(
  agent: MatchFields,
  subject: TargetingSubject,
  mode: AgentDeliveryMode = 'alert',
): boolean {
  if (!agent.is_active || (agent.delivery_mode ?? 'alert') !== mode) return false;
  if (agent.trigger_on_sources.length > 0 && !agent.trigger_on_sources.includes(subject.source_name)) return false;
  if (agent.trigger_on_severities.length > 0 && !agent.trigger_on_severities.includes(subject.severity)) return false;
  const filter = agent.trigger_filter as TargetingRules | null;
  if (filter === null || ((filter.match_any?.length ?? 0) === 0 && (filter.match_all?.length ?? 0) === 0)) return true;
  return matchesTargeting(filter, subject);
}

/**
 * The active agents of a delivery mode that match, oldest first. Per-alert dispatch asks for `alert`
 * agents only: an `incident` agent gets the incident instead (incidents/delivery.ts).
 */
export async function matchingAgents(
  db: Db,
  subject: TargetingSubject,
  mode: AgentDeliveryMode = 'alert',
): Promise<AgentRow[]> {
  const agents = await db
    .selectFrom('agent_registrations')
    .selectAll()
    .where('is_active', '=', true)
    .where('delivery_mode', '=', mode)
    .orderBy('created_at', 'asc')
    .orderBy('id', 'asc')
    .execute();
  return agents.filter((agent) => agentMatches(agent, subject, mode));
}

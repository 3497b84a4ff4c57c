import { createHash } from 'node:crypto';
import type { DetectionRuleRef } from '@calseta/schema';

/** Bounds on what an alert says about its rule (the alert source controls all of it). */
export const RULE_NAME_MAX = 500;
export const RULE_DESCRIPTION_MAX = 65_536;
const RULE_ID_MAX = 500;
const MITRE_MAX = 50;

/** `text` cut to `max` characters with a marker saying so: ingest never refuses an alert for a long rule text. */
function capped(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = `… [cut by Calseta: ${text.length} characters]`;
  return `${text.slice(0, max - marker.length)}${marker}`;
}

/** A long rule id kept unique: its start and a hash of the whole (the id is looked up, not read). */
function ruleId(id: string): string {
  return id.length <= RULE_ID_MAX
    ? id
    : `${id.slice(0, RULE_ID_MAX - 72)}…sha256:${createHash('sha256').update(id).digest('hex')}`;
}

/** Bounded MITRE lists: at most MITRE_MAX short entries. */
const mitre = (list: readonly string[] | undefined) => list?.slice(0, MITRE_MAX).map((v) => String(v).slice(0, 100));

/**
 * What an alert says about its rule, bounded before anything is stored (the alert source controls
 * all of it): name and description cut with a marker — ingest never refuses an alert for a long
 * rule text —, a long id shortened but kept unique, MITRE lists and severity cut. Idempotent.
 */
export function boundedRuleRef<T extends DetectionRuleRef | null>(ref: T): T {
  if (ref === null) return ref;
  const { name, severity, description, mitre_tactics, mitre_techniques } = ref;
  return {
    ...ref,
    source_rule_id: ruleId(ref.source_rule_id),
    ...(name === undefined ? {} : { name: capped(name, RULE_NAME_MAX) }),
    ...(severity === undefined ? {} : { severity: severity.slice(0, 50) }),
    ...(description === undefined ? {} : { description: capped(description, RULE_DESCRIPTION_MAX) }),
    ...(mitre_tactics === undefined ? {} : { mitre_tactics: mitre(mitre_tactics) }),
    ...(mitre_techniques === undefined ? {} : { mitre_techniques: mitre(mitre_techniques) }),
  };
}

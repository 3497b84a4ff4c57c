/**
 * The correlation decision (pure): given what is known about earlier alerts (their keys and incidents),
 * where does the next alert go? Used by `correlateAlerts` (known = the database's candidates plus the
 * batch so far) and by the dry run (known = the replayed range so far), so both decide alike.
 *
 * An alert joins when it shares with a known alert, within the window:
 * - a source group (the SIEM grouped them), or its detection rule on the same entity — one is enough;
 * - else at least `min_shared_entities` entities that are not prevalent (on more than
 *   `prevalence_cap` alerts in the window: shared infrastructure never correlates by itself).
 * Matches in closed incidents do not count. The best match wins (source group, then rule + entity,
 * then the most shared entities, then an open incident over a lone alert, then the most recent); related
 * lone alerts are pulled into the same incident. An alert matching nothing stays alone.
 */
import type { CorrelationConfig, CorrelationRule, IncidentMembershipReason } from '@calseta/schema';
import type { CorrelationKey } from './keys.js';

/** An incident as the engine sees it: `db:<id>` for stored ones, `new:<n>` for those it opens. */
export interface IncidentRef {
  ref: string;
  open: boolean;
}

export interface EngineAlert {
  id: number;
  uuid: string;
  title: string;
  severity: string;
  occurredAt: number;
  detectionRuleUuid: string | null;
  keys: readonly CorrelationKey[];
}

interface Known {
  alert: Pick<EngineAlert, 'id' | 'uuid' | 'title' | 'occurredAt'>;
  incident: IncidentRef | null;
}

export interface Member {
  alert: Pick<EngineAlert, 'id' | 'uuid' | 'title' | 'occurredAt'>;
  reason: IncidentMembershipReason;
}

/** Where an alert went: into `incident` (opened now when `opened`), with the members added. */
export interface Placement {
  incident: IncidentRef;
  opened: boolean;
  members: Member[];
  /** The title a new incident gets (first alert's title and the shared entity). */
  title: string;
}

/** Prevalence of a key around a time: how many alerts carry it within the window (capped is fine). */
export type PrevalenceOf = (key: CorrelationKey, alert: EngineAlert) => number;

const RULE_RANK: Record<Exclude<CorrelationRule, 'analyst'>, number> = {
  source_group: 3,
  rule_entity: 2,
  shared_entity: 1,
};
/**
 * Known alerts examined per strong key (rule + entity, source group), newest first; entity keys
 * examine `prevalence_cap + 1`. Bounds an alert's work by its own keys, however long a storm runs.
 */
export const STRONG_CANDIDATES = 50;
/** Lone alerts pulled into an incident per placed alert at most. */
const MAX_PULLED = 50;
const MAX_REASON_ENTITIES = 20;
const MAX_TITLE = 200;

interface Match {
  target: string;
  known: Known;
  rule: Exclude<CorrelationRule, 'analyst'>;
  keys: CorrelationKey[];
  entityCount: number;
}

export class Correlator {
  private readonly byKey = new Map<string, Known[]>();
  private readonly byAlert = new Map<number, Known>();
  private nextRef = 1;

  constructor(
    private readonly config: CorrelationConfig,
    private readonly prevalence: PrevalenceOf,
  ) {}

  /** Record a known alert (earlier, or just placed) under its keys. */
  know(alert: Known['alert'], keys: Iterable<string>, incident: IncidentRef | null): void {
    const known = this.byAlert.get(alert.id) ?? { alert, incident };
    known.incident = incident ?? known.incident;
    this.byAlert.set(alert.id, known);
    for (const key of keys) {
      const list = this.byKey.get(key) ?? [];
      if (!list.includes(known)) list.push(known);
      this.byKey.set(key, list);
    }
  }

  incidentOf(alertId: number): IncidentRef | null {
    return this.byAlert.get(alertId)?.incident ?? null;
  }

  /** How many known alerts carry `key` within the window of `at` (the dry run's prevalence). */
  countNear(key: string, at: number): number {
    const windowMs = this.config.window_minutes * 60_000;
    return (this.byKey.get(key) ?? []).filter((k) => Math.abs(k.alert.occurredAt - at) <= windowMs).length;
  }

  /** Decide for `alert` (not yet placed) and record the outcome; null when it relates to nothing. */
  place(alert: EngineAlert): Placement | null {
    const matches = this.matches(alert);
    const keyStrings = alert.keys.map((k) => k.key);
    if (matches.length === 0) {
      this.know(alert, keyStrings, null);
      return null;
    }
    const best = matches[0] as Match;
    const incident = best.known.incident ?? { ref: `new:${this.nextRef++}`, open: true };
    const opened = best.known.incident === null;
    const members: Member[] = [{ alert, reason: this.reason(best, best.known.alert.uuid, alert) }];
    // Lone related alerts come along (the one matched first when opening).
    const pulled = matches.filter((m) => m.known.incident === null).slice(0, MAX_PULLED);
    for (const m of pulled) {
      members.push({ alert: m.known.alert, reason: this.reason(m, alert.uuid, alert) });
      m.known.incident = incident;
    }
    this.know(alert, keyStrings, incident);
    const firstAlert = opened ? best.known.alert : alert;
    return { incident, opened, members, title: titleOf(firstAlert, best) };
  }

  private matches(alert: EngineAlert): Match[] {
    const windowMs = this.config.window_minutes * 60_000;
    const perKnown = new Map<number, { known: Known; keys: CorrelationKey[] }>();
    for (const key of alert.keys) {
      const candidates = this.byKey.get(key.key);
      if (!candidates) continue;
      if (key.kind === 'entity' && this.prevalence(key, alert) > this.config.prevalence_cap) continue;
      const limit = key.kind === 'entity' ? this.config.prevalence_cap + 1 : STRONG_CANDIDATES;
      for (let i = candidates.length - 1; i >= 0 && i >= candidates.length - limit; i--) {
        const known = candidates[i] as Known;
        if (known.alert.id === alert.id || Math.abs(known.alert.occurredAt - alert.occurredAt) > windowMs) continue;
        if (known.incident && !known.incident.open) continue;
        const entry = perKnown.get(known.alert.id) ?? { known, keys: [] };
        entry.keys.push(key);
        perKnown.set(known.alert.id, entry);
      }
    }
    const matches: Match[] = [];
    for (const { known, keys } of perKnown.values()) {
      const entityCount = new Set(keys.filter((k) => k.kind === 'entity').map((k) => k.key)).size;
      const rule = keys.some((k) => k.kind === 'source_group')
        ? 'source_group'
        : keys.some((k) => k.kind === 'rule_entity')
          ? 'rule_entity'
          : 'shared_entity';
      if (rule === 'shared_entity' && entityCount < this.config.min_shared_entities) continue;
      matches.push({ target: known.incident?.ref ?? `alert:${known.alert.id}`, known, rule, keys, entityCount });
    }
    matches.sort(
      (a, b) =>
        RULE_RANK[b.rule] - RULE_RANK[a.rule] ||
        b.entityCount - a.entityCount ||
        Number(b.known.incident !== null) - Number(a.known.incident !== null) ||
        b.known.alert.occurredAt - a.known.alert.occurredAt ||
        b.known.alert.id - a.known.alert.id,
    );
    return matches;
  }

  private reason(match: Match, matchedUuid: string, alert: EngineAlert): IncidentMembershipReason {
    const kind = match.rule === 'shared_entity' ? 'entity' : match.rule;
    const shown = match.keys.filter((k) => k.kind === kind);
    const entities = dedupe(shown.flatMap((k) => (k.entity ? [k.entity] : []))).slice(0, MAX_REASON_ENTITIES);
    const group = shown.find((k) => k.sourceGroup)?.sourceGroup ?? null;
    const list = entities.map((e) => `${e.type} ${e.value}`).join(', ');
    const summary =
      match.rule === 'source_group' && group
        ? `${group.source_name} grouped these alerts (${group.field} ${group.value}).`
        : match.rule === 'rule_entity'
          ? `The same detection rule fired on the same entity (${list}).`
          : `Shares ${entities.length === 1 ? 'an entity' : `${entities.length} entities`} (${list}).`;
    return {
      rule: match.rule,
      entities,
      matched_alert_uuid: matchedUuid,
      detection_rule_uuid: match.rule === 'rule_entity' ? alert.detectionRuleUuid : null,
      source_group: match.rule === 'source_group' ? group : null,
      action: null,
      summary: clip(summary, 1000),
    };
  }
}

function dedupe<T extends { type: string; value: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => {
    const id = `${i.type}\u0000${i.value}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function clip(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

/** "<first alert's title> — <entity>": the incident's generated title. */
function titleOf(first: Pick<EngineAlert, 'title'>, match: Match): string {
  const entity = match.keys.find((k) => k.entity)?.entity;
  const group = match.keys.find((k) => k.sourceGroup)?.sourceGroup;
  const about =
    match.rule === 'source_group' && group
      ? `${group.source_name} ${group.field.replace(/^[a-z]+_/, '').replaceAll('_', ' ')} ${group.value}`
      : entity
        ? `${entity.type} ${entity.value}`
        : null;
  const title = clip(first.title, 150);
  return clip(about ? `${title} — ${about}` : title, MAX_TITLE);
}

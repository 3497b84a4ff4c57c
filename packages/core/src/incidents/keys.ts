/**
 * An alert's correlation keys (pure): which of its entities may relate it to other alerts.
 *
 * - `entity`: an indicator linked to the alert (`i:<indicator id>`) or a host it names
 *   (`h:<digest>`, the normalized src/dst host name: a bare host name is no indicator);
 * - `rule_entity`: its detection rule on one of those entities (`r:<rule id>:<entity key>`);
 * - `source_group`: the SIEM's own grouping (`g:<digest>`): a Sentinel incident, an Elastic alert group
 *   (EQL sequence building blocks share `kibana.alert.group.id`), a Splunk ES notable's event id.
 *
 * Values are attacker-controlled: they are compared as whole strings (a Set), never as patterns, and
 * every key is bounded (digests, ids), whatever the value's length.
 */
import { createHash } from 'node:crypto';
import type { CorrelationConfig, IncidentEntity, IncidentEntityType } from '@calseta/schema';
import ipaddr from 'ipaddr.js';
import { isBlockedAddress } from '../infra/http/policy.js';

export type KeyKind = 'entity' | 'rule_entity' | 'source_group';

export interface CorrelationKey {
  key: string;
  kind: KeyKind;
  /** The entity (entity and rule_entity keys). */
  entity: IncidentEntity | null;
  /** The indicator behind an `i:` key (its prevalence is counted on alert_indicators). */
  indicatorId: number | null;
  /** source_group: where the SIEM put the group id. */
  sourceGroup: { source_name: string; field: string; value: string } | null;
}

/** What correlation reads of an alert. */
export interface AlertEntities {
  sourceName: string;
  detectionRuleId: number | null;
  indicators: ReadonlyArray<{ id: number; type: string; value: string; source_field: string | null }>;
  hostnames: ReadonlyArray<unknown>;
  /**
   * Candidate group ids by field name (see SOURCE_GROUP_FIELDS), and `sentinel_workspace`: the
   * [subscription, resource group, workspace] a Sentinel incident number belongs to.
   */
  groups: Readonly<Record<string, unknown>>;
}

/** Keys per alert at most (entities; each may add its rule key): bounds the work one alert causes. */
export const MAX_ENTITY_KEYS = 64;
const MAX_VALUE_LENGTH = 2048;

/**
 * Where each SIEM keeps its own grouping, as read into `groups` by the loader (correlate.ts):
 * Sentinel's normalizer keeps the incident's ARM name and number in `extra`; Elastic's alert document
 * carries `kibana.alert.group.id` (flat dotted key or nested, possibly inside a search hit's `_source`);
 * Splunk's normalizer keeps the ES notable's `event_id` in `extra` (read as one only in the notable's
 * `<guid>@@notable@@<hash>` shape: saved searches call Windows event codes `event_id`). A Sentinel
 * incident number is scoped by its workspace (`sentinel_workspace`): numbers restart per workspace.
 */
export const SOURCE_GROUP_FIELDS = [
  'sentinel_incident_id',
  'sentinel_incident_number',
  'elastic_group_id',
  'splunk_notable_event_id',
] as const;

/** Values that name nothing (placeholders SIEMs write for "no value"). */
const PLACEHOLDERS = new Set(['', '-', 'n/a', 'na', 'none', 'null', 'unknown', 'undefined', 'localhost', '0']);

/** Hostname fields: a domain indicator found there is the `host` entity. */
const HOST_FIELDS = new Set(['normalized.src_hostname', 'normalized.dst_hostname']);

const digest = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 40);

function text(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_VALUE_LENGTH) return null;
  return PLACEHOLDERS.has(trimmed.toLowerCase()) ? null : trimmed;
}

/** The config's exclusions, compiled once per correlation call. */
export interface Exclusions {
  values: ReadonlySet<string>;
  cidrs: ReadonlyArray<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
  ignorePrivate: boolean;
  types: ReadonlySet<IncidentEntityType>;
}

export function compileExclusions(config: CorrelationConfig): Exclusions {
  const cidrs: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = [];
  for (const cidr of config.excluded_cidrs) {
    try {
      cidrs.push(cidr.includes('/') ? ipaddr.parseCIDR(cidr) : [ipaddr.parse(cidr), cidr.includes(':') ? 128 : 32]);
    } catch {
      // validated on save (updateCorrelationConfig); an unreadable stored entry excludes nothing
    }
  }
  return {
    values: new Set(config.excluded_values.map((v) => v.toLowerCase())),
    cidrs,
    ignorePrivate: config.ignore_private_ips,
    types: new Set(config.entity_types),
  };
}

/** True when `cidr` is a CIDR range or a single address ipaddr.js reads. */
export function isCidr(cidr: string): boolean {
  try {
    if (cidr.includes('/')) ipaddr.parseCIDR(cidr);
    else ipaddr.parse(cidr);
    return true;
  } catch {
    return false;
  }
}

function ipExcluded(value: string, ex: Exclusions): boolean {
  if (ex.ignorePrivate && isBlockedAddress(value) !== null) return true;
  if (ex.cidrs.length === 0) return false;
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    address = ipaddr.process(value);
  } catch {
    return true; // not an address we can place: never correlate on it
  }
  return ex.cidrs.some(([net, bits]) => address.kind() === net.kind() && address.match(net, bits));
}

function counts(type: IncidentEntityType, value: string, ex: Exclusions): boolean {
  if (!ex.types.has(type)) return false;
  if (ex.values.has(value.toLowerCase())) return false;
  return type !== 'ip' || !ipExcluded(value, ex);
}

/** The alert's correlation keys under `config` (deduplicated, at most MAX_ENTITY_KEYS entities). */
export function correlationKeys(alert: AlertEntities, config: CorrelationConfig, ex: Exclusions): CorrelationKey[] {
  const entities: CorrelationKey[] = [];
  const seen = new Set<string>();
  const hostValues = new Set<string>();
  for (const raw of alert.hostnames) {
    const value = text(raw)?.toLowerCase();
    if (value) hostValues.add(value);
  }
  const add = (key: string, entity: IncidentEntity, indicatorId: number | null) => {
    if (seen.has(key) || entities.length >= MAX_ENTITY_KEYS || !counts(entity.type, entity.value, ex)) return;
    seen.add(key);
    entities.push({ key, kind: 'entity', entity, indicatorId, sourceGroup: null });
  };
  for (const indicator of alert.indicators) {
    const value = text(indicator.value);
    if (!value) continue;
    // A host name that is also a domain indicator (an FQDN) is one entity: the indicator, typed host.
    const isHost =
      indicator.type === 'domain' &&
      (HOST_FIELDS.has(indicator.source_field ?? '') || hostValues.has(value.toLowerCase()));
    if (isHost) hostValues.delete(value.toLowerCase());
    const type = (isHost ? 'host' : indicator.type) as IncidentEntityType;
    add(`i:${indicator.id}`, { type, value }, indicator.id);
  }
  for (const value of hostValues) add(`h:${digest(value)}`, { type: 'host', value }, null);

  const keys = [...entities];
  if (config.rule_entity && alert.detectionRuleId !== null) {
    for (const e of entities) {
      keys.push({ ...e, key: `r:${alert.detectionRuleId}:${e.key}`, kind: 'rule_entity' });
    }
  }
  if (config.source_grouping) {
    for (const field of SOURCE_GROUP_FIELDS) {
      const value = text(alert.groups[field]);
      if (!value) continue;
      // Sentinel numbers incidents per workspace (1, 2, …): one number in two workspaces is two incidents.
      const scope = field === 'sentinel_incident_number' ? workspaceOf(alert.groups.sentinel_workspace) : [];
      keys.push({
        key: `g:${digest(alert.sourceName, field, value, ...scope)}`,
        kind: 'source_group',
        entity: null,
        indicatorId: null,
        sourceGroup: { source_name: alert.sourceName, field, value },
      });
    }
  }
  return keys;
}

/** The workspace's known parts, lower-cased (none known: the number alone, as for one workspace). */
function workspaceOf(parts: unknown): string[] {
  const known = Array.isArray(parts) ? parts.map((p) => text(p)?.toLowerCase() ?? '') : [];
  return known.some(Boolean) ? known : [];
}

/** A signed 64-bit lock id for `pg_advisory_xact_lock`, as text (pg reads it as bigint). */
export function lockId(key: string): bigint {
  return createHash('sha256').update(`incident-key\u0000${key}`).digest().readBigInt64BE(0);
}

/**
 * Microsoft Sentinel incidents (the ARM incident resource: `properties` plus a top-level `Entities` array,
 * as sent by a Sentinel automation rule / Logic App).
 */

import type { ExtractedIndicator, PayloadIssue, ValidationResult } from '@calseta/plugin-sdk';
import {
  collectIndicators,
  defineAlertSource,
  detectionRuleRef,
  hmacSignature,
  indicator,
  isRecord,
  mapSeverity,
  parseTimestamp,
  str,
} from '@calseta/plugin-sdk';
import type { DetectionRuleRef, NormalizedAlertInput } from '@calseta/schema';
import {
  Facts,
  indicatorFields,
  notAnObject,
  result,
  secondsBetween,
  severityTable,
  text,
  textValues,
} from './shared.js';

const NAME = 'sentinel';
const SIGNATURE_HEADER = 'x-sentinel-signature';
/** Entity lists in `extra` are capped; `entity_counts` still counts every entity. */
const MAX_LISTED_ENTITIES = 25;

/** Sentinel has no Critical. Looked up lowercase; a missing severity counts as `None`. */
const SEVERITY = severityTable({
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  informational: 'Informational',
  none: 'Informational',
});

const HASH_TYPES = {
  SHA256: 'hash_sha256',
  SHA1: 'hash_sha1',
  MD5: 'hash_md5',
} as const;

interface Entity {
  /** `Type`/`type`, lowercased. */
  kind: string;
  data: Record<string, unknown>;
}

function properties(raw: unknown): Record<string, unknown> {
  return isRecord(raw) && isRecord(raw.properties) ? raw.properties : {};
}

function entities(raw: unknown): Entity[] {
  const list = isRecord(raw) && Array.isArray(raw.Entities) ? raw.Entities : [];
  const out: Entity[] = [];
  for (const item of list) {
    if (!isRecord(item)) {
      continue;
    }
    const kind = (text(item.Type) ?? text(item.type))?.toLowerCase();
    if (kind !== undefined) {
      out.push({ kind, data: item });
    }
  }
  return out;
}

/** An entity property in PascalCase or camelCase (`Address` / `address`, `UPNSuffix` / `upnSuffix`). */
function prop(entity: Entity, pascal: string, camel: string): string | undefined {
  return text(entity.data[pascal]) ?? text(entity.data[camel]);
}

function accountName(entity: Entity): string | undefined {
  const name = prop(entity, 'Name', 'name');
  if (name === undefined) {
    return undefined;
  }
  const suffix = prop(entity, 'UPNSuffix', 'upnSuffix');
  return suffix === undefined ? name : `${name}@${suffix}`;
}

function hostFqdn(entity: Entity): string | undefined {
  const host = prop(entity, 'HostName', 'hostName');
  if (host === undefined) {
    return undefined;
  }
  const domain = prop(entity, 'DnsDomain', 'dnsDomain');
  return domain === undefined ? host : `${host}.${domain}`;
}

function entityIndicator(entity: Entity): ExtractedIndicator | null {
  switch (entity.kind) {
    case 'ip':
      return indicator('ip', prop(entity, 'Address', 'address'), 'Entities.ip');
    case 'account':
      return indicator('account', accountName(entity), 'Entities.account');
    case 'host':
      return indicator('domain', hostFqdn(entity), 'Entities.host');
    case 'url':
      return indicator('url', prop(entity, 'Url', 'url'), 'Entities.url');
    case 'filehash': {
      const algorithm = prop(entity, 'Algorithm', 'algorithm')?.toUpperCase();
      const type =
        algorithm === 'SHA256' || algorithm === 'SHA1' || algorithm === 'MD5' ? HASH_TYPES[algorithm] : undefined;
      return type === undefined ? null : indicator(type, prop(entity, 'Value', 'value'), 'Entities.filehash');
    }
    default:
      return null;
  }
}

function extractIndicators(raw: unknown): ExtractedIndicator[] {
  return collectIndicators(entities(raw).map(entityIndicator));
}

/** The first entity of `kind` for which `read` yields a value. */
function firstOf(list: readonly Entity[], kind: string, read: (e: Entity) => string | undefined): string | undefined {
  for (const entity of list) {
    if (entity.kind === kind) {
      const value = read(entity);
      if (value !== undefined) {
        return value;
      }
    }
  }
  return undefined;
}

function firstHash(list: readonly Entity[], algorithm: keyof typeof HASH_TYPES): string | undefined {
  return firstOf(list, 'filehash', (e) =>
    prop(e, 'Algorithm', 'algorithm')?.toUpperCase() === algorithm ? prop(e, 'Value', 'value') : undefined,
  );
}

/** Compact per-type summary of the entities for `extra`: counts by type, then hosts, accounts and IPs. */
function entitySummary(list: readonly Entity[], facts: Facts): void {
  const counts = new Map<string, number>();
  const hosts: Array<Record<string, unknown>> = [];
  const accounts: Array<Record<string, unknown>> = [];
  const ips: Array<Record<string, unknown>> = [];
  for (const entity of list) {
    counts.set(entity.kind, (counts.get(entity.kind) ?? 0) + 1);
    const d = entity.data;
    if (entity.kind === 'host' && hosts.length < MAX_LISTED_ENTITIES) {
      const hostname = hostFqdn(entity);
      if (hostname !== undefined) {
        hosts.push(
          new Facts()
            .set('hostname', hostname)
            .set('os_family', d.OSFamily ?? d.osFamily)
            .set('os_version', d.OSVersion ?? d.osVersion)
            .toObject(),
        );
      }
    } else if (entity.kind === 'account' && accounts.length < MAX_LISTED_ENTITIES) {
      const name = accountName(entity);
      if (name !== undefined) {
        accounts.push(
          new Facts()
            .set('name', name)
            .set('display_name', d.DisplayName ?? d.displayName)
            .set('aad_user_id', d.AadUserId ?? d.aadUserId)
            .set('sid', d.Sid ?? d.sid)
            .toObject(),
        );
      }
    } else if (entity.kind === 'ip' && ips.length < MAX_LISTED_ENTITIES) {
      const address = prop(entity, 'Address', 'address');
      if (address !== undefined) {
        const geo = d.GeoLocation ?? d.geoLocation ?? d.Location ?? d.location;
        const g = isRecord(geo) ? geo : {};
        ips.push(
          new Facts()
            .set('address', address)
            .set('country', g.Country ?? g.country ?? g.CountryName ?? g.countryName)
            .set('state', g.State ?? g.state)
            .set('city', g.City ?? g.city)
            .set('asn', g.Asn ?? g.asn)
            .set('organization', g.Organization ?? g.organization)
            .toObject(),
        );
      }
    }
  }
  facts.put('entity_counts', Object.fromEntries(counts)).put('hosts', hosts).put('accounts', accounts).put('ips', ips);
}

function extra(raw: unknown, list: readonly Entity[]): Record<string, unknown> {
  const p = properties(raw);
  const data = isRecord(p.additionalData) ? p.additionalData : {};
  const owner = isRecord(p.owner) ? p.owner : {};
  const first = parseTimestamp(p.firstActivityTimeUtc);
  const last = parseTimestamp(p.lastActivityTimeUtc);
  const facts = new Facts()
    .set('incident_id', isRecord(raw) ? raw.name : undefined)
    .set('incident_number', p.incidentNumber)
    .set('incident_url', p.incidentUrl)
    .set('status', p.status)
    .set('classification', p.classification)
    .set('classification_reason', p.classificationReason)
    .set('owner', owner.assignedTo ?? owner.userPrincipalName ?? owner.email)
    .set('provider_name', p.providerName)
    .set('provider_incident_id', p.providerIncidentId)
    .set('created_time', p.createdTimeUtc)
    .set('first_activity_time', p.firstActivityTimeUtc)
    .set('last_activity_time', p.lastActivityTimeUtc)
    .set('activity_duration_seconds', secondsBetween(first, last))
    .set('alerts_count', data.alertsCount ?? p.alertsCount)
    .set('bookmarks_count', data.bookmarksCount)
    .set('comments_count', data.commentsCount)
    .set('alert_product_names', data.alertProductNames)
    .set('mitre_tactics', data.tactics)
    .set('mitre_techniques', data.techniques);
  entitySummary(list, facts);
  return facts.toObject();
}

function validate(raw: unknown): ValidationResult {
  if (!isRecord(raw)) {
    return result([notAnObject('A Sentinel incident', raw)]);
  }
  if (!isRecord(raw.properties)) {
    return result([{ path: 'properties', message: 'Sentinel incidents need a properties object' }]);
  }
  const issues: PayloadIssue[] = [];
  if (str(raw.properties.title) === undefined && str(raw.properties.severity) === undefined) {
    issues.push({
      path: 'properties.title',
      message: 'Sentinel incidents need properties.title or properties.severity',
    });
  }
  return result(issues);
}

function normalize(raw: unknown): NormalizedAlertInput {
  const p = properties(raw);
  const list = entities(raw);
  const tags = Array.isArray(p.labels)
    ? p.labels.flatMap((label) => (isRecord(label) ? textValues(label.labelName) : []))
    : [];
  return {
    title: str(p.title) ?? 'Untitled Sentinel Incident',
    severity: mapSeverity(p.severity ?? 'None', SEVERITY),
    occurred_at: parseTimestamp(p.firstActivityTimeUtc) ?? parseTimestamp(p.createdTimeUtc),
    source_name: NAME,
    description: str(p.description) ?? null,
    // Entities carry no direction: the first IP entity is reported as src_ip and dst_ip stays empty.
    ...indicatorFields({
      src_ip: firstOf(list, 'ip', (e) => prop(e, 'Address', 'address')),
      src_hostname: firstOf(list, 'host', hostFqdn),
      actor_username: firstOf(list, 'account', accountName),
      actor_email: firstOf(list, 'mailbox', (e) => prop(e, 'MailboxPrimaryAddress', 'mailboxPrimaryAddress')),
      http_url: firstOf(list, 'url', (e) => prop(e, 'Url', 'url')),
      dns_query: firstOf(list, 'dns', (e) => prop(e, 'DomainName', 'domainName')),
      email_from: firstOf(list, 'mailmessage', (e) => prop(e, 'Sender', 'sender') ?? prop(e, 'P1Sender', 'p1Sender')),
      file_hash_sha256: firstHash(list, 'SHA256'),
      file_hash_sha1: firstHash(list, 'SHA1'),
      file_hash_md5: firstHash(list, 'MD5'),
    }),
    tags,
    extra: extra(raw, list),
  };
}

function detectionRule(raw: unknown): DetectionRuleRef | null {
  const p = properties(raw);
  const ids = Array.isArray(p.relatedAnalyticRuleIds) ? p.relatedAnalyticRuleIds : [];
  const data = isRecord(p.additionalData) ? p.additionalData : {};
  return detectionRuleRef({
    source_rule_id: text(ids[0])?.replace(/\/+$/, '').split('/').pop(),
    // The incident title is the closest thing to a rule name an incident carries.
    name: str(p.title),
    severity: str(p.severity),
    mitre_tactics: textValues(data.tactics),
    mitre_techniques: textValues(data.techniques),
  });
}

export const sentinelSource = defineAlertSource({
  name: NAME,
  displayName: 'Microsoft Sentinel',
  validate,
  normalize,
  extractIndicators,
  detectionRule,
  verifySignature: hmacSignature(SIGNATURE_HEADER),
  documentedExtractions: [
    { field_path: 'Entities.ip', indicator_type: 'ip', description: 'IP entities: Address' },
    {
      field_path: 'Entities.account',
      indicator_type: 'account',
      description: 'Account entities: Name, plus @UPNSuffix when present',
    },
    {
      field_path: 'Entities.host',
      indicator_type: 'domain',
      description: 'Host entities: HostName, plus .DnsDomain when present',
    },
    { field_path: 'Entities.url', indicator_type: 'url', description: 'URL entities: Url' },
    {
      field_path: 'Entities.filehash',
      indicator_type: 'hash_sha256',
      description: 'File hash entities with Algorithm SHA256: Value',
    },
    {
      field_path: 'Entities.filehash',
      indicator_type: 'hash_sha1',
      description: 'File hash entities with Algorithm SHA1: Value',
    },
    {
      field_path: 'Entities.filehash',
      indicator_type: 'hash_md5',
      description: 'File hash entities with Algorithm MD5: Value',
    },
  ],
});

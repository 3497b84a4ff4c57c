/**
 * Elastic Security detection alerts: the Kibana alert `_source`, normally with flat dotted keys
 * (`"kibana.alert.rule.name": …`); nested objects and mixtures of both are read the same way.
 */

import type { ExtractedIndicator, IndicatorType, ValidationResult } from '@calseta/plugin-sdk';
import {
  collectIndicators,
  defineAlertSource,
  detectionRuleRef,
  getPath,
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
  firstStr,
  firstText,
  indicatorFields,
  notAnObject,
  result,
  severityTable,
  text,
  textValues,
  unique,
} from './shared.js';

const NAME = 'elastic';
const SIGNATURE_HEADER = 'x-elastic-signature';

const SEVERITY = severityTable({
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  informational: 'Informational',
});

/**
 * Pass-1 fields, in extraction order. IP fields accept a string or an array of strings (IPv4 or IPv6,
 * taken as sent); every other field must be a string.
 */
const EXTRACTIONS: ReadonlyArray<{ path: string; type: IndicatorType; list: boolean; description: string }> = [
  { path: 'source.ip', type: 'ip', list: true, description: 'Source IP address' },
  { path: 'destination.ip', type: 'ip', list: true, description: 'Destination IP address' },
  { path: 'host.ip', type: 'ip', list: true, description: 'IP addresses of the host (array)' },
  { path: 'threat.indicator.ip', type: 'ip', list: true, description: 'Threat intelligence indicator IP' },
  { path: 'destination.domain', type: 'domain', list: false, description: 'Destination domain' },
  { path: 'dns.question.name', type: 'domain', list: false, description: 'DNS query name' },
  { path: 'url.domain', type: 'domain', list: false, description: 'Domain of the URL' },
  { path: 'threat.indicator.domain', type: 'domain', list: false, description: 'Threat intelligence indicator domain' },
  { path: 'url.full', type: 'url', list: false, description: 'Full URL' },
  { path: 'process.hash.sha256', type: 'hash_sha256', list: false, description: 'SHA-256 of the process executable' },
  { path: 'file.hash.sha256', type: 'hash_sha256', list: false, description: 'SHA-256 of the file' },
  {
    path: 'threat.indicator.file.hash.sha256',
    type: 'hash_sha256',
    list: false,
    description: 'Threat intelligence indicator file SHA-256',
  },
  { path: 'process.hash.sha1', type: 'hash_sha1', list: false, description: 'SHA-1 of the process executable' },
  { path: 'file.hash.sha1', type: 'hash_sha1', list: false, description: 'SHA-1 of the file' },
  { path: 'process.hash.md5', type: 'hash_md5', list: false, description: 'MD5 of the process executable' },
  { path: 'file.hash.md5', type: 'hash_md5', list: false, description: 'MD5 of the file' },
  { path: 'user.email', type: 'email', list: false, description: 'Email address of the user' },
  { path: 'user.name', type: 'account', list: false, description: 'User name' },
];

/** `extra` facts: `[key, ...paths]`, first path holding a value wins. */
const FACTS: ReadonlyArray<readonly [string, ...string[]]> = [
  ['alert_id', 'kibana.alert.uuid'],
  ['alert_status', 'kibana.alert.status'],
  ['workflow_status', 'kibana.alert.workflow_status'],
  ['alert_end', 'kibana.alert.end'],
  ['original_time', 'kibana.alert.original_time'],
  ['rule_id', 'kibana.alert.rule.rule_id'],
  ['rule_category', 'kibana.alert.rule.category'],
  ['risk_score', 'kibana.alert.risk_score', 'kibana.alert.rule.risk_score'],
  ['event_action', 'event.action'],
  ['event_outcome', 'event.outcome'],
  ['event_category', 'event.category'],
  ['event_type', 'event.type'],
  ['event_module', 'event.module'],
  ['event_dataset', 'event.dataset'],
  ['host_name', 'host.name'],
  ['host_hostname', 'host.hostname'],
  ['host_ip', 'host.ip'],
  ['host_os_name', 'host.os.name'],
  ['host_os_version', 'host.os.version'],
  ['host_os_platform', 'host.os.platform'],
  ['agent_id', 'agent.id'],
  ['user_domain', 'user.domain'],
  ['user_id', 'user.id'],
  ['user_full_name', 'user.full_name'],
  ['process_name', 'process.name'],
  ['process_pid', 'process.pid'],
  ['process_executable', 'process.executable'],
  ['process_args', 'process.args'],
  ['process_command_line', 'process.command_line'],
  ['parent_process_name', 'process.parent.name'],
  ['parent_process_pid', 'process.parent.pid'],
  ['parent_process_executable', 'process.parent.executable'],
  ['parent_process_command_line', 'process.parent.command_line'],
  ['file_name', 'file.name'],
  ['file_path', 'file.path'],
  ['file_size', 'file.size'],
  ['source_port', 'source.port'],
  ['destination_port', 'destination.port'],
  ['network_protocol', 'network.protocol'],
  ['network_direction', 'network.direction'],
  ['source_geo_country', 'source.geo.country_name'],
  ['source_geo_city', 'source.geo.city_name'],
  ['source_as_org', 'source.as.organization.name'],
  ['destination_geo_country', 'destination.geo.country_name'],
  ['destination_geo_city', 'destination.geo.city_name'],
  ['destination_as_org', 'destination.as.organization.name'],
];

interface Mitre {
  tacticIds: string[];
  tacticNames: string[];
  techniqueIds: string[];
  techniqueNames: string[];
}

/**
 * MITRE ATT&CK from the alert's ECS `threat.*` fields, or else from the rule's `kibana.alert.rule.threat`
 * array (`[{tactic: {id, name}, technique: [{id, name, subtechnique: [{id, name}]}]}]`).
 */
function mitre(raw: unknown): Mitre {
  const out: Mitre = {
    tacticIds: textValues(getPath(raw, 'threat.tactic.id')),
    tacticNames: textValues(getPath(raw, 'threat.tactic.name')),
    techniqueIds: [
      ...textValues(getPath(raw, 'threat.technique.id')),
      ...textValues(getPath(raw, 'threat.technique.subtechnique.id')),
    ],
    techniqueNames: [
      ...textValues(getPath(raw, 'threat.technique.name')),
      ...textValues(getPath(raw, 'threat.technique.subtechnique.name')),
    ],
  };
  const ruleThreat = getPath(raw, 'kibana.alert.rule.threat');
  if (out.tacticIds.length + out.tacticNames.length + out.techniqueIds.length === 0 && Array.isArray(ruleThreat)) {
    for (const entry of ruleThreat) {
      if (!isRecord(entry)) {
        continue;
      }
      if (isRecord(entry.tactic)) {
        out.tacticIds.push(...textValues(entry.tactic.id));
        out.tacticNames.push(...textValues(entry.tactic.name));
      }
      const techniques = Array.isArray(entry.technique) ? entry.technique : [];
      for (const technique of techniques) {
        if (!isRecord(technique)) {
          continue;
        }
        out.techniqueIds.push(...textValues(technique.id));
        out.techniqueNames.push(...textValues(technique.name));
        const subs = Array.isArray(technique.subtechnique) ? technique.subtechnique : [];
        for (const sub of subs) {
          if (isRecord(sub)) {
            out.techniqueIds.push(...textValues(sub.id));
            out.techniqueNames.push(...textValues(sub.name));
          }
        }
      }
    }
  }
  return {
    tacticIds: unique(out.tacticIds),
    tacticNames: unique(out.tacticNames),
    techniqueIds: unique(out.techniqueIds),
    techniqueNames: unique(out.techniqueNames),
  };
}

function extractIndicators(raw: unknown): ExtractedIndicator[] {
  const found: Array<ExtractedIndicator | null> = [];
  for (const { path, type, list } of EXTRACTIONS) {
    const value = getPath(raw, path);
    const values = list ? textValues(value) : [text(value)];
    for (const v of values) {
      found.push(indicator(type, v, path));
    }
  }
  return collectIndicators(found);
}

function validate(raw: unknown): ValidationResult {
  if (!isRecord(raw)) {
    return result([notAnObject('An Elastic alert', raw)]);
  }
  if (firstStr(raw, ['kibana.alert.rule.name', 'kibana.alert.rule.uuid']) === undefined) {
    return result([
      {
        path: 'kibana.alert.rule.name',
        message: 'Elastic alerts need kibana.alert.rule.name or kibana.alert.rule.uuid (flat or nested keys)',
      },
    ]);
  }
  return result([]);
}

function normalize(raw: unknown): NormalizedAlertInput {
  const title = firstStr(raw, ['kibana.alert.rule.name', 'kibana.alert.reason']) ?? 'Untitled Elastic Alert';
  const reason = str(getPath(raw, 'kibana.alert.reason'));
  let description = str(getPath(raw, 'kibana.alert.rule.description')) ?? reason;
  if (description === title) {
    description = reason;
  }
  const tagsValue = getPath(raw, 'kibana.alert.rule.tags');
  const tags = Array.isArray(tagsValue) ? tagsValue.map(str).filter((t): t is string => t !== undefined) : [];
  const m = mitre(raw);
  const facts = new Facts().pickAll(raw, FACTS);
  if (reason !== undefined && reason !== description && reason !== title) {
    facts.set('alert_reason', reason);
  }
  facts
    .set('mitre_tactics', m.tacticIds)
    .set('mitre_tactic_names', m.tacticNames)
    .set('mitre_techniques', m.techniqueIds)
    .set('mitre_technique_names', m.techniqueNames);
  return {
    title,
    severity: mapSeverity(firstStr(raw, ['kibana.alert.severity', 'kibana.alert.rule.severity']), SEVERITY),
    occurred_at: parseTimestamp(getPath(raw, 'kibana.alert.start')) ?? parseTimestamp(getPath(raw, '@timestamp')),
    source_name: NAME,
    description: description ?? null,
    ...indicatorFields({
      src_ip: firstText(raw, ['source.ip']),
      dst_ip: firstText(raw, ['destination.ip']),
      src_hostname: firstText(raw, ['source.domain', 'host.hostname']),
      dst_hostname: firstText(raw, ['destination.domain']),
      file_hash_sha256: firstText(raw, [
        'process.hash.sha256',
        'file.hash.sha256',
        'threat.indicator.file.hash.sha256',
      ]),
      file_hash_sha1: firstText(raw, ['process.hash.sha1', 'file.hash.sha1']),
      file_hash_md5: firstText(raw, ['process.hash.md5', 'file.hash.md5']),
      actor_email: firstText(raw, ['user.email']),
      actor_username: firstText(raw, ['user.name']),
      dns_query: firstText(raw, ['dns.question.name']),
      http_url: firstText(raw, ['url.full', 'url.original']),
      http_hostname: firstText(raw, ['url.domain']),
      email_from: firstText(raw, ['email.from.address']),
      email_reply_to: firstText(raw, ['email.reply_to.address']),
    }),
    tags,
    extra: facts.toObject(),
  };
}

function detectionRule(raw: unknown): DetectionRuleRef | null {
  const m = mitre(raw);
  return detectionRuleRef({
    source_rule_id: str(getPath(raw, 'kibana.alert.rule.uuid')),
    name: str(getPath(raw, 'kibana.alert.rule.name')),
    severity: firstStr(raw, ['kibana.alert.rule.severity', 'kibana.alert.severity']),
    description: str(getPath(raw, 'kibana.alert.rule.description')),
    mitre_tactics: m.tacticIds.length > 0 ? m.tacticIds : m.tacticNames,
    mitre_techniques: m.techniqueIds.length > 0 ? m.techniqueIds : m.techniqueNames,
  });
}

export const elasticSource = defineAlertSource({
  name: NAME,
  displayName: 'Elastic Security',
  validate,
  normalize,
  extractIndicators,
  detectionRule,
  verifySignature: hmacSignature(SIGNATURE_HEADER),
  documentedExtractions: EXTRACTIONS.map(({ path, type, description }) => ({
    field_path: path,
    indicator_type: type,
    description,
  })),
});

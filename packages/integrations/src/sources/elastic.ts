/**
 * Elastic Security detection alerts: the Kibana 8.x alert `_source` (`kibana.alert.*`), normally with flat
 * dotted keys (`"kibana.alert.rule.name": …`) — nested objects and mixtures of both are read the same way —
 * and the legacy 7.x signal document (`signal.rule.*`, `signal.original_time`), alone or as a search hit's
 * `_source`. The source event's ECS fields sit beside them in both.
 */

import type { ExtractedIndicator, IndicatorType, ValidationResult } from '@calseta/plugin-sdk';
import {
  checkIndicator,
  collectIndicators,
  defineAlertSource,
  detectionRuleRef,
  getPath,
  hmacSignature,
  indicator,
  isRecord,
  normalizeSeverity,
  parseTimestamp,
  pickSeverity,
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
  severityFlags,
  textValues,
  unique,
} from './shared.js';

const NAME = 'elastic';
const SIGNATURE_HEADER = 'x-elastic-signature';

/** Where 8.x and 7.x keep the same fact: the 8.x path first. */
const RULE_NAME = ['kibana.alert.rule.name', 'signal.rule.name'];
const RULE_UUID = ['kibana.alert.rule.uuid', 'signal.rule.id'];
const RULE_DESCRIPTION = ['kibana.alert.rule.description', 'signal.rule.description'];
const RULE_SEVERITY = ['kibana.alert.rule.severity', 'signal.rule.severity'];
const RISK_SCORE = ['kibana.alert.risk_score', 'kibana.alert.rule.risk_score', 'signal.rule.risk_score'];
const REASON = ['kibana.alert.reason', 'signal.reason'];

const HASHES = [
  ['sha256', 'hash_sha256', 'SHA-256'],
  ['sha1', 'hash_sha1', 'SHA-1'],
  ['md5', 'hash_md5', 'MD5'],
] as const;

type Extraction = {
  path: string;
  type: IndicatorType;
  description: string;
  each?: string;
  /** Built once (see EXTRACTIONS): `each.path`, and the indicator's `source_field`. */
  flatPath?: string;
  sourceField?: string;
};

/** The hash fields of one ECS file object at `prefix` (`process`, `file.`, …), as extractions. */
const hashes = (prefix: string, what: string, each?: string): Extraction[] =>
  HASHES.map(([algorithm, type, label]) => ({
    path: `${prefix}hash.${algorithm}`,
    type,
    description: `${label} of ${what}`,
    ...(each === undefined ? {} : { each }),
  }));

/** The threat-intelligence indicator fields under `prefix` (`threat.indicator.`, or each enrichment's `indicator.`). */
const threatIndicator = (prefix: string, what: string, each?: string): Extraction[] =>
  [
    { path: `${prefix}ip`, type: 'ip' as const, description: `${what} IP` },
    { path: `${prefix}domain`, type: 'domain' as const, description: `${what} domain (legacy field)` },
    { path: `${prefix}url.domain`, type: 'domain' as const, description: `${what} URL domain` },
    { path: `${prefix}url.full`, type: 'url' as const, description: `${what} URL` },
    { path: `${prefix}email.address`, type: 'email' as const, description: `${what} email address` },
    ...hashes(`${prefix}file.`, `the ${what} file`),
  ].map((x) => (each === undefined ? x : { ...x, each }));

const THREAT_INDICATOR = threatIndicator('threat.indicator.', 'Threat intelligence indicator');
const ofType = (list: readonly Extraction[], ...types: IndicatorType[]) => list.filter((x) => types.includes(x.type));

/**
 * Pass-1 fields, in extraction order. Every field may hold a string or an array of strings (ECS allows
 * arrays everywhere; `host.ip` is one). `each` names an array of objects (`dll`, `threat.enrichments`)
 * whose members hold `path`. Kibana's own links (`kibana.alert.url`, rule `references`) are never read:
 * they point at Kibana and at documentation, not at the attack.
 */
const EXTRACTIONS: readonly Extraction[] = withFieldNames([
  { path: 'source.ip', type: 'ip', description: 'Source IP address' },
  { path: 'destination.ip', type: 'ip', description: 'Destination IP address' },
  { path: 'host.ip', type: 'ip', description: 'IP addresses of the host (string or array)' },
  ...ofType(THREAT_INDICATOR, 'ip'),
  { path: 'destination.domain', type: 'domain', description: 'Destination domain' },
  { path: 'dns.question.name', type: 'domain', description: 'DNS query name' },
  { path: 'url.domain', type: 'domain', description: 'Domain of the URL' },
  ...ofType(THREAT_INDICATOR, 'domain'),
  { path: 'url.full', type: 'url', description: 'Full URL' },
  ...ofType(THREAT_INDICATOR, 'url', 'email'),
  ...hashes('process.', 'the process executable'),
  ...hashes('file.', 'the file'),
  ...hashes('process.parent.', 'the parent process executable'),
  ...hashes('', 'each loaded library (dll[])', 'dll'),
  ...ofType(THREAT_INDICATOR, 'hash_sha256', 'hash_sha1', 'hash_md5'),
  ...threatIndicator('indicator.', 'Matched threat indicator (threat.enrichments[])', 'threat.enrichments'),
  { path: 'user.email', type: 'email', description: 'Email address of the user' },
  { path: 'user.name', type: 'account', description: 'User name' },
]);

/** Each extraction with its derived path strings made once, not per alert. */
function withFieldNames(list: readonly Extraction[]): Extraction[] {
  return list.map((x) =>
    x.each === undefined
      ? { ...x, sourceField: x.path }
      : { ...x, flatPath: `${x.each}.${x.path}`, sourceField: `${x.each}[].${x.path}` },
  );
}

/** The strings at `path` (a string or an array of strings), or inside each member of the array at `each`. */
function valuesAt(raw: unknown, { path, each, flatPath }: Pick<Extraction, 'path' | 'each' | 'flatPath'>): string[] {
  if (each === undefined) return textValues(getPath(raw, path));
  const list = getPath(raw, each);
  // Flat dotted keys (`"dll.hash.md5"`) have no `dll` object to step into.
  if (list === undefined) return textValues(getPath(raw, flatPath ?? `${each}.${path}`));
  return (Array.isArray(list) ? list : [list]).flatMap((item) => textValues(getPath(item, path)));
}

/** The first value at any of `paths` that is a well-formed `type` (so a `"fake md5"` never fills a field). */
function firstValid(raw: unknown, type: IndicatorType, paths: readonly string[]): string | undefined {
  for (const path of paths) {
    const found = textValues(getPath(raw, path)).find((v) => checkIndicator(type, v, path).ok);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** `extra` facts: `[key, ...paths]`, first path holding a value wins. */
const FACTS: ReadonlyArray<readonly [string, ...string[]]> = [
  ['alert_id', 'kibana.alert.uuid'],
  ['alert_status', 'kibana.alert.status'],
  ['workflow_status', 'kibana.alert.workflow_status', 'signal.status'],
  ['alert_end', 'kibana.alert.end'],
  ['original_time', 'kibana.alert.original_time', 'signal.original_time'],
  ['rule_id', 'kibana.alert.rule.rule_id', 'signal.rule.rule_id'],
  ['rule_type', 'kibana.alert.rule.type', 'signal.rule.type'],
  ['rule_category', 'kibana.alert.rule.category'],
  ['risk_score', ...RISK_SCORE],
  ['alert_url', 'kibana.alert.url'],
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
  ['process_working_directory', 'process.working_directory'],
  ['process_code_signature', 'process.code_signature.subject_name', 'process.Ext.code_signature.subject_name'],
  ['parent_process_name', 'process.parent.name'],
  ['parent_process_pid', 'process.parent.pid'],
  ['parent_process_executable', 'process.parent.executable'],
  ['parent_process_command_line', 'process.parent.command_line'],
  ['file_name', 'file.name'],
  ['file_path', 'file.path'],
  ['file_directory', 'file.directory'],
  ['malware_classification', 'file.Ext.malware_classification.identifier'],
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
  const ruleThreat = getPath(raw, 'kibana.alert.rule.threat') ?? getPath(raw, 'signal.rule.threat');
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

/**
 * The alert document itself: a search hit (`{_index, _id, _source}`, what a poller of the alerts index or
 * the signals search API relays) is unwrapped to its `_source`.
 */
function alertDocument(raw: unknown): unknown {
  if (isRecord(raw) && isRecord(raw._source) && firstStr(raw, [...RULE_NAME, ...RULE_UUID]) === undefined) {
    return raw._source;
  }
  return raw;
}

function extractIndicators(payload: unknown): ExtractedIndicator[] {
  const raw = alertDocument(payload);
  const found: Array<ExtractedIndicator | null> = [];
  for (const extraction of EXTRACTIONS) {
    for (const v of valuesAt(raw, extraction)) {
      found.push(indicator(extraction.type, v, extraction.sourceField as string));
    }
  }
  return collectIndicators(found);
}

function validate(payload: unknown): ValidationResult {
  if (!isRecord(payload)) {
    return result([notAnObject('An Elastic alert', payload)]);
  }
  const raw = alertDocument(payload);
  if (firstStr(raw, [...RULE_NAME, ...RULE_UUID]) === undefined) {
    return result([
      {
        path: 'kibana.alert.rule.name',
        message:
          'Elastic alerts need kibana.alert.rule.name or kibana.alert.rule.uuid (8.x), or signal.rule.name or ' +
          'signal.rule.id (7.x), flat or nested keys',
      },
    ]);
  }
  return result([]);
}

/** The alert severity, else the rule's, else the risk score on Elastic's documented bands. */
function severity(raw: unknown) {
  return pickSeverity(
    normalizeSeverity(getPath(raw, 'kibana.alert.severity')),
    ...RULE_SEVERITY.map((path) => normalizeSeverity(getPath(raw, path))),
    ...RISK_SCORE.map((path) => normalizeSeverity(getPath(raw, path), { scale: 'risk_score' })),
  );
}

function normalize(payload: unknown): NormalizedAlertInput {
  const raw = alertDocument(payload);
  const title = firstStr(raw, [...RULE_NAME, ...REASON]) ?? 'Untitled Elastic Alert';
  const reason = firstStr(raw, REASON);
  let description = firstStr(raw, RULE_DESCRIPTION) ?? reason;
  if (description === title) {
    description = reason;
  }
  const tagsValue = getPath(raw, 'kibana.alert.rule.tags') ?? getPath(raw, 'signal.rule.tags');
  const tags = Array.isArray(tagsValue) ? tagsValue.map(str).filter((t): t is string => t !== undefined) : [];
  const m = mitre(raw);
  const facts = new Facts().pickAll(raw, FACTS);
  const sev = severity(raw);
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
    severity: sev.severity,
    ...severityFlags(sev),
    occurred_at:
      parseTimestamp(getPath(raw, 'kibana.alert.start')) ??
      // Security alerts before 8.x added kibana.alert.start carry the source event's time here, as 7.x did.
      parseTimestamp(getPath(raw, 'kibana.alert.original_time')) ??
      parseTimestamp(getPath(raw, 'signal.original_time')) ??
      parseTimestamp(getPath(raw, '@timestamp')),
    source_name: NAME,
    description: description ?? null,
    ...indicatorFields({
      src_ip: firstText(raw, ['source.ip']),
      dst_ip: firstText(raw, ['destination.ip']),
      src_hostname: firstText(raw, ['source.domain', 'host.hostname']),
      dst_hostname: firstText(raw, ['destination.domain']),
      // The alert's own binary first; a placeholder (`"fake md5"`) is skipped, never copied into a field.
      file_hash_sha256: firstValid(raw, 'hash_sha256', [
        'process.hash.sha256',
        'file.hash.sha256',
        'threat.indicator.file.hash.sha256',
      ]),
      file_hash_sha1: firstValid(raw, 'hash_sha1', ['process.hash.sha1', 'file.hash.sha1']),
      file_hash_md5: firstValid(raw, 'hash_md5', ['process.hash.md5', 'file.hash.md5']),
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

function detectionRule(payload: unknown): DetectionRuleRef | null {
  const raw = alertDocument(payload);
  const m = mitre(raw);
  return detectionRuleRef({
    source_rule_id: firstStr(raw, RULE_UUID),
    name: firstStr(raw, RULE_NAME),
    severity: firstStr(raw, [...RULE_SEVERITY, 'kibana.alert.severity']),
    description: firstStr(raw, RULE_DESCRIPTION),
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
  documentedExtractions: EXTRACTIONS.map(({ path, type, description, each }) => ({
    field_path: each === undefined ? path : `${each}[].${path}`,
    indicator_type: type,
    description,
  })),
});

/**
 * Splunk alert webhooks: the envelope `{search_name, sid, app, owner, results_link, result: {...}}` sent by
 * the Splunk webhook alert action (and by Enterprise Security notables), `result` being the first result row.
 */

import type { ExtractedIndicator, IndicatorType, PayloadIssue, ValidationResult } from '@calseta/plugin-sdk';
import {
  COMMON_SEVERITIES,
  collectIndicators,
  defineAlertSource,
  detectionRuleRef,
  indicator,
  isRecord,
  mapSeverity,
  parseTimestamp,
  sharedSecretHeader,
  str,
} from '@calseta/plugin-sdk';
import type { DetectionRuleRef, NormalizedAlertInput } from '@calseta/schema';
import { Facts, indicatorFields, notAnObject, result, severityTable, text, textValues } from './shared.js';

const NAME = 'splunk';
const SECRET_HEADER = 'x-splunk-webhook-secret';
/** `_raw` is copied to `extra.raw_event` up to this many characters (`raw_payload` keeps all of it). */
const MAX_RAW_EVENT = 2000;

const SEVERITY = severityTable(COMMON_SEVERITIES);

/** Pass-1 fields of `result`, in extraction order. `src`/`dest` only count when `src_ip`/`dest_ip` are empty. */
const EXTRACTIONS: ReadonlyArray<{ field: string; type: IndicatorType; description: string }> = [
  { field: 'src_ip', type: 'ip', description: 'Source IP address' },
  { field: 'dest_ip', type: 'ip', description: 'Destination IP address' },
  { field: 'src', type: 'ip', description: 'Source (CIM), used only when src_ip is empty' },
  { field: 'dest', type: 'ip', description: 'Destination (CIM), used only when dest_ip is empty' },
  { field: 'user', type: 'account', description: 'User' },
  { field: 'sha256', type: 'hash_sha256', description: 'SHA-256 hash' },
  { field: 'md5', type: 'hash_md5', description: 'MD5 hash' },
  { field: 'sha1', type: 'hash_sha1', description: 'SHA-1 hash' },
  { field: 'url', type: 'url', description: 'URL' },
  { field: 'domain', type: 'domain', description: 'Domain' },
];

/**
 * `result` fields copied to `extra` under the same name: CIM fields an investigator reads first. Besides
 * these, every field whose name looks like a count, size, duration or port is kept (see COUNT_LIKE).
 */
const RESULT_FACTS = [
  'action',
  'app',
  'protocol',
  'transport',
  'category',
  'status',
  'priority',
  'src_host',
  'dest_host',
  'src_nt_host',
  'dest_nt_host',
  'src_dns',
  'dest_dns',
  'src_zone',
  'dest_zone',
  'src_user',
  'dest_user',
  'user_email',
  'process',
  'process_name',
  'process_id',
  'parent_process',
  'parent_process_name',
  'file_name',
  'file_path',
  'signature_id',
  'vendor_product',
  'dvc',
  'dvc_ip',
  'session_id',
  'event_id',
  'notable_event_id',
  'threat_category',
  'kill_chain_phase',
  'tag',
  'risk_object',
  'risk_object_type',
  'drilldown_search',
  'info_min_time',
  'info_max_time',
] as const;

/** Field names holding counts, volumes, durations or ports (`count`, `bytes_out`, `dest_port`, `risk_score`…). */
const COUNT_LIKE = /(^|_)(count|bytes|packets|duration|attempts|failures|total|port|score)s?($|_)/i;

/** CIM's placeholders for "no value"; never reported as a normalized indicator field. */
const PLACEHOLDERS = new Set(['unknown', '-', 'n/a']);

function resultOf(raw: unknown): Record<string, unknown> {
  return isRecord(raw) && isRecord(raw.result) ? raw.result : {};
}

/** First real value of `fields` in `result` (first member of a multivalue field; CIM placeholders skipped). */
function field(r: Record<string, unknown>, ...fields: string[]): string | undefined {
  for (const name of fields) {
    const value = textValues(r[name]).find((v) => !PLACEHOLDERS.has(v.toLowerCase()));
    if (value !== undefined) {
      return value;
    }
  }
  return undefined;
}

function extractIndicators(raw: unknown): ExtractedIndicator[] {
  const r = resultOf(raw);
  const found: Array<ExtractedIndicator | null> = [];
  for (const { field: name, type } of EXTRACTIONS) {
    if (name === 'src' && r.src_ip) {
      continue;
    }
    if (name === 'dest' && r.dest_ip) {
      continue;
    }
    found.push(indicator(type, text(r[name]), `result.${name}`));
  }
  return collectIndicators(found);
}

function validate(raw: unknown): ValidationResult {
  if (!isRecord(raw)) {
    return result([notAnObject('A Splunk webhook', raw)]);
  }
  const issues: PayloadIssue[] = [];
  if (!isRecord(raw.result)) {
    issues.push({ path: 'result', message: 'Splunk webhooks need a result object (the alert result row)' });
  }
  if (str(raw.search_name) === undefined && str(raw.sid) === undefined) {
    issues.push({ path: 'search_name', message: 'Splunk webhooks need search_name or sid' });
  }
  return result(issues);
}

function extra(raw: unknown, r: Record<string, unknown>): Record<string, unknown> {
  const envelope = isRecord(raw) ? raw : {};
  const facts = new Facts()
    .set('sid', envelope.sid)
    .set('search_name', envelope.search_name)
    .set('splunk_app', envelope.app)
    .set('search_owner', envelope.owner)
    .set('results_link', envelope.results_link)
    .set('server_host', envelope.server_host);
  for (const name of RESULT_FACTS) {
    facts.set(name, r[name]);
  }
  for (const [name, value] of Object.entries(r)) {
    const key = name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '');
    if (!name.startsWith('_') && key !== '' && COUNT_LIKE.test(key)) {
      facts.set(key, value);
    }
  }
  facts
    .set('first_time', r.firstTime ?? r.first_time)
    .set('last_time', r.lastTime ?? r.last_time)
    .set('mitre_tactics', textValues(r.mitre_attack_tactic))
    .set('mitre_techniques', textValues(r.mitre_attack_technique ?? r.mitre_attack_id))
    .set('mitre_technique_names', textValues(r.mitre_attack_technique_name));
  const rawEvent = typeof r._raw === 'string' ? r._raw : undefined;
  if (rawEvent !== undefined) {
    facts.set('raw_event', rawEvent.length > MAX_RAW_EVENT ? `${rawEvent.slice(0, MAX_RAW_EVENT)}…` : rawEvent);
  }
  return facts.toObject();
}

function normalize(raw: unknown): NormalizedAlertInput {
  const r = resultOf(raw);
  const envelope = isRecord(raw) ? raw : {};
  const title = str(r.rule_name) ?? str(r.signature) ?? str(envelope.search_name) ?? 'Untitled Splunk Alert';
  let description = str(r.signature) ?? str(r.search_name);
  if (description !== undefined && description === title) {
    description = str(r._raw) ?? description;
  }
  return {
    title,
    severity: mapSeverity(str(r.urgency) ?? str(r.severity) ?? 'low', SEVERITY),
    occurred_at: parseTimestamp(r._time),
    source_name: NAME,
    description: description ?? null,
    ...indicatorFields({
      src_ip: field(r, 'src_ip', 'src'),
      dst_ip: field(r, 'dest_ip', 'dest'),
      src_hostname: field(r, 'src_dns', 'src_host', 'src_nt_host'),
      dst_hostname: field(r, 'dest_dns', 'dest_host', 'dest_nt_host'),
      file_hash_sha256: field(r, 'sha256', 'file_hash'),
      file_hash_sha1: field(r, 'sha1'),
      file_hash_md5: field(r, 'md5'),
      actor_username: field(r, 'user'),
      actor_email: field(r, 'user_email'),
      http_url: field(r, 'url'),
      http_hostname: field(r, 'url_domain', 'site'),
      email_from: field(r, 'sender'),
      email_reply_to: field(r, 'reply_to'),
    }),
    tags: [],
    extra: extra(raw, r),
  };
}

function detectionRule(raw: unknown): DetectionRuleRef | null {
  const r = resultOf(raw);
  const envelope = isRecord(raw) ? raw : {};
  const id = str(r.rule_name) ?? str(envelope.search_name);
  return detectionRuleRef({
    source_rule_id: id,
    name: id,
    severity: str(r.severity) ?? str(r.urgency),
    description: str(r.rule_description),
    mitre_tactics: textValues(r.mitre_attack_tactic),
    mitre_techniques: textValues(r.mitre_attack_technique ?? r.mitre_attack_id),
  });
}

export const splunkSource = defineAlertSource({
  name: NAME,
  displayName: 'Splunk',
  validate,
  normalize,
  extractIndicators,
  detectionRule,
  /** A shared bearer secret in `X-Splunk-Webhook-Secret` (Splunk's webhook action cannot sign bodies). */
  verifySignature: sharedSecretHeader(SECRET_HEADER),
  documentedExtractions: EXTRACTIONS.map(({ field: name, type, description }) => ({
    field_path: `result.${name}`,
    indicator_type: type,
    description,
  })),
});

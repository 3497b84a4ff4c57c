/**
 * Splunk alert webhooks: the envelope `{search_name, sid, app, owner, results_link, result: {...}}` sent by
 * the Splunk webhook alert action (and by Enterprise Security notables), `result` being the first result row.
 * As Splunk documents it, `search_name` may be null (ad-hoc searches), `result` values are strings (counts
 * included), a multi-value field arrives as an array and an empty field as `""`. `results_link` and
 * `server_uri` point at the Splunk UI: they are context, never indicators.
 */

import { isIP } from 'node:net';
import type { ExtractedIndicator, IndicatorType, PayloadIssue, ValidationResult } from '@calseta/plugin-sdk';
import {
  collectIndicators,
  defineAlertSource,
  detectionRuleRef,
  indicator,
  isDomainName,
  isRecord,
  normalizeSeverity,
  parseTimestamp,
  pickSeverity,
  sharedSecretHeader,
  str,
} from '@calseta/plugin-sdk';
import type { DetectionRuleRef, NormalizedAlertInput } from '@calseta/schema';
import { Facts, hashType, indicatorFields, notAnObject, result, textValues } from './shared.js';

const NAME = 'splunk';
const SECRET_HEADER = 'x-splunk-webhook-secret';
/** `_raw` is copied to `extra.raw_event` up to this many characters (`raw_payload` keeps all of it). */
const MAX_RAW_EVENT = 2000;

/**
 * How a `result` field's value becomes an indicator: a fixed type, or `host` (CIM `src`/`dest`: an IP, or
 * a DNS name with a dot; a bare host name is not an indicator) or `hash` (CIM `file_hash`: typed by length).
 */
type Kind = IndicatorType | 'host' | 'hash';

/**
 * Pass-1 fields of `result`, in extraction order; every member of a multi-value field counts. `src`/`dest`
 * only count when `src_ip`/`dest_ip` are empty.
 */
const EXTRACTIONS: ReadonlyArray<{ field: string; kind: Kind; type: IndicatorType; description: string }> = [
  { field: 'src_ip', kind: 'ip', type: 'ip', description: 'Source IP address' },
  { field: 'dest_ip', kind: 'ip', type: 'ip', description: 'Destination IP address' },
  { field: 'src', kind: 'host', type: 'ip', description: 'Source (CIM), IP or DNS name, when src_ip is empty' },
  { field: 'dest', kind: 'host', type: 'ip', description: 'Destination (CIM), IP or DNS name, when dest_ip is empty' },
  { field: 'user', kind: 'account', type: 'account', description: 'User' },
  { field: 'src_user', kind: 'account', type: 'account', description: 'Source user (CIM)' },
  { field: 'sha256', kind: 'hash_sha256', type: 'hash_sha256', description: 'SHA-256 hash' },
  { field: 'md5', kind: 'hash_md5', type: 'hash_md5', description: 'MD5 hash' },
  { field: 'sha1', kind: 'hash_sha1', type: 'hash_sha1', description: 'SHA-1 hash' },
  { field: 'file_hash', kind: 'hash', type: 'hash_sha256', description: 'File hash (CIM), typed by its length' },
  { field: 'url', kind: 'url', type: 'url', description: 'URL' },
  { field: 'domain', kind: 'domain', type: 'domain', description: 'Domain' },
  { field: 'url_domain', kind: 'domain', type: 'domain', description: 'URL domain (CIM Web)' },
  { field: 'query', kind: 'domain', type: 'domain', description: 'DNS query (CIM Network Resolution)' },
  { field: 'sender', kind: 'email', type: 'email', description: 'Email sender (CIM Email)' },
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
  'security_domain',
  'rule_name',
  'orig_sid',
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

/** The real values of a `result` field: every member of a multi-value field, blanks and CIM placeholders left out. */
function values(r: Record<string, unknown>, name: string): string[] {
  return textValues(r[name]).filter((v) => !PLACEHOLDERS.has(v.toLowerCase()));
}

/** First real value of `fields` in `result` (first member of a multivalue field; CIM placeholders skipped). */
function field(r: Record<string, unknown>, ...fields: string[]): string | undefined {
  for (const name of fields) {
    const value = values(r, name)[0];
    if (value !== undefined) {
      return value;
    }
  }
  return undefined;
}

/** First value of `name` in `result` that reads as an IP (CIM `src`/`dest` may hold host names). */
function ipField(r: Record<string, unknown>, ...fields: string[]): string | undefined {
  return fields.flatMap((name) => values(r, name)).find((v) => isIP(v) !== 0);
}

/**
 * The title: ES's per-notable `rule_title`, the rule name, the signature, the saved search; for an ad-hoc
 * search (`search_name` null, as Splunk documents) the app and owner say where it came from.
 */
function titleOf(envelope: Record<string, unknown>, r: Record<string, unknown>): string {
  const named = field(r, 'rule_title', 'rule_name', 'signature') ?? str(envelope.search_name);
  if (named !== undefined) {
    return named;
  }
  const where = [str(envelope.app) && `app ${str(envelope.app)}`, str(envelope.owner) && `owner ${str(envelope.owner)}`]
    .filter(Boolean)
    .join(', ');
  return where === '' ? 'Splunk alert' : `Splunk alert (${where})`;
}

/**
 * ES urgency (what Incident Review sorts by), then the result's severity (words, or Splunk's 1–6 scale).
 * A webhook carrying neither is Low, as the reference maps it.
 */
function severityOf(r: Record<string, unknown>) {
  const read = pickSeverity(normalizeSeverity(r.urgency), normalizeSeverity(r.severity, { scale: 'splunk' }));
  return {
    severity: read.status === 'absent' ? ('Low' as const) : read.severity,
    severity_raw: read.raw,
    severity_unmapped: read.status === 'unmapped',
  };
}

/** The indicator type of a value of a `host` or `hash` field, or undefined when it is neither. */
function typeOf(kind: Kind, value: string): IndicatorType | undefined {
  if (kind === 'host') {
    return isIP(value) !== 0 ? 'ip' : isDomainName(value) ? 'domain' : undefined;
  }
  if (kind === 'hash') {
    return hashType(value);
  }
  return kind;
}

function extractIndicators(raw: unknown): ExtractedIndicator[] {
  const r = resultOf(raw);
  const found: Array<ExtractedIndicator | null> = [];
  for (const { field: name, kind } of EXTRACTIONS) {
    if ((name === 'src' && field(r, 'src_ip')) || (name === 'dest' && field(r, 'dest_ip'))) {
      continue;
    }
    for (const value of values(r, name)) {
      const type = typeOf(kind, value);
      if (type !== undefined) {
        found.push(indicator(type, value, `result.${name}`));
      }
    }
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
    .set('server_host', envelope.server_host)
    .set('server_uri', envelope.server_uri);
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
  const title = titleOf(envelope, r);
  let description = field(r, 'signature', 'rule_description', 'search_name');
  if (description !== undefined && description === title) {
    description = field(r, '_raw') ?? description;
  }
  const fileHash = field(r, 'file_hash');
  const fileHashType = fileHash === undefined ? undefined : hashType(fileHash);
  return {
    title,
    ...severityOf(r),
    // An ES notable's _time is when the correlation search wrote it; orig_time is the event it found.
    occurred_at: parseTimestamp(field(r, 'orig_time')) ?? parseTimestamp(Array.isArray(r._time) ? r._time[0] : r._time),
    source_name: NAME,
    description: description ?? null,
    ...indicatorFields({
      src_ip: ipField(r, 'src_ip', 'src'),
      dst_ip: ipField(r, 'dest_ip', 'dest'),
      src_hostname: field(r, 'src_dns', 'src_host', 'src_nt_host'),
      dst_hostname: field(r, 'dest_dns', 'dest_host', 'dest_nt_host'),
      file_hash_sha256: field(r, 'sha256') ?? (fileHashType === 'hash_sha256' ? fileHash : undefined),
      file_hash_sha1: field(r, 'sha1') ?? (fileHashType === 'hash_sha1' ? fileHash : undefined),
      file_hash_md5: field(r, 'md5') ?? (fileHashType === 'hash_md5' ? fileHash : undefined),
      actor_username: field(r, 'user', 'src_user'),
      actor_email: field(r, 'user_email'),
      dns_query: field(r, 'query'),
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
  const id = field(r, 'rule_name') ?? str(envelope.search_name);
  return detectionRuleRef({
    source_rule_id: id,
    name: id,
    severity: field(r, 'severity', 'urgency'),
    description: field(r, 'rule_description'),
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

/**
 * Palo Alto Networks Cortex XDR as an alert source (docs/integrations/cortex-xdr). Two shapes arrive:
 *
 * - an **alert** as `POST /public_api/v1/alerts/get_alerts_multi_events` returns it (and as XSOAR or a
 *   forwarding playbook posts it): `{ alert_id, name, severity, detection_timestamp, host_ip,
 *   host_name, user_name, events: [{ action_remote_ip, actor_process_image_sha256, … }], … }`;
 * - an **incident** as `POST /public_api/v1/incidents/get_incident_extra_data` returns it:
 *   `{ incident: { incident_id, incident_name, severity, creation_time, hosts, users, … },
 *   alerts: { data: [alert…] } }` (the bare incident object is accepted too).
 *
 * Incident indicators come from its alerts; its severity and time from the incident itself.
 * A Cortex platform **issue** (`{ issue_id, issue_name, agent_hostname, agent_ip_addresses, … }`) is read as an alert.
 */
import {
  type AlertSeverity,
  COMMON_SEVERITIES,
  collectIndicators,
  defineAlertSource,
  detectionRuleRef,
  type ExtractedIndicator,
  getPath,
  hmacSignature,
  type IndicatorType,
  indicator,
  isRecord,
  mapSeverity,
  type NormalizedAlertInput,
  parseTimestamp,
  str,
  strings,
  type ValidationResult,
} from '@calseta/plugin-sdk';

const NAME = 'cortex_xdr';

/** XDR severities: `low`…`critical`, `informational`, and the API's `SEV_0x0_*` spellings. */
export function xdrSeverity(value: unknown): AlertSeverity {
  const text = str(value)?.toLowerCase();
  const sev = text?.match(/^sev_\d+_(\w+)$/)?.[1] ?? text;
  return mapSeverity(sev, { ...COMMON_SEVERITIES, unknown: 'Pending' });
}

type Shape =
  | { kind: 'alert'; alert: Record<string, unknown> }
  | {
      kind: 'incident';
      incident: Record<string, unknown>;
      alerts: Record<string, unknown>[];
      /** Where `file_artifacts` / `network_artifacts` sit (`get_incident_extra_data`). */
      artifacts: Record<string, unknown>;
    };

/**
 * The Cortex platform's **issue** (`core-get-issues`, the public API's issue search, which replaces alerts
 * there) under the alert names the rest of this source reads; an alert's own key wins.
 */
const ISSUE_KEYS: ReadonlyArray<readonly [issue: string, alert: string]> = [
  ['issue_id', 'alert_id'],
  ['issue_name', 'name'],
  ['issue_description', 'description'],
  ['issue_category', 'category'],
  ['agent_hostname', 'host_name'],
  ['agent_ip_addresses', 'host_ip'],
  ['source_insert_ts', 'local_insert_ts'],
  ['issue_action_status_readable', 'action_pretty'],
];

function issueAsAlert(issue: Record<string, unknown>): Record<string, unknown> {
  const alert: Record<string, unknown> = { ...issue };
  for (const [from, to] of ISSUE_KEYS)
    if (alert[to] === undefined && issue[from] !== undefined) alert[to] = issue[from];
  return alert;
}

function shapeOf(payload: unknown): Shape | null {
  if (!isRecord(payload)) return null;
  // The API's own envelope, when a relay posts the response as it came: `{ reply: { incident, alerts, … } }`.
  const raw = isRecord(payload.reply) ? payload.reply : payload;
  if (str(raw.issue_id) !== undefined && str(raw.alert_id) === undefined) {
    return { kind: 'alert', alert: issueAsAlert(raw) };
  }
  if (isRecord(raw.incident)) {
    const data = getPath(raw, 'alerts.data');
    const alerts = (Array.isArray(data) ? data : Array.isArray(raw.alerts) ? raw.alerts : []).filter(isRecord);
    return { kind: 'incident', incident: raw.incident, alerts, artifacts: raw };
  }
  if (str(raw.incident_id) !== undefined && str(raw.alert_id) === undefined)
    return { kind: 'incident', incident: raw, alerts: [], artifacts: raw };
  if (str(raw.alert_id) !== undefined) return { kind: 'alert', alert: raw };
  return null;
}

function validate(raw: unknown): ValidationResult {
  if (!isRecord(raw))
    return { ok: false, issues: [{ path: '', message: 'expected a Cortex XDR alert or incident object' }] };
  const shape = shapeOf(raw);
  if (shape === null) {
    return {
      ok: false,
      issues: [{ path: 'alert_id', message: 'an alert needs alert_id, an incident needs incident.incident_id' }],
    };
  }
  if (shape.kind === 'incident') {
    if (str(shape.incident.incident_id) === undefined) {
      return { ok: false, issues: [{ path: 'incident.incident_id', message: 'the incident has no incident_id' }] };
    }
    return { ok: true };
  }
  if (str(shape.alert.name) === undefined && str(shape.alert.description) === undefined) {
    return { ok: false, issues: [{ path: 'name', message: 'the alert has no name or description' }] };
  }
  return { ok: true };
}

/** `T1059.001 - Command and Scripting Interpreter: PowerShell` → `T1059.001`. */
function mitreIds(value: unknown): string[] {
  return strings(Array.isArray(value) ? value : [value])
    .map((v) => v.split(/\s+-\s+/)[0]?.trim() ?? '')
    .filter((v) => /^T[AS]?\d{4}(\.\d{3})?$/.test(v));
}

function events(alert: Record<string, unknown>): Record<string, unknown>[] {
  return Array.isArray(alert.events) ? alert.events.filter(isRecord) : [];
}

/** The alert itself first: `get_incident_extra_data` alerts carry the event fields flat, without `events[]`. */
function firstEvent(alert: Record<string, unknown>, key: string): string | undefined {
  for (const event of [alert, ...events(alert)]) {
    const value = str(event[key]);
    if (value !== undefined) return value;
  }
  return undefined;
}

function alertFields(alert: Record<string, unknown>): Partial<NormalizedAlertInput> {
  const fields: Partial<NormalizedAlertInput> = {
    src_ip: strings(alert.host_ip)[0],
    src_hostname: str(alert.host_name),
    actor_username: strings(alert.user_name)[0] ?? firstEvent(alert, 'user_name'),
    dst_ip: firstEvent(alert, 'action_remote_ip'),
    file_hash_sha256: firstEvent(alert, 'action_file_sha256') ?? firstEvent(alert, 'actor_process_image_sha256'),
    file_hash_md5: firstEvent(alert, 'action_file_md5') ?? firstEvent(alert, 'actor_process_image_md5'),
    dns_query: firstEvent(alert, 'dns_query_name'),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

function normalize(raw: unknown): NormalizedAlertInput {
  const shape = shapeOf(raw);
  if (shape === null) return { title: 'Cortex XDR payload', severity: 'Pending', occurred_at: null, source_name: NAME };
  if (shape.kind === 'alert') {
    const a = shape.alert;
    const host = str(a.host_name);
    const name = str(a.name) ?? str(a.description) ?? 'Cortex XDR alert';
    const extra: Record<string, unknown> = {};
    for (const key of [
      'alert_id',
      'category',
      'source',
      'action_pretty',
      'case_id',
      'agent_os_type',
      'resolution_status',
    ]) {
      const value = str(a[key]);
      if (value !== undefined) extra[key] = value;
    }
    const cmd = firstEvent(a, 'actor_process_command_line');
    if (cmd !== undefined) extra.command_line = cmd;
    const process = firstEvent(a, 'actor_process_image_name');
    if (process !== undefined) extra.process_name = process;
    return {
      title: host ? `${name} on ${host}` : name,
      severity: xdrSeverity(a.severity),
      occurred_at: parseTimestamp(a.detection_timestamp ?? a.local_insert_ts),
      source_name: NAME,
      description: str(a.description) ?? null,
      tags: ['cortex-xdr', ...strings(a.category), ...mitreIds(a.mitre_technique_id_and_name)],
      extra,
      ...alertFields(a),
    };
  }
  const i = shape.incident;
  const first = shape.alerts[0];
  const extra: Record<string, unknown> = {};
  for (const key of ['incident_id', 'status', 'xdr_url', 'assigned_user_mail', 'alert_count', 'rule_based_score']) {
    if (i[key] !== undefined && i[key] !== null) extra[key] = i[key];
  }
  const hosts = strings(i.hosts).map((h) => h.split(':')[0] ?? h);
  if (hosts.length > 0) extra.hosts = hosts;
  const alert: NormalizedAlertInput = {
    title: str(i.incident_name) ?? str(i.description) ?? `Cortex XDR incident ${str(i.incident_id) ?? ''}`.trim(),
    severity: xdrSeverity(i.severity),
    occurred_at: parseTimestamp(i.detection_time ?? i.creation_time),
    source_name: NAME,
    description: str(i.description) ?? null,
    tags: ['cortex-xdr', 'incident', ...strings(i.alert_categories), ...mitreIds(i.mitre_techniques_ids_and_names)],
    extra,
    ...(first ? alertFields(first) : {}),
  };
  if (alert.actor_username === undefined && strings(i.users)[0] !== undefined)
    alert.actor_username = strings(i.users)[0];
  if (alert.src_hostname === undefined && hosts[0] !== undefined) alert.src_hostname = hosts[0];
  return alert;
}

/** Indicator-bearing fields of an alert and of each of its events. */
const ALERT_FIELDS: ReadonlyArray<{ key: string; type: IndicatorType; description: string }> = [
  { key: 'host_ip', type: 'ip', description: 'IP address(es) of the endpoint' },
  { key: 'host_name', type: 'domain', description: 'Endpoint host name' },
  { key: 'user_name', type: 'account', description: 'User on the endpoint' },
];
const EVENT_FIELDS: ReadonlyArray<{ key: string; type: IndicatorType; description: string }> = [
  { key: 'action_remote_ip', type: 'ip', description: 'Remote IP of a network connection' },
  { key: 'action_local_ip', type: 'ip', description: 'Local IP of a network connection' },
  { key: 'action_file_sha256', type: 'hash_sha256', description: 'SHA-256 of the file acted on' },
  { key: 'action_file_md5', type: 'hash_md5', description: 'MD5 of the file acted on' },
  { key: 'actor_process_image_sha256', type: 'hash_sha256', description: 'SHA-256 of the acting process image' },
  { key: 'actor_process_image_md5', type: 'hash_md5', description: 'MD5 of the acting process image' },
  {
    key: 'causality_actor_process_image_sha256',
    type: 'hash_sha256',
    description: 'SHA-256 of the causality group owner',
  },
  { key: 'user_name', type: 'account', description: 'User of the event (alerts often leave their own user_name null)' },
  { key: 'actor_effective_username', type: 'account', description: 'User the acting process ran as' },
  { key: 'dns_query_name', type: 'domain', description: 'Domain queried' },
  { key: 'action_external_hostname', type: 'domain', description: 'External host name of a connection' },
  { key: 'fw_url_domain', type: 'domain', description: 'Domain of a URL seen by the firewall' },
];

function alertIndicators(alert: Record<string, unknown>, prefix: string): Array<ExtractedIndicator | null> {
  const found: Array<ExtractedIndicator | null> = [];
  for (const { key, type } of ALERT_FIELDS) {
    for (const [n, value] of strings(alert[key]).entries()) {
      found.push(indicator(type, value, Array.isArray(alert[key]) ? `${prefix}${key}.${n}` : `${prefix}${key}`));
    }
  }
  for (const { key, type } of EVENT_FIELDS) found.push(indicator(type, alert[key], `${prefix}${key}`));
  for (const [e, event] of events(alert).entries()) {
    for (const { key, type } of EVENT_FIELDS) found.push(indicator(type, event[key], `${prefix}events.${e}.${key}`));
  }
  return found;
}

/** An incident's artifacts: the files and network peers its alerts involve, as Cortex lists them. */
const ARTIFACT_FIELDS: ReadonlyArray<{ list: string; key: string; type: IndicatorType; description: string }> = [
  { list: 'file_artifacts', key: 'file_sha256', type: 'hash_sha256', description: 'SHA-256 of a file artifact' },
  { list: 'network_artifacts', key: 'network_remote_ip', type: 'ip', description: 'Remote IP of a network artifact' },
  { list: 'network_artifacts', key: 'network_domain', type: 'domain', description: 'Domain of a network artifact' },
];

function artifactIndicators(root: Record<string, unknown>): Array<ExtractedIndicator | null> {
  return ARTIFACT_FIELDS.flatMap(({ list, key, type }) => {
    const data = getPath(root, `${list}.data`);
    return (Array.isArray(data) ? data : []).map((item, n) =>
      indicator(type, isRecord(item) ? item[key] : undefined, `${list}.data.${n}.${key}`),
    );
  });
}

function extractIndicators(raw: unknown): ExtractedIndicator[] {
  const shape = shapeOf(raw);
  if (shape === null) return [];
  if (shape.kind === 'alert') return collectIndicators(alertIndicators(shape.alert, ''));
  const found = [
    ...shape.alerts.flatMap((a, n) => alertIndicators(a, `alerts.data.${n}.`)),
    ...artifactIndicators(shape.artifacts),
  ];
  for (const [n, user] of strings(shape.incident.users).entries())
    found.push(indicator('account', user, `incident.users.${n}`));
  return collectIndicators(found);
}

export const cortexXdrSource = defineAlertSource({
  name: NAME,
  displayName: 'Palo Alto Networks Cortex XDR',
  validate,
  normalize,
  extractIndicators,
  detectionRule: (raw) => {
    const shape = shapeOf(raw);
    if (shape?.kind !== 'alert') return null;
    const a = shape.alert;
    return detectionRuleRef({
      // BIOC / correlation rules carry a rule id; agent detections are identified by their name.
      source_rule_id: str(a.matching_service_rule_id) ?? str(a.rule_id) ?? str(a.name),
      name: str(a.name),
      severity: str(a.severity),
      description: str(a.description),
      mitre_tactics: mitreIds(a.mitre_tactic_id_and_name),
      mitre_techniques: mitreIds(a.mitre_technique_id_and_name),
    });
  },
  // A forwarding playbook or webhook relay signs the body: hex HMAC-SHA256 of the raw body.
  verifySignature: hmacSignature('x-xdr-signature'),
  documentedExtractions: [
    ...ALERT_FIELDS.map(({ key, type, description }) => ({ field_path: key, indicator_type: type, description })),
    ...EVENT_FIELDS.map(({ key, type, description }) => ({
      field_path: `events.*.${key}`,
      indicator_type: type,
      description,
    })),
    { field_path: 'incident.users', indicator_type: 'account', description: 'Users involved in an incident' },
    ...ARTIFACT_FIELDS.map(({ list, key, type, description }) => ({
      field_path: `${list}.data.*.${key}`,
      indicator_type: type,
      description,
    })),
  ],
});

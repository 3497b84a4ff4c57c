/**
 * CrowdStrike Falcon detections as an alert source. Two shapes arrive (docs/integrations/crowdstrike-falcon):
 *
 * - **Event Streams** events `{ metadata: { eventType, eventCreationTime, … }, event: { … } }` with
 *   `eventType` `DetectionSummaryEvent` (legacy detections) or `EppDetectionSummaryEvent` (Alerts
 *   era), as a streaming consumer or a Falcon Fusion webhook forwards them;
 * - **Alerts API v2** entities (`POST /alerts/entities/alerts/v2`): `{ composite_id, device: {…}, … }`.
 *
 * Both are read through one table of candidate paths per fact, so either shape (and the variants of
 * field spelling Falcon has used) normalizes the same way.
 */
import {
  type AlertSeverity,
  collectIndicators,
  defineAlertSource,
  detectionRuleRef,
  type ExtractedIndicator,
  firstPath,
  getPath,
  type IndicatorType,
  indicator,
  isRecord,
  mapSeverity,
  type NormalizedAlertInput,
  type PayloadIssue,
  parseTimestamp,
  sharedSecretHeader,
  str,
  strings,
  type ValidationResult,
} from '@calseta/plugin-sdk';

const NAME = 'crowdstrike_falcon';
// Identity Protection detections (Idp…) name the accounts and endpoints of a logon instead of a process;
// Insight XDR detections (Xdr…) carry comma-joined SHA256Hashes and plural Tactics/Techniques.
const DETECTION_EVENTS = new Set([
  'DetectionSummaryEvent',
  'EppDetectionSummaryEvent',
  'IdpDetectionSummaryEvent',
  'XdrDetectionSummaryEvent',
]);

/** Candidate paths of each fact: Event Streams (`event.*`) first, then Alerts API v2. */
const PATHS = {
  id: ['event.CompositeId', 'event.DetectId', 'composite_id', 'id'],
  name: ['event.DetectName', 'event.Name', 'name', 'display_name'],
  description: ['event.DetectDescription', 'event.Description', 'description'],
  severityName: ['event.SeverityName', 'severity_name'],
  severity: ['event.Severity', 'severity'],
  time: [
    'event.ProcessStartTime',
    'event.StartTime',
    'event.StartTimeEpoch',
    'metadata.eventCreationTime',
    'timestamp',
    'created_timestamp',
  ],
  hostname: ['event.ComputerName', 'event.Hostname', 'event.SourceEndpointHostName', 'device.hostname'],
  targetHostname: ['event.TargetEndpointHostName'],
  localIp: ['event.LocalIP', 'event.LocalIPv4', 'event.SourceEndpointIpAddress', 'device.local_ip'],
  externalIp: ['event.ExternalIP', 'device.external_ip'],
  user: ['event.UserName', 'event.SourceAccountUpn', 'event.SourceAccountName', 'user_name'],
  sha256: ['event.SHA256String', 'sha256'],
  md5: ['event.MD5String', 'md5'],
  sha1: ['event.SHA1String', 'sha1'],
  fileName: ['event.FileName', 'filename'],
  filePath: ['event.FilePath', 'filepath'],
  commandLine: ['event.CommandLine', 'cmdline'],
  tactic: ['event.Tactic', 'event.Tactics', 'tactic'],
  tacticId: ['event.TacticId', 'event.TacticIds', 'tactic_id'],
  technique: ['event.Technique', 'event.Techniques', 'technique'],
  techniqueId: ['event.TechniqueId', 'event.TechniqueIds', 'technique_id'],
  patternId: ['event.PatternId', 'pattern_id'],
  link: ['event.FalconHostLink', 'falcon_host_link'],
  action: ['event.PatternDispositionDescription', 'pattern_disposition_description'],
  sensorId: ['event.SensorId', 'device.device_id', 'agent_id'],
  platform: ['event.Platform', 'device.platform_name', 'platform'],
  parentCommandLine: ['event.ParentCommandLine', 'parent_details.cmdline'],
  parentProcess: ['event.ParentImageFileName', 'parent_details.filename'],
  objective: ['event.Objective', 'objective'],
} as const satisfies Record<string, readonly string[]>;

function read(raw: unknown, fact: keyof typeof PATHS): string | undefined {
  return str(firstPath(raw, PATHS[fact]));
}

/** The path a fact was read from (for `source_field`). */
function pathOf(raw: unknown, fact: keyof typeof PATHS): string {
  return PATHS[fact].find((p) => str(getPath(raw, p)) !== undefined) ?? PATHS[fact][0];
}

const SEVERITY_NAMES: Readonly<Record<string, AlertSeverity>> = {
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  informational: 'Informational',
  info: 'Informational',
};

/**
 * Falcon severity: the name when given; else Event Streams' 1–5 scale (5 Critical … 1 Informational),
 * or the Alerts API's 0–100 score (90+ Critical, 70+ High, 50+ Medium, 20+ Low, else Informational).
 */
export function falconSeverity(raw: unknown): AlertSeverity {
  const byName = mapSeverity(read(raw, 'severityName'), SEVERITY_NAMES);
  if (byName !== 'Pending') return byName;
  const value = firstPath(raw, PATHS.severity);
  if (typeof value === 'string') {
    const named = mapSeverity(value, SEVERITY_NAMES);
    if (named !== 'Pending') return named;
  }
  const n = Number(str(value));
  if (!Number.isFinite(n) || str(value) === undefined) return 'Pending';
  if (n <= 5)
    return (
      (['Informational', 'Informational', 'Low', 'Medium', 'High', 'Critical'] as const)[Math.max(0, Math.trunc(n))] ??
      'Pending'
    );
  if (n >= 90) return 'Critical';
  if (n >= 70) return 'High';
  if (n >= 50) return 'Medium';
  if (n >= 20) return 'Low';
  return 'Informational';
}

function validate(raw: unknown): ValidationResult {
  if (!isRecord(raw)) return { ok: false, issues: [{ path: '', message: 'expected a Falcon event or alert object' }] };
  const issues: PayloadIssue[] = [];
  if (isRecord(raw.metadata) || isRecord(raw.event)) {
    const eventType = str(getPath(raw, 'metadata.eventType'));
    if (eventType === undefined || !DETECTION_EVENTS.has(eventType)) {
      issues.push({
        path: 'metadata.eventType',
        message: `expected ${[...DETECTION_EVENTS].join(', ')}, got ${JSON.stringify(eventType ?? null)}`,
      });
    }
    if (!isRecord(raw.event)) issues.push({ path: 'event', message: 'the detection event is missing' });
  } else if (str(raw.composite_id) === undefined) {
    issues.push({
      path: 'composite_id',
      message: 'an Alerts API alert needs composite_id (or send an Event Streams event)',
    });
  }
  if (issues.length === 0 && read(raw, 'name') === undefined && read(raw, 'description') === undefined) {
    issues.push({ path: 'event.DetectName', message: 'the detection has no name or description' });
  }
  return issues.length === 0 ? { ok: true } : { ok: false, issues };
}

function mitre(raw: unknown): { tactics: string[]; techniques: string[] } {
  const tactics = [read(raw, 'tacticId'), read(raw, 'tactic')].filter((t): t is string => t !== undefined);
  const techniques = [read(raw, 'techniqueId'), read(raw, 'technique')].filter((t): t is string => t !== undefined);
  return { tactics, techniques };
}

function normalize(raw: unknown): NormalizedAlertInput {
  const name = read(raw, 'name');
  const hostname = read(raw, 'hostname');
  const { tactics, techniques } = mitre(raw);
  const extra: Record<string, unknown> = {};
  for (const [key, fact] of [
    ['falcon_link', 'link'],
    ['composite_id', 'id'],
    ['sensor_id', 'sensorId'],
    ['platform', 'platform'],
    ['file_name', 'fileName'],
    ['file_path', 'filePath'],
    ['command_line', 'commandLine'],
    ['parent_process', 'parentProcess'],
    ['parent_command_line', 'parentCommandLine'],
    ['action_taken', 'action'],
    ['objective', 'objective'],
    ['external_ip', 'externalIp'],
  ] as const) {
    const value = read(raw, fact);
    if (value !== undefined) extra[key] = value;
  }
  const alert: NormalizedAlertInput = {
    title: name
      ? hostname
        ? `${name} on ${hostname}`
        : name
      : (read(raw, 'description') ?? 'CrowdStrike Falcon detection'),
    severity: falconSeverity(raw),
    occurred_at: parseTimestamp(firstPath(raw, PATHS.time)),
    source_name: NAME,
    description: read(raw, 'description') ?? null,
    tags: [
      ...new Set([
        'crowdstrike',
        ...tactics.filter((t) => !/^TA\d+/.test(t)),
        ...techniques.filter((t) => /^T\d+/.test(t)),
      ]),
    ],
    extra,
  };
  const localIp = read(raw, 'localIp');
  const fields = {
    // The system mappings read src_ip too: a placeholder address must not reach them either.
    src_ip: localIp !== undefined && PLACEHOLDER_IPS.has(localIp) ? undefined : localIp,
    src_hostname: hostname,
    actor_username: read(raw, 'user'),
    file_hash_sha256: read(raw, 'sha256') ?? xdrHashes(raw)[0],
    file_hash_md5: read(raw, 'md5'),
    file_hash_sha1: read(raw, 'sha1'),
  };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) Object.assign(alert, { [key]: value });
  return alert;
}

const EXTRACTIONS: ReadonlyArray<{ fact: keyof typeof PATHS; type: IndicatorType; description: string }> = [
  { fact: 'localIp', type: 'ip', description: 'Local IP of the host (event.LocalIP / device.local_ip)' },
  { fact: 'externalIp', type: 'ip', description: 'External IP of the host (event.ExternalIP / device.external_ip)' },
  { fact: 'hostname', type: 'domain', description: 'Host name (event.ComputerName / device.hostname)' },
  { fact: 'targetHostname', type: 'domain', description: 'Endpoint logged on to (Identity Protection)' },
  { fact: 'user', type: 'account', description: 'User name (event.UserName / user_name)' },
  { fact: 'sha256', type: 'hash_sha256', description: 'SHA-256 of the triggering file' },
  { fact: 'md5', type: 'hash_md5', description: 'MD5 of the triggering file' },
  { fact: 'sha1', type: 'hash_sha1', description: 'SHA-1 of the triggering file' },
];

function extractIndicators(raw: unknown): ExtractedIndicator[] {
  const found = EXTRACTIONS.map(({ fact, type }) => indicator(type, read(raw, fact), pathOf(raw, fact)));
  // Network connections of the triggering process, when Falcon includes them (Event Streams).
  const connections = getPath(raw, 'event.NetworkAccesses');
  if (Array.isArray(connections)) {
    connections.forEach((c, i) => {
      found.push(
        indicator('ip', isRecord(c) ? c.RemoteAddress : undefined, `event.NetworkAccesses.${i}.RemoteAddress`),
      );
    });
  }
  for (const hash of xdrHashes(raw)) found.push(indicator('hash_sha256', hash, 'event.SHA256Hashes'));
  for (const [i, domain] of strings(getPath(raw, 'event.DnsRequests')).entries()) {
    found.push(indicator('domain', domain, `event.DnsRequests.${i}`));
  }
  return collectIndicators(found.filter((f) => !(f?.type === 'ip' && PLACEHOLDER_IPS.has(f.value))));
}

/** An XDR detection's `SHA256Hashes`: one string, comma-joined when several files are involved. */
function xdrHashes(raw: unknown): string[] {
  return (str(getPath(raw, 'event.SHA256Hashes')) ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
}

/** Falcon reports these for hosts without a usable address; never worth enriching. */
const PLACEHOLDER_IPS = new Set(['0.0.0.0', '127.0.0.1', '::1']);

export const falconSource = defineAlertSource({
  name: NAME,
  displayName: 'CrowdStrike Falcon',
  validate,
  normalize,
  extractIndicators,
  detectionRule: (raw) => {
    const { tactics, techniques } = mitre(raw);
    return detectionRuleRef({
      source_rule_id: read(raw, 'patternId'),
      name: read(raw, 'name'),
      severity: read(raw, 'severityName'),
      description: read(raw, 'description'),
      mitre_tactics: tactics,
      mitre_techniques: techniques,
    });
  },
  // Falcon cannot sign a forwarded body; a Fusion workflow's HTTP action (or the forwarder) sends the
  // configured secret in this header instead.
  verifySignature: sharedSecretHeader('x-calseta-webhook-secret'),
  documentedExtractions: [
    ...EXTRACTIONS.map(({ fact, type, description }) => ({
      field_path: PATHS[fact][0],
      indicator_type: type,
      description,
    })),
    {
      field_path: 'event.NetworkAccesses.*.RemoteAddress',
      indicator_type: 'ip',
      description: 'Remote address of a connection',
    },
    { field_path: 'event.DnsRequests', indicator_type: 'domain', description: 'Domains the process resolved' },
    {
      field_path: 'event.SHA256Hashes',
      indicator_type: 'hash_sha256',
      description: 'Files of an XDR detection (comma-joined)',
    },
  ],
});

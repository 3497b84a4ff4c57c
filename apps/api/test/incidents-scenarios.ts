/**
 * Realistic multi-alert attacks for the incident tests, in each SIEM's own wire shape:
 * Sentinel's Logic App alert body (as in ../shared/fixtures/real-world/sentinel_ti_dns_alert.json:
 * flat alertDisplayName/systemAlertId/incidentNumber + relatedEntities[] of kind/properties), Elastic's
 * 8.x alert `_source` with flat dotted `kibana.alert.*` keys and ECS fields, Splunk's saved-search
 * webhook (`search_name` + `result`) and the generic source.
 *
 * `ingest` goes through the real HTTP API and the real source plugins; `extractAlertIndicators` is the
 * pipeline's extraction step, run directly (enrichment answers are not what correlation reads).
 */
import { contextFor, correlateAlerts, extractAlertIndicators, SYSTEM } from '@calseta/core';
import type { Harness } from './harness.js';

export const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

let sequence = 0;
const guid = () => {
  sequence += 1;
  const hex = sequence.toString(16).padStart(12, '0');
  return `5f0c1d2e-3a4b-4c5d-8e6f-${hex}`;
};

type SentinelEntity = { kind: string; properties: Record<string, unknown> };
export const account = (name: string, upnSuffix: string): SentinelEntity => ({
  kind: 'Account',
  properties: { accountName: name, upnSuffix, friendlyName: name },
});
export const ip = (address: string): SentinelEntity => ({ kind: 'Ip', properties: { address, friendlyName: address } });
export const url = (value: string): SentinelEntity => ({ kind: 'Url', properties: { url: value } });
export const mailbox = (address: string): SentinelEntity => ({
  kind: 'Mailbox',
  properties: { mailboxPrimaryAddress: address, upn: address },
});

/** A Microsoft Sentinel alert as a Logic App relays it. */
export function sentinelAlert(input: {
  title: string;
  severity: string;
  at: string;
  entities: SentinelEntity[];
  incidentNumber?: string;
  rule?: string;
}) {
  const id = guid();
  return {
    alertDisplayName: input.title,
    alertKind: 'SecurityAlert',
    alertType: input.rule ?? input.title,
    relatedEntities: input.entities.map((e, i) => ({
      id: `/subscriptions/3e7b543d-16b0-47c8-a409-20e59a4452bd/resourceGroups/sentinel-rg/providers/Microsoft.OperationalInsights/workspaces/sentinel/providers/Microsoft.SecurityInsights/Entities/${id}-${i}`,
      name: `${id}-${i}`,
      type: 'Microsoft.SecurityInsights/Entities',
      ...e,
    })),
    alertDescription: `${input.title} (test scenario)`,
    severity: input.severity,
    systemAlertId: id,
    alertTime: input.at,
    startTimeUtc: input.at,
    providerName: 'ASI Scheduled Alerts',
    productName: 'Azure Sentinel',
    ...(input.incidentNumber
      ? {
          incidentNumber: input.incidentNumber,
          incidentUrl: `https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/${input.incidentNumber}`,
        }
      : {}),
  };
}

/** An Elastic Security 8.x detection alert document (flat dotted keys, ECS fields beside them). */
export function elasticAlert(input: {
  rule: string;
  severity: string;
  at: string;
  host: string;
  user?: string;
  sha256?: string;
  groupId?: string;
  extra?: Record<string, unknown>;
}) {
  return {
    '@timestamp': input.at,
    'kibana.alert.uuid': guid(),
    'kibana.alert.rule.name': input.rule,
    'kibana.alert.rule.uuid': `rule-${input.rule.toLowerCase().replaceAll(' ', '-')}`,
    'kibana.alert.rule.severity': input.severity,
    'kibana.alert.severity': input.severity,
    'kibana.alert.risk_score': 73,
    'kibana.alert.reason': `${input.rule} on ${input.host}`,
    'kibana.alert.original_time': input.at,
    'kibana.alert.workflow_status': 'open',
    ...(input.groupId ? { 'kibana.alert.group.id': input.groupId, 'kibana.alert.building_block_type': 'default' } : {}),
    'host.hostname': input.host,
    'host.name': input.host,
    'host.os.family': 'windows',
    ...(input.user ? { 'user.name': input.user } : {}),
    ...(input.sha256 ? { 'file.hash.sha256': input.sha256, 'process.hash.sha256': input.sha256 } : {}),
    ...input.extra,
  };
}

/** A Splunk saved-search alert webhook. */
export function splunkAlert(input: { search: string; result: Record<string, unknown>; sid?: string }) {
  return {
    sid: input.sid ?? `scheduler__admin__search__RMD5${guid().slice(-12)}_at_1765100000_1`,
    search_name: input.search,
    app: 'SplunkEnterpriseSecuritySuite',
    owner: 'admin',
    results_link: 'https://splunk.example.com:8000/app/search/search?q=%7Cloadjob',
    result: input.result,
  };
}

/** The generic source's flat shape. */
export function genericAlert(input: Record<string, unknown>) {
  return input;
}

export interface Stored {
  id: number;
  uuid: string;
}

/** Ingest through the API, then link indicators as the pipeline's extraction step does. */
export async function ingest(h: Harness, source: string, payload: unknown): Promise<Stored> {
  const response = await h.request('POST', `/v1/ingest/${source}`, { json: payload });
  if (response.status !== 202) throw new Error(`ingest ${source}: ${response.status} ${JSON.stringify(response.body)}`);
  const uuid: string = response.body.data.alert_uuid;
  const [row] = await h.query<{ id: string }>('SELECT id FROM alerts WHERE uuid = $1', [uuid]);
  const id = Number(row?.id);
  await extractAlertIndicators(system(h), id);
  return { id, uuid };
}

export async function ingestAll(h: Harness, source: string, payloads: unknown[]): Promise<Stored[]> {
  const stored: Stored[] = [];
  for (const p of payloads) stored.push(await ingest(h, source, p));
  return stored;
}

export const system = (h: Harness) => contextFor(h.deps, SYSTEM);

/** Correlate as the pipeline does: the batch's alert ids after enrichment committed. */
export const correlate = (h: Harness, alerts: Stored[]) =>
  correlateAlerts(
    system(h),
    alerts.map((a) => a.id),
  );

/** alert uuid → incident uuid (or null), straight from the table. */
export async function incidentOf(h: Harness, alerts: Stored[]): Promise<Map<string, string | null>> {
  const rows = await h.query<{ alert_uuid: string; incident_uuid: string | null }>(
    `SELECT a.uuid AS alert_uuid, i.uuid AS incident_uuid
     FROM alerts a LEFT JOIN incident_alerts m ON m.alert_id = a.id LEFT JOIN incidents i ON i.id = m.incident_id
     WHERE a.uuid = ANY($1::uuid[])`,
    [alerts.map((a) => a.uuid)],
  );
  return new Map(rows.map((r) => [r.alert_uuid, r.incident_uuid]));
}

import type {
  AlertFinding,
  Incident,
  IncidentEvent,
  IncidentMember,
  IncidentMembershipReason,
  IncidentSummary,
} from '@calseta/schema';
import { alertSummary } from './fixtures.js';

/**
 * An identity compromise as correlation forms it (issue 23): a Sentinel brute force from a TOR exit
 * node, a successful Entra sign-in from the same address, an inbox rule created by the same account
 * (joined by the account), and a SharePoint mass download by the account grouped into the same
 * Sentinel incident. Values are those of public Sentinel/Entra samples.
 */
export const IDS = {
  incident: '00000000-0000-7000-8000-00000000c001',
  other: '00000000-0000-7000-8000-00000000c002',
  bruteForce: '00000000-0000-7000-8000-0000000a0001',
  signIn: '00000000-0000-7000-8000-0000000a0002',
  inboxRule: '00000000-0000-7000-8000-0000000a0003',
  download: '00000000-0000-7000-8000-0000000a0004',
  ip: '00000000-0000-7000-8000-0000000b0001',
  account: '00000000-0000-7000-8000-0000000b0002',
  rule: '00000000-0000-7000-8000-0000000d0001',
} as const;
export const IP = '185.220.101.34';
export const ACCOUNT = 'r.chen@contoso.com';

const reason = (over: Partial<IncidentMembershipReason>): IncidentMembershipReason => ({
  rule: 'shared_entity',
  entities: [],
  matched_alert_uuid: null,
  detection_rule_uuid: null,
  source_group: null,
  action: null,
  summary: '',
  ...over,
});

function member(
  n: number,
  uuid: string,
  title: string,
  occurred: string,
  why: IncidentMembershipReason,
  over: Partial<IncidentMember> = {},
): IncidentMember {
  return {
    ...alertSummary(n, { uuid, title, occurred_at: occurred, ingested_at: occurred, source_name: 'sentinel' }),
    membership: { reason: why, pinned: false, added_by: 'correlation', added_at: occurred },
    ...over,
  };
}

export const MEMBERS: IncidentMember[] = [
  member(
    4,
    IDS.download,
    'Mass download of SharePoint files by r.chen@contoso.com',
    '2026-11-20T10:41:00.000Z',
    reason({
      rule: 'source_group',
      matched_alert_uuid: IDS.signIn,
      source_group: { source_name: 'sentinel', field: 'IncidentNumber', value: '4711' },
      summary: 'Sentinel put it in incident 4711 with the earlier sign-in.',
    }),
    { severity: 'Medium', malice: 'Context' },
  ),
  member(
    3,
    IDS.inboxRule,
    'New inbox rule forwards mail to an external address',
    '2026-11-20T10:32:00.000Z',
    reason({
      entities: [{ type: 'account', value: ACCOUNT }],
      matched_alert_uuid: IDS.signIn,
      summary: `Shares the account ${ACCOUNT} with the sign-in 9 minutes earlier.`,
    }),
    { severity: 'High' },
  ),
  member(
    2,
    IDS.signIn,
    'Successful sign-in from a TOR exit node',
    '2026-11-20T10:23:00.000Z',
    reason({
      rule: 'rule_entity',
      entities: [{ type: 'ip', value: IP }],
      matched_alert_uuid: IDS.bruteForce,
      detection_rule_uuid: IDS.rule,
      summary: `Shares ${IP} with the brute force 7 minutes earlier.`,
    }),
    { severity: 'Critical' },
  ),
  member(
    1,
    IDS.bruteForce,
    'Brute force against Entra ID from 185.220.101.34',
    '2026-11-20T10:16:00.000Z',
    reason({
      entities: [{ type: 'ip', value: IP }],
      matched_alert_uuid: IDS.signIn,
      summary: `Opened the incident with the later sign-in: both from ${IP}.`,
    }),
  ),
];

export function incidentSummary(over: Partial<IncidentSummary> = {}): IncidentSummary {
  return {
    uuid: IDS.incident,
    title: `Brute force then sign-in from ${IP}`,
    severity: 'Critical',
    severity_override: null,
    status: 'Open',
    close_classification: null,
    alert_count: 4,
    first_alert_at: '2026-11-20T10:16:00.000Z',
    last_alert_at: '2026-11-20T10:41:00.000Z',
    merged_into_uuid: null,
    acknowledged_at: null,
    triaged_at: null,
    closed_at: null,
    created_at: '2026-11-20T10:25:00.000Z',
    updated_at: '2026-11-20T10:42:00.000Z',
    ...over,
  };
}

export function incidentDetail(over: Partial<Incident> = {}): Incident {
  return {
    ...incidentSummary(),
    alerts: MEMBERS,
    shared_entities: [
      {
        type: 'ip',
        value: IP,
        indicator_uuid: IDS.ip,
        malice: 'Malicious',
        alert_count: 2,
        alert_uuids: [IDS.bruteForce, IDS.signIn],
      },
      {
        type: 'account',
        value: ACCOUNT,
        indicator_uuid: IDS.account,
        malice: 'Context',
        alert_count: 3,
        alert_uuids: [IDS.signIn, IDS.inboxRule, IDS.download],
      },
    ],
    metrics: { time_to_detect_seconds: 120, time_to_acknowledge_seconds: null, time_to_close_seconds: null },
    finding_count: 1,
    ...over,
  };
}

export const TIMELINE: IncidentEvent[] = [
  {
    uuid: '00000000-0000-7000-8000-0000000e0001',
    event_type: 'incident_opened',
    actor_type: 'system',
    actor_key_prefix: null,
    alert_uuid: IDS.signIn,
    references: { summary: `Opened: the sign-in shares ${IP} with the brute force.` },
    created_at: '2026-11-20T10:25:00.000Z',
  },
  {
    uuid: '00000000-0000-7000-8000-0000000e0002',
    event_type: 'incident_alert_added',
    actor_type: 'system',
    actor_key_prefix: null,
    alert_uuid: IDS.inboxRule,
    references: {},
    created_at: '2026-11-20T10:33:00.000Z',
  },
  {
    uuid: '00000000-0000-7000-8000-0000000e0003',
    event_type: 'incident_merged',
    actor_type: 'api',
    actor_key_prefix: 'cai_j4vP',
    alert_uuid: null,
    references: { merged_incident_uuids: [IDS.other] },
    created_at: '2026-11-20T10:50:00.000Z',
  },
];

export const FINDING: AlertFinding = {
  id: '00000000-0000-7000-8000-0000000f0001',
  agent_name: 'Identity triage agent',
  summary: 'Account takeover: the brute force succeeded and the attacker set up mail forwarding.',
  confidence: 'high',
  recommended_action: 'Revoke sessions and reset the password of r.chen@contoso.com.',
  evidence: null,
  posted_at: '2026-11-20T10:45:00.000Z',
  posted_by: { actor_type: 'api', key_prefix: 'cai_agnt', key_name: 'triage agent', key_type: 'agent' },
};

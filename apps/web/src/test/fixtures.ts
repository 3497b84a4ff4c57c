import type { Alert, AlertSummary, WorkflowApproval } from '@calseta/schema';

const T = '2026-11-20T10:00:00.000Z';

export function alertSummary(i: number, over: Partial<AlertSummary> = {}): AlertSummary {
  return {
    uuid: `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`,
    title: `Suspicious login ${i}`,
    description: null,
    severity: 'High',
    severity_raw: 'high',
    severity_unmapped: false,
    status: 'Open',
    enrichment_status: 'Enriched',
    source_name: 'elastic',
    occurred_at: T,
    occurred_at_inferred: false,
    ingested_at: T,
    is_enriched: true,
    duplicate_count: 0,
    tags: [],
    close_classification: null,
    closed_at: null,
    created_at: T,
    updated_at: T,
    ...over,
  };
}

export function alertDetail(over: Partial<Alert> = {}): Alert {
  return {
    ...alertSummary(1),
    enriched_at: T,
    fingerprint: 'abc',
    last_seen_at: null,
    escalation_count: 0,
    acknowledged_at: null,
    triaged_at: null,
    detection_rule_id: null,
    detection_rule: null,
    normalized: {},
    raw_payload: { rule: { name: 'x' } },
    malice: 'Malicious',
    malice_override: null,
    malice_override_source: null,
    malice_override_at: null,
    indicators: [
      {
        uuid: '00000000-0000-7000-8000-0000000000a1',
        type: 'ip',
        value: '185.220.101.34',
        first_seen: T,
        last_seen: T,
        is_enriched: true,
        malice: 'Malicious',
        malice_source: 'enrichment',
        malice_overridden_at: null,
        malice_explanation: {
          provider: 'abuseipdb',
          rule_index: 0,
          field: 'data.abuseConfidenceScore',
          operator: '>=',
          expected: 75,
          actual: 100,
          verdict: 'Malicious',
          reason: 'rule',
          fetched_at: T,
        },
        enriched_at: T,
        enrichment_results: {},
        created_at: T,
        updated_at: T,
        source_field: 'source.ip',
      },
    ],
    enrichment: null,
    context_documents: [
      {
        uuid: '00000000-0000-7000-8000-0000000000d1',
        title: 'Brute force runbook',
        document_type: 'runbook',
        description: null,
        is_global: true,
        tags: [],
        version: 1,
        updated_at: T,
        content: '## Contain\n\nReset the account password.',
        matched_by: 'global',
      },
    ],
    agent_findings: null,
    ...over,
  };
}

export function approval(over: Partial<WorkflowApproval> = {}): WorkflowApproval {
  return {
    uuid: '00000000-0000-7000-8000-0000000000e1',
    workflow_uuid: '00000000-0000-7000-8000-0000000000f1',
    workflow_name: 'Block IP',
    risk_level: 'high',
    status: 'pending',
    trigger_type: 'human',
    trigger_agent_key_prefix: 'cai_abcd',
    trigger_context: { indicator_type: 'ip', indicator_value: '203.0.113.7', alert_id: null, alert_uuid: null },
    reason: 'beaconing',
    confidence: 0.9,
    notifier_type: 'none',
    notifier_channel: null,
    responder_id: null,
    responded_at: null,
    expires_at: '2099-01-01T00:00:00.000Z',
    run_uuid: null,
    execution_result: null,
    created_at: T,
    updated_at: T,
    ...over,
  };
}

import type { ApiKeyCreated, MetricsSummary, Provider } from '@calseta/schema';
import { MaliceRulesSchema } from '@calseta/schema';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import { MaliceRulesBuilder } from '../components/provider-builders.js';
import { alertDetail, alertSummary } from '../test/fixtures.js';
import { one, page, renderApp } from '../test/render.js';

const health = { status: 'ok', version: 'test' };

function RulesHarness({ onChange }: { onChange(value: unknown): void }) {
  const [value, setValue] = useState<Parameters<typeof MaliceRulesBuilder>[0]['value']>(null);
  return (
    <MaliceRulesBuilder
      value={value}
      onChange={(v) => {
        setValue(v);
        onChange(v);
      }}
    />
  );
}
const T = '2026-11-20T10:00:00.000Z';

describe('dashboard', () => {
  it('shows the KPIs of the summary', async () => {
    const summary: MetricsSummary = {
      period: 'last_30_days',
      alerts: {
        total: 42,
        active: 7,
        by_severity: { High: 5, Low: 2 },
        by_status: { Open: 7 },
        by_source: { elastic: 42 },
        enrichment_coverage: 0.9,
        mean_time_to_enrich_seconds: 3,
        false_positive_rate: 0.25,
        mttd_seconds: 120,
        mtta_seconds: 600,
        mttt_seconds: null,
        mttc_seconds: 7200,
      },
      workflows: { total_configured: 3, active: 2, executions: 10, success_rate: 0.8, estimated_time_saved_hours: 1.5 },
      approvals: { pending: 2, approved_last_30_days: 4, approval_rate: 0.8, median_response_time_minutes: 3 },
      platform: {
        context_documents: 1,
        detection_rules: 2,
        enrichment_providers: 4,
        enrichment_providers_by_indicator_type: {},
        agents: 1,
        workflows: 3,
        indicator_mappings: 14,
      },
      queue: null,
    };
    renderApp('/', {
      'GET /health': health,
      'GET /v1/metrics/summary': one(summary),
      'GET /v1/metrics/alerts': { status: 503, body: { error: { code: 'X', message: 'down' }, request_id: 'r' } },
    });
    const kpi = async (label: string) => (await screen.findByText(label)).parentElement?.textContent;
    expect(await kpi('Alerts (30 d)')).toContain('42');
    expect(await kpi('False-positive rate')).toContain('25.0%');
    expect(await kpi('MTTC')).toContain('2.0 h');
    expect(await kpi('Pending approvals')).toContain('2');
  });
});

describe('run workflow from an alert', () => {
  it('picks an indicator the workflow accepts and reports a pending approval', async () => {
    const user = userEvent.setup();
    const alert = alertDetail({
      indicators: [
        {
          ...(alertDetail().indicators[0] as NonNullable<ReturnType<typeof alertDetail>['indicators'][number]>),
          uuid: '00000000-0000-7000-8000-0000000000a2',
          type: 'account',
          value: 'bob@example.com',
        },
        ...alertDetail().indicators,
      ],
    });
    const { calls } = renderApp('/alerts/00000000-0000-7000-8000-000000000001', {
      'GET /health': health,
      'GET /v1/alerts/00000000-0000-7000-8000-000000000001': one(alert),
      'GET /v1/workflows': page([
        {
          uuid: '00000000-0000-7000-8000-0000000000f1',
          name: 'Block IP',
          indicator_types: ['ip'],
          risk_level: 'high',
          approval_mode: 'always',
        },
      ]),
      'POST /v1/workflows/00000000-0000-7000-8000-0000000000f1/execute': {
        status: 202,
        body: one({
          status: 'pending_approval',
          approval_request_uuid: '00000000-0000-7000-8000-0000000000e1',
          expires_at: T,
        }),
      },
    });
    await user.click(await screen.findByRole('button', { name: 'Run workflow' }));
    const dialog = screen.getByRole('dialog', { name: 'Run workflow' });
    await user.selectOptions(await within(dialog).findByLabelText('Workflow'), '00000000-0000-7000-8000-0000000000f1');
    expect((within(dialog).getByLabelText('Indicator') as HTMLSelectElement).value).toBe('ip:185.220.101.34');
    await user.click(within(dialog).getByRole('button', { name: 'Run workflow' }));
    expect(await within(dialog).findByText(/Approval required/)).toBeTruthy();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      indicator_type: 'ip',
      indicator_value: '185.220.101.34',
      alert_uuid: '00000000-0000-7000-8000-000000000001',
    });
  });
});

describe('API keys', () => {
  it('creates a key with the chosen scopes and shows it once', async () => {
    const user = userEvent.setup();
    const created: ApiKeyCreated = {
      uuid: '00000000-0000-7000-8000-0000000000c1',
      name: 'triage',
      key_prefix: 'cai_abcd',
      key: 'cai_abcdefghijklmnopqrstuvwxyz0123456789',
      scopes: ['alerts:read', 'approvals:write'],
      key_type: 'agent',
      is_active: true,
      created_at: T,
      expires_at: null,
      last_used_at: null,
      revoked_at: null,
      allowed_sources: null,
    };
    const { calls } = renderApp('/settings/api-keys', {
      'GET /health': health,
      'GET /v1/api-keys': page([]),
      'POST /v1/api-keys': { status: 201, body: one(created) },
    });
    await user.click(await screen.findByRole('button', { name: 'Create key' }));
    const dialog = screen.getByRole('dialog', { name: 'Create API key' });
    await user.type(within(dialog).getByLabelText('Name'), 'triage');
    await user.selectOptions(within(dialog).getByLabelText('Key type'), 'agent');
    await user.click(within(dialog).getByRole('checkbox', { name: 'approvals:write' }));
    await user.click(within(dialog).getByRole('button', { name: 'Create key' }));
    expect(await within(dialog).findByText(created.key)).toBeTruthy();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      name: 'triage',
      key_type: 'agent',
      scopes: ['alerts:read', 'approvals:write'],
      allowed_sources: null,
      expires_at: null,
    });
  });
});

describe('providers', () => {
  it('lists providers with their credential state and quota', async () => {
    const provider = {
      uuid: '00000000-0000-7000-8000-0000000000b1',
      provider_name: 'virustotal',
      display_name: 'VirusTotal',
      is_active: true,
      is_builtin: true,
      is_configured: false,
      supported_indicator_types: ['ip', 'domain'],
      quota: { minute_remaining: 3, day_remaining: null, paused_until: null },
    } as unknown as Provider;
    renderApp('/providers', { 'GET /health': health, 'GET /v1/enrichment-providers': page([provider]) });
    const row = (await screen.findByRole('link', { name: 'VirusTotal' })).closest('tr') as HTMLElement;
    expect(within(row).getByText('missing')).toBeTruthy();
    expect(within(row).getByText('3/min left')).toBeTruthy();
  });

  it('imports a community provider file', async () => {
    const user = userEvent.setup();
    const file = { provider: { provider_name: 'greynoise', display_name: 'GreyNoise' }, field_extractions: [] };
    const { calls } = renderApp('/providers', {
      'GET /health': health,
      'GET /v1/enrichment-providers': page([]),
      'POST /v1/enrichment-providers/import': {
        status: 201,
        body: one({ provider: { uuid: '00000000-0000-7000-8000-0000000000b9' }, field_extractions: [] }),
      },
      'GET /v1/enrichment-providers/00000000-0000-7000-8000-0000000000b9': {
        status: 404,
        body: { error: { code: 'NOT_FOUND', message: 'gone' }, request_id: 'r' },
      },
    });
    await user.upload(
      await screen.findByLabelText('Import JSON'),
      new File([JSON.stringify(file)], 'greynoise.json', { type: 'application/json' }),
    );
    await waitFor(() => expect(calls.find((c) => c.method === 'POST')?.body).toEqual(file));
  });

  it('the malice-rules builder produces rules the API accepts', async () => {
    const user = userEvent.setup();
    let latest: unknown = null;
    render(<RulesHarness onChange={(v) => (latest = v)} />);
    await user.click(screen.getByRole('button', { name: '+ Add rule' }));
    await user.type(screen.getByLabelText('Rule 1 field'), 'data.score');
    await user.clear(screen.getByLabelText('Rule 1 value'));
    await user.type(screen.getByLabelText('Rule 1 value'), '80');
    await user.selectOptions(screen.getByLabelText('Not-found verdict'), 'Benign');
    expect(latest).toEqual({
      rules: [{ field: 'data.score', operator: '>=', value: 80, verdict: 'Malicious' }],
      default_verdict: 'Pending',
      not_found_verdict: 'Benign',
    });
    expect(MaliceRulesSchema.safeParse(latest).success).toBe(true);
  });
});

describe('alerts list live refresh', () => {
  it('polls and shows new alerts without a reload', async () => {
    let n = 1;
    renderApp('/alerts', {
      'GET /health': health,
      'GET /v1/alerts': () => page(Array.from({ length: n }, (_, i) => alertSummary(i + 1))),
    });
    await screen.findByRole('link', { name: 'Suspicious login 1' });
    n = 2;
    await waitFor(() => expect(screen.getByRole('link', { name: 'Suspicious login 2' })).toBeTruthy(), {
      timeout: 7_000,
    });
  });
});

describe('destructive actions', () => {
  it('deactivating a key asks first', async () => {
    const user = userEvent.setup();
    const key = {
      uuid: '00000000-0000-7000-8000-0000000000c2',
      name: 'old-agent',
      key_prefix: 'cai_zzzz',
      scopes: ['alerts:read'],
      key_type: 'agent',
      is_active: true,
      created_at: T,
      expires_at: null,
      last_used_at: null,
      revoked_at: null,
      allowed_sources: null,
    };
    const { calls } = renderApp('/settings/api-keys', {
      'GET /health': health,
      'GET /v1/api-keys': page([key]),
      'DELETE /v1/api-keys/00000000-0000-7000-8000-0000000000c2': { status: 204 },
    });
    await user.click(await screen.findByRole('button', { name: 'Deactivate' }));
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    const dialog = screen.getByRole('dialog', { name: 'Deactivate old-agent?' });
    await user.click(within(dialog).getByRole('button', { name: 'Deactivate' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'DELETE')).toBe(true));
  });
});

describe('agent configuration', () => {
  it('switches an agent to one delivery per incident', async () => {
    const user = userEvent.setup();
    const agent = {
      uuid: '00000000-0000-7000-8000-0000000000a1',
      name: 'triage-bot',
      description: null,
      endpoint_url: 'https://agents.example.com/hook',
      auth_header_name: null,
      trigger_on_sources: [],
      trigger_on_severities: [],
      trigger_filter: null,
      timeout_seconds: 30,
      retry_count: 3,
      token_budget: null,
      delivery_mode: 'alert',
      is_active: true,
      documentation: null,
      created_at: T,
      updated_at: T,
    };
    const { calls } = renderApp(`/agents/${agent.uuid}`, {
      'GET /health': health,
      [`GET /v1/agents/${agent.uuid}`]: one(agent),
      [`PATCH /v1/agents/${agent.uuid}`]: one({ ...agent, delivery_mode: 'incident' }),
    });
    await user.selectOptions(await screen.findByLabelText('Delivery'), 'incident');
    await user.click(screen.getByRole('button', { name: 'Save configuration' }));
    await waitFor(() =>
      expect(calls.find((c) => c.method === 'PATCH')?.body).toMatchObject({ delivery_mode: 'incident' }),
    );
  });
});

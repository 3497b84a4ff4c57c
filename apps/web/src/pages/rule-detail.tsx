import type { DetectionRule, DetectionRuleMetrics, DetectionRulePatch } from '@calseta/schema';
import { useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import type { One } from '../api/client.js';
import { useApi, useApiMutation } from '../api/hooks.js';
import { AlertsTable } from '../components/alerts-table.js';
import { CountBars, countsOf, LineSeries } from '../components/charts.js';
import { ConfirmButton } from '../components/confirm-button.js';
import { Badge, duration, ErrorBanner, Loading, percent, Time } from '../components/feedback.js';
import { Kpi } from '../components/kpi.js';
import { Card, Details, PageHeader, Tabs } from '../components/layout.js';
import { MarkdownEditor } from '../components/markdown-editor.js';

export function RuleDetailPage() {
  const { uuid = '' } = useParams();
  const base = `/v1/detection-rules/${uuid}`;
  const rule = useApi<One<DetectionRule>>(base);
  const navigate = useNavigate();
  const remove = useApiMutation<void, void>(() => ({ method: 'DELETE', path: base }), {
    invalidates: ['/v1/detection-rules'],
    onSuccess: () => void navigate('/detection-rules'),
  });
  if (rule.error) return <ErrorBanner error={rule.error} />;
  const r = rule.data?.data;
  if (!r) return <Loading />;
  return (
    <>
      <PageHeader
        title={r.name}
        subtitle={
          <>
            <Badge value={r.severity} /> <Badge value={r.is_active ? 'active' : 'inactive'} />
            <span className="muted">{r.source_name ?? 'any source'}</span>
            {r.source_rule_id && <code className="small">{r.source_rule_id}</code>}
          </>
        }
        actions={
          <ConfirmButton label="Delete" title="Delete this detection rule?" onConfirm={() => remove.mutate()}>
            Alerts keep their data but lose the link to the rule.
          </ConfirmButton>
        }
      />
      <ErrorBanner error={remove.error} />
      <div className="layout-detail">
        <div>
          <Tabs
            label="Rule sections"
            tabs={[
              {
                id: 'documentation',
                label: 'Documentation',
                render: () => <Documentation key={r.updated_at} rule={r} base={base} />,
              },
              { id: 'metrics', label: 'Metrics', render: () => <Metrics base={base} /> },
              { id: 'alerts', label: 'Alerts', render: () => <AlertsTable fixed={{ detection_rule_uuid: r.uuid }} /> },
            ]}
          />
        </div>
        <Card title="Details">
          <Details
            items={[
              ['Tactics', r.mitre_tactics.join(', ') || '—'],
              ['Techniques', [...r.mitre_techniques, ...r.mitre_subtechniques].join(', ') || '—'],
              ['Data sources', r.data_sources.join(', ') || '—'],
              ['Frequency', r.run_frequency],
              ['Created by', r.created_by],
              ['Created', <Time key="c" value={r.created_at} />],
            ]}
          />
        </Card>
      </div>
    </>
  );
}

function Documentation({ rule: r, base }: { rule: DetectionRule; base: string }) {
  const [doc, setDoc] = useState(r.documentation ?? '');
  const patch = useApiMutation<One<DetectionRule>, DetectionRulePatch>(
    (json) => ({ method: 'PATCH', path: base, json }),
    {
      invalidates: [base],
    },
  );
  return (
    <div className="stack">
      <MarkdownEditor label="Rule documentation" value={doc} onChange={setDoc} />
      <ErrorBanner error={patch.error} />
      {patch.isSuccess && (
        <p className="banner ok" role="status">
          Saved.
        </p>
      )}
      <div className="actions">
        <button
          type="button"
          className="primary"
          disabled={patch.isPending || doc === (r.documentation ?? '')}
          onClick={() => patch.mutate({ documentation: doc || null })}
        >
          Save documentation
        </button>
      </div>
    </div>
  );
}

function Metrics({ base }: { base: string }) {
  const metrics = useApi<One<DetectionRuleMetrics>>(`${base}/metrics`);
  if (metrics.error) return <ErrorBanner error={metrics.error} />;
  const m = metrics.data?.data;
  if (!m) return <Loading />;
  const fpByDay = new Map(m.fp_over_time.map((d) => [d.date, d.count]));
  const overTime = m.alerts_over_time.map((d) => ({
    day: d.date.slice(5),
    alerts: d.count,
    fp: fpByDay.get(d.date) ?? 0,
  }));
  return (
    <div className="stack">
      <div className="grid kpis">
        {[
          ['Alerts (30 d)', m.total_alerts],
          ['Active', m.active_alerts],
          ['False positives', percent(m.false_positive_rate)],
          ['True positives', percent(m.true_positive_rate)],
          ['MTTA', duration(m.mtta_seconds)],
          ['MTTC', duration(m.mttc_seconds)],
        ].map(([label, value]) => (
          <Kpi key={String(label)} label={String(label)} value={value} />
        ))}
      </div>
      <div className="grid two">
        <Card title="Alerts and false positives per day">
          <LineSeries
            label="Alerts and false positives per day"
            data={overTime}
            x="day"
            series={[
              { key: 'alerts', name: 'Alerts' },
              { key: 'fp', name: 'False positives' },
            ]}
          />
        </Card>
        <Card title="Close classifications">
          <CountBars label="Close classifications" horizontal data={countsOf(m.close_classifications)} />
        </Card>
        <Card title="Top indicators">
          <ul className="small">
            {m.top_indicators.map((i) => (
              <li key={`${i.type}:${i.value}`}>
                {i.type} <code>{i.value}</code> <Badge value={i.malice} /> ×{i.count}
              </li>
            ))}
          </ul>
        </Card>
      </div>
    </div>
  );
}

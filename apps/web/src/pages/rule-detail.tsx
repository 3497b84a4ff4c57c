import { useQuery } from '@tanstack/react-query';
import { useParams } from 'react-router';
import { ruleQueries } from '../api/queries/rules.js';
import { AlertsTable } from '../components/alerts-table.js';
import { CountBars, countsOf, LineSeries } from '../components/charts.js';
import { DetailPage } from '../components/detail-page.js';
import { Badge, duration, ErrorBanner, Loading, percent, Time } from '../components/feedback.js';
import { Kpi } from '../components/kpi.js';
import { Card, Details } from '../components/layout.js';
import { documentationTab } from '../components/markdown-field.js';

export function RuleDetailPage() {
  const { uuid = '' } = useParams();
  return (
    <DetailPage
      resource={ruleQueries}
      uuid={uuid}
      back={{ to: '/detection-rules', label: 'detection rules' }}
      header={(r) => ({
        title: r.name,
        subtitle: (
          <>
            <Badge value={r.severity} /> <Badge value={r.is_active ? 'active' : 'inactive'} />
            <span className="muted">{r.source_name ?? 'any source'}</span>
            {r.source_rule_id && <code className="small">{r.source_rule_id}</code>}
          </>
        ),
      })}
      remove={{
        title: 'Delete this detection rule?',
        warning: 'Alerts keep their data but lose the link to the rule.',
      }}
      tabsLabel="Rule sections"
      tabs={(r) => [
        documentationTab('documentation', ruleQueries, r, 'Rule documentation'),
        { id: 'metrics', label: 'Metrics', render: () => <Metrics uuid={r.uuid} /> },
        { id: 'alerts', label: 'Alerts', render: () => <AlertsTable fixed={{ detection_rule_uuid: r.uuid }} /> },
      ]}
      aside={(r) => (
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
      )}
    />
  );
}

function Metrics({ uuid }: { uuid: string }) {
  const metrics = useQuery(ruleQueries.metrics(uuid));
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

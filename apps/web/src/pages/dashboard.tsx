import { useQueries, useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { metricQueries } from '../api/queries/system.js';
import { CountBars, countsOf, Donut, LineSeries } from '../components/charts.js';
import { duration, ErrorBanner, Loading, percent } from '../components/feedback.js';
import { Select } from '../components/form.js';
import { Kpi } from '../components/kpi.js';
import { Card, PageHeader } from '../components/layout.js';

const WEEKS = 8;
const DAY = 86_400_000;

/** Week windows ending now (oldest first), for the MTT* and FP-rate trends. */
function weekWindows(now: number) {
  const end = Math.floor(now / DAY) * DAY + DAY; // whole UTC days: stable query keys within a day
  return Array.from({ length: WEEKS }, (_, i) => {
    const to = end - (WEEKS - 1 - i) * 7 * DAY;
    return { from: new Date(to - 7 * DAY).toISOString(), to: new Date(to).toISOString() };
  });
}

export function DashboardPage() {
  const summary = useQuery({ ...metricQueries.summary(), refetchInterval: 30_000 });
  // The volume and top-rule charts follow the chosen window; the KPIs are the API's fixed 30 days.
  const [params, setParams] = useSearchParams();
  const days = Number(params.get('days') ?? 30) || 30;
  const now = Math.floor(Date.now() / DAY) * DAY + DAY;
  const month = useQuery({
    ...metricQueries.alerts({
      from_time: new Date(now - days * DAY).toISOString(),
      to_time: new Date(now).toISOString(),
    }),
    refetchInterval: 30_000,
  });
  const windows = weekWindows(Date.now());
  const weeks = useQueries({
    queries: windows.map((w) => metricQueries.alerts({ from_time: w.from, to_time: w.to })),
  });
  const s = summary.data?.data;
  const m = month.data?.data;
  const trend = weeks.map((q, i) => {
    const d = q.data?.data;
    const toMin = (v: number | null | undefined) => (v === null || v === undefined ? null : v / 60);
    return {
      week: (windows[i]?.to ?? '').slice(5, 10),
      mttd: toMin(d?.mean_time_to_detect),
      mtta: toMin(d?.mean_time_to_acknowledge),
      mttc: toMin(d?.mean_time_to_conclusion),
      fp: d ? d.false_positive_rate * 100 : null,
      alerts: d?.total_alerts ?? null,
    };
  });
  return (
    <>
      <PageHeader
        title="Dashboard"
        subtitle="Key figures: last 30 days"
        actions={
          <Select<'7' | '30' | '90'>
            ariaLabel="Chart window"
            value={String(days) as '7' | '30' | '90'}
            options={[
              { value: '7', label: 'Charts: 7 days' },
              { value: '30', label: 'Charts: 30 days' },
              { value: '90', label: 'Charts: 90 days' },
            ]}
            onChange={(d) => setParams({ days: d }, { replace: true })}
          />
        }
      />
      <ErrorBanner error={summary.error ?? month.error} />
      {!s ? (
        <Loading />
      ) : (
        <>
          <div className="grid kpis">
            <Kpi label="Alerts (30 d)" value={s.alerts.total} />
            <Kpi label="Active alerts" value={s.alerts.active} />
            <Kpi label="MTTD" value={duration(s.alerts.mttd_seconds)} hint="Mean time to detect" />
            <Kpi label="MTTA" value={duration(s.alerts.mtta_seconds)} hint="Mean time to acknowledge" />
            <Kpi label="MTTC" value={duration(s.alerts.mttc_seconds)} hint="Mean time to conclusion" />
            <Kpi label="MTTE" value={duration(s.alerts.mean_time_to_enrich_seconds)} hint="Mean time to enrich" />
            <Kpi label="False-positive rate" value={percent(s.alerts.false_positive_rate)} />
            <Kpi label="Enrichment coverage" value={percent(s.alerts.enrichment_coverage)} />
            <Kpi label="Pending approvals" value={s.approvals.pending} />
            <Kpi label="Workflow runs" value={s.workflows.executions} />
            <Kpi label="Workflow success" value={percent(s.workflows.success_rate)} />
            <Kpi label="Time saved" value={`${s.workflows.estimated_time_saved_hours.toFixed(1)} h`} />
          </div>
          <div className="grid two">
            <Card title="Alert volume per day">
              <CountBars
                label="Alerts per day"
                data={(m?.alerts_over_time ?? []).map((d) => ({ name: d.date.slice(5), count: d.count }))}
              />
            </Card>
            <Card title="Active alerts by severity">
              <Donut label="Active alerts by severity" data={countsOf(s.alerts.by_severity)} />
            </Card>
            <Card title="MTTD / MTTA / MTTC per week (minutes)">
              <LineSeries
                label="Mean times per week"
                data={trend}
                x="week"
                series={[
                  { key: 'mttd', name: 'MTTD' },
                  { key: 'mtta', name: 'MTTA' },
                  { key: 'mttc', name: 'MTTC' },
                ]}
                format={(v) => `${v.toFixed(1)} min`}
              />
            </Card>
            <Card title="False-positive rate per week">
              <LineSeries
                label="False-positive rate per week"
                data={trend}
                x="week"
                series={[{ key: 'fp', name: 'FP rate' }]}
                format={(v) => `${v.toFixed(0)}%`}
              />
            </Card>
            <Card title="Top detection rules">
              {m && m.top_detection_rules.length > 0 ? (
                <>
                  <CountBars
                    label="Alerts per detection rule"
                    horizontal
                    data={m.top_detection_rules.map((r) => ({ name: r.name, count: r.count }))}
                  />
                  <ul className="small">
                    {m.top_detection_rules.map((r) => (
                      <li key={r.uuid}>
                        <Link to={`/detection-rules/${r.uuid}`}>{r.name}</Link> — {r.count}
                      </li>
                    ))}
                  </ul>
                </>
              ) : (
                <p className="muted">No rule has fired in this window.</p>
              )}
            </Card>
            <Card title="Alerts by source">
              <CountBars label="Alerts by source" data={countsOf(s.alerts.by_source)} />
            </Card>
          </div>
          <Card title="Platform">
            <div className="grid kpis">
              <Kpi label="Context documents" value={s.platform.context_documents} />
              <Kpi label="Detection rules" value={s.platform.detection_rules} />
              <Kpi label="Enrichment providers" value={s.platform.enrichment_providers} />
              <Kpi label="Agents" value={s.platform.agents} />
              <Kpi label="Workflows" value={s.platform.workflows} />
              <Kpi label="Indicator mappings" value={s.platform.indicator_mappings} />
              <Kpi label="Queue pending" value={s.queue?.total_pending ?? '—'} />
              <Kpi label="Oldest pending job" value={duration(s.queue?.oldest_pending_age_seconds)} />
            </div>
          </Card>
        </>
      )}
    </>
  );
}

import { type IndicatorDetail, MaliceLevelSchema } from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useParams } from 'react-router';
import type { One } from '../api/client.js';
import { usePatch } from '../api/hooks.js';
import { alertQueries, indicatorQueries } from '../api/queries/alerts.js';
import { Badge, ErrorBanner, Loading, Time } from '../components/feedback.js';
import { SelectField } from '../components/form.js';
import { Card, Details, PageHeader } from '../components/layout.js';
import { Explanation, ProviderResults } from '../components/verdicts.js';

export function IndicatorDetailPage() {
  const { uuid = '' } = useParams();
  const indicator = useQuery(indicatorQueries.detail(uuid));
  // A verdict override changes the verdicts of the alerts that carry the indicator.
  const patch = usePatch<One<IndicatorDetail>, { malice: string | null }>(indicatorQueries.path(uuid), [
    indicatorQueries.detail(uuid).queryKey,
    alertQueries.all,
  ]);
  if (indicator.error) return <ErrorBanner error={indicator.error} />;
  const i = indicator.data?.data;
  if (!i) return <Loading />;
  return (
    <>
      <PageHeader
        title={
          <>
            <span className="muted">{i.type}</span> {i.value}
          </>
        }
        subtitle={
          <>
            Verdict <Badge value={i.malice} /> <span className="muted">({i.malice_source})</span>
          </>
        }
      />
      <div className="layout-detail">
        <div>
          <Card title="Why this verdict">
            <Explanation explanation={i.malice_explanation} />
          </Card>
          <Card title="Provider results">
            <ProviderResults results={i.enrichment_results} />
          </Card>
        </div>
        <aside>
          <Card title="Analyst verdict">
            <SelectField
              label="Malice override"
              hint="An override is kept when the indicator is enriched again; “From providers” recomputes it."
              value={i.malice_source === 'analyst' ? i.malice : ''}
              allowEmpty="From providers"
              options={MaliceLevelSchema.options}
              onChange={(m) => patch.mutate({ malice: m || null })}
            />
            <ErrorBanner error={patch.error} />
          </Card>
          <Card title="Details">
            <Details
              items={[
                ['First seen', <Time key="f" value={i.first_seen} />],
                ['Last seen', <Time key="l" value={i.last_seen} />],
                ['Enriched', <Time key="e" value={i.enriched_at} />],
                ['Overridden', <Time key="o" value={i.malice_overridden_at} />],
              ]}
            />
          </Card>
        </aside>
      </div>
    </>
  );
}

import { type IndicatorDetail, MaliceLevelSchema } from '@calseta/schema';
import { useParams } from 'react-router';
import type { One } from '../api/client.js';
import { useApi, useApiMutation } from '../api/hooks.js';
import { Badge, ErrorBanner, Loading, Time } from '../components/feedback.js';
import { SelectField } from '../components/form.js';
import { Card, Details, PageHeader } from '../components/layout.js';
import { Explanation, ProviderResults } from '../components/verdicts.js';

export function IndicatorDetailPage() {
  const { uuid = '' } = useParams();
  const path = `/v1/indicators/${uuid}`;
  const indicator = useApi<One<IndicatorDetail>>(path);
  const patch = useApiMutation<One<IndicatorDetail>, { malice: string | null }>(
    (json) => ({ method: 'PATCH', path, json }),
    {
      invalidates: [path, '/v1/alerts'],
    },
  );
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

import { hashKey, QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import { one, page, stubFetch } from '../../test/render.js';
import { agentQueries } from './agents.js';
import { alertQueries } from './alerts.js';
import { resource } from './resource.js';
import { metricQueries } from './system.js';

const A = '00000000-0000-7000-8000-0000000000a1';
const B = '00000000-0000-7000-8000-0000000000b1';

describe('query factories', () => {
  it('give one key per URL: param order, empty values and 1 vs "1" do not split the cache', () => {
    const a = alertQueries.list({ page: 1, page_size: 50, sort_by: 'severity', status: undefined, malice: '' });
    const b = alertQueries.list({ sort_by: 'severity', page_size: '50', page: '1', source_name: null });
    expect(hashKey(a.queryKey)).toBe(hashKey(b.queryKey));
    expect(a.queryKey).toEqual(alertQueries.list({ page: 1, page_size: 50, sort_by: 'severity' }).queryKey);
    expect(hashKey(alertQueries.list({ page: 2 }).queryKey)).not.toBe(hashKey(alertQueries.list({ page: 1 }).queryKey));
    expect(hashKey(alertQueries.detail(A).queryKey)).toBe(hashKey(alertQueries.detail(A).queryKey));
    expect(hashKey(alertQueries.detail(A).queryKey)).not.toBe(hashKey(alertQueries.detail(B).queryKey));
    // Same params, other resource: other key.
    expect(hashKey(agentQueries.list({ page: 1 }).queryKey)).not.toBe(hashKey(alertQueries.list({ page: 1 }).queryKey));
    const week = { from_time: '2026-11-01T00:00:00.000Z', to_time: '2026-11-08T00:00:00.000Z' };
    const reversed = { to_time: week.to_time, from_time: week.from_time };
    expect(hashKey(metricQueries.alerts(week).queryKey)).toBe(hashKey(metricQueries.alerts(reversed).queryKey));
  });

  it('read the URLs the API serves (the paths the pages used to spell out)', async () => {
    const calls = stubFetch({
      [`GET /v1/alerts/${A}/activity`]: page([]),
      [`GET /v1/agents/${A}/runs`]: page([]),
      'GET /v1/alerts': page([]),
      'GET /v1/metrics/summary': one({}),
    });
    const client = new QueryClient();
    await client.fetchQuery(alertQueries.activity(A));
    await client.fetchQuery(agentQueries.deliveries(A));
    await client.fetchQuery(alertQueries.list({ page: 2, page_size: 50, sort_by: undefined, status: 'Open,Triaging' }));
    await client.fetchQuery(metricQueries.summary());
    expect(calls.map((c) => c.path)).toEqual([
      `/v1/alerts/${A}/activity?page_size=100`,
      `/v1/agents/${A}/runs?page_size=50`,
      '/v1/alerts?page=2&page_size=50&status=Open%2CTriaging',
      '/v1/metrics/summary',
    ]);
  });

  it('nest keys like paths: a write to one item makes it, its sub-resources and the lists stale, not its siblings', async () => {
    const client = new QueryClient();
    const queries = {
      item: alertQueries.detail(A),
      findings: alertQueries.findings(A),
      graph: alertQueries.graph(A),
      list: alertQueries.list({ page: 1 }),
      sibling: alertQueries.detail(B),
      siblingFindings: alertQueries.findings(B),
      otherResource: agentQueries.detail(A),
    };
    for (const q of Object.values(queries)) client.setQueryData(q.queryKey, one({}) as never);
    await Promise.all(alertQueries.changed(A).map((queryKey) => client.invalidateQueries({ queryKey })));
    const stale = Object.entries(queries)
      .filter(([, q]) => client.getQueryState(q.queryKey)?.isInvalidated)
      .map(([name]) => name);
    expect(stale).toEqual(['item', 'findings', 'graph', 'list']);
    await client.invalidateQueries({ queryKey: alertQueries.all });
    expect(client.getQueryState(queries.siblingFindings.queryKey)?.isInvalidated).toBe(true);
    expect(client.getQueryState(queries.otherResource.queryKey)?.isInvalidated).toBe(false);
  });

  it('keep an id that is not a uuid inside its path segment', () => {
    const odd = resource<unknown>('things');
    expect(odd.path('../api-keys')).toBe('/v1/things/..%2Fapi-keys');
  });
});

// The pipeline commit hands the delivery the alert's row and its indicators' history in JSON
// (storeAlerts). Postgres writes a timestamptz in JSON with the SESSION's offset; in a zone whose
// historical offset has seconds (Africa/Monrovia until 1972: -00:44:30) that is e.g.
// "1971-05-31T23:15:30-00:44:30", which JavaScript's Date cannot parse: the commit carries epoch
// milliseconds instead. The server's TimeZone is the operator's (initdb takes the host's); PGOPTIONS
// sets it here for every connection of this file.
// biome-ignore lint/style/noProcessEnv: pg reads PGOPTIONS; the server zone is what this test varies
process.env.PGOPTIONS = '-c TimeZone=Africa/Monrovia';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentEndpoint } from './agent-endpoint.js';
import { createHarness, type Harness } from './harness.js';

describe('an alert from 1971 (ingest refuses times before 1970) on a server whose TimeZone is Africa/Monrovia', () => {
  let h: Harness;
  let endpoint: Awaited<ReturnType<typeof startAgentEndpoint>>;

  beforeAll(async () => {
    endpoint = await startAgentEndpoint();
    h = await createHarness({ dedupWindowHours: 0, allowHosts: [endpoint.host] });
    await h.startWorker();
  });
  afterAll(async () => {
    await h.close();
    await endpoint.close();
    // biome-ignore lint/style/noProcessEnv: restoring the zone set above
    delete process.env.PGOPTIONS;
  });

  // Fails when the commit parses the session-zone JSON text (found by the review of e2673ef).
  it('is enriched and delivered, the body equal to GET /context', async () => {
    const agent = await h.request('POST', '/v1/agents', {
      json: { name: 'old-alert-agent', endpoint_url: endpoint.url('old-alert-agent'), trigger_on_sources: ['generic'] },
    });
    expect(agent.status).toBe(201);
    const rows = await h.query<{ tz: string }>("SELECT current_setting('TimeZone') AS tz");
    expect(rows[0]?.tz).toBe('Africa/Monrovia');

    const enriched = h.nextJob((o) => o.name === 'enrich-alert');
    const res = await h.request('POST', '/v1/ingest/generic', {
      json: {
        title: 'an old alert',
        occurred_at: '1971-06-01T00:00:00Z',
        indicators: [{ type: 'ip', value: '203.0.113.26' }],
      },
    });
    expect(res.status).toBe(202);
    const uuid = res.body.data.alert_uuid as string;
    const outcome = await enriched;
    expect(outcome.state).toBe('completed');
    const got = await endpoint.next((r) => r.path === '/old-alert-agent' && r.json?.alert?.uuid === uuid);
    const context = await h.request('GET', `/v1/alerts/${uuid}/context`);
    expect(got.json).toEqual(context.body.data);
  });
});

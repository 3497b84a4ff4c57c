/**
 * Issue 18: verdicts from the built-in mock providers say so (provider list, each result and its
 * explanation, the agent payload, /health), a real credential turns the mock off for that provider,
 * the alert list carries each alert's verdict and indicator count, filterable and sortable, and the
 * agents list each agent's delivery health.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from './fixtures.js';
import { createHarness, type Harness } from './harness.js';

let h: Harness;

async function ingest(source: string, payload: unknown): Promise<string> {
  const done = h.nextJob((o) => o.name === 'enrich-alert');
  const res = await h.request('POST', `/v1/ingest/${source}`, { json: payload });
  expect(res.status).toBe(202);
  await done;
  return res.body.data.alert_uuid;
}

beforeAll(async () => {
  h = await createHarness({ mockProviders: true, dedupWindowHours: 0, allowHosts: ['127.0.0.1:9'] });
  await h.startWorker();
});
afterAll(() => h?.close());

const health = async () => (await h.request('GET', '/health', { key: null })).body;
const providers = async () =>
  (await h.request('GET', '/v1/enrichment-providers?is_builtin=true')).body.data as Array<{
    uuid: string;
    provider_name: string;
    credential_source: string;
  }>;

describe('mock providers are named as such', () => {
  it('flags results, explanations, the payload and /health; a stored credential ends the mock for that provider', async () => {
    expect((await health()).mocked_providers).toEqual(['virustotal', 'abuseipdb', 'okta', 'entra']);
    expect((await providers()).map((p) => p.credential_source)).toEqual(['mock', 'mock', 'mock', 'mock']);

    const uuid = await ingest('sentinel', fixture('01_sentinel_brute_force_tor.json'));
    const alert = (await h.request('GET', `/v1/alerts/${uuid}`)).body.data;
    const tor = alert.indicators.find((i: { value: string }) => i.value === '185.220.101.34');
    expect(tor.malice).toBe('Malicious');
    expect(tor.malice_explanation).toMatchObject({ provider: expect.any(String), mock: true });
    for (const result of Object.values(tor.enrichment_results) as Array<{ mock?: boolean; status: string }>) {
      if (result.status !== 'skipped') expect(result.mock).toBe(true);
    }
    // Mock answers are cached marked as such (served only while the provider is still mocked).
    const cached = await h.query<{ mock: boolean | null }>(
      "SELECT (result->>'mock')::boolean AS mock FROM enrichment_cache",
    );
    expect(cached.length).toBeGreaterThan(0);
    expect(cached.every((row) => row.mock === true)).toBe(true);
    const payload = (await h.request('GET', `/v1/alerts/${uuid}/context`)).body.data;
    expect(payload.mock_data).toMatch(/abuseipdb.*virustotal.*mock providers/);

    // A real credential stored for VirusTotal: no longer mocked (the others still are).
    const vt = (await providers()).find((p) => p.provider_name === 'virustotal');
    const patched = await h.request('PATCH', `/v1/enrichment-providers/${vt?.uuid}`, {
      json: { auth_config: { api_key: 'a-real-looking-virustotal-key' } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.data.credential_source).toBe('stored');
    await expect.poll(async () => (await health()).mocked_providers).toEqual(['abuseipdb', 'okta', 'entra']);
  });

  it('a harness without the mock reports none', async () => {
    const bare = await createHarness();
    try {
      const res = await bare.request('GET', '/health', { key: null });
      expect(res.body.mocked_providers).toEqual([]);
    } finally {
      await bare.close();
    }
  });
});

describe('GET /v1/alerts carries the verdict and indicator count', () => {
  it('lists, filters and sorts by verdict; an analyst override counts', async () => {
    const bad = await ingest('sentinel', fixture('01_sentinel_brute_force_tor.json'));
    const quiet = await ingest('generic', { title: 'Benign check', severity: 'Low', src_ip: '8.8.8.8' });
    const list = (await h.request('GET', '/v1/alerts?page_size=100')).body.data as Array<{
      uuid: string;
      malice: string;
      indicator_count: number;
    }>;
    const row = (uuid: string) => list.find((a) => a.uuid === uuid);
    const detail = (await h.request('GET', `/v1/alerts/${bad}`)).body.data;
    expect(row(bad)).toMatchObject({ malice: 'Malicious', indicator_count: detail.indicators.length });
    expect(row(bad)?.indicator_count).toBeGreaterThan(1);
    const quietDetail = (await h.request('GET', `/v1/alerts/${quiet}`)).body.data;
    expect(row(quiet)).toMatchObject({ malice: quietDetail.malice, indicator_count: quietDetail.indicators.length });

    const malicious = (await h.request('GET', '/v1/alerts?malice=Malicious&page_size=100')).body.data;
    expect(malicious.map((a: { uuid: string }) => a.uuid)).toContain(bad);
    expect(malicious.every((a: { malice: string }) => a.malice === 'Malicious')).toBe(true);
    expect((await h.request('GET', '/v1/alerts?malice=Bogus')).body.data).toEqual([]);

    const sorted = (await h.request('GET', '/v1/alerts?sort_by=malice&sort_order=desc&page_size=100')).body
      .data as Array<{ malice: string }>;
    const weights = sorted.map((a) =>
      ['Pending', 'Unknown', 'Context', 'Benign', 'Suspicious', 'Malicious'].indexOf(a.malice),
    );
    expect(weights).toEqual([...weights].sort((x, y) => y - x));

    // The analyst's override is the verdict the list shows and filters on.
    const override = await h.request('PATCH', `/v1/alerts/${bad}`, { json: { malice_override: 'Benign' } });
    expect(override.status).toBe(200);
    const benign = (await h.request('GET', '/v1/alerts?malice=Benign&page_size=100')).body.data;
    expect(benign.find((a: { uuid: string }) => a.uuid === bad)?.malice).toBe('Benign');
  });
});

describe('GET /v1/agents carries delivery health', () => {
  it('latest delivery and the last 24 hours: delivered and failed', async () => {
    // Triggers on no real source: only the rows written below count.
    const created = await h.request('POST', '/v1/agents', {
      json: { name: 'health probe', endpoint_url: 'http://127.0.0.1:9/hook', trigger_on_sources: ['none'] },
    });
    expect(created.status).toBe(201);
    const idle = await h.request('POST', '/v1/agents', {
      json: { name: 'idle agent', endpoint_url: 'http://127.0.0.1:9/idle', trigger_on_sources: ['none'] },
    });
    const alertUuid = await ingest('generic', { title: 'Delivery health', severity: 'Low', src_ip: '8.8.4.4' });
    const runs: Array<[status: string, hoursAgo: number]> = [
      ['delivered', 30],
      ['failed', 26],
      ['delivered', 5],
      ['delivered', 3],
      ['failed', 1],
    ];
    for (const [i, [status, hoursAgo]] of runs.entries()) {
      await h.query(
        `INSERT INTO agent_runs (agent_registration_id, alert_id, idempotency_key, status, trigger, created_at)
         SELECT r.id, a.id, $3, $4, 'manual', now() - make_interval(hours => $5)
         FROM agent_registrations r, alerts a WHERE r.uuid = $1 AND a.uuid = $2`,
        [created.body.data.uuid, alertUuid, `probe-${i}`, status, hoursAgo],
      );
    }
    const list = (await h.request('GET', '/v1/agents')).body.data as Array<{
      uuid: string;
      delivery_health: Record<string, unknown>;
    }>;
    const probe = list.find((a) => a.uuid === created.body.data.uuid)?.delivery_health;
    expect(probe).toMatchObject({ last_status: 'failed', delivered_24h: 2, failed_24h: 1 });
    expect(Date.now() - Date.parse(String(probe?.last_delivery_at))).toBeGreaterThan(3_500_000);
    expect(Date.now() - Date.parse(String(probe?.last_delivery_at))).toBeLessThan(3_700_000);
    expect(list.find((a) => a.uuid === idle.body.data.uuid)?.delivery_health).toEqual({
      last_delivery_at: null,
      last_status: null,
      delivered_24h: 0,
      failed_24h: 0,
    });
  });
});

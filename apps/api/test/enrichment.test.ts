import { checkEnrichable, PortError } from '@calseta/enrichment-engine';
import { type IndicatorKind, mockVerdict } from '@calseta/mock-providers';
import type { IndicatorType, MaliceLevel } from '@calseta/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from './fixtures.js';
import { createHarness, type Harness } from './harness.js';
import { holdJobs } from './races.js';

const FIXTURES = [
  ['01_sentinel_brute_force_tor.json', 'sentinel'],
  ['02_elastic_malware_hash.json', 'elastic'],
  ['03_splunk_anomalous_data_transfer.json', 'splunk'],
  ['04_sentinel_impossible_travel.json', 'sentinel'],
  ['05_elastic_suspicious_powershell.json', 'elastic'],
] as const;

const KIND: Partial<Record<IndicatorType, IndicatorKind>> = {
  ip: 'ip',
  domain: 'domain',
  url: 'url',
  hash_md5: 'hash',
  hash_sha1: 'hash',
  hash_sha256: 'hash',
};

/** What the mock intends for a value (its own data tables), as a verdict of the threat-intel providers. */
function intended(type: IndicatorType, value: string): MaliceLevel {
  const kind = KIND[type];
  // After enrichment a value nobody could judge is Unknown (Pending means "not enriched yet").
  if (kind === undefined || !checkEnrichable(type, value).enrichable) return 'Unknown';
  const verdict = mockVerdict(kind, value);
  return verdict === 'malicious'
    ? 'Malicious'
    : verdict === 'suspicious'
      ? 'Suspicious'
      : verdict === 'not_found'
        ? 'Unknown'
        : 'Benign';
}

/** Ingest a payload and wait until the worker has enriched it (on the job event, not a timer). */
async function ingestAndEnrich(h: Harness, source: string, payload: unknown) {
  const done = h.nextJob((o) => o.name === 'enrich-alert');
  const res = await h.request('POST', `/v1/ingest/${source}`, { json: payload });
  expect(res.status).toBe(202);
  const job = await done;
  expect(job.state).toBe('completed');
  return res.body.data.alert_uuid as string;
}

describe('enrichment end to end over the mock providers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ mockProviders: true, dedupWindowHours: 0 });
    await h.startWorker();
  });
  afterAll(() => h.close());

  it.each(FIXTURES)(
    '%s: every indicator gets the verdict its data calls for, with an explanation',
    async (name, source) => {
      const uuid = await ingestAndEnrich(h, source, fixture(name));
      const { body } = await h.request('GET', `/v1/alerts/${uuid}`);
      const alert = body.data;
      expect(alert.indicators.length).toBeGreaterThan(0);
      expect(alert.enrichment.status).toBe(alert.enrichment_status);
      expect(alert.enrichment_status).toBe('Enriched');
      expect(alert.enrichment.providers_failed).toEqual([]);

      for (const indicator of alert.indicators) {
        // Enriched means a provider answered: never for private IPs or internal names.
        expect(indicator.is_enriched).toBe(checkEnrichable(indicator.type, indicator.value).enrichable);
        const expected = intended(indicator.type, indicator.value);
        if (KIND[indicator.type as IndicatorType] !== undefined) {
          expect({ value: indicator.value, malice: indicator.malice }).toEqual({
            value: indicator.value,
            malice: expected,
          });
        }
        // Lists never carry raw provider responses.
        for (const result of Object.values(indicator.enrichment_results ?? {}) as Record<string, unknown>[]) {
          expect(result).not.toHaveProperty('raw');
        }
        if (indicator.malice === 'Malicious' || indicator.malice === 'Suspicious') {
          const why = indicator.malice_explanation;
          expect(why).toMatchObject({ verdict: indicator.malice, reason: 'rule' });
          expect(why.provider).toMatch(/^(virustotal|abuseipdb)$/);
          expect(typeof why.field).toBe('string');
          expect(why.actual).not.toBeNull();
          expect(Date.parse(why.fetched_at)).not.toBeNaN();
          // The explanation points at a real value in the provider's stored response.
          const detail = await h.request('GET', `/v1/indicators/${indicator.uuid}`);
          const raw = detail.body.data.enrichment_results[why.provider].raw;
          const actual = why.field.split('.').reduce((node: any, key: string) => node?.[key], raw);
          expect(actual).toEqual(why.actual);
        }
      }
      // Overall verdict is the worst indicator's.
      const worst = alert.indicators.some((i: { malice: string }) => i.malice === 'Malicious')
        ? 'Malicious'
        : undefined;
      if (worst) expect(alert.malice).toBe(worst);
    },
  );

  it('fixture 01: the Tor exit node is malicious on VirusTotal evidence; private values never leave', async () => {
    const uuid = await ingestAndEnrich(h, 'sentinel', fixture('01_sentinel_brute_force_tor.json'));
    const { body } = await h.request('GET', `/v1/alerts/${uuid}/indicators`);
    const tor = body.data.find((i: { value: string }) => i.value === '185.220.101.34');
    expect(tor.malice).toBe('Malicious');
    expect(tor.enrichment_results.virustotal.status).toBe('success');
    expect(tor.enrichment_results.abuseipdb.verdict).toBe('Malicious');
    expect(tor.enrichment_results.virustotal.extracted.malicious_count).toBeGreaterThan(0);
    // Identity providers give context, not verdicts: Context, never a permanent Pending.
    const account = body.data.find((i: { type: string }) => i.type === 'account');
    expect(account.enrichment_results.okta.status).toBe('success');
    expect(account.malice).toBe('Context');
  });

  it('records skipped providers separately and the second alert is served from the cache', async () => {
    const first = await ingestAndEnrich(h, 'elastic', fixture('02_elastic_malware_hash.json'));
    const stamp = () =>
      h.query<{ value: string; updated_at: Date }>(
        `SELECT value, updated_at FROM indicators WHERE value IN ('a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2', 'WORKSTATION12.corp.acmeinc.com') ORDER BY value`,
      );
    const before = await stamp();
    const again = { ...fixture('02_elastic_malware_hash.json') } as Record<string, unknown>;
    again['kibana.alert.rule.name'] = 'Known Malware Hash Detected on Endpoint (second host)';
    const second = await ingestAndEnrich(h, 'elastic', again);
    const a = (await h.request('GET', `/v1/alerts/${first}`)).body;
    const b = (await h.request('GET', `/v1/alerts/${second}`)).body;
    // 10.x / fe80:: / documentation IPs are not enrichable: AbuseIPDB only saw those here.
    expect(a.meta.enrichment.skipped).toContain('abuseipdb');
    expect(a.meta.enrichment.failed).toEqual([]);
    expect(b.data.enrichment.cache_hits).toBeGreaterThan(0);
    // Answers served from the cache change nothing: the shared indicator rows are not rewritten.
    expect(await stamp()).toEqual(before);
    const internal = b.data.indicators.find((i: { value: string }) => i.value === '10.0.15.201');
    expect(internal.enrichment_results.virustotal).toMatchObject({ status: 'skipped', skip_reason: 'not_enrichable' });
  });

  it('an analyst verdict wins over providers, survives re-enrichment, and resets to the providers', async () => {
    const uuid = await ingestAndEnrich(h, 'sentinel', fixture('01_sentinel_brute_force_tor.json'));
    const list = (await h.request('GET', `/v1/alerts/${uuid}/indicators`)).body.data;
    const tor = list.find((i: { value: string }) => i.value === '185.220.101.34');
    const writer = await h.createKey({ scopes: ['alerts:write'] });
    const reader = await h.createKey({ scopes: ['alerts:read'] });
    expect(
      (await h.request('PATCH', `/v1/indicators/${tor.uuid}`, { key: reader, json: { malice: 'Benign' } })).status,
    ).toBe(403);
    expect((await h.request('PATCH', `/v1/indicators/${tor.uuid}`, { json: { malice: 'Dangerous' } })).status).toBe(
      422,
    );

    const set = await h.request('PATCH', `/v1/indicators/${tor.uuid}`, { key: writer, json: { malice: 'Benign' } });
    expect(set.status).toBe(200);
    expect(set.body.data).toMatchObject({ malice: 'Benign', malice_source: 'analyst' });
    expect(set.body.data.malice_explanation).toMatchObject({ reason: 'analyst', provider: null });

    const done = h.nextJob((o) => o.name === 'enrich-alert');
    expect((await h.request('POST', `/v1/alerts/${uuid}/enrich`, { key: writer })).status).toBe(202);
    await done;
    const after = (await h.request('GET', `/v1/indicators/${tor.uuid}`, { key: reader })).body.data;
    expect(after.malice).toBe('Benign');

    const reset = await h.request('PATCH', `/v1/indicators/${tor.uuid}`, { key: writer, json: { malice: null } });
    expect(reset.body.data).toMatchObject({ malice: 'Malicious', malice_source: 'enrichment' });
    expect(reset.body.data.malice_explanation.reason).toBe('rule');
    const events = await h.query<{ n: string }>(
      `SELECT count(*) AS n FROM activity_events WHERE event_type = 'indicator_malice_updated' AND indicator_id = (SELECT id FROM indicators WHERE uuid = $1)`,
      [tor.uuid],
    );
    expect(Number(events[0]?.n)).toBe(2);
  });

  it('POST /v1/enrichments enriches on demand, reports cache hits, and stores nothing', async () => {
    const value = '185.220.101.32';
    const first = await h.request('POST', '/v1/enrichments', { json: { type: 'ip', value } });
    expect(first.status).toBe(200);
    expect(first.body.data.verdict).toBe('Malicious');
    expect(Object.keys(first.body.data.results).sort()).toEqual(['abuseipdb', 'virustotal']);
    // The answers are the caller's before they are stored (ADR 0014, item 13): the repeat is asked
    // once both are in the cache (polled through Postgres, no timer).
    for (let stored = 0; stored < 2; ) {
      const [row] = await h.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM enrichment_cache WHERE indicator_value = $1',
        [value],
      );
      stored = row?.n ?? 0;
    }
    const second = await h.request('POST', '/v1/enrichments', {
      json: { indicator_type: 'ip', indicator_value: value },
    });
    expect(second.body.data.cache_hits).toBe(2);
    expect(second.body.data.results.virustotal.cache_hit).toBe(true);
    const stored = await h.query('SELECT 1 FROM indicators WHERE value = $1', [value]);
    expect(stored).toEqual([]);

    const internal = await h.request('POST', '/v1/enrichments', { json: { type: 'ip', value: '10.1.2.3' } });
    expect(internal.body.data).toMatchObject({ enrichable: false, verdict: 'Unknown' });
    expect(internal.body.data.reason).toMatch(/private|global/i);
    expect((await h.request('POST', '/v1/enrichments', { json: { type: 'ipv9', value: 'x' } })).status).toBe(422);
    const noScope = await h.createKey({ scopes: ['alerts:read'] });
    expect((await h.request('POST', '/v1/enrichments', { key: noScope, json: { type: 'ip', value } })).status).toBe(
      403,
    );
  });

  it('changing a provider rule drops its cached answers: the next lookup asks again and judges anew', async () => {
    const value = '91.234.56.78';
    const ask = () => h.request('POST', '/v1/enrichments', { json: { type: 'ip', value } });
    expect((await ask()).body.data.results.virustotal.verdict).toBe('Malicious');
    expect((await ask()).body.data.results.virustotal.cache_hit).toBe(true);
    const providers = (await h.request('GET', '/v1/enrichment-providers')).body.data;
    const vt = providers.find((p: { provider_name: string }) => p.provider_name === 'virustotal');
    const strict = {
      rules: [
        { field: 'data.attributes.last_analysis_stats.malicious', operator: '>=', value: 1000, verdict: 'Malicious' },
      ],
      default_verdict: 'Benign',
      not_found_verdict: 'Pending',
    };
    const patched = await h.request('PATCH', `/v1/enrichment-providers/${vt.uuid}`, { json: { malice_rules: strict } });
    expect(patched.status).toBe(200);
    const after = (await ask()).body.data.results.virustotal;
    expect(after).toMatchObject({ cache_hit: false, verdict: 'Benign' });
    await h.request('PATCH', `/v1/enrichment-providers/${vt.uuid}`, { json: { malice_rules: vt.malice_rules } });
  });

  it('GET /v1/enrichments/providers lists the active providers with configuration and quota', async () => {
    const { body } = await h.request('GET', '/v1/enrichments/providers');
    const names = body.data.map((p: { provider_name: string }) => p.provider_name);
    expect(names).toEqual(['virustotal', 'abuseipdb', 'okta', 'entra']);
    for (const p of body.data) {
      expect(p.is_configured).toBe(true);
      expect(p.quota).toHaveProperty('minute_remaining');
    }
  });
  it('keeps each raw response once, in the provider cache: stored results are slim, the detail reads raw while cached', async () => {
    await ingestAndEnrich(h, 'sentinel', fixture('01_sentinel_brute_force_tor.json'));
    const tor = '185.220.101.34';
    const [row] = await h.query<{ uuid: string; results: Record<string, { raw: unknown; status: string }> }>(
      'SELECT uuid, enrichment_results AS results FROM indicators WHERE value = $1',
      [tor],
    );
    expect(Object.keys(row?.results ?? {}).sort()).toEqual(['abuseipdb', 'virustotal']);
    for (const result of Object.values(row?.results ?? {})) expect(result.raw).toBeNull();
    const detail = (await h.request('GET', `/v1/indicators/${row?.uuid}`)).body.data;
    expect(detail.enrichment_results.virustotal.raw).toMatchObject({ data: expect.any(Object) });

    // Once the cache no longer holds the answer, the detail says so (raw null); the extracted facts stay.
    await h.query('DELETE FROM enrichment_cache WHERE indicator_value = $1', [tor]);
    const later = (await h.request('GET', `/v1/indicators/${row?.uuid}`)).body.data;
    expect(later.enrichment_results.virustotal.raw).toBeNull();
    expect(later.enrichment_results.virustotal.extracted.malicious_count).toBeGreaterThan(0);
  });
});

describe('faults: one provider failing, one timing out, one rate limited', () => {
  let h: Harness;
  // The rate-limited alert's retry waits for the test: it is due 1 s after the first attempt, and a
  // slower test would see it before reading the first attempt's state, or see Okta refuse it again.
  let releaseRetry = () => {};
  const retryReleased = new Promise<void>((resolve) => (releaseRetry = resolve));
  beforeAll(async () => {
    h = await createHarness({
      wrapQueue: holdJobs((data) => data.reason === 'rate_limited', retryReleased),
      mockProviders: {
        providers: {
          virustotal: { errorRate: 1 },
          abuseipdb: { latencyMs: 5_000 },
          okta: { rateLimit: { every: 1, retryAfterSeconds: 1 } },
        },
      },
    });
    // AbuseIPDB answers after 5 s; its call budget is 400 ms.
    await h.query(`UPDATE enrichment_providers SET timeout_ms = 400 WHERE provider_name = 'abuseipdb'`);
    h.deps.enrichment.registry.invalidate();
    await h.startWorker();
  });
  afterAll(() => h.close());

  it('the others complete, statuses are truthful, and the 429 provider is retried after its delay', async () => {
    const first = h.nextJob((o) => o.name === 'enrich-alert');
    const sent = Date.now();
    const res = await h.request('POST', '/v1/ingest/sentinel', { json: fixture('01_sentinel_brute_force_tor.json') });
    const uuid = res.body.data.alert_uuid;
    await first;
    const firstEnded = Date.now();

    const partial = (await h.request('GET', `/v1/alerts/${uuid}`)).body;
    expect(partial.data.enrichment_status).toBe('Partial');
    expect(partial.meta.enrichment.succeeded).toEqual(['entra']);
    expect(partial.meta.enrichment.failed.sort()).toEqual(['abuseipdb', 'virustotal']);
    expect(partial.meta.enrichment.deferred).toEqual(['okta']);
    const retryAt = Date.parse(partial.meta.enrichment.retry_at);
    const ip = partial.data.indicators.find((i: { type: string }) => i.type === 'ip');
    expect(ip.enrichment_results.virustotal).toMatchObject({ status: 'failed' });
    expect(ip.enrichment_results.virustotal.error_message).toMatch(/500/);
    expect(ip.enrichment_results.abuseipdb.error_message).toMatch(/timed out/);
    // Why, as data (stored and returned): what callers switch on.
    expect(ip.enrichment_results.virustotal.failure_reason).toBe('provider_http');
    expect(ip.enrichment_results.abuseipdb.failure_reason).toBe('timeout');
    // Both of its providers failed (neither waits on a rate limit): nobody could judge it.
    expect(ip.malice).toBe('Unknown');
    // The 429's Retry-After is stored as Okta's pause. Read from its table: the quota display shows a
    // pause only while it lasts (1 s from the 429, of which the first job itself took ~0.5 s).
    const [pause] = await h.query<{ paused_until: Date }>(
      `SELECT paused_until FROM provider_rate_state WHERE provider_name = 'okta'`,
    );
    expect(pause?.paused_until.getTime()).toBeGreaterThanOrEqual(sent + 1_000 - 50);
    expect(pause?.paused_until.getTime()).toBeLessThanOrEqual(firstEnded + 1_000 + 50);

    // Okta recovers; the delayed retry job (not the first job) re-runs the providers.
    h.mock?.setOptions({ providers: { okta: {} } });
    const retried = h.nextJob(
      (o) => o.name === 'enrich-alert' && (o.data as { reason?: string }).reason === 'rate_limited',
    );
    releaseRetry();
    const retry = await retried;
    expect(retry.state).toBe('completed');
    expect(Date.now()).toBeGreaterThanOrEqual(retryAt - 50);

    const after = (await h.request('GET', `/v1/alerts/${uuid}`)).body;
    expect(after.meta.enrichment.succeeded.sort()).toEqual(['entra', 'okta']);
    expect(after.meta.enrichment.deferred).toEqual([]);
    expect(after.data.enrichment_status).toBe('Partial');
    const account = after.data.indicators.find((i: { type: string }) => i.type === 'account');
    expect(account.enrichment_results.okta.status).toBe('success');
  });

  it('an alert whose only providers all fail is Failed, never Enriched', async () => {
    const done = h.nextJob((o) => o.name === 'enrich-alert');
    const res = await h.request('POST', '/v1/ingest/generic', {
      json: {
        title: 'Outbound to known C2',
        severity: 'High',
        indicators: [{ type: 'domain', value: 'c2-server.evil.com' }],
      },
    });
    await done;
    const { body } = await h.request('GET', `/v1/alerts/${res.body.data.alert_uuid}`);
    expect(body.data.enrichment_status).toBe('Failed');
    expect(body.data.indicators[0].is_enriched).toBe(false);
  });

  it('an alert with nothing enrichable is Skipped', async () => {
    const done = h.nextJob((o) => o.name === 'enrich-alert');
    const res = await h.request('POST', '/v1/ingest/generic', {
      json: { title: 'Lateral movement', severity: 'Low', indicators: [{ type: 'ip', value: '10.20.30.40' }] },
    });
    await done;
    const { body } = await h.request('GET', `/v1/alerts/${res.body.data.alert_uuid}`);
    expect(body.data.enrichment_status).toBe('Skipped');
  });
});

describe('a port that finds our database unavailable', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ mockProviders: true });
    await h.startWorker();
  });
  afterAll(() => h.close());

  it('fails the job, which pg-boss retries, instead of storing a provider failure', async () => {
    const { ports } = h.deps.enrichment;
    const coalesce = ports.coalesce;
    // Tagged by the port, in words no outage pattern would match: the code decides, not the text.
    ports.coalesce = { run: () => Promise.reject(new PortError('unavailable', 'the store is away')) };
    const failed = h.nextJob((o) => o.name === 'enrich-alert');
    const res = await h.request('POST', '/v1/ingest/generic', {
      json: { title: 'Beacon', severity: 'High', indicators: [{ type: 'ip', value: '8.8.4.4' }] },
    });
    expect(res.status).toBe(202);
    expect((await failed).state).toBe('failed');
    const stored = `SELECT a.enrichment_status, i.enrichment_results FROM alerts a
      JOIN alert_indicators ai ON ai.alert_id = a.id JOIN indicators i ON i.id = ai.indicator_id WHERE a.uuid = $1`;
    const uuid = res.body.data.alert_uuid;
    // Nothing of the failed run was written: the alert waits, its indicators are not even linked yet.
    expect(await h.query(stored, [uuid])).toEqual([]);
    expect(await h.query('SELECT enrichment_status FROM alerts WHERE uuid = $1', [uuid])).toEqual([
      { enrichment_status: 'Pending' },
    ]);

    // The database is back: the retry enriches, and no provider is blamed.
    ports.coalesce = coalesce;
    expect((await h.nextJob((o) => o.name === 'enrich-alert')).state).toBe('completed');
    const [row] = await h.query<{ enrichment_status: string; enrichment_results: Record<string, { status: string }> }>(
      stored,
      [uuid],
    );
    expect(row?.enrichment_status).toBe('Enriched');
    expect(Object.values(row?.enrichment_results ?? {}).map((r) => r.status)).not.toContain('failed');
  });
});

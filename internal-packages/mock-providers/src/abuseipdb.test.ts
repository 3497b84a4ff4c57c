import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KNOWN_BAD, KNOWN_SUSPICIOUS, type MockProvidersServer, startMockProviders } from './index.js';

let server: MockProvidersServer;

beforeAll(async () => {
  server = await startMockProviders();
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  server.setOptions({ apiKeys: {} });
});

async function check(query: string, headers: Record<string, string> = { Key: 'k', Accept: 'application/json' }) {
  const res = await fetch(`${server.baseUrls.abuseipdb}/api/v2/check?${query}`, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) as any };
}

describe('AbuseIPDB check', () => {
  it('scores a known-bad Tor exit ≥ 75 with every field the extractions read', async () => {
    const { status, body } = await check('ipAddress=185.220.101.34&maxAgeInDays=90');
    expect(status).toBe(200);
    const d = body.data;
    expect(d).toMatchObject({
      ipAddress: '185.220.101.34',
      isPublic: true,
      ipVersion: 4,
      isWhitelisted: false,
      countryCode: 'DE',
      usageType: expect.any(String),
      isp: expect.any(String),
      isTor: true,
      hostnames: expect.any(Array),
      lastReportedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/),
    });
    expect(d.abuseConfidenceScore).toBeGreaterThanOrEqual(75);
    expect(d.totalReports).toBeGreaterThan(0);
    expect(d.numDistinctUsers).toBeGreaterThan(0);
    expect('domain' in d).toBe(true);
    expect(d.reports).toBeUndefined();
    expect(d.countryName).toBeUndefined();
  });

  it('adds countryName and reports with verbose', async () => {
    const { body } = await check('ipAddress=198.51.100.99&maxAgeInDays=90&verbose');
    expect(body.data.countryName).toBe('Netherlands');
    expect(body.data.reports.length).toBeGreaterThan(0);
    expect(body.data.reports.length).toBeLessThanOrEqual(50);
    expect(body.data.reports[0]).toMatchObject({
      reportedAt: expect.any(String),
      comment: expect.any(String),
      categories: expect.any(Array),
      reporterId: expect.any(Number),
      reporterCountryCode: expect.any(String),
      reporterCountryName: expect.any(String),
    });
    expect(body.data.reports[0].reportedAt).toBe(body.data.lastReportedAt);
  });

  it('puts KNOWN_BAD ≥ 75, KNOWN_SUSPICIOUS in 25..74 and benign < 25', async () => {
    for (const ip of KNOWN_BAD.ip) {
      expect((await check(`ipAddress=${ip}`)).body.data.abuseConfidenceScore, ip).toBeGreaterThanOrEqual(75);
    }
    for (const ip of KNOWN_SUSPICIOUS.ip) {
      const score = (await check(`ipAddress=${ip}`)).body.data.abuseConfidenceScore;
      expect(score, ip).toBeGreaterThanOrEqual(25);
      expect(score, ip).toBeLessThan(75);
    }
    for (const ip of ['8.8.8.8', '1.1.1.1', '203.0.113.25', '2001:4860:4860::8888']) {
      expect((await check(`ipAddress=${encodeURIComponent(ip)}`)).body.data.abuseConfidenceScore, ip).toBeLessThan(25);
    }
  });

  it('reports private and not-found addresses as never reported', async () => {
    const priv = (await check('ipAddress=10.0.8.55')).body.data;
    expect(priv).toMatchObject({ isPublic: false, abuseConfidenceScore: 0, usageType: 'Reserved', countryCode: null });
    const nf = (await check('ipAddress=192.0.2.1')).body.data;
    expect(nf).toMatchObject({ abuseConfidenceScore: 0, totalReports: 0, numDistinctUsers: 0, lastReportedAt: null });
  });

  it('scales totalReports with maxAgeInDays (default 30)', async () => {
    const d30 = (await check('ipAddress=185.220.101.32')).body.data.totalReports;
    const d90 = (await check('ipAddress=185.220.101.32&maxAgeInDays=90')).body.data.totalReports;
    const d365 = (await check('ipAddress=185.220.101.32&maxAgeInDays=365')).body.data.totalReports;
    expect(d30).toBeLessThan(d90);
    expect(d90).toBeLessThan(d365);
  });

  it('is deterministic', async () => {
    const a = await check('ipAddress=91.234.56.78&maxAgeInDays=90&verbose');
    const b = await check('ipAddress=91.234.56.78&maxAgeInDays=90&verbose');
    expect(b.text).toBe(a.text);
  });

  it('sends X-RateLimit headers that count down', async () => {
    const a = await check('ipAddress=8.8.8.8');
    const b = await check('ipAddress=8.8.8.8');
    expect(a.headers.get('x-ratelimit-limit')).toBe('1000');
    expect(Number(a.headers.get('x-ratelimit-remaining'))).toBe(999);
    expect(Number(b.headers.get('x-ratelimit-remaining'))).toBe(998);
  });
});

describe('AbuseIPDB errors', () => {
  it('401s a missing or wrong Key', async () => {
    const missing = await check('ipAddress=8.8.8.8', {});
    expect(missing.status).toBe(401);
    expect(missing.body.errors[0].status).toBe(401);
    expect(missing.body.errors[0].detail).toMatch(/Authentication failed/);
    server.setOptions({ apiKeys: { abuseipdb: 'good' } });
    expect((await check('ipAddress=8.8.8.8', { Key: 'bad' })).status).toBe(401);
    expect((await check('ipAddress=8.8.8.8', { Key: 'good' })).status).toBe(200);
  });

  it('422s a missing or invalid IP and an out-of-range maxAgeInDays', async () => {
    const missing = await check('maxAgeInDays=90');
    expect(missing.status).toBe(422);
    expect(missing.body.errors[0].source).toEqual({ parameter: 'ipAddress' });
    expect((await check('ipAddress=unknown-host')).status).toBe(422);
    const age = await check('ipAddress=8.8.8.8&maxAgeInDays=366');
    expect(age.status).toBe(422);
    expect(age.body.errors[0].source.parameter).toBe('maxAgeInDays');
  });
});

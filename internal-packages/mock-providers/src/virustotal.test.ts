import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  KNOWN_BAD,
  KNOWN_SUSPICIOUS,
  type MockProvidersServer,
  NOT_FOUND_VALUES,
  startMockProviders,
  vtUrlId,
} from './index.js';

let server: MockProvidersServer;
let vt: string;
const KEY = { 'x-apikey': 'test-key' };

beforeAll(async () => {
  server = await startMockProviders();
  vt = `${server.baseUrls.virustotal}/api/v3`;
});
afterAll(() => server.close());
beforeEach(() => server.setOptions({ apiKeys: {}, rateLimit: undefined, errorRate: 0, malformedRate: 0 }));

async function get(path: string, headers: Record<string, string> = KEY) {
  const res = await fetch(`${vt}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) as any };
}

const pathFor = (kind: 'ip' | 'domain' | 'hash' | 'url', value: string) =>
  kind === 'ip'
    ? `/ip_addresses/${value}`
    : kind === 'domain'
      ? `/domains/${value}`
      : kind === 'hash'
        ? `/files/${value}`
        : `/urls/${vtUrlId(value)}`;

describe('VirusTotal ip_addresses', () => {
  it('reports a known-bad IP as malicious with a full per-engine report', async () => {
    const { status, body, text } = await get('/ip_addresses/185.220.101.34');
    expect(status).toBe(200);
    expect(body.data.id).toBe('185.220.101.34');
    expect(body.data.type).toBe('ip_address');
    expect(body.data.links.self).toBe(`${vt}/ip_addresses/185.220.101.34`);
    const a = body.data.attributes;
    expect(a.last_analysis_stats.malicious).toBeGreaterThan(0);
    expect(a.country).toBe('DE');
    expect(typeof a.as_owner).toBe('string');
    expect(typeof a.asn).toBe('number');
    expect(a.network).toBe('185.220.101.0/24');
    expect(a.reputation).toBeLessThan(0);
    expect(a.tags).toContain('tor');
    expect(a.whois.length).toBeGreaterThan(300);
    const engines = Object.entries(a.last_analysis_results) as [string, any][];
    expect(engines.length).toBeGreaterThanOrEqual(70);
    for (const [name, r] of engines) {
      expect(r.engine_name).toBe(name);
      expect(r.method).toBe('blacklist');
      expect(['harmless', 'malicious', 'suspicious', 'undetected', 'timeout']).toContain(r.category);
    }
    expect(engines.map(([n]) => n)).toEqual(expect.arrayContaining(['Kaspersky', 'BitDefender', 'Sophos', 'ESET']));
    const s = a.last_analysis_stats;
    expect(s.harmless + s.malicious + s.suspicious + s.undetected + s.timeout).toBe(engines.length);
    expect(engines.filter(([, r]) => r.category === 'malicious').length).toBe(s.malicious);
    expect(text.length).toBeGreaterThan(15_000);
  });

  it('reports a benign IP with no detections', async () => {
    const { status, body } = await get('/ip_addresses/8.8.4.4');
    expect(status).toBe(200);
    expect(body.data.attributes.last_analysis_stats.malicious).toBe(0);
    expect(body.data.attributes.last_analysis_stats.suspicious).toBe(0);
    expect(body.data.attributes.last_analysis_stats.harmless).toBeGreaterThan(0);
  });

  it('describes private addresses without network facts', async () => {
    const { status, body } = await get('/ip_addresses/10.0.8.55');
    expect(status).toBe(200);
    expect(body.data.attributes.last_analysis_stats.malicious).toBe(0);
    expect(body.data.attributes.country).toBeUndefined();
  });

  it('supports IPv6 and rejects non-IPs with InvalidArgumentError', async () => {
    expect((await get('/ip_addresses/2001:4860:4860::8888')).status).toBe(200);
    const bad = await get('/ip_addresses/not-an-ip');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('InvalidArgumentError');
  });
});

describe('VirusTotal value tables', () => {
  for (const kind of ['ip', 'domain', 'hash', 'url'] as const) {
    it(`every KNOWN_BAD ${kind} is malicious`, async () => {
      for (const value of KNOWN_BAD[kind]) {
        const { status, body } = await get(pathFor(kind, value));
        expect(status, value).toBe(200);
        expect(body.data.attributes.last_analysis_stats.malicious, value).toBeGreaterThan(0);
      }
    });
    it(`every KNOWN_SUSPICIOUS ${kind} is suspicious and not malicious`, async () => {
      for (const value of KNOWN_SUSPICIOUS[kind]) {
        const { status, body } = await get(pathFor(kind, value));
        expect(status, value).toBe(200);
        expect(body.data.attributes.last_analysis_stats.malicious, value).toBe(0);
        expect(body.data.attributes.last_analysis_stats.suspicious, value).toBeGreaterThan(0);
      }
    });
    it(`every NOT_FOUND ${kind} is a 404 NotFoundError`, async () => {
      for (const value of NOT_FOUND_VALUES[kind]) {
        const { status, body } = await get(pathFor(kind, value));
        expect(status, value).toBe(404);
        expect(body.error.code).toBe('NotFoundError');
        expect(typeof body.error.message).toBe('string');
      }
    });
  }

  it('treats anything containing "unknown" as not found', async () => {
    expect((await get('/domains/unknown-host.example.com')).status).toBe(404);
    expect((await get(pathFor('url', 'https://unknown.example.org/x'))).status).toBe(404);
  });

  it('makes URLs on a known-bad domain malicious', async () => {
    const { body } = await get(pathFor('url', 'https://c2-server.evil.com/gate.php'));
    expect(body.data.attributes.last_analysis_stats.malicious).toBeGreaterThan(0);
  });
});

describe('VirusTotal files', () => {
  const sha256 = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2';

  it('returns a full-size file report with the fields extractions rely on', async () => {
    const { status, body, text } = await get(`/files/${sha256}`);
    expect(status).toBe(200);
    expect(text.length).toBeGreaterThan(20_000);
    const a = body.data.attributes;
    expect(body.data.id).toBe(sha256);
    expect(body.data.type).toBe('file');
    expect(a.sha256).toBe(sha256);
    expect(a.md5).toMatch(/^[0-9a-f]{32}$/);
    expect(a.sha1).toMatch(/^[0-9a-f]{40}$/);
    expect(a.meaningful_name).toBe('svchost_update.exe');
    expect(a.type_description).toBe('Win32 EXE');
    expect(a.size).toBe(245_760);
    expect(a.names).toContain('svchost_update.exe');
    expect(a.last_analysis_stats.malicious).toBe(47);
    expect(a.popular_threat_classification.suggested_threat_label).toContain('emotet');
    expect(a.pe_info.import_list.length).toBeGreaterThan(0);
    const engines = Object.values(a.last_analysis_results) as any[];
    expect(engines.length).toBeGreaterThanOrEqual(70);
    expect(engines.every((e) => typeof e.engine_version === 'string' && e.engine_update === '20260301')).toBe(true);
    const names = Object.keys(a.last_analysis_results);
    expect(names).toEqual(expect.arrayContaining(['Kaspersky', 'BitDefender', 'ESET-NOD32', 'Sophos', 'Microsoft']));
    const detected = engines.filter((e) => e.category === 'malicious');
    expect(detected.every((e) => typeof e.result === 'string' && e.result.length > 0)).toBe(true);
    expect(engines.filter((e) => e.category === 'undetected').every((e) => e.result === null)).toBe(true);
  });

  it('finds the same file by md5 and sha1', async () => {
    const full = (await get(`/files/${sha256}`)).body.data.attributes;
    for (const h of [full.md5, full.sha1, full.md5.toUpperCase()]) {
      const { status, body } = await get(`/files/${h}`);
      expect(status).toBe(200);
      expect(body.data.id).toBe(sha256);
    }
  });

  it('generates a benign report for an unlisted hash, keeping the queried hash', async () => {
    const md5 = 'd41d8cd98f00b204e9800998ecf8427e';
    const { status, body } = await get(`/files/${md5}`);
    expect(status).toBe(200);
    expect(body.data.attributes.md5).toBe(md5);
    expect(body.data.attributes.last_analysis_stats.malicious).toBe(0);
    expect(body.data.attributes.last_analysis_stats.suspicious).toBe(0);
    expect(typeof body.data.attributes.meaningful_name).toBe('string');
  });

  it('rejects malformed hashes as not found', async () => {
    expect((await get('/files/xyz')).status).toBe(404);
  });
});

describe('VirusTotal domains', () => {
  it('has registrar, creation date, categories and DNS records', async () => {
    const { status, body } = await get('/domains/c2-relay.darkops.net');
    expect(status).toBe(200);
    const a = body.data.attributes;
    expect(body.data.type).toBe('domain');
    expect(typeof a.registrar).toBe('string');
    expect(Number.isInteger(a.creation_date)).toBe(true);
    expect(Object.keys(a.categories).length).toBeGreaterThan(0);
    expect(a.last_dns_records).toEqual(
      expect.arrayContaining([{ type: 'A', ttl: expect.any(Number), value: '198.51.100.99' }]),
    );
    expect(a.whois).toContain('Domain Name: C2-RELAY.DARKOPS.NET');
  });

  it('is case-insensitive', async () => {
    const lower = await get('/domains/evil.example.com');
    const upper = await get('/domains/EVIL.EXAMPLE.COM');
    expect(upper.text).toBe(lower.text);
  });
});

describe('VirusTotal URL identifiers', () => {
  const url = 'https://evil.example.com/payload/stage2.ps1';

  it('looks a URL up by unpadded base64url id; data.id is the SHA-256 of the URL', async () => {
    const id = vtUrlId(url);
    expect(id).not.toMatch(/[=+/]/);
    const { status, body } = await get(`/urls/${id}`);
    expect(status).toBe(200);
    expect(body.data.type).toBe('url');
    expect(body.data.attributes.url).toBe(url);
    expect(body.data.attributes.last_final_url).toBe(url);
    expect(body.data.attributes.last_http_response_code).toBe(200);
    expect(typeof body.data.attributes.title).toBe('string');
    expect(body.data.id).toBe(createHash('sha256').update(url).digest('hex'));
  });

  it('also accepts the SHA-256 id of a URL it has seen, and padded base64', async () => {
    const seen = 'https://portal.azure.com/';
    const first = await get(`/urls/${vtUrlId(seen)}`);
    expect(first.status).toBe(200);
    const bySha = await get(`/urls/${first.body.data.id}`);
    expect(bySha.status).toBe(200);
    expect(bySha.body.data.attributes.url).toBe(seen);
    const padded = Buffer.from(url)
      .toString('base64url')
      .padEnd(Math.ceil(vtUrlId(url).length / 4) * 4, '=');
    expect((await get(`/urls/${encodeURIComponent(padded)}`)).body.data.attributes.url).toBe(url);
  });

  it('404s ids that are not URLs', async () => {
    const r = await get('/urls/thisurlidmakesnosenseatall');
    expect(r.status).toBe(404);
    expect(r.body.error).toEqual({ code: 'NotFoundError', message: 'URL "thisurlidmakesnosenseatall" not found' });
    expect((await get(`/urls/${'ab'.repeat(32)}`)).status).toBe(404);
  });
});

describe('VirusTotal auth and determinism', () => {
  it('401s a missing key (AuthenticationRequiredError) and a wrong one (WrongCredentialsError)', async () => {
    const missing = await get('/ip_addresses/8.8.8.8', {});
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('AuthenticationRequiredError');
    server.setOptions({ apiKeys: { virustotal: 'right' } });
    const wrong = await get('/ip_addresses/8.8.8.8', { 'x-apikey': 'wrong' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('WrongCredentialsError');
    expect((await get('/ip_addresses/8.8.8.8', { 'x-apikey': 'right' })).status).toBe(200);
  });

  it('answers the same value identically, also from another server instance', async () => {
    const a = await get('/files/de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c');
    const b = await get('/files/de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c');
    expect(b.text).toBe(a.text);
    const other = await startMockProviders();
    try {
      const res = await fetch(
        `${other.baseUrls.virustotal}/api/v3/files/de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c`,
        {
          headers: KEY,
        },
      );
      const text = (await res.text()).replaceAll(other.url, server.url);
      expect(text).toBe(a.text);
    } finally {
      await other.close();
    }
  });

  it('is also served at the root paths of the real API', async () => {
    const res = await fetch(`${server.url}/api/v3/ip_addresses/45.33.32.156`, { headers: KEY });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.data.links.self).toBe(`${server.url}/api/v3/ip_addresses/45.33.32.156`);
  });

  it('answers unknown VirusTotal paths with a VirusTotal-shaped 404', async () => {
    const { status, body } = await get('/nothing/here');
    expect(status).toBe(404);
    expect(body.error.code).toBe('NotFoundError');
  });
});

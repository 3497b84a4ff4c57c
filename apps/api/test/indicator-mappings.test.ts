import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from './fixtures.js';
import { createHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

/** Reference §3.6: the 14 seeded normalized-field mappings. */
const SYSTEM_MAPPINGS = [
  'account actor_username',
  'domain dns_query',
  'domain dst_hostname',
  'domain http_hostname',
  'domain src_hostname',
  'email actor_email',
  'email email_from',
  'email email_reply_to',
  'hash_md5 file_hash_md5',
  'hash_sha1 file_hash_sha1',
  'hash_sha256 file_hash_sha256',
  'ip dst_ip',
  'ip src_ip',
  'url http_url',
];

interface Mapping {
  uuid: string;
  source_name: string | null;
  field_path: string;
  indicator_type: string;
  extraction_target: string;
  is_system: boolean;
  is_active: boolean;
  description: string | null;
}

interface Extracted {
  type: string;
  value: string;
  source_field: string;
}

const line = (i: Extracted) => `${i.type} ${i.value} ${i.source_field}`;

async function count(
  table: 'alerts' | 'indicators' | 'alert_indicators' | 'activity_events' | 'indicator_field_mappings',
) {
  const row = await h.deps.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function jobCount(): Promise<number> {
  const { rows } = await h.deps.queue.boss.getDb().executeSql('SELECT count(*)::int AS n FROM pgboss.job', []);
  return (rows[0] as { n: number }).n;
}

async function systemMapping(fieldPath: string): Promise<Mapping> {
  const res = await h.request('GET', '/v1/indicator-mappings?is_system=true&page_size=500');
  const found = (res.body.data as Mapping[]).find((m) => m.field_path === fieldPath);
  if (!found) throw new Error(`no system mapping for ${fieldPath}`);
  return found;
}

const testExtraction = (json: unknown, key?: string) =>
  h.request('POST', '/v1/indicator-mappings/test-extraction', key === undefined ? { json } : { json, key });

// First, while the database holds no alert or indicator at all.
describe('POST /v1/indicator-mappings/test-extraction', () => {
  const ELASTIC_PASS_1 = [
    'ip 10.0.0.55 source.ip',
    'ip 185.220.101.32 destination.ip',
    'domain evil.example.com destination.domain',
    'domain c2-server.evil.com dns.question.name',
    'url https://evil.example.com/payload/stage2.ps1 url.full',
    'hash_sha256 a1b2c3d4e5f6789012345678901234567890abcdef1234567890abcdef123456 process.hash.sha256',
    'hash_md5 d41d8cd98f00b204e9800998ecf8427e process.hash.md5',
    'email jdoe@corp.com user.email',
    'account jdoe user.name',
  ];

  it('runs the three passes on the elastic fixture, deduplicates them, and stores nothing', async () => {
    expect(await count('alerts')).toBe(0);
    expect(await count('indicators')).toBe(0);
    const before = [await count('activity_events'), await count('alert_indicators'), await jobCount()];

    const res = await testExtraction({ source_name: 'elastic', raw_payload: fixture('elastic_alert.json') });
    expect(res.status).toBe(200);
    const data = res.body.data;
    expect(data).toMatchObject({ success: true, source_name: 'elastic', error_message: null });
    expect(
      data.passes.map((p: { pass_name: string; pass_label: string; error: null }) => [p.pass_name, p.pass_label]),
    ).toEqual([
      ['source_plugin', 'Source Plugin'],
      ['normalized_mappings', 'Normalized Mappings'],
      ['raw_payload_mappings', 'Raw Payload Mappings'],
    ]);
    for (const pass of data.passes) expect(pass.error).toBeNull();

    const [plugin, normalized, raw] = data.passes as Array<{ indicators: Extracted[] }>;
    expect(plugin?.indicators.map(line)).toEqual(ELASTIC_PASS_1);
    expect(plugin?.indicators).toHaveLength(9);
    expect(normalized?.indicators.map(line).sort()).toEqual(
      [
        'account jdoe normalized.actor_username',
        'domain WORKSTATION-01.corp.com normalized.src_hostname',
        'domain c2-server.evil.com normalized.dns_query',
        'domain evil.example.com normalized.dst_hostname',
        'email jdoe@corp.com normalized.actor_email',
        'hash_md5 d41d8cd98f00b204e9800998ecf8427e normalized.file_hash_md5',
        'hash_sha256 a1b2c3d4e5f6789012345678901234567890abcdef1234567890abcdef123456 normalized.file_hash_sha256',
        'ip 10.0.0.55 normalized.src_ip',
        'ip 185.220.101.32 normalized.dst_ip',
        'url https://evil.example.com/payload/stage2.ps1 normalized.http_url',
      ].sort(),
    );
    expect(raw?.indicators).toEqual([]);

    // Merged in pass order, first occurrence kept: pass 1 plus what only pass 2 found.
    expect(data.deduplicated.map(line)).toEqual([
      ...ELASTIC_PASS_1,
      'domain WORKSTATION-01.corp.com normalized.src_hostname',
    ]);
    expect(data.deduplicated_count).toBe(10);
    expect(data.normalization_preview).toMatchObject({
      title: 'Suspicious PowerShell Execution',
      severity: 'High',
      occurred_at: '2024-01-15T10:29:50.000Z',
      source_name: 'elastic',
      src_hostname: 'WORKSTATION-01.corp.com',
      tags: ['PowerShell', 'Endpoint', 'T1059.001'],
    });
    expect(typeof data.duration_ms).toBe('number');

    expect(await count('alerts')).toBe(0);
    expect(await count('indicators')).toBe(0);
    expect([await count('activity_events'), await count('alert_indicators'), await jobCount()]).toEqual(before);
  });

  it('rejects a payload the source does not accept with 422 INVALID_PAYLOAD', async () => {
    const res = await testExtraction({ source_name: 'elastic', raw_payload: { hello: 'world' } });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INVALID_PAYLOAD');
    expect(res.body.error.details.errors.length).toBeGreaterThan(0);
    const generic = await testExtraction({ source_name: 'generic', raw_payload: { severity: 'high' } });
    expect(generic.status).toBe(422);
    expect(generic.body.error.code).toBe('INVALID_PAYLOAD');
  });

  it.each([
    ['an unknown source', { source_name: 'qradar', raw_payload: { title: 'x' } }],
    ['a non-object payload', { source_name: 'generic', raw_payload: ['x'] }],
    ['a missing payload', { source_name: 'generic' }],
    ['an unknown field', { source_name: 'generic', raw_payload: { title: 'x' }, persist: true }],
  ])('rejects %s with 422', async (_name, json) => {
    const res = await testExtraction(json);
    expect(res.status).toBe(422);
    expect(res.body.request_id).toBe(res.headers.get('x-request-id'));
  });
});

describe('system mappings', () => {
  it('14 are seeded: normalized target, no source, is_system', async () => {
    const res = await h.request('GET', '/v1/indicator-mappings?is_system=true&page_size=500');
    expect(res.status).toBe(200);
    expect(res.body.meta.total).toBe(14);
    const mappings = res.body.data as Mapping[];
    expect(mappings.map((m) => `${m.indicator_type} ${m.field_path}`).sort()).toEqual(SYSTEM_MAPPINGS);
    for (const m of mappings) {
      expect(m).toMatchObject({ is_system: true, is_active: true, extraction_target: 'normalized', source_name: null });
    }
  });

  it('GET one by uuid; 404 for an unknown uuid; 422 for a non-uuid', async () => {
    const mapping = await systemMapping('dst_ip');
    const res = await h.request('GET', `/v1/indicator-mappings/${mapping.uuid}`);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ uuid: mapping.uuid, field_path: 'dst_ip', indicator_type: 'ip' });
    expect((await h.request('GET', `/v1/indicator-mappings/${randomUUID()}`)).status).toBe(404);
    const invalid = await h.request('GET', '/v1/indicator-mappings/dst_ip');
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.code).toBe('VALIDATION_ERROR');
  });

  it.each([
    ['field_path', { field_path: 'src_ip_v2' }],
    ['source_name', { source_name: 'elastic' }],
    ['extraction_target', { extraction_target: 'raw_payload' }],
  ])('PATCH of %s → 422 SYSTEM_MAPPING_READONLY, unchanged', async (_name, json) => {
    const mapping = await systemMapping('src_ip');
    const res = await h.request('PATCH', `/v1/indicator-mappings/${mapping.uuid}`, { json });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('SYSTEM_MAPPING_READONLY');
    const after = await h.request('GET', `/v1/indicator-mappings/${mapping.uuid}`);
    expect(after.body.data).toMatchObject({
      field_path: 'src_ip',
      source_name: null,
      extraction_target: 'normalized',
      is_system: true,
    });
  });

  it('PATCH is_active → 200, and extraction stops using it until re-activated', async () => {
    const mapping = await systemMapping('src_hostname');
    const payload = { source_name: 'elastic', raw_payload: fixture('elastic_alert.json') };
    const found = async () => ((await testExtraction(payload)).body.data.deduplicated as Extracted[]).map(line);

    const off = await h.request('PATCH', `/v1/indicator-mappings/${mapping.uuid}`, { json: { is_active: false } });
    expect(off.status).toBe(200);
    expect(off.body.data).toMatchObject({ uuid: mapping.uuid, is_active: false, is_system: true });
    expect(await found()).not.toContain('domain WORKSTATION-01.corp.com normalized.src_hostname');
    expect((await h.request('GET', '/v1/indicator-mappings?is_system=true&is_active=false')).body.meta.total).toBe(1);

    const on = await h.request('PATCH', `/v1/indicator-mappings/${mapping.uuid}`, {
      json: { is_active: true, description: 'Source host name' },
    });
    expect(on.status).toBe(200);
    expect(on.body.data).toMatchObject({
      is_active: true,
      description: 'Source host name',
      field_path: 'src_hostname',
    });
    expect(await found()).toContain('domain WORKSTATION-01.corp.com normalized.src_hostname');
  });

  it('DELETE of a system mapping → 422 SYSTEM_MAPPING_READONLY, still there', async () => {
    const mapping = await systemMapping('http_url');
    const res = await h.request('DELETE', `/v1/indicator-mappings/${mapping.uuid}`);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('SYSTEM_MAPPING_READONLY');
    expect((await h.request('GET', `/v1/indicator-mappings/${mapping.uuid}`)).status).toBe(200);
    expect((await h.request('GET', '/v1/indicator-mappings?is_system=true')).body.meta.total).toBe(14);
  });
});

describe('custom mappings', () => {
  let custom: Mapping;

  it('POST creates a raw_payload mapping (201)', async () => {
    const res = await h.request('POST', '/v1/indicator-mappings', {
      json: {
        source_name: 'generic',
        field_path: 'custom.attacker_ip',
        indicator_type: 'ip',
        extraction_target: 'raw_payload',
        description: 'Attacker IP in our custom webhook',
      },
    });
    expect(res.status).toBe(201);
    custom = res.body.data;
    expect(custom).toMatchObject({
      source_name: 'generic',
      field_path: 'custom.attacker_ip',
      indicator_type: 'ip',
      extraction_target: 'raw_payload',
      is_system: false,
      is_active: true,
      description: 'Attacker IP in our custom webhook',
    });
    const shown = await h.request('GET', `/v1/indicator-mappings/${custom.uuid}`);
    expect(shown.body.data).toMatchObject({ uuid: custom.uuid, field_path: 'custom.attacker_ip' });
  });

  it('the worker extracts through it for alerts of its source only', async () => {
    // Scoped to another source: must not apply to a generic alert.
    const other = await h.request('POST', '/v1/indicator-mappings', {
      json: { source_name: 'splunk', field_path: 'custom.victim', indicator_type: 'account' },
    });
    expect(other.status).toBe(201);

    const ingested = await h.request('POST', '/v1/ingest/generic', {
      json: { title: 'Custom mapping alert', custom: { attacker_ip: '203.0.113.50', victim: 'alice' } },
    });
    expect(ingested.status).toBe(202);
    const uuid = ingested.body.data.alert_uuid;
    const { id } = await h.deps.db.selectFrom('alerts').select('id').where('uuid', '=', uuid).executeTakeFirstOrThrow();
    const done = h.nextJob((o) => (o.data as { alert_id?: number }).alert_id === id);
    await h.startWorker();
    expect((await done).state).toBe('completed');

    const res = await h.request('GET', `/v1/alerts/${uuid}/indicators`);
    expect(res.status).toBe(200);
    expect((res.body.data as Extracted[]).map(line)).toEqual(['ip 203.0.113.50 raw_payload.custom.attacker_ip']);
  });

  it('the same mapping shows up in test-extraction pass 3', async () => {
    const res = await testExtraction({
      source_name: 'generic',
      raw_payload: { title: 'Dry run', custom: { attacker_ip: '198.51.100.23' } },
    });
    expect(res.status).toBe(200);
    const raw = res.body.data.passes.find((p: { pass_name: string }) => p.pass_name === 'raw_payload_mappings');
    expect((raw.indicators as Extracted[]).map(line)).toEqual(['ip 198.51.100.23 raw_payload.custom.attacker_ip']);
    expect((res.body.data.deduplicated as Extracted[]).map(line)).toEqual([
      'ip 198.51.100.23 raw_payload.custom.attacker_ip',
    ]);
  });

  it('a custom mapping can change its path', async () => {
    const res = await h.request('PATCH', `/v1/indicator-mappings/${custom.uuid}`, {
      json: { field_path: 'custom.attacker.ip' },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ field_path: 'custom.attacker.ip', is_system: false });
    const back = await h.request('PATCH', `/v1/indicator-mappings/${custom.uuid}`, {
      json: { field_path: 'custom.attacker_ip' },
    });
    expect(back.body.data.field_path).toBe('custom.attacker_ip');
  });

  it('filters by is_system and extraction_target', async () => {
    const normalized = await h.request('POST', '/v1/indicator-mappings', {
      json: {
        source_name: 'elastic',
        field_path: 'dns_query',
        indicator_type: 'domain',
        extraction_target: 'normalized',
      },
    });
    expect(normalized.status).toBe(201);
    const paths = (res: { body: { data: Mapping[] } }) => res.body.data.map((m) => m.field_path).sort();

    const customRaw = await h.request('GET', '/v1/indicator-mappings?is_system=false&extraction_target=raw_payload');
    expect(paths(customRaw)).toEqual(['custom.attacker_ip', 'custom.victim']);
    const customNormalized = await h.request(
      'GET',
      '/v1/indicator-mappings?is_system=false&extraction_target=normalized',
    );
    expect(paths(customNormalized)).toEqual(['dns_query']);
    const systemRaw = await h.request('GET', '/v1/indicator-mappings?is_system=true&extraction_target=raw_payload');
    expect(systemRaw.body.meta.total).toBe(0);
    const allNormalized = await h.request('GET', '/v1/indicator-mappings?extraction_target=normalized&page_size=500');
    expect(allNormalized.body.meta.total).toBe(15);
    const bySource = await h.request('GET', '/v1/indicator-mappings?source_name=splunk');
    expect(paths(bySource)).toEqual(['custom.victim']);
    const all = await h.request('GET', '/v1/indicator-mappings?page_size=5');
    expect(all.body.meta).toEqual({ total: 17, page: 1, page_size: 5, total_pages: 4 });

    for (const bad of ['extraction_target=source_plugin', 'is_system=yes', 'page_size=501']) {
      expect((await h.request('GET', `/v1/indicator-mappings?${bad}`)).status, bad).toBe(422);
    }
  });

  it('DELETE of a custom mapping → 204, then 404; extraction no longer uses it', async () => {
    const res = await h.request('DELETE', `/v1/indicator-mappings/${custom.uuid}`);
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
    expect((await h.request('GET', `/v1/indicator-mappings/${custom.uuid}`)).status).toBe(404);
    expect((await h.request('DELETE', `/v1/indicator-mappings/${custom.uuid}`)).status).toBe(404);
    const dry = await testExtraction({
      source_name: 'generic',
      raw_payload: { title: 'After delete', custom: { attacker_ip: '198.51.100.24' } },
    });
    expect(dry.body.data.deduplicated).toEqual([]);
  });

  it.each([
    ['an unknown indicator_type', { field_path: 'x.y', indicator_type: 'ipv9' }],
    ['an unknown source_name', { source_name: 'qradar', field_path: 'x.y', indicator_type: 'ip' }],
    ['an unknown extraction_target', { field_path: 'x.y', indicator_type: 'ip', extraction_target: 'anywhere' }],
    ['a path with spaces', { field_path: 'x y', indicator_type: 'ip' }],
    ['a missing field_path', { indicator_type: 'ip' }],
    ['is_system set by the caller', { field_path: 'x.y', indicator_type: 'ip', is_system: true }],
  ])('POST with %s → 422, nothing created', async (_name, json) => {
    const before = await count('indicator_field_mappings');
    const res = await h.request('POST', '/v1/indicator-mappings', { json });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    expect(await count('indicator_field_mappings')).toBe(before);
  });

  it('PATCH to an unknown source_name or indicator_type → 422', async () => {
    const created = await h.request('POST', '/v1/indicator-mappings', {
      json: { field_path: 'alert.src', indicator_type: 'ip' },
    });
    const uuid = created.body.data.uuid;
    for (const json of [{ source_name: 'qradar' }, { indicator_type: 'ipv9' }]) {
      const res = await h.request('PATCH', `/v1/indicator-mappings/${uuid}`, { json });
      expect(res.status).toBe(422);
    }
    const shown = await h.request('GET', `/v1/indicator-mappings/${uuid}`);
    expect(shown.body.data).toMatchObject({ source_name: null, indicator_type: 'ip' });
  });
});

describe('GET /v1/indicator-mappings/source-plugin-fields', () => {
  it('documents pass-1 fields of every built-in source', async () => {
    const res = await h.request('GET', '/v1/indicator-mappings/source-plugin-fields');
    expect(res.status).toBe(200);
    const data = res.body.data as Mapping[];
    expect(new Set(data.map((m) => m.source_name))).toEqual(new Set(['sentinel', 'elastic', 'splunk', 'generic']));
    for (const m of data) {
      expect(m).toMatchObject({
        uuid: '00000000-0000-0000-0000-000000000000',
        extraction_target: 'source_plugin',
        is_system: true,
        is_active: true,
      });
    }
    const entries = data.map((m) => `${m.source_name} ${m.field_path} ${m.indicator_type}`);
    expect(entries).toEqual(
      expect.arrayContaining([
        'sentinel Entities.ip ip',
        'elastic source.ip ip',
        'elastic url.full url',
        'splunk result.src_ip ip',
        'generic indicators[] ip',
        'generic src_ip ip',
      ]),
    );
  });
});

describe('authorization', () => {
  it('every mapping route needs admin: an alerts-only key gets 403', async () => {
    const key = await h.createKey({ scopes: ['alerts:read', 'alerts:write'] });
    const target = await systemMapping('email_from');
    const before = await count('indicator_field_mappings');
    const attempts: Array<[string, string, unknown]> = [
      ['GET', '/v1/indicator-mappings', undefined],
      ['POST', '/v1/indicator-mappings', { field_path: 'a.b', indicator_type: 'ip' }],
      ['GET', `/v1/indicator-mappings/${target.uuid}`, undefined],
      ['PATCH', `/v1/indicator-mappings/${target.uuid}`, { is_active: false }],
      ['DELETE', `/v1/indicator-mappings/${target.uuid}`, undefined],
      ['POST', '/v1/indicator-mappings/test-extraction', { source_name: 'generic', raw_payload: { title: 'x' } }],
      ['GET', '/v1/indicator-mappings/source-plugin-fields', undefined],
    ];
    for (const [method, path, json] of attempts) {
      const res = await h.request(method, path, json === undefined ? { key } : { key, json });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
      expect(res.body.error.details.required_scopes).toEqual(['admin']);
    }
    expect(await count('indicator_field_mappings')).toBe(before);
    expect((await h.request('GET', `/v1/indicator-mappings/${target.uuid}`)).body.data.is_active).toBe(true);
  });

  it('no key → 401', async () => {
    const res = await h.request('GET', '/v1/indicator-mappings', { key: null });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from './fixtures.js';
import { createHarness, type Harness } from './harness.js';

let h: Harness;
let readKey: string;
let writeKey: string;
beforeAll(async () => {
  h = await createHarness();
  readKey = await h.createKey({ scopes: ['alerts:read'] });
  writeKey = await h.createKey({ scopes: ['alerts:write'] });
});
afterAll(() => h.close());

interface RuleView {
  uuid: string;
  name: string;
  source_name: string | null;
  source_rule_id: string | null;
  severity: string | null;
  created_by: string | null;
  [key: string]: unknown;
}

let counter = 0;
async function create(extra: Record<string, unknown> = {}): Promise<RuleView> {
  counter += 1;
  const res = await h.request('POST', '/v1/detection-rules', {
    json: { name: `Rule ${counter}`, source_name: 'generic', source_rule_id: `rule-${counter}`, ...extra },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.data;
}

const errorPaths = (body: { error: { details?: { errors?: Array<{ path: string }> } } }) =>
  (body.error.details?.errors ?? []).map((e) => e.path);

describe('detection rule CRUD', () => {
  it('creates a documented rule, defaulting created_by to the caller key prefix', async () => {
    const res = await h.request('POST', '/v1/detection-rules', {
      json: {
        name: 'Password spray against Entra ID',
        source_name: 'sentinel',
        source_rule_id: '11111111-2222-3333-4444-555555555555',
        severity: 'High',
        mitre_tactics: ['CredentialAccess', 'TA0001', 'Initial Access'],
        mitre_techniques: ['T1110', 'T1110.003'],
        mitre_subtechniques: ['T1110.003'],
        data_sources: ['SigninLogs'],
        run_frequency: '5m',
        documentation: '# Password spray\n\n## Goal\nDetect spraying.',
      },
    });
    expect(res.status).toBe(201);
    const rule = res.body.data as RuleView;
    expect(rule).toMatchObject({
      name: 'Password spray against Entra ID',
      is_active: true,
      is_system: false,
      mitre_tactics: ['CredentialAccess', 'TA0001', 'Initial Access'],
      run_frequency: '5m',
      documentation: '# Password spray\n\n## Goal\nDetect spraying.',
    });
    expect(rule).not.toHaveProperty('id');
    const prefixes = await h.query<{ key_prefix: string }>("SELECT key_prefix FROM api_keys WHERE scopes = '{admin}'");
    expect(prefixes.map((k) => k.key_prefix)).toContain(rule.created_by);
    expect(h.adminKey.startsWith(rule.created_by as string)).toBe(true);

    const got = await h.request('GET', `/v1/detection-rules/${rule.uuid}`, { key: readKey });
    expect(got.status).toBe(200);
    expect(got.body.data).toEqual(rule);

    const [event] = await h.query<{ references: Record<string, unknown> }>(
      `SELECT "references" FROM activity_events WHERE event_type = 'detection_rule_created' AND "references"->>'rule_uuid' = $1`,
      [rule.uuid],
    );
    expect(event?.references).toMatchObject({ name: 'Password spray against Entra ID', source_name: 'sentinel' });
  });

  it('keeps an explicit created_by', async () => {
    const rule = await create({ created_by: 'detection-engineering' });
    expect(rule.created_by).toBe('detection-engineering');
  });

  it('patches fields, clears with null, ignores omitted ones and refuses source identity changes', async () => {
    const rule = await create({ severity: 'Low', documentation: 'old', run_frequency: '1h' });
    const res = await h.request('PATCH', `/v1/detection-rules/${rule.uuid}`, {
      json: { name: 'Renamed', severity: 'Critical', documentation: null, mitre_techniques: ['T1059.001'] },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      name: 'Renamed',
      severity: 'Critical',
      documentation: null,
      run_frequency: '1h',
      mitre_techniques: ['T1059.001'],
      source_rule_id: rule.source_rule_id,
    });
    expect(Date.parse(res.body.data.updated_at)).toBeGreaterThanOrEqual(Date.parse(rule.updated_at as string));

    const identity = await h.request('PATCH', `/v1/detection-rules/${rule.uuid}`, {
      json: { source_rule_id: 'other' },
    });
    expect(identity.status).toBe(422);

    const [event] = await h.query<{ references: { fields: string[] } }>(
      `SELECT "references" FROM activity_events WHERE event_type = 'detection_rule_updated' AND "references"->>'rule_uuid' = $1`,
      [rule.uuid],
    );
    expect(event?.references.fields.sort()).toEqual(['documentation', 'mitre_techniques', 'name', 'severity']);
  });

  it('answers 404 for unknown rules and 422 for bad uuids', async () => {
    const missing = '0190f3a4-0000-7000-8000-000000000000';
    expect((await h.request('GET', `/v1/detection-rules/${missing}`)).status).toBe(404);
    expect((await h.request('PATCH', `/v1/detection-rules/${missing}`, { json: { name: 'x' } })).status).toBe(404);
    expect((await h.request('DELETE', `/v1/detection-rules/${missing}`)).status).toBe(404);
    expect((await h.request('GET', '/v1/detection-rules/not-a-uuid')).status).toBe(422);
  });
});

describe('validation', () => {
  it.each([
    ['missing name', { name: undefined }, ['name']],
    ['empty name', { name: '  ' }, ['name']],
    ['long name', { name: 'x'.repeat(501) }, ['name']],
    ['unknown tactic', { mitre_tactics: ['Lunch'] }, ['mitre_tactics.0']],
    ['bad technique', { mitre_techniques: ['T110', 'T1110.1'] }, ['mitre_techniques.0', 'mitre_techniques.1']],
    ['technique as sub-technique', { mitre_subtechniques: ['T1110'] }, ['mitre_subtechniques.0']],
    ['unknown field', { false_positive_tags: [] }, ['']],
  ])('refuses %s with 422 and the path', async (_label, override, paths) => {
    const res = await h.request('POST', '/v1/detection-rules', {
      json: { name: 'Valid', source_rule_id: 'v', source_name: 'generic', ...override },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    expect(errorPaths(res.body)).toEqual(paths);
  });
});

describe('source identity', () => {
  it('refuses a second rule for the same (source_name, source_rule_id) with the existing uuid', async () => {
    const first = await create({ source_name: 'elastic', source_rule_id: 'dup-1' });
    const again = await h.request('POST', '/v1/detection-rules', {
      json: { name: 'Other name', source_name: 'elastic', source_rule_id: 'dup-1' },
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CONFLICT');
    expect(again.body.error.details.existing_uuid).toBe(first.uuid);
    // Same rule id under another source is another rule.
    await create({ source_name: 'splunk', source_rule_id: 'dup-1' });
  });

  it('a stub ingest created is the same rule: create says 409, PATCH documents it and alerts stay linked', async () => {
    const ingested = await h.request('POST', '/v1/ingest/elastic', { json: fixture('02_elastic_malware_hash.json') });
    expect(ingested.status).toBe(202);
    const [stub] = await h.query<{ uuid: string; name: string }>(
      `SELECT uuid, name FROM detection_rules WHERE source_name = 'elastic' AND source_rule_id = $1`,
      ['d8e5f6a7-b9c0-4d1e-a2f3-456789abcdef'],
    );
    expect(stub).toBeDefined();
    const conflict = await h.request('POST', '/v1/detection-rules', {
      json: {
        name: 'Known Malware Hash Detected on Endpoint',
        source_name: 'elastic',
        source_rule_id: 'd8e5f6a7-b9c0-4d1e-a2f3-456789abcdef',
        documentation: '# Known malware',
      },
    });
    expect(conflict.status).toBe(409);
    const uuid = conflict.body.error.details.existing_uuid as string;
    expect(uuid).toBe(stub?.uuid);
    const patched = await h.request('PATCH', `/v1/detection-rules/${uuid}`, {
      json: { documentation: '# Known malware', mitre_tactics: ['Execution'] },
    });
    expect(patched.status).toBe(200);
    const alert = await h.request('GET', `/v1/alerts/${ingested.body.data.alert_uuid}`);
    expect(alert.status).toBe(200);
    expect(alert.body.data.detection_rule).toMatchObject({ uuid, documentation: '# Known malware' });
  });
});

describe('delete', () => {
  it('deletes a rule; its alerts keep their rows, unlinked', async () => {
    const ingested = await h.request('POST', '/v1/ingest/elastic', {
      json: fixture('05_elastic_suspicious_powershell.json'),
    });
    expect(ingested.status).toBe(202);
    const alertUuid = ingested.body.data.alert_uuid;
    const [rule] = await h.query<{ uuid: string }>(
      `SELECT r.uuid FROM alerts a JOIN detection_rules r ON r.id = a.detection_rule_id WHERE a.uuid = $1`,
      [alertUuid],
    );
    expect(rule).toBeDefined();
    const res = await h.request('DELETE', `/v1/detection-rules/${rule?.uuid}`);
    expect(res.status).toBe(204);
    expect((await h.request('GET', `/v1/detection-rules/${rule?.uuid}`)).status).toBe(404);
    const [alert] = await h.query<{ detection_rule_id: number | null }>(
      'SELECT detection_rule_id FROM alerts WHERE uuid = $1',
      [alertUuid],
    );
    expect(alert).toEqual({ detection_rule_id: null });
    const events = await h.query(
      `SELECT 1 FROM activity_events WHERE event_type = 'detection_rule_deleted' AND "references"->>'rule_uuid' = $1`,
      [rule?.uuid],
    );
    expect(events).toHaveLength(1);
  });
});

describe('listing', () => {
  it('filters by source (multi), severity (multi, any case) and is_active', async () => {
    const a = await create({ source_name: 'listing-a', severity: 'high' });
    const b = await create({ source_name: 'listing-b', severity: 'Low', is_active: false });
    const c = await create({ source_name: 'listing-c', severity: 'Critical' });
    const names = async (query: string) => {
      const res = await h.request('GET', `/v1/detection-rules?${query}`, { key: readKey });
      expect(res.status).toBe(200);
      return (res.body.data as RuleView[]).map((r) => r.uuid);
    };
    expect(await names('source_name=listing-a,%20listing-b')).toEqual([b.uuid, a.uuid]);
    expect(await names('source_name=listing-a,listing-b,listing-c&severity=HIGH,critical')).toEqual([c.uuid, a.uuid]);
    expect(await names('source_name=listing-a,listing-b,listing-c&is_active=false')).toEqual([b.uuid]);
  });

  it('sorts by severity weight, name and created_at (default newest first), and paginates', async () => {
    const low = await create({ source_name: 'sorting', name: 'b-low', severity: 'Low' });
    const crit = await create({ source_name: 'sorting', name: 'c-crit', severity: 'Critical' });
    const med = await create({ source_name: 'sorting', name: 'a-med', severity: 'medium' });
    const list = async (query: string) =>
      (await h.request('GET', `/v1/detection-rules?source_name=sorting&${query}`)).body;
    expect((await list('')).data.map((r: RuleView) => r.uuid)).toEqual([med.uuid, crit.uuid, low.uuid]);
    expect((await list('sort_by=severity')).data.map((r: RuleView) => r.uuid)).toEqual([crit.uuid, med.uuid, low.uuid]);
    expect((await list('sort_by=name&sort_order=asc')).data.map((r: RuleView) => r.name)).toEqual([
      'a-med',
      'b-low',
      'c-crit',
    ]);
    const page = await list('sort_by=created_at&sort_order=asc&page=2&page_size=2');
    expect(page.data.map((r: RuleView) => r.uuid)).toEqual([med.uuid]);
    expect(page.meta).toEqual({ total: 3, page: 2, page_size: 2, total_pages: 2 });
    expect((await h.request('GET', '/v1/detection-rules?sort_by=uuid')).status).toBe(422);
    expect((await h.request('GET', '/v1/detection-rules?sort_order=up')).status).toBe(422);
  });

  it('searches by name (literal substring, any case) and by MITRE tactic or technique', async () => {
    const spray = await create({
      source_name: 'search',
      name: 'Password Spray 100%_done',
      mitre_tactics: ['TA0006'],
      mitre_techniques: ['T1110'],
      mitre_subtechniques: ['T1110.003'],
    });
    const phish = await create({
      source_name: 'search',
      name: 'Phishing link clicked',
      mitre_tactics: ['TA0001'],
      mitre_techniques: ['T1566'],
    });
    const uuids = async (query: string) =>
      (
        (await h.request('GET', `/v1/detection-rules?source_name=search&${query}`, { key: readKey })).body
          .data as RuleView[]
      )
        .map((r) => r.uuid)
        .sort();
    expect(await uuids('name=password%20SPRAY')).toEqual([spray.uuid]);
    expect(await uuids('name=100%25_')).toEqual([spray.uuid]); // % and _ are literal, not wildcards
    expect(await uuids('name=%25')).toEqual([spray.uuid]);
    expect(await uuids('mitre_tactic=TA0001')).toEqual([phish.uuid]);
    expect(await uuids('mitre_technique=T1110')).toEqual([spray.uuid]);
    expect(await uuids('mitre_technique=T1110.003')).toEqual([spray.uuid]);
    expect(await uuids('mitre_technique=T1110.001')).toEqual([]);
    expect(await uuids('name=link&mitre_tactic=TA0006')).toEqual([]);
  });
});

describe('scopes', () => {
  it('alerts:read reads; writing needs admin', async () => {
    const rule = await create();
    expect((await h.request('GET', '/v1/detection-rules', { key: readKey })).status).toBe(200);
    expect((await h.request('GET', `/v1/detection-rules/${rule.uuid}`, { key: writeKey })).status).toBe(403);
    for (const [method, path, json] of [
      ['POST', '/v1/detection-rules', { name: 'nope' }],
      ['PATCH', `/v1/detection-rules/${rule.uuid}`, { name: 'nope' }],
      ['DELETE', `/v1/detection-rules/${rule.uuid}`, undefined],
    ] as const) {
      const res = await h.request(method, path, { key: readKey, json });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.details.required_scopes).toEqual(['admin']);
    }
    expect((await h.request('GET', '/v1/detection-rules', { key: null })).status).toBe(401);
    expect((await h.request('GET', `/v1/detection-rules/${rule.uuid}`)).body.data.name).toBe(rule.name);
  });
});

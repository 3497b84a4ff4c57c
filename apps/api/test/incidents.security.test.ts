/**
 * Incidents (issue 23), attacked: every endpoint within the key's scopes; alert content (titles,
 * entity values) is data — never a pattern, and bounded wherever it lands (titles, keys).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';
import { correlate, genericAlert, ingestAll } from './incidents-scenarios.js';

let h: Harness;
let incidentUuid: string;
let memberUuid: string;

beforeAll(async () => {
  h = await createHarness();
  // The attacker writes the first alert's title: long, and full of pattern syntax.
  const title = `(a+)+$ %_ ${'x'.repeat(10_000)}`;
  const alerts = await ingestAll(h, 'generic', [
    genericAlert({ title, severity: 'High', user: 'kim@contoso.com' }),
    genericAlert({ title: 'Second sign-in', severity: 'Low', user: 'kim@contoso.com' }),
  ]);
  const { changes } = await correlate(h, alerts);
  incidentUuid = changes[0]?.incidentUuid as string;
  memberUuid = alerts[1]?.uuid as string;
}, 60_000);
afterAll(() => h?.close());

describe('scopes', () => {
  it('reads need alerts:read, writes alerts:write, the rules admin', async () => {
    const agent = await h.createKey({ scopes: ['agents:read'] });
    const reader = await h.createKey({ scopes: ['alerts:read'] });
    const writer = await h.createKey({ scopes: ['alerts:read', 'alerts:write'] });
    const reads: Array<[string, string, unknown?]> = [
      ['GET', '/v1/incidents'],
      ['GET', `/v1/incidents/${incidentUuid}`],
      ['GET', `/v1/incidents/${incidentUuid}/timeline`],
      ['GET', `/v1/incidents/${incidentUuid}/findings`],
      [
        'POST',
        '/v1/incidents/correlation/dry-run',
        { from_time: '2026-01-01T00:00:00Z', to_time: '2027-01-01T00:00:00Z' },
      ],
    ];
    const writes: Array<[string, string, unknown]> = [
      ['PATCH', `/v1/incidents/${incidentUuid}`, { status: 'Triaging' }],
      ['POST', `/v1/incidents/${incidentUuid}/findings`, { agent_name: 'a', summary: 'b' }],
      ['POST', `/v1/incidents/${incidentUuid}/alerts`, { alert_uuids: [memberUuid] }],
      ['POST', `/v1/incidents/${incidentUuid}/split`, { alert_uuids: [memberUuid] }],
      ['POST', `/v1/incidents/${incidentUuid}/merge`, { incident_uuids: [crypto.randomUUID()] }],
    ];
    const admin: Array<[string, string, unknown?]> = [
      ['GET', '/v1/incidents/correlation/config'],
      ['PUT', '/v1/incidents/correlation/config', { enabled: false }],
    ];
    const status = async (key: string, [method, path, json]: [string, string, unknown?]) =>
      (await h.request(method, path, { key, ...(json === undefined ? {} : { json }) })).status;
    for (const call of [...reads, ...writes, ...admin]) expect(await status(agent, call), call.join(' ')).toBe(403);
    for (const call of reads) expect(await status(reader, call), call.join(' ')).toBe(200);
    for (const call of [...writes, ...admin]) expect(await status(reader, call), call.join(' ')).toBe(403);
    for (const call of admin) expect(await status(writer, call), call.join(' ')).toBe(403);
    // Nothing the refused writes asked for happened.
    const incident = (await h.request('GET', `/v1/incidents/${incidentUuid}`)).body.data;
    expect(incident).toMatchObject({ status: 'Open', alert_count: 2, finding_count: 0 });
    expect((await h.request('GET', '/v1/incidents/correlation/config')).body.data.enabled).toBe(true);
  });

  it('the OpenAPI document states each operation’s scopes', async () => {
    const doc = (await h.request('GET', '/openapi.json', { key: null })).body;
    expect(doc.paths['/v1/incidents'].get['x-required-scopes']).toEqual(['alerts:read']);
    expect(doc.paths['/v1/incidents/{incident_uuid}/merge'].post['x-required-scopes']).toEqual(['alerts:write']);
    expect(doc.paths['/v1/incidents/correlation/config'].put['x-required-scopes']).toEqual(['admin']);
  });
});

describe('alert content is data', () => {
  it('a generated title is bounded and keeps the text literally', async () => {
    const { title } = (await h.request('GET', `/v1/incidents/${incidentUuid}`)).body.data;
    expect(title.length).toBeLessThanOrEqual(200);
    expect(title.startsWith('(a+)+$ %_ xxx')).toBe(true);
  });

  it('a title search matches its text literally: % and _ are not wildcards', async () => {
    const all = await h.request('GET', '/v1/incidents');
    expect(all.body.data).toHaveLength(1);
    const percent = await h.request('GET', `/v1/incidents?q=${encodeURIComponent('Second%')}`);
    expect(percent.body.data).toEqual([]);
    const underscore = await h.request('GET', `/v1/incidents?q=${encodeURIComponent('(a+)+$ _')}`);
    expect(underscore.body.data).toEqual([]);
    const literal = await h.request('GET', `/v1/incidents?q=${encodeURIComponent('(a+)+$ %_')}`);
    expect(literal.body.data.map((i: { uuid: string }) => i.uuid)).toEqual([incidentUuid]);
  });

  it('excluded values are compared whole, never as patterns', async () => {
    const pair = (user: string) =>
      ingestAll(h, 'generic', [
        genericAlert({ title: `Token theft ${user}`, severity: 'Medium', user }),
        genericAlert({ title: `Token replay ${user}`, severity: 'Medium', user }),
      ]);
    // '.*' and a catastrophic-backtracking pattern exclude only themselves.
    let saved = await h.request('PUT', '/v1/incidents/correlation/config', {
      json: { excluded_values: ['.*', '(a+)+$', 'lee@.*'] },
    });
    expect(saved.status).toBe(200);
    const related = await pair('lee@contoso.com');
    expect((await correlate(h, related)).changes).toHaveLength(1);
    // The exact value (any case) is excluded: the pair stays apart.
    saved = await h.request('PUT', '/v1/incidents/correlation/config', {
      json: { excluded_values: ['MOE@CONTOSO.COM'] },
    });
    const excluded = await pair('moe@contoso.com');
    expect((await correlate(h, excluded)).changes).toEqual([]);
    await h.request('PUT', '/v1/incidents/correlation/config', { json: {} });
  });

  it('an alert with hundreds of entities adds a bounded number of keys', async () => {
    const [alert] = await ingestAll(h, 'generic', [
      genericAlert({ title: 'Bulk', severity: 'Low', rule_id: 'bulk-rule', user: 'bulk@contoso.com' }),
    ]);
    for (let page = 0; page < 4; page++) {
      const indicators = Array.from({ length: 100 }, (_, i) => ({
        type: 'account',
        value: `bulk${page * 100 + i}@contoso.com`,
      }));
      const added = await h.request('POST', `/v1/alerts/${alert?.uuid}/indicators`, { json: { indicators } });
      expect(added.status).toBe(201);
    }
    await correlate(h, [alert as { id: number; uuid: string }]);
    const [row] = await h.query<{ n: number; longest: number }>(
      'SELECT count(*)::int AS n, coalesce(max(length(key)), 0)::int AS longest FROM incident_correlation_keys WHERE alert_id = $1',
      [alert?.id],
    );
    expect(row?.n).toBeLessThanOrEqual(64 * 2 + 4);
    expect(row?.longest).toBeLessThanOrEqual(80);
  });
});

import { randomUUID } from 'node:crypto';
import { addAlertIndicators, contextFor, SYSTEM } from '@calseta/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

/** Ingest one generic alert and return its uuid (asserting it was stored as a new alert). */
async function seed(payload: Record<string, unknown>): Promise<string> {
  const res = await h.request('POST', '/v1/ingest/generic', { json: payload });
  expect(res.status).toBe(202);
  expect(res.body.data.status).toBe('queued');
  return res.body.data.alert_uuid;
}

async function list(query: string, key?: string) {
  return h.request('GET', `/v1/alerts?${query}`, key === undefined ? {} : { key });
}

const titles = (body: { data: Array<{ title: string }> }) => body.data.map((a) => a.title);

async function alertId(uuid: string): Promise<number> {
  const row = await h.deps.db.selectFrom('alerts').select('id').where('uuid', '=', uuid).executeTakeFirstOrThrow();
  return row.id;
}

describe('GET /v1/alerts: sorting and pagination', () => {
  const TAG = 'set-sort';
  // Inserted in an order that matches none of the sort orders under test.
  const SEED = [
    { title: 'Sort Charlie', severity: 'low', occurred_at: '2026-01-03T00:00:00Z' },
    { title: 'Sort Alpha', severity: 'critical', occurred_at: '2026-01-01T00:00:00Z' },
    { title: 'Sort Echo', severity: 'informational', occurred_at: '2026-01-05T00:00:00Z' },
    { title: 'Sort Bravo', severity: 'high', occurred_at: '2026-01-02T00:00:00Z' },
    { title: 'Sort Delta', severity: 'medium', occurred_at: '2026-01-04T00:00:00Z' },
  ];

  beforeAll(async () => {
    for (const alert of SEED) await seed({ ...alert, tags: [TAG], src_ip: '198.51.100.1' });
  });

  it('defaults to occurred_at descending and returns summaries', async () => {
    const res = await list(`tags=${TAG}`);
    expect(res.status).toBe(200);
    expect(titles(res.body)).toEqual(['Sort Echo', 'Sort Delta', 'Sort Charlie', 'Sort Bravo', 'Sort Alpha']);
    expect(res.body.data[0]).toMatchObject({
      title: 'Sort Echo',
      severity: 'Informational',
      status: 'Open',
      source_name: 'generic',
      occurred_at: '2026-01-05T00:00:00.000Z',
      tags: [TAG],
      is_enriched: false,
      enrichment_status: 'Pending',
    });
    // A summary, not the detail: no payload, no indicators.
    expect(res.body.data[0]).not.toHaveProperty('raw_payload');
    expect(res.body.data[0]).not.toHaveProperty('indicators');
  });

  it('sort_order=asc on the default key reverses it', async () => {
    const res = await list(`tags=${TAG}&sort_by=occurred_at&sort_order=asc`);
    expect(titles(res.body)).toEqual(['Sort Alpha', 'Sort Bravo', 'Sort Charlie', 'Sort Delta', 'Sort Echo']);
  });

  it('sorts severity by weight (Critical > High > Medium > Low > Informational), not alphabetically', async () => {
    const desc = await list(`tags=${TAG}&sort_by=severity&sort_order=desc`);
    expect(desc.status).toBe(200);
    expect(desc.body.data.map((a: { severity: string }) => a.severity)).toEqual([
      'Critical',
      'High',
      'Medium',
      'Low',
      'Informational',
    ]);
    const asc = await list(`tags=${TAG}&sort_by=severity&sort_order=asc`);
    expect(asc.body.data.map((a: { severity: string }) => a.severity)).toEqual([
      'Informational',
      'Low',
      'Medium',
      'High',
      'Critical',
    ]);
  });

  it('sorts by title, descending when sort_order is omitted', async () => {
    const asc = await list(`tags=${TAG}&sort_by=title&sort_order=asc`);
    expect(titles(asc.body)).toEqual(['Sort Alpha', 'Sort Bravo', 'Sort Charlie', 'Sort Delta', 'Sort Echo']);
    const implicit = await list(`tags=${TAG}&sort_by=title`);
    expect(titles(implicit.body)).toEqual(['Sort Echo', 'Sort Delta', 'Sort Charlie', 'Sort Bravo', 'Sort Alpha']);
  });

  it('rejects an unknown sort_by or sort_order with 422', async () => {
    for (const query of ['sort_by=fingerprint', 'sort_by=raw_payload', 'sort_order=sideways']) {
      const res = await list(query);
      expect(res.status, query).toBe(422);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      expect(res.body.request_id).toBe(res.headers.get('x-request-id'));
    }
  });

  it('paginates with total, page, page_size and total_pages', async () => {
    const first = await list(`tags=${TAG}&sort_by=title&sort_order=asc&page_size=2`);
    expect(first.body.meta).toEqual({ total: 5, page: 1, page_size: 2, total_pages: 3 });
    expect(titles(first.body)).toEqual(['Sort Alpha', 'Sort Bravo']);
    const second = await list(`tags=${TAG}&sort_by=title&sort_order=asc&page_size=2&page=2`);
    expect(titles(second.body)).toEqual(['Sort Charlie', 'Sort Delta']);
    const last = await list(`tags=${TAG}&sort_by=title&sort_order=asc&page_size=2&page=3`);
    expect(last.body.meta).toEqual({ total: 5, page: 3, page_size: 2, total_pages: 3 });
    expect(titles(last.body)).toEqual(['Sort Echo']);
    const beyond = await list(`tags=${TAG}&page_size=2&page=4`);
    expect(beyond.status).toBe(200);
    expect(beyond.body.data).toEqual([]);
    expect(beyond.body.meta.total).toBe(5);
  });

  it('defaults to page 1 of 50', async () => {
    const res = await list(`tags=${TAG}`);
    expect(res.body.meta).toEqual({ total: 5, page: 1, page_size: 50, total_pages: 1 });
  });

  it.each(['page_size=0', 'page_size=501', 'page=0', 'page_size=abc', 'page=-1'])('%s → 422', async (query) => {
    const res = await list(query);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
  });

  it('accepts the page_size bounds 1 and 500', async () => {
    const one = await list(`tags=${TAG}&page_size=1`);
    expect(one.status).toBe(200);
    expect(one.body.data).toHaveLength(1);
    expect(one.body.meta.total_pages).toBe(5);
    const max = await list(`tags=${TAG}&page_size=500`);
    expect(max.status).toBe(200);
    expect(max.body.data).toHaveLength(5);
  });
});

describe('GET /v1/alerts: filters', () => {
  const TAG = 'set-filter';
  let one: string;
  let two: string;
  let three: string;
  let splunk: string;

  beforeAll(async () => {
    one = await seed({
      title: 'Filter One',
      severity: 'high',
      occurred_at: '2025-06-01T00:00:00Z',
      tags: [TAG, 'red', 'blue'],
    });
    two = await seed({ title: 'Filter Two', severity: 'low', occurred_at: '2025-06-02T00:00:00Z', tags: [TAG, 'red'] });
    three = await seed({
      title: 'Filter Three',
      severity: 'CRITICAL',
      occurred_at: '2025-06-03T12:00:00Z',
      tags: [TAG, 'blue'],
    });
    const res = await h.request('POST', '/v1/ingest/splunk', {
      json: { search_name: 'Filter Splunk', sid: '42', result: { src_ip: '203.0.113.200' } },
    });
    expect(res.status).toBe(202);
    splunk = res.body.data.alert_uuid;
    // State the pipeline does not produce yet, set directly.
    await h.deps.db.updateTable('alerts').set({ status: 'Triaging' }).where('uuid', '=', two).execute();
    await h.deps.db.updateTable('alerts').set({ is_enriched: true }).where('uuid', '=', three).execute();
  });

  const uuids = (body: { data: Array<{ uuid: string }> }) => body.data.map((a) => a.uuid).sort();

  it('status takes a comma-separated list', async () => {
    expect(uuids((await list(`tags=${TAG}&status=Triaging,Escalated`)).body)).toEqual([two]);
    expect(uuids((await list(`tags=${TAG}&status=Open`)).body)).toEqual([one, three].sort());
    expect(uuids((await list(`tags=${TAG}&status=Open, Triaging`)).body)).toEqual([one, two, three].sort());
    expect((await list(`tags=${TAG}&status=Closed`)).body.meta.total).toBe(0);
  });

  it('severity takes a comma-separated list of normalized severities', async () => {
    const res = await list(`tags=${TAG}&severity=High,Critical`);
    expect(uuids(res.body)).toEqual([one, three].sort());
    expect(res.body.meta.total).toBe(2);
    expect(uuids((await list(`tags=${TAG}&severity=Low`)).body)).toEqual([two]);
  });

  it('source_name takes a comma-separated list', async () => {
    const only = await list('source_name=splunk');
    expect(only.status).toBe(200);
    expect(uuids(only.body)).toEqual([splunk]);
    expect(only.body.data[0]).toMatchObject({ title: 'Filter Splunk', source_name: 'splunk' });
    const both = await list('source_name=splunk,generic&page_size=500');
    expect(both.body.data.map((a: { uuid: string }) => a.uuid)).toEqual(expect.arrayContaining([splunk, one, two]));
    expect((await list('source_name=qradar')).body.meta.total).toBe(0);
  });

  it('from_time and to_time are inclusive bounds on occurred_at', async () => {
    const inclusive = await list(`tags=${TAG}&from_time=2025-06-02T00:00:00Z&to_time=2025-06-03T12:00:00Z`);
    expect(uuids(inclusive.body)).toEqual([two, three].sort());
    const exclusive = await list(`tags=${TAG}&from_time=2025-06-02T00:00:00.001Z&to_time=2025-06-03T11:59:59.999Z`);
    expect(exclusive.body.data).toEqual([]);
    const fromOnly = await list(`tags=${TAG}&from_time=2025-06-03T12:00:00Z`);
    expect(uuids(fromOnly.body)).toEqual([three]);
    const toOnly = await list(`tags=${TAG}&to_time=2025-06-01T00:00:00Z`);
    expect(uuids(toOnly.body)).toEqual([one]);
    // An offset is honoured: 02:00+02:00 is midnight UTC.
    const offset = await list(`tags=${TAG}&to_time=${encodeURIComponent('2025-06-01T02:00:00+02:00')}`);
    expect(uuids(offset.body)).toEqual([one]);
  });

  it('rejects a from_time that is not an ISO timestamp', async () => {
    const res = await list('from_time=yesterday');
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
  });

  it('tags: repeated params must all be present on the alert', async () => {
    expect(uuids((await list('tags=red&tags=blue')).body)).toEqual([one]);
    expect(uuids((await list(`tags=${TAG}&tags=red`)).body)).toEqual([one, two].sort());
    expect(uuids((await list(`tags=${TAG}&tags=blue`)).body)).toEqual([one, three].sort());
    expect((await list('tags=red&tags=green')).body.meta.total).toBe(0);
  });

  it('is_enriched filters on the flag', async () => {
    expect(uuids((await list(`tags=${TAG}&is_enriched=true`)).body)).toEqual([three]);
    expect(uuids((await list(`tags=${TAG}&is_enriched=false`)).body)).toEqual([one, two].sort());
    expect((await list('is_enriched=yes')).status).toBe(422);
  });

  it('filters combine with AND', async () => {
    const res = await list(`tags=red&severity=High,Low&status=Open`);
    expect(uuids(res.body)).toEqual([one]);
  });
});

describe('GET /v1/alerts/{uuid}', () => {
  it('404 for an unknown uuid, 422 for a non-uuid', async () => {
    const missing = await h.request('GET', `/v1/alerts/${randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
    expect(missing.body.request_id).toBe(missing.headers.get('x-request-id'));
    const invalid = await h.request('GET', '/v1/alerts/not-a-uuid');
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.code).toBe('VALIDATION_ERROR');
    for (const path of ['/indicators', '/activity']) {
      expect((await h.request('GET', `/v1/alerts/${randomUUID()}${path}`)).status).toBe(404);
      expect((await h.request('GET', `/v1/alerts/12345${path}`)).status).toBe(422);
    }
  });

  it('returns the detail with the normalized fields from the payload', async () => {
    const uuid = await seed({
      title: 'Detail alert',
      severity: 'Medium',
      occurred_at: '2026-02-10T08:00:00+01:00',
      tags: ['detail', 'x'],
      src_ip: '192.0.2.10',
    });
    const res = await h.request('GET', `/v1/alerts/${uuid}`);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      uuid,
      title: 'Detail alert',
      severity: 'Medium',
      status: 'Open',
      occurred_at: '2026-02-10T07:00:00.000Z',
      tags: ['detail', 'x'],
      acknowledged_at: null,
      triaged_at: null,
      closed_at: null,
      close_classification: null,
      raw_payload: { title: 'Detail alert', src_ip: '192.0.2.10' },
    });
    expect(res.body.meta).toMatchObject({ alert_source: 'generic', indicator_count: 0 });
  });

  it('malice is Pending without an override, the override after PATCH, and Pending again after reset', async () => {
    const uuid = await seed({ title: 'Malice alert', severity: 'low', src_ip: '192.0.2.11' });
    const before = await h.request('GET', `/v1/alerts/${uuid}`);
    expect(before.body.data).toMatchObject({ malice: 'Pending', malice_override: null, malice_override_at: null });

    const set = await h.request('PATCH', `/v1/alerts/${uuid}`, { json: { malice_override: 'Malicious' } });
    expect(set.status).toBe(200);
    expect(set.body.data).toMatchObject({
      malice: 'Malicious',
      malice_override: 'Malicious',
      malice_override_source: 'analyst',
    });
    expect(set.body.data.malice_override_at).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
    const after = await h.request('GET', `/v1/alerts/${uuid}`);
    expect(after.body.data).toMatchObject({ malice: 'Malicious', malice_override: 'Malicious' });

    // reset wins over a malice_override in the same request
    const reset = await h.request('PATCH', `/v1/alerts/${uuid}`, {
      json: { reset_malice_override: true, malice_override: 'Benign' },
    });
    expect(reset.status).toBe(200);
    expect(reset.body.data).toMatchObject({
      malice: 'Pending',
      malice_override: null,
      malice_override_source: null,
      malice_override_at: null,
    });
    const final = await h.request('GET', `/v1/alerts/${uuid}`);
    expect(final.body.data.malice).toBe('Pending');
  });
});

describe('PATCH /v1/alerts/{uuid}: lifecycle', () => {
  let uuid: string;
  let writer: string;
  const stamps: Record<string, string> = {};

  beforeAll(async () => {
    uuid = await seed({ title: 'Lifecycle alert', severity: 'low', occurred_at: '2026-03-01T00:00:00Z' });
    writer = await h.createKey({ name: 'triager', scopes: ['alerts:read', 'alerts:write'] });
  });

  const patch = (json: unknown, key = writer) => h.request('PATCH', `/v1/alerts/${uuid}`, { json, key });
  const get = async () => (await h.request('GET', `/v1/alerts/${uuid}`)).body.data;

  it('Open → Triaging sets acknowledged_at and triaged_at', async () => {
    const before = await get();
    expect(before).toMatchObject({ status: 'Open', acknowledged_at: null, triaged_at: null, closed_at: null });
    const res = await patch({ status: 'Triaging' });
    expect(res.status).toBe(200);
    expect(res.body.data.status).toBe('Triaging');
    expect(res.body.data.acknowledged_at).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
    expect(res.body.data.triaged_at).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
    expect(res.body.data.closed_at).toBeNull();
    stamps.acknowledged_at = res.body.data.acknowledged_at;
    stamps.triaged_at = res.body.data.triaged_at;
    expect(await get()).toMatchObject({ status: 'Triaging', ...stamps });
  });

  it('→ Closed without close_classification is 422 and changes nothing', async () => {
    const before = await get();
    const activityBefore = (await h.request('GET', `/v1/alerts/${uuid}/activity`)).body.meta.total;
    const res = await patch({ status: 'Closed' });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    expect(res.body.error.details.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'close_classification' })]),
    );
    const after = await get();
    expect(after).toMatchObject({ status: 'Triaging', closed_at: null, close_classification: null, ...stamps });
    expect(after.updated_at).toBe(before.updated_at);
    expect((await h.request('GET', `/v1/alerts/${uuid}/activity`)).body.meta.total).toBe(activityBefore);
  });

  it('→ Closed with a classification sets closed_at and keeps the earlier stamps', async () => {
    const res = await patch({ status: 'Closed', close_classification: 'True Positive - Suspicious Activity' });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      status: 'Closed',
      close_classification: 'True Positive - Suspicious Activity',
      ...stamps,
    });
    expect(res.body.data.closed_at).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
    stamps.closed_at = res.body.data.closed_at;
  });

  it('reopening keeps every stamp', async () => {
    const res = await patch({ status: 'Open' });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'Open', ...stamps });
    expect(await get()).toMatchObject({ status: 'Open', ...stamps });
  });

  it('records a severity change', async () => {
    const res = await patch({ severity: 'Critical' });
    expect(res.status).toBe(200);
    expect(res.body.data.severity).toBe('Critical');
    expect((await get()).severity).toBe('Critical');
  });

  it('records a malice override', async () => {
    const res = await patch({ malice_override: 'Suspicious' });
    expect(res.status).toBe(200);
    expect(res.body.data.malice).toBe('Suspicious');
  });

  it('the activity timeline lists the changes newest first, by the key that made them', async () => {
    const res = await h.request('GET', `/v1/alerts/${uuid}/activity`);
    expect(res.status).toBe(200);
    const events = res.body.data as Array<{
      event_type: string;
      actor_type: string;
      actor_key_prefix: string | null;
      references: Record<string, unknown>;
    }>;
    expect(events.map((e) => e.event_type)).toEqual([
      'alert_malice_updated',
      'alert_severity_updated',
      'alert_status_updated',
      'alert_closed',
      'alert_status_updated',
      'alert_ingested',
    ]);
    expect(res.body.meta).toEqual({ total: 6, page: 1, page_size: 50, total_pages: 1 });
    for (const event of events.slice(0, 5)) {
      expect(event.actor_type).toBe('api');
      expect(event.actor_key_prefix).toBe(writer.slice(0, 8));
    }
    expect(events[5]?.actor_key_prefix).toBe(h.adminKey.slice(0, 8));
    expect(events[0]?.references).toMatchObject({
      from_malice: null,
      to_malice: 'Suspicious',
      malice_source: 'analyst',
    });
    expect(events[1]?.references).toMatchObject({ from_severity: 'Low', to_severity: 'Critical' });
    expect(events[2]?.references).toMatchObject({ from_status: 'Closed', to_status: 'Open' });
    expect(events[3]?.references).toMatchObject({
      from_status: 'Triaging',
      close_classification: 'True Positive - Suspicious Activity',
    });
    expect(events[4]?.references).toMatchObject({ from_status: 'Open', to_status: 'Triaging' });

    const paged = await h.request('GET', `/v1/alerts/${uuid}/activity?page_size=2&page=2`);
    expect(paged.body.data.map((e: { event_type: string }) => e.event_type)).toEqual([
      'alert_status_updated',
      'alert_closed',
    ]);
    expect(paged.body.meta).toEqual({ total: 6, page: 2, page_size: 2, total_pages: 3 });
  });

  it('an unchanged value records no event', async () => {
    const before = (await h.request('GET', `/v1/alerts/${uuid}/activity`)).body.meta.total;
    expect((await patch({ status: 'Open', severity: 'Critical' })).status).toBe(200);
    expect((await h.request('GET', `/v1/alerts/${uuid}/activity`)).body.meta.total).toBe(before);
  });

  it.each([
    ['an unknown field', { status: 'Triaging', assignee: 'bob' }],
    ['an unknown status', { status: 'Resolved' }],
    ['severity Pending', { severity: 'Pending' }],
    ['an unknown classification', { status: 'Closed', close_classification: 'Whatever' }],
    ['an unknown malice level', { malice_override: 'Evil' }],
  ])('rejects %s with 422 and changes nothing', async (_name, json) => {
    const before = await get();
    const res = await patch(json);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    const after = await get();
    expect(after).toMatchObject({ status: before.status, severity: before.severity, updated_at: before.updated_at });
  });

  it('needs alerts:write (a read-only key gets 403)', async () => {
    const reader = await h.createKey({ scopes: ['alerts:read'] });
    const res = await patch({ severity: 'Low' }, reader);
    expect(res.status).toBe(403);
    expect(res.body.error.details.required_scopes).toEqual(['alerts:write']);
    expect((await get()).severity).toBe('Critical');
  });

  it('404 for an unknown alert', async () => {
    const res = await h.request('PATCH', `/v1/alerts/${randomUUID()}`, { json: { severity: 'Low' } });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
  });
});

describe('after the worker ran: indicators and deletion', () => {
  let uuid: string;

  beforeAll(async () => {
    uuid = await seed({
      title: 'Worker alert',
      severity: 'high',
      src_ip: '203.0.113.77',
      domain: 'worker.example',
      user: 'wuser',
    });
    const id = await alertId(uuid);
    const done = h.nextJob((o) => (o.data as { alert_id?: number }).alert_id === id);
    await h.startWorker();
    expect((await done).state).toBe('completed');
  });

  it("GET /v1/alerts/{uuid}/indicators lists the alert's indicators with their source field", async () => {
    const res = await h.request('GET', `/v1/alerts/${uuid}/indicators`);
    expect(res.status).toBe(200);
    expect(res.body.meta).toEqual({});
    const found = res.body.data.map(
      (i: { type: string; value: string; source_field: string }) => `${i.type} ${i.value} ${i.source_field}`,
    );
    expect(found.sort()).toEqual(['account wuser user', 'domain worker.example domain', 'ip 203.0.113.77 src_ip']);
    // Enrichment ran and no provider could judge them (none configured): Unknown, never Pending again.
    for (const indicator of res.body.data) {
      expect(indicator).toMatchObject({ malice: 'Unknown', is_enriched: false });
    }
    const detail = await h.request('GET', `/v1/alerts/${uuid}`);
    expect(detail.body.meta.indicator_count).toBe(3);
  });

  it('DELETE → 204, then 404; the global indicators stay', async () => {
    const id = await alertId(uuid);
    const res = await h.request('DELETE', `/v1/alerts/${uuid}`);
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
    expect((await h.request('GET', `/v1/alerts/${uuid}`)).status).toBe(404);
    expect((await h.request('GET', `/v1/alerts/${uuid}/indicators`)).status).toBe(404);
    expect((await h.request('DELETE', `/v1/alerts/${uuid}`)).status).toBe(404);

    const indicators = await h.deps.db
      .selectFrom('indicators')
      .select(['type', 'value'])
      .where('value', 'in', ['203.0.113.77', 'worker.example', 'wuser'])
      .orderBy('value')
      .execute();
    expect(indicators).toEqual([
      { type: 'ip', value: '203.0.113.77' },
      { type: 'domain', value: 'worker.example' },
      { type: 'account', value: 'wuser' },
    ]);
    const links = await h.deps.db.selectFrom('alert_indicators').select('id').where('alert_id', '=', id).execute();
    expect(links).toHaveLength(0);
    const deleted = await h.deps.db
      .selectFrom('activity_events')
      .select(['references', 'alert_id'])
      .where('event_type', '=', 'alert_deleted')
      .execute();
    expect(deleted).toHaveLength(1);
    expect(deleted[0]?.references).toMatchObject({ alert_uuid: uuid, title: 'Worker alert' });
  });

  it('DELETE needs alerts:write', async () => {
    const other = await seed({ title: 'Not deletable by a reader', severity: 'low' });
    const reader = await h.createKey({ scopes: ['alerts:read'] });
    const res = await h.request('DELETE', `/v1/alerts/${other}`, { key: reader });
    expect(res.status).toBe(403);
    expect((await h.request('GET', `/v1/alerts/${other}`)).status).toBe(200);
  });
});

describe('PATCH bodies', () => {
  it('an empty body changes nothing and is not a server error', async () => {
    const created = await h.request('POST', '/v1/ingest/generic', {
      json: { title: 'Empty patch target', severity: 'low' },
    });
    const uuid = created.body.data.alert_uuid;
    for (const options of [{}, { body: '', headers: { 'content-type': 'application/json' } }]) {
      const res = await h.request('PATCH', `/v1/alerts/${uuid}`, options);
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ status: 'Open', severity: 'Low' });
    }
  });
});

describe('reclassifying a closed alert', () => {
  it('records the change in the timeline', async () => {
    const created = await h.request('POST', '/v1/ingest/generic', {
      json: { title: 'Reclassify me', severity: 'low' },
    });
    const uuid = created.body.data.alert_uuid;
    const closed = await h.request('PATCH', `/v1/alerts/${uuid}`, {
      json: { status: 'Closed', close_classification: 'Undetermined' },
    });
    expect(closed.status).toBe(200);
    await h.request('PATCH', `/v1/alerts/${uuid}`, {
      json: { close_classification: 'False Positive - Inaccurate Data' },
    });
    const activity = await h.request('GET', `/v1/alerts/${uuid}/activity`);
    // The worker may add its own events meanwhile; look at the triage events only, newest first.
    const triage = activity.body.data.filter((e: { event_type: string }) => e.event_type.startsWith('alert_c'));
    const [latest, previous] = triage;
    expect(latest).toMatchObject({
      event_type: 'alert_classification_updated',
      references: { from_classification: 'Undetermined', to_classification: 'False Positive - Inaccurate Data' },
    });
    expect(previous.event_type).toBe('alert_closed');
  });
});

describe('POST /v1/alerts/{uuid}/indicators', () => {
  const enrichJobs = async (id: number) => {
    const { rows } = await h.deps.queue.boss
      .getDb()
      .executeSql(
        `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'enrich-alert' AND data->>'reason' = 'indicators_added' AND (data->>'alert_id')::bigint = $1`,
        [id],
      );
    return (rows[0] as { n: number }).n;
  };

  it('upserts and links each indicator once, records it and queues enrichment', async () => {
    const uuid = await seed({ title: 'Manual indicators' });
    const id = await alertId(uuid);
    const add = (json: unknown, query = '') => h.request('POST', `/v1/alerts/${uuid}/indicators${query}`, { json });
    const first = await add({
      indicators: [
        { type: 'ip', value: ' 203.0.113.50 ' },
        { type: 'domain', value: 'evil-manual.example' },
        { type: 'ip', value: '203.0.113.50' },
      ],
    });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.data.added_count).toBe(2);
    expect(first.body.data.enrich_requested).toBe(true);
    expect(first.body.data.indicators.map((i: { value: string }) => i.value).sort()).toEqual([
      '203.0.113.50',
      'evil-manual.example',
    ]);
    expect(await enrichJobs(id)).toBe(1);

    const again = await add({ indicators: [{ type: 'ip', value: '203.0.113.50' }] }, '?enrich=false');
    expect(again.status).toBe(201);
    expect(again.body.data).toMatchObject({ added_count: 0, enrich_requested: false });
    expect(await enrichJobs(id)).toBe(1);

    const listed = await h.request('GET', `/v1/alerts/${uuid}/indicators`);
    expect(listed.body.data.map((i: { source_field: string }) => i.source_field)).toEqual(['manual', 'manual']);
    const activity = await h.request('GET', `/v1/alerts/${uuid}/activity`);
    const added = activity.body.data.filter((e: { event_type: string }) => e.event_type === 'alert_indicators_added');
    expect(added).toHaveLength(2);
  });

  it('wakes the workers once the enrichment job is committed (else it waits for their idle poll)', async () => {
    const uuid = await seed({ title: 'Manual indicators announced' });
    const announced: string[] = [];
    const queue = Object.create(h.deps.queue) as typeof h.deps.queue;
    queue.announce = (name) => {
      announced.push(name);
      h.deps.queue.announce(name);
    };
    const ctx = { ...contextFor(h.deps, SYSTEM), queue };
    const input = { indicators: [{ type: 'ip' as const, value: '203.0.113.51' }] };
    await addAlertIndicators(ctx, { uuid, input, enrich: false });
    expect(announced).toEqual([]);
    await addAlertIndicators(ctx, { uuid, input });
    expect(announced).toEqual(['enrich-alert']);
  });

  it('refuses bad input whole, and unknown alerts', async () => {
    const uuid = await seed({ title: 'Manual indicators refused' });
    const bad = await h.request('POST', `/v1/alerts/${uuid}/indicators`, {
      json: {
        indicators: [
          { type: 'ip', value: '198.51.100.1' },
          { type: 'nonsense', value: 'x' },
        ],
      },
    });
    expect([400, 422]).toContain(bad.status);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');
    const empty = await h.request('POST', `/v1/alerts/${uuid}/indicators`, { json: { indicators: [] } });
    expect(empty.body.error.code).toBe('VALIDATION_ERROR');
    expect((await h.request('GET', `/v1/alerts/${uuid}/indicators`)).body.data).toEqual([]);
    const missing = await h.request('POST', `/v1/alerts/${randomUUID()}/indicators`, {
      json: { indicators: [{ type: 'ip', value: '198.51.100.1' }] },
    });
    expect(missing.status).toBe(404);
    const reader = await h.createKey({ scopes: ['alerts:read'] });
    const denied = await h.request('POST', `/v1/alerts/${uuid}/indicators`, {
      key: reader,
      json: { indicators: [{ type: 'ip', value: '198.51.100.1' }] },
    });
    expect(denied.status).toBe(403);
  });

  it('keeps an alert to 500 indicators (as extraction does): the request past it is refused whole', async () => {
    const uuid = await seed({ title: 'Manual indicators capped' });
    const add = (values: string[]) =>
      h.request('POST', `/v1/alerts/${uuid}/indicators?enrich=false`, {
        json: { indicators: values.map((value) => ({ type: 'domain', value })) },
      });
    const names = (from: number, n: number) => Array.from({ length: n }, (_, i) => `cap-${from + i}.example`);
    for (let k = 0; k < 5; k++) expect((await add(names(k * 100, 100))).status).toBe(201);
    const over = await add([...names(0, 99), 'cap-500.example']);
    expect(over.status).toBe(422);
    expect(over.body.error).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { limit: 500, linked: 500, would_be: 501 },
    });
    const [row] = await h.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM alert_indicators ai JOIN alerts a ON a.id = ai.alert_id WHERE a.uuid = $1',
      [uuid],
    );
    expect(row?.n).toBe(500);
    // Already linked: adding it again adds nothing and is not refused.
    expect((await add(names(0, 100))).status).toBe(201);
  });
});

import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from './fixtures.js';
import { createHarness, type Harness } from './harness.js';

// Audit findings (docs/security.md): deleting an alert needed only `alerts:write`; `POST /v1/alerts`
// skipped the source's signature and disabled-integration checks that `/v1/ingest/{source}` applies.

const SECRET = 'generic-webhook-secret-0123456789';
const ENV_SECRET = 'elastic-env-webhook-secret-0123456789';
let h: Harness;
let writer: string;

beforeAll(async () => {
  h = await createHarness({ webhookSecrets: { elastic: ENV_SECRET } });
  writer = await h.createKey({ scopes: ['alerts:read', 'alerts:write'] });
});
afterAll(() => h?.close());

/** Stored alerts and queued pipeline jobs: what a refused request must leave unchanged. */
async function stored() {
  const [row] = await h.query<{ alerts: number; jobs: number }>(
    `SELECT (SELECT count(*) FROM alerts)::int AS alerts,
            (SELECT count(*) FROM pgboss.job WHERE name = 'enrich-alert')::int AS jobs`,
  );
  return row;
}

const createAlert = (sourceName: string, payload: unknown, key = writer) =>
  h.request('POST', '/v1/alerts', { key, json: { source_name: sourceName, payload } });

describe('POST /v1/alerts goes through the source checks of /v1/ingest/{source}', () => {
  const generic = { title: 'Forged alert', severity: 'High', source_ip: '203.0.113.9' };

  it('a source integration with a webhook secret: refused without a signature, nothing stored', async () => {
    const src = await h.request('POST', '/v1/sources', {
      json: { source_name: 'generic', display_name: 'Generic', auth_config: { webhook_secret: SECRET } },
    });
    expect(src.status, JSON.stringify(src.body)).toBe(201);
    const before = await stored();
    const res = await createAlert('generic', generic);
    expect(res.status, JSON.stringify(res.body)).toBe(401);
    expect(res.body.error.code).toBe('INVALID_SIGNATURE');
    // A signature header cannot help: it would cover our envelope, not the source's bytes.
    const body = JSON.stringify({ source_name: 'generic', payload: generic });
    const signed = await h.request('POST', '/v1/alerts', {
      key: writer,
      body,
      headers: {
        'content-type': 'application/json',
        'x-calseta-signature': createHmac('sha256', SECRET).update(body).digest('hex'),
      },
    });
    expect(signed.status).toBe(401);
    expect(await stored()).toEqual(before);

    // The signed webhook route still takes it.
    const raw = JSON.stringify(generic);
    const webhook = await h.request('POST', '/v1/ingest/generic', {
      key: writer,
      body: raw,
      headers: {
        'content-type': 'application/json',
        'x-calseta-signature': createHmac('sha256', SECRET).update(raw).digest('hex'),
      },
    });
    expect(webhook.status, JSON.stringify(webhook.body)).toBe(202);
  });

  it('a process-wide <SOURCE>_WEBHOOK_SECRET is required the same way', async () => {
    const before = await stored();
    const res = await createAlert('elastic', fixture('elastic_alert.json'));
    expect(res.status, JSON.stringify(res.body)).toBe(401);
    expect(res.body.error.code).toBe('INVALID_SIGNATURE');
    expect(await stored()).toEqual(before);
  });

  it('a disabled integration refuses programmatic ingest too (403 SOURCE_NOT_ALLOWED), even for an admin', async () => {
    const src = await h.request('POST', '/v1/sources', {
      json: { source_name: 'sentinel', display_name: 'Sentinel', is_active: false },
    });
    expect(src.status, JSON.stringify(src.body)).toBe(201);
    const before = await stored();
    for (const key of [writer, h.adminKey]) {
      const res = await createAlert('sentinel', fixture('sentinel_alert.json'), key);
      expect(res.status, JSON.stringify(res.body)).toBe(403);
      expect(res.body.error.code).toBe('SOURCE_NOT_ALLOWED');
    }
    expect(await stored()).toEqual(before);
  });

  it('an admin key (which could set the secret itself) may still ingest programmatically', async () => {
    const res = await createAlert('generic', { ...generic, title: 'Admin import' }, h.adminKey);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
  });

  it('a source without any secret keeps the open behaviour for ingest keys', async () => {
    const res = await createAlert('splunk', fixture('splunk_alert.json'));
    expect(res.status, JSON.stringify(res.body)).toBe(202);
  });
});

describe('deleting an alert', () => {
  it('needs admin: an alerts:write key gets 403 and the alert stays', async () => {
    const created = await createAlert('splunk', { ...fixture('splunk_alert.json'), sid: 'delete-me' }, h.adminKey);
    expect(created.status).toBe(202);
    const uuid = created.body.data.alert_uuid as string;
    const res = await h.request('DELETE', `/v1/alerts/${uuid}`, { key: writer });
    expect(res.status).toBe(403);
    expect(res.body.error.details.required_scopes).toEqual(['admin']);
    expect((await h.request('GET', `/v1/alerts/${uuid}`, { key: writer })).status).toBe(200);
    expect((await h.request('DELETE', `/v1/alerts/${uuid}`)).status).toBe(204);
  });
});

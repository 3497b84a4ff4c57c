import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

const KEY_FORMAT = /^cai_[A-Za-z0-9_-]{43}$/;

let h: Harness;
/** Every plaintext key this file sees, to check none of them is ever stored or echoed. */
const plaintexts: string[] = [];

beforeAll(async () => {
  h = await createHarness();
  plaintexts.push(h.adminKey);
});
afterAll(() => h.close());

async function create(json: Record<string, unknown>, key?: string) {
  const res = await h.request('POST', '/v1/api-keys', key === undefined ? { json } : { json, key });
  if (res.status === 201) plaintexts.push(res.body.data.key);
  return res;
}

async function keyCount(): Promise<number> {
  const row = await h.deps.db
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function systemKey(input: Parameters<Harness['createKey']>[0]): Promise<string> {
  const key = await h.createKey(input);
  plaintexts.push(key);
  return key;
}

/** A route every key with alerts:read (or admin) may call. */
const probe = (key: string) => h.request('GET', '/v1/alerts', { key });

function expectNoSecret(value: unknown) {
  const text = JSON.stringify(value);
  expect(text).not.toMatch(/hash/i);
  for (const key of plaintexts) expect(text).not.toContain(key);
  if (value && typeof value === 'object') expect(value).not.toHaveProperty('key');
}

describe('POST /v1/api-keys', () => {
  it('creates a key, returns the plaintext once, and stores only its sha-256', async () => {
    const res = await create({ name: 'ci-bot', scopes: ['alerts:read', 'alerts:write'] });
    expect(res.status).toBe(201);
    const data = res.body.data;
    expect(data.key).toMatch(KEY_FORMAT);
    expect(data).toMatchObject({
      name: 'ci-bot',
      key_prefix: data.key.slice(0, 8),
      scopes: ['alerts:read', 'alerts:write'],
      key_type: 'human',
      is_active: true,
      expires_at: null,
      revoked_at: null,
      last_used_at: null,
      allowed_sources: null,
    });
    expect(data.key_prefix).toHaveLength(8);
    expect(data.key_prefix.startsWith('cai_')).toBe(true);
    expect(data).not.toHaveProperty('key_hash');

    const row = await h.deps.db
      .selectFrom('api_keys')
      .selectAll()
      .where('uuid', '=', data.uuid)
      .executeTakeFirstOrThrow();
    expect(row.key_hash).toBe(createHash('sha256').update(data.key).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(data.key);
  });

  it('the new key authenticates, and last_used_at is recorded', async () => {
    const res = await create({ name: 'reader', scopes: ['alerts:read'] });
    const { key, uuid } = res.body.data;
    const used = await probe(key);
    expect(used.status).toBe(200);
    const shown = await h.request('GET', `/v1/api-keys/${uuid}`);
    expect(shown.body.data.last_used_at).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
  });

  it('every key is different', async () => {
    const a = await create({ name: 'twin', scopes: ['alerts:read'] });
    const b = await create({ name: 'twin', scopes: ['alerts:read'] });
    expect(a.body.data.key).not.toBe(b.body.data.key);
    expect(a.body.data.key_prefix).not.toBe(b.body.data.key_prefix);
    expect(a.body.data.uuid).not.toBe(b.body.data.uuid);
  });

  it('creates an agent key', async () => {
    const res = await create({ name: 'triage-agent', scopes: ['alerts:read'], key_type: 'agent' });
    expect(res.status).toBe(201);
    expect(res.body.data.key_type).toBe('agent');
    const shown = await h.request('GET', `/v1/api-keys/${res.body.data.uuid}`);
    expect(shown.body.data.key_type).toBe('agent');
  });

  it.each([
    ['an unknown scope', { name: 'x', scopes: ['alerts:read', 'alerts:destroy'] }],
    ['empty scopes', { name: 'x', scopes: [] }],
    ['missing scopes', { name: 'x' }],
    ['a blank name', { name: '   ', scopes: ['alerts:read'] }],
    ['an unknown key_type', { name: 'x', scopes: ['alerts:read'], key_type: 'robot' }],
    ['a bad expires_at', { name: 'x', scopes: ['alerts:read'], expires_at: 'next week' }],
    ['an unknown field', { name: 'x', scopes: ['alerts:read'], is_system: true }],
    ['a caller-chosen key', { name: 'x', scopes: ['alerts:read'], key: `cai_${'a'.repeat(43)}` }],
  ])('rejects %s with 422 and creates nothing', async (_name, json) => {
    const before = await keyCount();
    const res = await create(json);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    expect(res.body.error.details.errors.length).toBeGreaterThan(0);
    expect(res.body.request_id).toBe(res.headers.get('x-request-id'));
    expect(await keyCount()).toBe(before);
  });
});

describe('GET /v1/api-keys', () => {
  it('lists keys without the plaintext or any hash', async () => {
    await create({ name: 'listed', scopes: ['alerts:read'] });
    const res = await h.request('GET', '/v1/api-keys?page_size=500');
    expect(res.status).toBe(200);
    expect(res.body.data.length).toBeGreaterThan(1);
    expect(res.body.data.map((k: { name: string }) => k.name)).toContain('listed');
    for (const key of res.body.data) {
      expect(Object.keys(key).sort()).toEqual(
        [
          'allowed_sources',
          'created_at',
          'expires_at',
          'is_active',
          'key_prefix',
          'key_type',
          'last_used_at',
          'name',
          'revoked_at',
          'scopes',
          'uuid',
        ].sort(),
      );
      expectNoSecret(key);
    }
    expectNoSecret(res.body);
    expect(res.body.meta).toMatchObject({ page: 1, page_size: 500, total: res.body.data.length });
  });

  it('GET one shows the same fields and no secret', async () => {
    const created = await create({ name: 'single', scopes: ['alerts:write'] });
    const res = await h.request('GET', `/v1/api-keys/${created.body.data.uuid}`);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      uuid: created.body.data.uuid,
      name: 'single',
      key_prefix: created.body.data.key_prefix,
      scopes: ['alerts:write'],
    });
    expectNoSecret(res.body);
  });

  it('404 for an unknown key, 422 for a non-uuid', async () => {
    const missing = await h.request('GET', `/v1/api-keys/${randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
    const invalid = await h.request('GET', '/v1/api-keys/cai_prefix');
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.code).toBe('VALIDATION_ERROR');
  });
});

describe('expiry', () => {
  it('a key whose expires_at has passed gets 401 KEY_EXPIRED on every route', async () => {
    const res = await create({ name: 'expired', scopes: ['admin'], expires_at: '2020-01-01T00:00:00Z' });
    expect(res.status).toBe(201);
    expect(res.body.data.expires_at).toBe('2020-01-01T00:00:00.000Z');
    const key = res.body.data.key;
    const attempts = [
      h.request('GET', '/v1/alerts', { key }),
      h.request('GET', '/v1/api-keys', { key }),
      h.request('GET', '/v1/indicator-mappings', { key }),
      h.request('POST', '/v1/ingest/generic', { key, json: { title: 'from an expired key' } }),
      h.request('POST', '/v1/api-keys', { key, json: { name: 'escalate', scopes: ['admin'] } }),
    ];
    for (const attempt of await Promise.all(attempts)) {
      expect(attempt.status).toBe(401);
      expect(attempt.body.error.code).toBe('KEY_EXPIRED');
    }
    const alerts = await h.deps.db
      .selectFrom('alerts')
      .select('id')
      .where('title', '=', 'from an expired key')
      .execute();
    expect(alerts).toHaveLength(0);
  });

  it('a key with a future expiry works, and moving its expiry into the past stops it', async () => {
    const res = await create({ name: 'expiring', scopes: ['alerts:read'], expires_at: '2999-01-01T00:00:00Z' });
    const { key, uuid } = res.body.data;
    expect((await probe(key)).status).toBe(200);
    const patched = await h.request('PATCH', `/v1/api-keys/${uuid}`, { json: { expires_at: '2021-06-01T00:00:00Z' } });
    expect(patched.status).toBe(200);
    expect(patched.body.data.expires_at).toBe('2021-06-01T00:00:00.000Z');
    const after = await probe(key);
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('KEY_EXPIRED');
  });
});

describe('PATCH /v1/api-keys/{uuid}', () => {
  it('scope changes take effect on the next request', async () => {
    const res = await create({ name: 'writer', scopes: ['alerts:write'] });
    const { key, uuid } = res.body.data;
    const denied = await probe(key);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('FORBIDDEN');
    expect(denied.body.error.details.required_scopes).toEqual(['alerts:read']);

    const patched = await h.request('PATCH', `/v1/api-keys/${uuid}`, { json: { scopes: ['alerts:read'] } });
    expect(patched.status).toBe(200);
    expect(patched.body.data.scopes).toEqual(['alerts:read']);
    expectNoSecret(patched.body);
    expect((await probe(key)).status).toBe(200);

    // …and removing it takes effect as quickly
    await h.request('PATCH', `/v1/api-keys/${uuid}`, { json: { scopes: ['alerts:write'] } });
    expect((await probe(key)).status).toBe(403);
  });

  it('is_active=false makes the key fail with 401, is_active=true restores it', async () => {
    const res = await create({ name: 'paused', scopes: ['alerts:read'] });
    const { key, uuid } = res.body.data;
    expect((await probe(key)).status).toBe(200);
    const off = await h.request('PATCH', `/v1/api-keys/${uuid}`, { json: { is_active: false } });
    expect(off.status).toBe(200);
    expect(off.body.data.is_active).toBe(false);
    const denied = await probe(key);
    expect(denied.status).toBe(401);
    expect(denied.body.error.code).toBe('UNAUTHORIZED');
    const on = await h.request('PATCH', `/v1/api-keys/${uuid}`, { json: { is_active: true } });
    expect(on.body.data.is_active).toBe(true);
    expect((await probe(key)).status).toBe(200);
  });

  it.each([
    ['an unknown scope', { scopes: ['root'] }],
    ['empty scopes', { scopes: [] }],
    ['an unknown field', { key_type: 'agent' }],
    ['a non-boolean is_active', { is_active: 'no' }],
  ])('rejects %s with 422 and changes nothing', async (_name, json) => {
    const res = await create({ name: 'stable', scopes: ['alerts:read'] });
    const patched = await h.request('PATCH', `/v1/api-keys/${res.body.data.uuid}`, { json });
    expect(patched.status).toBe(422);
    expect(patched.body.error.code).toBe('VALIDATION_ERROR');
    const shown = await h.request('GET', `/v1/api-keys/${res.body.data.uuid}`);
    expect(shown.body.data).toMatchObject({ scopes: ['alerts:read'], key_type: 'human', is_active: true });
  });

  it('404 for an unknown key', async () => {
    const res = await h.request('PATCH', `/v1/api-keys/${randomUUID()}`, { json: { name: 'x' } });
    expect(res.status).toBe(404);
  });
});

describe('DELETE /v1/api-keys/{uuid} (revoke)', () => {
  let key: string;
  let uuid: string;

  beforeAll(async () => {
    const res = await create({ name: 'to-revoke', scopes: ['alerts:read'] });
    key = res.body.data.key;
    uuid = res.body.data.uuid;
    expect((await probe(key)).status).toBe(200);
  });

  it('answers 204; the key then gets 401 UNAUTHORIZED', async () => {
    const res = await h.request('DELETE', `/v1/api-keys/${uuid}`);
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
    const denied = await probe(key);
    expect(denied.status).toBe(401);
    expect(denied.body.error.code).toBe('UNAUTHORIZED');
  });

  it('the key stays visible for audit: is_active false, revoked_at set', async () => {
    const res = await h.request('GET', `/v1/api-keys/${uuid}`);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ uuid, name: 'to-revoke', is_active: false });
    expect(res.body.data.revoked_at).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
  });

  it('the list excludes it unless include_inactive=true', async () => {
    const active = await h.request('GET', '/v1/api-keys?page_size=500');
    expect(active.body.data.map((k: { uuid: string }) => k.uuid)).not.toContain(uuid);
    expect(active.body.data.every((k: { is_active: boolean }) => k.is_active)).toBe(true);
    const all = await h.request('GET', '/v1/api-keys?page_size=500&include_inactive=true');
    expect(all.body.data.map((k: { uuid: string }) => k.uuid)).toContain(uuid);
    expect(all.body.meta.total).toBe(active.body.meta.total + (await inactiveCount()));
    const explicit = await h.request('GET', '/v1/api-keys?page_size=500&include_inactive=false');
    expect(explicit.body.data.map((k: { uuid: string }) => k.uuid)).not.toContain(uuid);
  });

  // Revocation is final: the row stays for audit, the key never authenticates again.
  it('a revoked key cannot be brought back with PATCH is_active=true', async () => {
    const patched = await h.request('PATCH', `/v1/api-keys/${uuid}`, { json: { is_active: true } });
    expect(patched.status).toBe(409);
    expect(patched.body.error.code).toBe('CONFLICT');
    expect((await probe(key)).status).toBe(401);
    const shown = await h.request('GET', `/v1/api-keys/${uuid}`);
    expect(shown.body.data.revoked_at).not.toBeNull();
  });

  it('404 for an unknown key, 422 for a non-uuid', async () => {
    expect((await h.request('DELETE', `/v1/api-keys/${randomUUID()}`)).status).toBe(404);
    expect((await h.request('DELETE', '/v1/api-keys/123')).status).toBe(422);
  });
});

async function inactiveCount(): Promise<number> {
  const row = await h.deps.db
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('is_active', '=', false)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('authorization', () => {
  it('a non-admin key gets 403 on every api-key route, naming the admin scope', async () => {
    const key = await systemKey({ scopes: ['alerts:read', 'alerts:write', 'enrichments:read'] });
    const target = (await create({ name: 'target', scopes: ['alerts:read'] })).body.data.uuid;
    const before = await keyCount();
    const attempts = await Promise.all([
      h.request('GET', '/v1/api-keys', { key }),
      h.request('POST', '/v1/api-keys', { key, json: { name: 'mine', scopes: ['admin'] } }),
      h.request('GET', `/v1/api-keys/${target}`, { key }),
      h.request('PATCH', `/v1/api-keys/${target}`, { key, json: { scopes: ['admin'] } }),
      h.request('DELETE', `/v1/api-keys/${target}`, { key }),
    ]);
    for (const res of attempts) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
      expect(res.body.error.details.required_scopes).toEqual(['admin']);
    }
    expect(await keyCount()).toBe(before);
    const shown = await h.request('GET', `/v1/api-keys/${target}`);
    expect(shown.body.data).toMatchObject({ scopes: ['alerts:read'], is_active: true });
  });

  it.each([
    ['no Authorization header', {}],
    ['a non-bearer scheme', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
    ['a malformed token', { authorization: 'Bearer not-a-key' }],
    ['an unknown well-formed key', { authorization: `Bearer cai_${'A'.repeat(43)}` }],
  ])('%s → 401 UNAUTHORIZED', async (_name, headers) => {
    const res = await h.request('GET', '/v1/api-keys', { key: null, headers });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
    expect(res.body.request_id).toBe(res.headers.get('x-request-id'));
  });
});

describe('allowed_sources', () => {
  let key: string;
  let uuid: string;

  beforeAll(async () => {
    const res = await create({ name: 'splunk-only', scopes: ['alerts:write'], allowed_sources: ['splunk'] });
    expect(res.body.data.allowed_sources).toEqual(['splunk']);
    key = res.body.data.key;
    uuid = res.body.data.uuid;
  });

  it('403 SOURCE_NOT_ALLOWED for another source, and nothing is stored', async () => {
    const res = await h.request('POST', '/v1/ingest/generic', { key, json: { title: 'Blocked generic' } });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('SOURCE_NOT_ALLOWED');
    const programmatic = await h.request('POST', '/v1/alerts', {
      key,
      json: { source_name: 'generic', payload: { title: 'Blocked generic' } },
    });
    expect(programmatic.status).toBe(403);
    expect(programmatic.body.error.code).toBe('SOURCE_NOT_ALLOWED');
    const rows = await h.deps.db.selectFrom('alerts').select('id').where('title', '=', 'Blocked generic').execute();
    expect(rows).toHaveLength(0);
  });

  it('202 for the allowed source', async () => {
    const res = await h.request('POST', '/v1/ingest/splunk', {
      key,
      json: { search_name: 'x', sid: '1', result: { src_ip: '203.0.113.1' } },
    });
    expect(res.status).toBe(202);
    expect(res.body.data.status).toBe('queued');
    const row = await h.deps.db
      .selectFrom('alerts')
      .select(['source_name', 'title'])
      .where('uuid', '=', res.body.data.alert_uuid)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ source_name: 'splunk', title: 'x' });
  });

  it('PATCH allowed_sources null lifts the restriction', async () => {
    const patched = await h.request('PATCH', `/v1/api-keys/${uuid}`, { json: { allowed_sources: null } });
    expect(patched.status).toBe(200);
    expect(patched.body.data.allowed_sources).toBeNull();
    const res = await h.request('POST', '/v1/ingest/generic', { key, json: { title: 'Now allowed generic' } });
    expect(res.status).toBe(202);
  });
});

describe('activity', () => {
  it('records api_key_created and api_key_revoked, and never a plaintext key', async () => {
    const created = await create({ name: 'audited', scopes: ['alerts:read'] });
    const { uuid } = created.body.data;
    expect((await h.request('DELETE', `/v1/api-keys/${uuid}`)).status).toBe(204);

    const events = await h.deps.db
      .selectFrom('activity_events')
      .select(['event_type', 'actor_type', 'actor_key_prefix', 'references'])
      .where('event_type', 'in', ['api_key_created', 'api_key_revoked'])
      .orderBy('id')
      .execute()
      .then((rows) => rows.filter((r) => (r.references as { key_uuid?: string }).key_uuid === uuid));
    expect(events.map((e) => e.event_type)).toEqual(['api_key_created', 'api_key_revoked']);
    for (const event of events) {
      expect(event.actor_type).toBe('api');
      expect(event.actor_key_prefix).toBe(h.adminKey.slice(0, 8));
    }
    expect(events[0]?.references).toMatchObject({ key_uuid: uuid, name: 'audited', scopes: ['alerts:read'] });

    const all = await h.deps.db.selectFrom('activity_events').select(['references']).execute();
    expect(all.length).toBeGreaterThan(plaintexts.length);
    const text = JSON.stringify(all);
    expect(plaintexts.length).toBeGreaterThan(10);
    for (const key of plaintexts) expect(text).not.toContain(key);
  });
});

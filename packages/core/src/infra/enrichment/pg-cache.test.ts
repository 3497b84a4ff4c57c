import { createTestDatabase, type TestDatabase } from '@calseta/db/testing';
import type { EnrichmentProviderResult } from '@calseta/schema';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgEnrichmentCache } from './pg-cache.js';
import { parseEnrichmentKey } from './ports.js';

function result(status: EnrichmentProviderResult['status'], extra: Partial<EnrichmentProviderResult> = {}) {
  const value: EnrichmentProviderResult = {
    provider_name: 'virustotal',
    status,
    extracted: status === 'success' ? { malicious: 3 } : null,
    verdict: status === 'success' ? 'Malicious' : null,
    explanation: null,
    raw: status === 'success' ? { data: { attributes: { last_analysis_stats: { malicious: 3 } } } } : null,
    fetched_at: '2026-03-01T12:00:00.000Z',
    error_message: null,
    duration_ms: 12,
    cache_hit: false,
    skip_reason: null,
    rate_limited: false,
    retry_after_ms: null,
    ...extra,
  };
  return value;
}

let t: TestDatabase;
let cache: PgEnrichmentCache;

beforeAll(async () => {
  t = await createTestDatabase();
  // The Postgres layer on its own; the in-memory front has its own tests below.
  cache = new PgEnrichmentCache(t.db, { maxEntries: 0 });
});
afterAll(() => t?.drop());

describe('parseEnrichmentKey', () => {
  it('splits provider, type and a value that contains colons', () => {
    expect(parseEnrichmentKey('enrichment:abuseipdb:ip:2001:db8::1')).toEqual({
      provider: 'abuseipdb',
      type: 'ip',
      value: '2001:db8::1',
    });
    expect(parseEnrichmentKey('enrichment:urlscan:url:https://x.test/a?b=c:d')).toEqual({
      provider: 'urlscan',
      type: 'url',
      value: 'https://x.test/a?b=c:d',
    });
  });

  it('refuses anything else', () => {
    expect(() => parseEnrichmentKey('virustotal:ip:1.2.3.4')).toThrow(TypeError);
    expect(() => parseEnrichmentKey('enrichment:virustotal')).toThrow(TypeError);
  });
});

describe('PgEnrichmentCache', () => {
  it('stores a success result and reads it back as a fresh copy', async () => {
    const key = 'enrichment:virustotal:ip:185.220.101.32';
    // A raw response with what JSON escapes: quotes, backslashes, control characters, non-ASCII, and `null`s.
    const tricky = { whois: 'Org: "Ex\\ample"\n\tÜñí 🙂 \u0000', list: [null, 'null', 1.5e300, { '': false }] };
    const value = result('success', { raw: { data: { attributes: tricky } } });
    await cache.set(key, value, 3600);
    const got = await cache.get(key);
    // Read back without the raw response (tens of KB each; no reader of answers keeps it)...
    expect(got).toEqual({ ...value, raw: null });
    expect(got).not.toBe(value);
    // ...which the table keeps apart, for the indicator detail (the answer's column stays small).
    const [stored] = await t.db
      .selectFrom('enrichment_cache')
      .select(['result', 'raw'])
      .where('indicator_value', '=', '185.220.101.32')
      .execute();
    expect(JSON.parse(stored?.raw ?? 'null')).toEqual(value.raw);
    expect((stored?.result as { raw: unknown } | undefined)?.raw).toBeNull();
    const row = await t.db
      .selectFrom('enrichment_cache')
      .select(['provider_name', 'indicator_type', 'indicator_value', 'status'])
      .select(sql<number>`extract(epoch FROM expires_at - now())::float8`.as('ttl'))
      .where('indicator_value', '=', '185.220.101.32')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      provider_name: 'virustotal',
      indicator_type: 'ip',
      indicator_value: '185.220.101.32',
      status: 'success',
    });
    expect(row.ttl).toBeGreaterThan(3590);
    expect(row.ttl).toBeLessThanOrEqual(3600);
  });

  it('stores not_found (negative cache) and keeps a value with colons in its own column', async () => {
    const key = 'enrichment:virustotal:ip:2001:db8::7';
    await cache.set(key, result('not_found', { extracted: { found: false } }), 600);
    expect((await cache.get(key))?.status).toBe('not_found');
    expect(await cache.get('enrichment:virustotal:ip:2001:db8::8')).toBeUndefined();
    expect(await cache.get('enrichment:abuseipdb:ip:2001:db8::7')).toBeUndefined();
  });

  it('misses on an unknown key', async () => {
    expect(await cache.get('enrichment:virustotal:domain:never-cached.example.org')).toBeUndefined();
  });

  it('replaces an existing entry (upsert) and extends its expiry', async () => {
    const key = 'enrichment:virustotal:domain:evil.example.com';
    await cache.set(key, result('not_found'), 0);
    expect(await cache.get(key)).toBeUndefined();
    await cache.set(key, result('success', { verdict: 'Suspicious' }), 60);
    expect(await cache.get(key)).toMatchObject({ status: 'success', verdict: 'Suspicious' });
    const rows = await t.db
      .selectFrom('enrichment_cache')
      .select('status')
      .where('indicator_value', '=', 'evil.example.com')
      .execute();
    expect(rows).toEqual([{ status: 'success' }]);
  });

  it('treats an entry as gone once expires_at has passed', async () => {
    const key = 'enrichment:virustotal:ip:198.51.100.20';
    await cache.set(key, result('success'), 3600);
    expect(await cache.get(key)).toBeDefined();
    await t.db
      .updateTable('enrichment_cache')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('indicator_value', '=', '198.51.100.20')
      .execute();
    expect(await cache.get(key)).toBeUndefined();
  });

  it('a zero or negative TTL stores nothing readable', async () => {
    await cache.set('enrichment:virustotal:ip:198.51.100.21', result('success'), 0);
    await cache.set('enrichment:virustotal:ip:198.51.100.22', result('success'), -5);
    expect(await cache.get('enrichment:virustotal:ip:198.51.100.21')).toBeUndefined();
    expect(await cache.get('enrichment:virustotal:ip:198.51.100.22')).toBeUndefined();
  });

  it('refuses failed and skipped results and writes nothing', async () => {
    const key = 'enrichment:virustotal:ip:203.0.113.50';
    await expect(cache.set(key, result('failed', { error_message: 'HTTP 500' }), 3600)).rejects.toThrow(
      /only success and not_found/,
    );
    await expect(cache.set(key, result('skipped', { skip_reason: 'rate_limited' }), 3600)).rejects.toThrow(
      /only success and not_found/,
    );
    const rows = await t.db.selectFrom('enrichment_cache').where('indicator_value', '=', '203.0.113.50').execute();
    expect(rows).toHaveLength(0);
  });

  it('deletes one entry and purges expired ones', async () => {
    const keep = 'enrichment:purge_test:ip:192.0.2.1';
    const stale = 'enrichment:purge_test:ip:192.0.2.2';
    await cache.set(keep, result('success'), 3600);
    await cache.set(stale, result('success'), -1);
    const purged = await cache.purgeExpired();
    expect(purged).toBeGreaterThanOrEqual(1);
    const left = await t.db
      .selectFrom('enrichment_cache')
      .select('indicator_value')
      .where('provider_name', '=', 'purge_test')
      .execute();
    expect(left).toEqual([{ indicator_value: '192.0.2.1' }]);
    expect(await cache.delete(keep)).toBe(true);
    expect(await cache.delete(keep)).toBe(false);
    expect(await cache.get(keep)).toBeUndefined();
  });
});

describe('PgEnrichmentCache memory front', () => {
  const key = 'enrichment:abuseipdb:ip:45.33.32.156';
  const forget = () => t.db.deleteFrom('enrichment_cache').where('indicator_value', '=', '45.33.32.156').execute();

  it('serves repeated reads from memory and re-reads Postgres after clearMemory()', async () => {
    const front = new PgEnrichmentCache(t.db);
    await front.set(key, result('success', { provider_name: 'abuseipdb' }), 3600);
    await forget(); // only the process memory still has it
    expect((await front.get(key))?.provider_name).toBe('abuseipdb');
    front.clearMemory();
    expect(await front.get(key)).toBeUndefined();
  });

  it('remembers what it read from Postgres; an expired row is never remembered', async () => {
    const writer = new PgEnrichmentCache(t.db, { maxEntries: 0 });
    await writer.set(key, result('success'), 3600);
    const front = new PgEnrichmentCache(t.db);
    expect(await front.get(key)).toBeDefined();
    await forget();
    expect(await front.get(key)).toBeDefined();

    await writer.set(key, result('success'), 0);
    const late = new PgEnrichmentCache(t.db);
    expect(await late.get(key)).toBeUndefined();
    expect(await late.get(key)).toBeUndefined();
  });

  it('holds at most maxEntries, dropping the oldest', async () => {
    const small = new PgEnrichmentCache(t.db, { maxEntries: 2 });
    const keys = ['1.1.1.1', '8.8.8.8', '9.9.9.9'].map((ip) => `enrichment:virustotal:ip:${ip}`);
    for (const k of keys) await small.set(k, result('success'), 3600);
    await t.db
      .deleteFrom('enrichment_cache')
      .where('indicator_value', 'in', ['1.1.1.1', '8.8.8.8', '9.9.9.9'])
      .execute();
    expect(await small.get(keys[0] as string)).toBeUndefined();
    expect(await small.get(keys[1] as string)).toBeDefined();
    expect(await small.get(keys[2] as string)).toBeDefined();
  });
});

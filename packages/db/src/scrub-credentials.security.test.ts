import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Database } from './database.js';
import { migrations } from './migrations/index.js';
import { createTestDatabase, type TestDatabase } from './testing/index.js';

// Audit finding (issue 15): older versions stored every step's body of multi-step providers as the
// indicator's raw result, Entra's token step (`access_token`) included, and cached the same. Migration
// 0011 scrubs what existing databases hold. Rows are written as the old engine wrote them; the
// migration's `up` runs against the real Postgres.

const JWT =
  'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20iLCJ0aWQiOiJjb250b3NvIn0.bW9jay1zaWduYXR1cmU';
const OKTA_TOKEN = '00aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789ab';

let t: TestDatabase;
let db: Kysely<Database>;

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
});
afterAll(() => t?.drop());

function result(provider: string, raw: unknown, extra: Record<string, unknown> = {}) {
  return {
    provider_name: provider,
    status: 'success',
    extracted: { found: true },
    verdict: 'Pending',
    explanation: null,
    raw,
    fetched_at: '2026-11-01T00:00:00.000Z',
    error_message: null,
    duration_ms: 12,
    cache_hit: false,
    skip_reason: null,
    rate_limited: false,
    retry_after_ms: null,
    ...extra,
  };
}

const entraRaw = {
  token: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: JWT },
  user_lookup: { id: 'f9e8d7c6', displayName: 'R Chen', userPrincipalName: 'r.chen@contoso.com' },
  user_groups: { value: [{ displayName: 'Global Administrator' }] },
};
const vtRaw = { data: { id: '8.8.8.8', attributes: { last_analysis_stats: { malicious: 0 }, as_owner: 'GOOGLE' } } };

async function insertIndicator(type: string, value: string, results: Record<string, unknown>, malice = 'Pending') {
  return db
    .insertInto('indicators')
    .values({ type, value, malice, enrichment_results: JSON.stringify(results) })
    .returning(['id', 'updated_at'])
    .executeTakeFirstOrThrow();
}

async function resultsOf(id: number) {
  const row = await db
    .selectFrom('indicators')
    .select('enrichment_results')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return row.enrichment_results as Record<string, Record<string, unknown>>;
}

describe('0011_scrub_provider_credentials', () => {
  test('removes token-step bodies and credential values from stored results and empties the cache', async () => {
    const entra = await insertIndicator('account', 'r.chen@contoso.com', {
      entra: result('entra', entraRaw),
      okta: result('okta', {
        user_lookup: {
          id: '00u1',
          profile: { login: 'r.chen@contoso.com' },
          credentials: { password: {}, provider: { type: 'OKTA' } },
        },
        debug: `Authorization: SSWS ${OKTA_TOKEN}`,
      }),
    });
    const clean = await insertIndicator(
      'ip',
      '8.8.8.8',
      { virustotal: result('virustotal', vtRaw, { verdict: 'Benign' }) },
      'Benign',
    );
    const echo = await insertIndicator('ip', '1.1.1.1', {
      runtime: result('runtime', { lookup: { note: `sent with Bearer ${JWT}`, api_key: 'k-123456', ok: true } }),
    });
    await db
      .insertInto('enrichment_cache')
      .values({
        provider_name: 'entra',
        indicator_type: 'account',
        indicator_value: 'r.chen@contoso.com',
        status: 'success',
        result: JSON.stringify(result('entra', entraRaw)),
        expires_at: new Date(Date.now() + 3_600_000),
      })
      .execute();
    // Many rows, so the batched pass crosses several batches.
    await sql`
      INSERT INTO indicators (type, value, enrichment_results)
      SELECT 'account', 'bulk' || g, ${JSON.stringify({ entra: result('entra', entraRaw) })}::jsonb
      FROM generate_series(1, 2500) AS g`.execute(db);

    const xmin = async () =>
      (await sql<{ x: string }>`SELECT xmin::text AS x FROM indicators WHERE id = ${clean.id}`.execute(db)).rows[0]?.x;
    const cleanVersion = await xmin();
    const started = performance.now();
    await migrations['0011_scrub_provider_credentials']?.up(db);
    const elapsedMs = performance.now() - started;

    const scrubbed = await resultsOf(entra.id);
    expect(scrubbed.entra?.raw).toEqual({ user_lookup: entraRaw.user_lookup, user_groups: entraRaw.user_groups });
    expect(scrubbed.okta?.raw).toEqual({
      user_lookup: {
        id: '00u1',
        profile: { login: 'r.chen@contoso.com' },
        credentials: { password: '[REDACTED]', provider: { type: 'OKTA' } },
      },
      debug: '[REDACTED]',
    });
    expect((await resultsOf(echo.id)).runtime?.raw).toEqual({
      lookup: { note: '[REDACTED]', api_key: '[REDACTED]', ok: true },
    });

    // Rows without credential material are not rewritten.
    expect(await resultsOf(clean.id)).toEqual({ virustotal: result('virustotal', vtRaw, { verdict: 'Benign' }) });
    expect(await xmin()).toBe(cleanVersion);

    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM indicators
      WHERE enrichment_results::text ~ 'eyJ|access_token|${sql.raw(OKTA_TOKEN)}'`.execute(db);
    expect(rows[0]?.n).toBe(0);
    expect(await db.selectFrom('enrichment_cache').selectAll().execute()).toEqual([]);
    // No helper function is left behind.
    const fn = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM pg_proc WHERE proname = 'calseta_scrub_0011'`.execute(db);
    expect(fn.rows[0]?.n).toBe(0);
    expect(elapsedMs).toBeLessThan(30_000);
  });

  test('enriched indicators lose a stale Pending verdict: Context for identity answers, else Unknown', async () => {
    const identity = await insertIndicator('account', 'stale@contoso.com', { okta: result('okta', { id: '00u9' }) });
    const unjudged = await insertIndicator('ip', '9.9.9.9', {
      virustotal: result('virustotal', vtRaw, { status: 'not_found' }),
    });
    const waiting = await insertIndicator('ip', '9.9.9.10', {
      abuseipdb: result('abuseipdb', null, { status: 'skipped', rate_limited: true, verdict: null }),
    });
    const never = await db
      .insertInto('indicators')
      .values({ type: 'ip', value: '9.9.9.11' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const analyst = await insertIndicator('ip', '9.9.9.12', { virustotal: result('virustotal', vtRaw) });
    await db.updateTable('indicators').set({ malice_source: 'analyst' }).where('id', '=', analyst.id).execute();

    await migrations['0011_scrub_provider_credentials']?.up(db);
    const malice = async (id: number) =>
      (await db.selectFrom('indicators').select('malice').where('id', '=', id).executeTakeFirstOrThrow()).malice;
    expect(await malice(identity.id)).toBe('Context');
    expect(await malice(unjudged.id)).toBe('Unknown');
    expect(await malice(waiting.id)).toBe('Pending');
    expect(await malice(never.id)).toBe('Pending');
    expect(await malice(analyst.id)).toBe('Pending');
  });

  test('a second run changes nothing', async () => {
    const before = await db.selectFrom('indicators').select(['id', 'enrichment_results']).orderBy('id').execute();
    await migrations['0011_scrub_provider_credentials']?.up(db);
    const after = await db.selectFrom('indicators').select(['id', 'enrichment_results']).orderBy('id').execute();
    expect(after).toEqual(before);
  });
});

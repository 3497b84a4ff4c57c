/**
 * 0011_scrub_provider_credentials — remove provider credential material that older versions stored
 * (security audit, issue 15): multi-step providers kept every step's body as the indicator's `raw`
 * result, including Entra's token step (`access_token`). Since then the engine keeps only result steps
 * and redacts credential material; this scrubs what existing databases already hold.
 *
 * - `enrichment_cache` is derived, short-lived data (UNLOGGED since 0008): emptied; it refills.
 * - `indicators.enrichment_results`: in every stored provider result, members with a credential name
 *   (any case, `_`/`-` ignored: access_token, refresh_token, id_token, client_secret, password,
 *   api_key, …) become "[REDACTED]", strings holding a JWT-shaped word or a `Bearer`/`SSWS` value become
 *   "[REDACTED]", and a step body that is an OAuth token response (has `access_token`) is removed.
 *   Batched by id (1,000 rows per statement) and only rows whose text mentions a candidate are
 *   rewritten, so large tables are read once and mostly left untouched.
 *
 * Also: indicators already enriched lose a stale `Pending` verdict (`Context` / `Unknown`, see below).
 *
 * The same rules as the engine's `redactCredentials` (packages/enrichment-engine/src/redact.ts),
 * written in SQL here because migrations never import application code.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 */
import { type Kysely, sql } from 'kysely';

const BATCH = 1000;
const FN = sql.raw('calseta_scrub_0011');

/**
 * Credential member names after lower-casing and dropping everything but letters and digits.
 * FROZEN copy of the engine's list as it was (packages/enrichment-engine/src/redact.ts): a migration
 * cannot import the engine and must not change once shipped. Exported only so the engine's test
 * (redact.test.ts) fails if the engine ever stops redacting a name this migration scrubbed.
 */
export const NAMES = [
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'token',
  'sessiontoken',
  'bearertoken',
  'authtoken',
  'clientsecret',
  'secret',
  'password',
  'passwd',
  'apikey',
  'xapikey',
  'authorization',
  'privatekey',
  'clientassertion',
];

export async function up(db: Kysely<any>): Promise<void> {
  await sql`TRUNCATE enrichment_cache`.execute(db);

  const names = sql.raw(`ARRAY[${NAMES.map((n) => `'${n}'`).join(',')}]::text[]`);
  // Postgres regexes are automata (no backtracking blow-up); depth is bounded like the engine's pass.
  await sql`
    CREATE OR REPLACE FUNCTION ${FN}(j jsonb, depth integer) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE AS $fn$
    BEGIN
      IF j IS NULL THEN RETURN NULL; END IF;
      CASE jsonb_typeof(j)
        WHEN 'object' THEN
          IF depth >= 70 THEN RETURN to_jsonb('[TRUNCATED: nested too deep]'::text); END IF;
          RETURN coalesce((
            SELECT jsonb_object_agg(
              e.key,
              CASE
                WHEN lower(regexp_replace(e.key, '[^A-Za-z0-9]', '', 'g')) = ANY(${names})
                  AND jsonb_typeof(e.value) <> 'null' AND e.value <> '""'::jsonb
                THEN to_jsonb('[REDACTED]'::text)
                ELSE ${FN}(e.value, depth + 1)
              END)
            FROM jsonb_each(j) AS e
            WHERE NOT (jsonb_typeof(e.value) = 'object' AND e.value ? 'access_token')
          ), '{}'::jsonb);
        WHEN 'array' THEN
          IF depth >= 70 THEN RETURN to_jsonb('[TRUNCATED: nested too deep]'::text); END IF;
          RETURN coalesce((
            SELECT jsonb_agg(${FN}(a.value, depth + 1) ORDER BY a.ord)
            FROM jsonb_array_elements(j) WITH ORDINALITY AS a(value, ord)
          ), '[]'::jsonb);
        WHEN 'string' THEN
          IF (j #>> '{}') ~ 'eyJ[A-Za-z0-9_-]{7,}\\.[A-Za-z0-9_-]{2,}\\.'
            OR (j #>> '{}') ~* '(^|[^A-Za-z0-9])(bearer|ssws)[[:space:]]+[A-Za-z0-9._~+/-]'
          THEN RETURN to_jsonb('[REDACTED]'::text);
          END IF;
          RETURN j;
        ELSE RETURN j;
      END CASE;
    END
    $fn$`.execute(db);

  const bounds = await sql<{ lo: string | null; hi: string | null }>`
    SELECT min(id)::text AS lo, max(id)::text AS hi FROM indicators WHERE enrichment_results IS NOT NULL`.execute(db);
  const lo = bounds.rows[0]?.lo;
  const hi = bounds.rows[0]?.hi;
  if (lo !== null && lo !== undefined && hi !== null && hi !== undefined) {
    for (let start = BigInt(lo); start <= BigInt(hi); start += BigInt(BATCH)) {
      const end = start + BigInt(BATCH) - 1n;
      await sql`
        UPDATE indicators AS i SET enrichment_results = s.scrubbed
        FROM (
          SELECT id, enrichment_results AS before, ${FN}(enrichment_results, 0) AS scrubbed
          FROM indicators
          WHERE id BETWEEN ${start.toString()}::bigint AND ${end.toString()}::bigint
            AND enrichment_results IS NOT NULL
            AND enrichment_results::text ~* '(token|secret|passw|api.?key|authorization|bearer|ssws|eyJ)'
        ) AS s
        WHERE i.id = s.id AND s.scrubbed IS DISTINCT FROM s.before`.execute(db);
    }
  }
  await sql`DROP FUNCTION ${FN}(jsonb, integer)`.execute(db);

  // Same release: a verdict is never `Pending` once enrichment finished (MaliceLevel gained `Unknown`
  // and `Context`). Indicators the providers already answered keep no stale `Pending`: `Context` when
  // an identity provider (Okta, Entra) found the account, else `Unknown` — unless a rate-limited
  // provider still waits for its retry. Analyst verdicts are left alone.
  await sql`
    UPDATE indicators AS i
    SET malice = CASE
      WHEN EXISTS (
        SELECT 1 FROM jsonb_each(i.enrichment_results) AS r
        WHERE r.key IN ('okta', 'entra') AND r.value->>'status' = 'success'
      ) THEN 'Context'
      ELSE 'Unknown'
    END
    WHERE i.malice = 'Pending'
      AND i.malice_source = 'enrichment'
      AND i.enrichment_results IS NOT NULL
      AND jsonb_typeof(i.enrichment_results) = 'object'
      AND i.enrichment_results <> '{}'::jsonb
      AND NOT EXISTS (
        SELECT 1 FROM jsonb_each(i.enrichment_results) AS r
        WHERE (r.value->>'rate_limited')::boolean IS TRUE AND r.value->>'status' IN ('skipped', 'failed')
      )`.execute(db);
}

/** Nothing to restore: the scrubbed values were credentials that must not be kept. */
export async function down(): Promise<void> {}

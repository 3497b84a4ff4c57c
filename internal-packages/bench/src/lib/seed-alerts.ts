/**
 * Bulk-seeds realistic alerts for read benchmarks: `seedAlerts(pool, target)` tops the database up
 * to `target` seeded alerts with set-based `INSERT … SELECT … generate_series` statements (one
 * statement per chunk of 50,000 alerts, no per-row round trips).
 *
 * The rows have the shapes ingest stores (packages/core/src/ingest/batcher.ts): an `alerts` row
 * with `normalized` and `raw_payload` JSONB, its `alert_fingerprints` claim, its `alert_ingested`
 * activity event and, for a share of alerts, links to shared indicators; detection rules per
 * source. Distributions (fractions of alerts):
 *
 * - source: elastic 45%, sentinel 30%, splunk 20%, generic 5%;
 * - severity: Informational 10%, Low 28%, Medium 34%, High 21%, Critical 7%;
 * - status: Closed 62% (with a close classification), Open 18%, Triaging 12%, Escalated 8%;
 * - enrichment_status: Enriched 82%, Partial 6%, Failed 3%, Skipped 2%, Pending 7%;
 * - tags: none 30%, one technique 30%, + an environment 25%, + a theme 15%;
 * - occurred_at: uniform over the last 180 days, not correlated with insertion order (the harder
 *   case for index scans: consecutive rows of an index on occurred_at are on different heap pages);
 * - detection rule: 15 per source except generic; 85% of non-generic alerts link to one;
 * - indicators: a pool of max(2,000, target / 10); 60% of alerts link 1–4 of them.
 *
 * Runnable alone against any database that has the schema:
 *   node --import tsx internal-packages/bench/src/lib/seed-alerts.ts --url postgres://… --count 100000
 *   node --import tsx internal-packages/bench/src/lib/seed-alerts.ts --data-dir /tmp/calseta-api-bench --count 100000
 * (--data-dir starts, migrates and stops an embedded Postgres kept in that directory.)
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { DbHandle } from '@calseta/db';

export const SOURCES = ['elastic', 'sentinel', 'splunk', 'generic'] as const;
export const TECHNIQUE_TAGS = ['T1059', 'T1566', 'T1078', 'T1110', 'T1486', 'T1021', 'T1003', 'T1055'] as const;
export const ENV_TAGS = ['prod', 'staging', 'corp', 'dmz', 'cloud'] as const;
export const THEME_TAGS = ['vip', 'pci', 'ransomware', 'phishing', 'insider'] as const;
const CHUNK = 50_000;
const RULES_PER_SOURCE = 15;

type Queryable = Pick<DbHandle['pool'], 'query'>;

const RULE_NAMES = [
  'Suspicious PowerShell Encoded Command',
  'Known Malware Hash Detected on Endpoint',
  'Impossible Travel Sign-in',
  'Brute Force Against Domain Controller',
  'Phishing Link Clicked',
  'Ransomware File Extension Burst',
  'LSASS Memory Access',
  'New Admin Account Created',
  'Outbound Connection to Known C2',
  'Unusual Service Installation',
  'Mass File Download from SharePoint',
  'MFA Fatigue Push Spam',
  'DNS Tunnelling Pattern',
  'Credential Dumping via Mimikatz',
  'Lateral Movement over SMB',
];

const sqlList = (values: readonly string[]) => `ARRAY[${values.map((v) => `'${v}'`).join(',')}]`;

/** Alerts currently in the database. */
export async function alertCount(db: Queryable): Promise<number> {
  return (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM alerts')).rows[0]?.n ?? 0;
}

async function ensureRules(db: Queryable): Promise<void> {
  await db.query(
    `INSERT INTO detection_rules (name, source_name, source_rule_id, severity, mitre_tactics, mitre_techniques,
                                  documentation, created_by)
     SELECT (${sqlList(RULE_NAMES)})[k], s, 'bench-' || s || '-' || k,
            (ARRAY['Low','Medium','High','Critical'])[1 + k % 4],
            ARRAY[(ARRAY['Execution','Initial Access','Credential Access','Lateral Movement','Impact'])[1 + k % 5]],
            ARRAY[(${sqlList(TECHNIQUE_TAGS)})[1 + k % ${TECHNIQUE_TAGS.length}]],
            '## ' || (${sqlList(RULE_NAMES)})[k] || E'\\n\\nTriage: check the host and the user, then the indicators.',
            'system'
     FROM unnest(ARRAY['elastic','sentinel','splunk']) s, generate_series(1, ${RULES_PER_SOURCE}) k
     ON CONFLICT (source_name, source_rule_id) WHERE source_rule_id IS NOT NULL DO NOTHING`,
  );
}

/** Grow the indicator pool to `size` rows (ip, domain, sha256 in turn), enriched like the worker leaves them. */
async function ensureIndicators(db: Queryable, size: number): Promise<void> {
  const have = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM indicators')).rows[0]?.n ?? 0;
  if (have >= size) return;
  await db.query(
    `INSERT INTO indicators (type, value, is_enriched, malice, malice_source, enriched_at, enrichment_results,
                             first_seen, last_seen)
     SELECT t, v, true, m, 'enrichment', now() - interval '1 day',
            jsonb_build_object('virustotal', jsonb_build_object('success', true, 'extracted',
              jsonb_build_object('malicious_count', mc, 'reputation', -mc)), 'enriched_at', now()),
            now() - interval '180 days', now()
     FROM (
       SELECT n,
              (ARRAY['ip','domain','hash_sha256'])[1 + n % 3] AS t,
              CASE n % 3
                WHEN 0 THEN (11 + n / 65536 % 200)::text || '.' || (n / 256 % 256)::text || '.' || (n % 256)::text || '.7'
                WHEN 1 THEN 'host-' || n || '.example-bench.net'
                ELSE encode(sha256(('bench-' || n)::bytea), 'hex')
              END AS v,
              (ARRAY['Benign','Benign','Benign','Suspicious','Malicious','Pending'])[1 + n % 6] AS m,
              (n % 7) AS mc
       FROM generate_series($1::int, $2::int) n
     ) x
     ON CONFLICT (type, value) DO NOTHING`,
    [have + 1, size],
  );
}

/**
 * Insert alerts numbered `from`..`to` (inclusive) with their claims, activity and indicator links,
 * in one statement (one transaction).
 */
async function insertChunk(db: Queryable, from: number, to: number, pool: number): Promise<void> {
  await db.query(
    `WITH r AS (
       SELECT n, random() r1, random() r2, random() r3, random() r4, random() r5, random() r6, random() r7,
              random() r8, random() r9
       FROM generate_series($1::int, $2::int) n
     ), a AS (
       SELECT n, r8, r9, gen_random_uuid() AS uuid,
              (ARRAY['elastic','sentinel','splunk','generic'])[CASE WHEN r1 < 0.45 THEN 1 WHEN r1 < 0.75 THEN 2
                WHEN r1 < 0.95 THEN 3 ELSE 4 END] AS source_name,
              1 + floor(r2 * ${RULES_PER_SOURCE})::int AS rule_k,
              CASE WHEN r3 < 0.10 THEN 'Informational' WHEN r3 < 0.38 THEN 'Low' WHEN r3 < 0.72 THEN 'Medium'
                   WHEN r3 < 0.93 THEN 'High' ELSE 'Critical' END AS severity,
              CASE WHEN r4 < 0.62 THEN 'Closed' WHEN r4 < 0.80 THEN 'Open' WHEN r4 < 0.92 THEN 'Triaging'
                   ELSE 'Escalated' END AS status,
              date_trunc('second', now() - r5 * interval '180 days') AS occurred_at,
              CASE WHEN r6 < 0.82 THEN 'Enriched' WHEN r6 < 0.88 THEN 'Partial' WHEN r6 < 0.91 THEN 'Failed'
                   WHEN r6 < 0.93 THEN 'Skipped' ELSE 'Pending' END AS enrichment_status,
              CASE WHEN r7 < 0.30 THEN '{}'::text[]
                   ELSE array_remove(ARRAY[
                     (${sqlList(TECHNIQUE_TAGS)})[1 + floor(r8 * ${TECHNIQUE_TAGS.length})::int],
                     CASE WHEN r7 >= 0.60 THEN (${sqlList(ENV_TAGS)})[1 + floor(r9 * ${ENV_TAGS.length})::int] END,
                     CASE WHEN r7 >= 0.85 THEN (${sqlList(THEME_TAGS)})[1 + (n % ${THEME_TAGS.length})] END
                   ], NULL) END AS tags,
              'srv-' || lpad((n % 977)::text, 4, '0') AS host,
              'user' || (n % 3001) AS username,
              '10.' || (n % 250) || '.' || (n / 250 % 250) || '.' || (1 + n % 253) AS src_ip,
              (11 + n % 200) || '.' || (n / 7 % 256) || '.' || (n / 13 % 256) || '.' || (1 + n % 250) AS dst_ip
       FROM r
     ), shaped AS (
       SELECT a.*, (${sqlList(RULE_NAMES)})[a.rule_k] || CASE WHEN a.n % 4 = 0 THEN ' on ' || a.host ELSE '' END AS title,
              a.occurred_at + (a.r8 * 90) * interval '1 second' AS ingested_at,
              to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS ts,
              (SELECT d.id FROM detection_rules d
                WHERE d.source_name = a.source_name AND d.source_rule_id = 'bench-' || a.source_name || '-' || a.rule_k
                  AND a.r9 < 0.85) AS rule_id
       FROM a
     ), alert AS (
       INSERT INTO alerts (uuid, title, description, severity, source_name, occurred_at, occurred_at_inferred,
                           source_time, ingested_at, enriched_at, is_enriched, fingerprint, status, enrichment_status,
                           close_classification, acknowledged_at, triaged_at, closed_at, tags, normalized, raw_payload,
                           enrichment_summary, detection_rule_id, created_at, updated_at)
       SELECT s.uuid, s.title, 'Seeded alert ' || s.n || ': ' || s.username || ' on ' || s.host, s.severity, s.source_name,
              s.occurred_at, false, s.occurred_at, s.ingested_at,
              CASE WHEN s.enrichment_status IN ('Enriched','Partial','Failed') THEN s.ingested_at + interval '3 seconds' END,
              s.enrichment_status IN ('Enriched','Partial'),
              md5(s.title || '|' || s.source_name || '|' || s.n),
              s.status, s.enrichment_status,
              CASE WHEN s.status = 'Closed' THEN (ARRAY['True Positive - Suspicious Activity',
                'Benign Positive - Suspicious but Expected','False Positive - Incorrect Detection Logic',
                'Undetermined','Duplicate'])[1 + s.n % 5] END,
              CASE WHEN s.status <> 'Open' THEN s.ingested_at + interval '10 minutes' END,
              CASE WHEN s.status IN ('Triaging','Escalated','Closed') THEN s.ingested_at + interval '20 minutes' END,
              CASE WHEN s.status = 'Closed' THEN s.ingested_at + interval '2 hours' END,
              s.tags,
              jsonb_build_object('title', s.title, 'severity', s.severity, 'occurred_at', s.ts,
                'source_name', s.source_name, 'description', 'Seeded alert ' || s.n || ': ' || s.username || ' on ' || s.host,
                'src_ip', s.src_ip, 'dst_ip', s.dst_ip, 'src_hostname', s.host, 'actor_username', s.username,
                'tags', to_jsonb(s.tags), 'extra', jsonb_build_object('process', 'powershell.exe', 'count', 1 + s.n % 9)),
              CASE s.source_name
                WHEN 'elastic' THEN jsonb_build_object('@timestamp', s.ts, 'kibana.alert.rule.name', s.title,
                  'kibana.alert.severity', lower(s.severity), 'kibana.alert.rule.uuid', 'bench-elastic-' || s.rule_k,
                  'host', jsonb_build_object('name', s.host), 'user', jsonb_build_object('name', s.username),
                  'source', jsonb_build_object('ip', s.src_ip), 'destination', jsonb_build_object('ip', s.dst_ip),
                  'tags', to_jsonb(s.tags))
                WHEN 'sentinel' THEN jsonb_build_object('properties', jsonb_build_object('title', s.title,
                  'severity', s.severity, 'createdTimeUtc', s.ts, 'incidentNumber', s.n,
                  'relatedAnalyticRuleIds', jsonb_build_array('bench-sentinel-' || s.rule_k),
                  'additionalData', jsonb_build_object('alertsCount', 1, 'tactics', jsonb_build_array('Execution')),
                  'labels', to_jsonb(s.tags)), 'entities', jsonb_build_array(
                    jsonb_build_object('kind', 'Host', 'hostName', s.host),
                    jsonb_build_object('kind', 'Ip', 'address', s.src_ip)))
                WHEN 'splunk' THEN jsonb_build_object('search_name', s.title, 'sid', 'scheduler__bench_' || s.n,
                  'result', jsonb_build_object('_time', s.ts, 'severity', lower(s.severity), 'src', s.src_ip,
                    'dest', s.dst_ip, 'user', s.username, 'host', s.host))
                ELSE jsonb_build_object('title', s.title, 'severity', s.severity, 'timestamp', s.ts,
                  'src_ip', s.src_ip, 'hostname', s.host, 'username', s.username, 'tags', to_jsonb(s.tags))
              END,
              CASE WHEN s.enrichment_status IN ('Enriched','Partial','Failed') THEN jsonb_build_object(
                'status', s.enrichment_status, 'indicator_count', 2, 'enrichable_count', 2,
                'providers', jsonb_build_object('virustotal', jsonb_build_object('succeeded', 2, 'not_found', 0,
                  'failed', 0, 'skipped', 0, 'deferred', 0)),
                'providers_succeeded', jsonb_build_array('virustotal'), 'providers_failed', '[]'::jsonb,
                'providers_skipped', '[]'::jsonb, 'providers_deferred', '[]'::jsonb, 'retry_at', NULL, 'attempt', 1,
                'malice_counts', jsonb_build_object('Benign', 1, 'Suspicious', 1), 'cache_hits', 0,
                'completed_at', to_char((s.ingested_at + interval '3 seconds') AT TIME ZONE 'UTC',
                  'YYYY-MM-DD"T"HH24:MI:SS"Z"')) END,
              s.rule_id, s.ingested_at,
              CASE WHEN s.status = 'Closed' THEN s.ingested_at + interval '2 hours' ELSE s.ingested_at + interval '3 seconds' END
       FROM shaped s
       RETURNING id, uuid, fingerprint, created_at, source_name, severity, title
     ), claim AS (
       INSERT INTO alert_fingerprints (fingerprint, alert_uuid, claimed_at)
       SELECT fingerprint, uuid, created_at FROM alert
     ), activity AS (
       INSERT INTO activity_events (event_type, actor_type, actor_key_prefix, actor_key_name, alert_id, "references",
                                    created_at)
       SELECT 'alert_ingested', 'api_key', 'cai_benc', 'bench-seed', id,
              jsonb_build_object('source_name', source_name, 'severity', severity, 'title', title), created_at
       FROM alert
     )
     INSERT INTO alert_indicators (alert_id, indicator_id, source_field, created_at, updated_at)
     SELECT DISTINCT ON (l.alert_id, l.indicator_id) l.alert_id, l.indicator_id, l.field, l.created_at, l.created_at
     FROM (
       SELECT alert.id AS alert_id, alert.created_at,
              (SELECT min(i.id) FROM indicators i WHERE i.id >= 1 + floor(random() * $3::int + k * 0)::int) AS indicator_id,
              (ARRAY['src_ip','dst_ip','file_hash_sha256','http_hostname'])[k] AS field
       FROM alert, generate_series(1, 4) k
       WHERE (hashint4(alert.id::int) & 1023) < 614 AND k <= 1 + (abs(hashint4(alert.id::int + 7)) % 4)
     ) l
     WHERE l.indicator_id IS NOT NULL
     ON CONFLICT (alert_id, indicator_id) DO NOTHING`,
    [from, to, pool],
  );
}

export interface SeedProgress {
  inserted: number;
  total: number;
  seconds: number;
}

/**
 * Top the database up to `target` alerts. Returns how many were added and how long it took.
 * `onProgress` is called after each chunk.
 */
export async function seedAlerts(
  db: Queryable,
  target: number,
  onProgress?: (progress: SeedProgress) => void,
): Promise<{ added: number; seconds: number }> {
  const started = performance.now();
  const have = await alertCount(db);
  if (have >= target) return { added: 0, seconds: 0 };
  const poolSize = Math.max(2_000, Math.ceil(target / 10));
  await ensureRules(db);
  await ensureIndicators(db, poolSize);
  const maxIndicator =
    (await db.query<{ id: number }>('SELECT coalesce(max(id), 0)::int AS id FROM indicators')).rows[0]?.id ?? 0;
  for (let from = have + 1; from <= target; from += CHUNK) {
    const to = Math.min(target, from + CHUNK - 1);
    await insertChunk(db, from, to, maxIndicator);
    onProgress?.({ inserted: to - have, total: target - have, seconds: (performance.now() - started) / 1000 });
  }
  return { added: target - have, seconds: (performance.now() - started) / 1000 };
}

// ------------------------------------------------------------------------------------- standalone

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      'data-dir': { type: 'string' },
      count: { type: 'string', default: '10000' },
    },
  });
  const count = Number(values.count);
  if (!Number.isInteger(count) || count <= 0)
    throw new Error(`--count must be a positive integer, got ${values.count}`);
  const { createDb, migrateToLatest, startEmbeddedPostgres } = await import('@calseta/db');
  let url = values.url;
  const postgres =
    url === undefined && values['data-dir'] !== undefined
      ? await startEmbeddedPostgres({ dataDir: path.resolve(values['data-dir']) })
      : undefined;
  url ??= postgres?.url;
  if (url === undefined) throw new Error('pass --url <postgres url> or --data-dir <dir>');
  const { db, pool } = createDb({ url, max: 1, applicationName: 'calseta-bench-seed' });
  try {
    if (postgres) await migrateToLatest(db);
    await pool.query('SET synchronous_commit = off');
    const result = await seedAlerts(pool, count, (p) =>
      process.stdout.write(`  ${p.inserted}/${p.total} alerts, ${p.seconds.toFixed(1)} s\n`),
    );
    await pool.query('VACUUM ANALYZE alerts, alert_indicators, indicators, activity_events, alert_fingerprints');
    process.stdout.write(
      `${result.added} alerts added in ${result.seconds.toFixed(1)} s; ${await alertCount(pool)} in the database\n`,
    );
  } finally {
    await db.destroy();
    await postgres?.stop();
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}

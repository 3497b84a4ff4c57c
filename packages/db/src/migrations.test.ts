import { type Kysely, Migrator, NO_MIGRATIONS, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { createDb, migrateToLatest, migrationNames } from './create-db.js';
import type { Database } from './database.js';
import { migrations } from './migrations/index.js';
import { createTestDatabase, type TestDatabase } from './testing/index.js';

const TABLES = [
  'activity_events',
  'agent_registrations',
  'agent_runs',
  'alert_fingerprints',
  'alert_indicators',
  'alerts',
  'api_keys',
  'context_document_versions',
  'context_documents',
  'detection_rules',
  'enrichment_cache',
  'enrichment_field_extractions',
  'enrichment_inflight',
  'enrichment_providers',
  'incident_alerts',
  'incident_correlation_keys',
  'incident_deliveries',
  'incident_delivery_cursors',
  'incident_events',
  'incident_findings',
  'incidents',
  'indicator_field_mappings',
  'indicator_history',
  'indicators',
  'oidc_logins',
  'provider_rate_state',
  'rate_limit_buckets',
  'sessions',
  'settings',
  'source_integrations',
  'users',
  'workflow_approval_requests',
  'workflow_code_versions',
  'workflow_runs',
  'workflow_secrets',
  'workflows',
];

let t: TestDatabase;
let db: Kysely<Database>;

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
});
afterAll(() => t?.drop());

/** The Postgres error a promise rejects with. */
async function pgError(promise: Promise<unknown>): Promise<{ code?: string; constraint?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; constraint?: string };
  }
  throw new Error('expected the statement to fail');
}

async function newAlert(title = 'alert') {
  return db
    .insertInto('alerts')
    .values({ title, source_name: 'generic', occurred_at: new Date() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

describe('schema', () => {
  test('every table exists', async () => {
    const rows = await db
      .selectFrom('information_schema.tables' as never)
      .select(sql<string>`table_name`.as('name'))
      .where(sql<boolean>`table_schema = 'public' and table_type = 'BASE TABLE' and table_name not like 'kysely_%'`)
      .orderBy('name')
      .execute();
    expect(rows.map((r) => r.name)).toEqual(TABLES);
  });

  test('key columns', async () => {
    const columns = await sql<{ table_name: string; column_name: string; data_type: string; is_identity: string }>`
      select table_name, column_name, data_type, is_identity from information_schema.columns
      where table_schema = 'public'`.execute(db);
    const col = (table: string, column: string) =>
      columns.rows.find((c) => c.table_name === table && c.column_name === column);

    for (const table of TABLES) {
      const id = col(table, 'id');
      if (
        [
          'alert_fingerprints',
          'enrichment_cache',
          'enrichment_inflight',
          'incident_correlation_keys',
          'incident_delivery_cursors',
          'indicator_history',
          'oidc_logins',
          'provider_rate_state',
          'rate_limit_buckets',
          'settings',
        ].includes(table)
      ) {
        expect(id, `${table} is keyed naturally`).toBeUndefined();
        continue;
      }
      expect(id, `${table}.id`).toMatchObject({ data_type: 'bigint', is_identity: 'YES' });
      expect(col(table, 'created_at')?.data_type, `${table}.created_at`).toBe('timestamp with time zone');
      // Append-only logs have no updated_at.
      if (table !== 'activity_events' && table !== 'incident_events') {
        expect(col(table, 'updated_at'), `${table}.updated_at`).toBeDefined();
      }
      const hasUuid = ![
        'alert_indicators',
        'incident_alerts',
        'workflow_code_versions',
        'context_document_versions',
      ].includes(table);
      expect(col(table, 'uuid')?.data_type, `${table}.uuid`).toBe(hasUuid ? 'uuid' : undefined);
    }
    expect(col('activity_events', 'updated_at')).toBeUndefined();
    expect(col('alerts', 'normalized')?.data_type).toBe('jsonb');
    expect(col('alerts', 'tags')?.data_type).toBe('ARRAY');
    expect(col('workflow_runs', 'started_at')?.data_type).toBe('timestamp with time zone');
    expect(col('agent_runs', 'completed_at')?.data_type).toBe('timestamp with time zone');
    expect(col('activity_events', 'references')?.data_type).toBe('jsonb');
  });

  test('the pg-boss schema is installed', async () => {
    const { rows } = await sql<{ version: number }>`select version from pgboss.version`.execute(db);
    expect(rows[0]?.version).toBeGreaterThan(0);
  });

  test('migrateToLatest on a migrated database applies nothing', async () => {
    expect(await migrateToLatest(db)).toEqual([]);
    expect(await migrateToLatest(db)).toEqual([]);
  });
});

describe('migrations on an empty database', () => {
  const adminUrl = inject('pgAdminUrl');
  const name = `t_${inject('pgRunId')}_empty`;
  let empty: ReturnType<typeof createDb>;

  async function admin(statement: string): Promise<void> {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(statement.replace('$name', client.escapeIdentifier(name)));
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    await admin('CREATE DATABASE $name TEMPLATE template0');
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    empty = createDb({ url: url.toString(), max: 2 });
  });
  afterAll(async () => {
    await empty?.db.destroy();
    await admin('DROP DATABASE IF EXISTS $name WITH (FORCE)');
  });

  test('apply all, then nothing; down() reverts everything; up again', async () => {
    expect(migrationNames()).toEqual([
      '0001_core',
      '0002_enrichment',
      '0003_automation',
      '0004_ingest_claims',
      '0005_enrichment_wiring',
      '0006_dispatch',
      '0007_context',
      '0008_enrichment_unlogged',
      '0009_rate_limits',
      '0010_alert_list_indexes',
      '0011_scrub_provider_credentials',
      '0012_severity_unmapped',
      '0014_alert_verdict',
      '0015_hot_updates',
      '0016_table_change_notify',
      '0017_users_sessions',
      '0018_incidents',
      '0019_incident_delivery',
      '0020_users_email_verified',
      '0021_drop_single_indicator_index',
      '0022_cache_raw_apart',
      '0023_deferred_alert_verdicts',
      '0024_indicator_history',
      '0025_verdict_refresh_after_lock',
      '0026_indicator_history_note_append',
      '0027_verdict_refresh_no_key_lock',
    ]);
    expect(await migrateToLatest(empty.db)).toEqual(migrationNames());
    expect(await migrateToLatest(empty.db)).toEqual([]);

    // 0022 moves a cached raw response out of the answer, and back on the way down.
    const migrator = new Migrator({ db: empty.db, provider: { getMigrations: async () => ({ ...migrations }) } });
    expect((await migrator.migrateTo('0021_drop_single_indicator_index')).error).toBeUndefined();
    await sql`
      INSERT INTO enrichment_cache (provider_name, indicator_type, indicator_value, status, result, expires_at)
      VALUES ('vt', 'ip', '192.0.2.1', 'success', '{"status":"success","raw":{"data":{"id":"192.0.2.1"}}}', now() + interval '1 hour')`.execute(
      empty.db,
    );
    expect((await migrator.migrateTo('0022_cache_raw_apart')).error).toBeUndefined();
    const moved = await sql<{ result: unknown; raw: unknown }>`SELECT result, raw FROM enrichment_cache`.execute(
      empty.db,
    );
    expect(moved.rows).toEqual([{ result: { status: 'success', raw: null }, raw: '{"data": {"id": "192.0.2.1"}}' }]);
    expect((await migrator.migrateTo('0021_drop_single_indicator_index')).error).toBeUndefined();
    const back = await sql<{ result: unknown }>`SELECT result FROM enrichment_cache`.execute(empty.db);
    expect(back.rows).toEqual([{ result: { status: 'success', raw: { data: { id: '192.0.2.1' } } } }]);
    await migrateToLatest(empty.db);

    const down = await migrator.migrateTo(NO_MIGRATIONS);
    expect(down.error).toBeUndefined();
    const { rows } = await sql<{ n: number }>`
      select count(*) as n from information_schema.tables
      where table_schema = 'public' and table_name not like 'kysely_%'`.execute(empty.db);
    expect(rows[0]?.n).toBe(0);

    expect(await migrateToLatest(empty.db)).toEqual(migrationNames());
  });
});

describe('constraints', () => {
  test('indicators are unique by (type, value)', async () => {
    await db.insertInto('indicators').values({ type: 'ip', value: '10.0.0.1' }).execute();
    await db.insertInto('indicators').values({ type: 'domain', value: '10.0.0.1' }).execute();
    const error = await pgError(db.insertInto('indicators').values({ type: 'ip', value: '10.0.0.1' }).execute());
    expect(error).toMatchObject({ code: '23505', constraint: 'uq_indicator_type_value' });
  });

  test('api keys are unique by hash; prefixes may repeat', async () => {
    await db.insertInto('api_keys').values({ name: 'a', key_prefix: 'cai_abcd', key_hash: 'h1' }).execute();
    await db.insertInto('api_keys').values({ name: 'b', key_prefix: 'cai_abcd', key_hash: 'h2' }).execute();
    const error = await pgError(
      db.insertInto('api_keys').values({ name: 'c', key_prefix: 'cai_wxyz', key_hash: 'h1' }).execute(),
    );
    expect(error).toMatchObject({ code: '23505', constraint: 'uq_api_keys_key_hash' });
  });

  test('alert_indicators are unique by (alert_id, indicator_id)', async () => {
    const alert = await newAlert();
    const indicator = await db
      .insertInto('indicators')
      .values({ type: 'domain', value: 'dup.example' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const link = { alert_id: alert.id, indicator_id: indicator.id, source_field: 'src_ip' };
    await db.insertInto('alert_indicators').values(link).execute();
    const error = await pgError(db.insertInto('alert_indicators').values(link).execute());
    expect(error).toMatchObject({ code: '23505', constraint: 'uq_alert_indicator' });
  });

  test('detection rule stubs upsert on (source_name, source_rule_id) when source_rule_id is set', async () => {
    const upsert = (name: string) =>
      db
        .insertInto('detection_rules')
        .values({ name, source_name: 'sentinel', source_rule_id: 'rule-1' })
        .onConflict((oc) =>
          oc
            .columns(['source_name', 'source_rule_id'])
            .where('source_rule_id', 'is not', null)
            .doUpdateSet({ name: (eb) => eb.ref('excluded.name') }),
        )
        .returning(['id', 'name'])
        .executeTakeFirstOrThrow();
    const first = await upsert('one');
    const second = await upsert('two');
    expect(second).toEqual({ id: first.id, name: 'two' });

    // Rules without a source id are never deduplicated.
    await db.insertInto('detection_rules').values({ name: 'x', source_name: 'sentinel' }).execute();
    await db.insertInto('detection_rules').values({ name: 'x', source_name: 'sentinel' }).execute();
  });

  test('agent auth header name and value are both set or both null', async () => {
    const base = { name: 'agent', endpoint_url: 'http://agent.test/hook' };
    await db.insertInto('agent_registrations').values(base).execute();
    await db
      .insertInto('agent_registrations')
      .values({ ...base, auth_header_name: 'X-Key', auth_header_value_encrypted: 'enc' })
      .execute();
    const nameOnly = await pgError(
      db
        .insertInto('agent_registrations')
        .values({ ...base, auth_header_name: 'X-Key' })
        .execute(),
    );
    expect(nameOnly).toMatchObject({ code: '23514', constraint: 'ck_agent_auth_header_pair' });
    const valueOnly = await pgError(
      db
        .insertInto('agent_registrations')
        .values({ ...base, auth_header_value_encrypted: 'enc' })
        .execute(),
    );
    expect(valueOnly).toMatchObject({ code: '23514', constraint: 'ck_agent_auth_header_pair' });
  });

  test('enrichment field extractions are unique by (provider, type, path)', async () => {
    const row = { provider_name: 'vt', indicator_type: 'ip', source_path: 'data.score', target_key: 'score' };
    await db.insertInto('enrichment_field_extractions').values(row).execute();
    const error = await pgError(db.insertInto('enrichment_field_extractions').values(row).execute());
    expect(error).toMatchObject({ code: '23505', constraint: 'uq_enrichment_extraction_provider_type_path' });
  });
});

describe('foreign keys', () => {
  test('deleting an alert cascades to its links and deliveries and detaches activity', async () => {
    const alert = await newAlert('to delete');
    const other = await newAlert('kept');
    const indicator = await db
      .insertInto('indicators')
      .values({ type: 'ip', value: '192.0.2.7' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('alert_indicators')
      .values([
        { alert_id: alert.id, indicator_id: indicator.id },
        { alert_id: other.id, indicator_id: indicator.id },
      ])
      .execute();
    const agent = await db
      .insertInto('agent_registrations')
      .values({ name: 'a', endpoint_url: 'http://a.test' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('agent_runs')
      .values({ agent_registration_id: agent.id, alert_id: alert.id, idempotency_key: 'k1' })
      .execute();
    const event = await db
      .insertInto('activity_events')
      .values({ event_type: 'alert_ingested', actor_type: 'system', alert_id: alert.id, references: { title: 'x' } })
      .returning('id')
      .executeTakeFirstOrThrow();

    await db.deleteFrom('alerts').where('id', '=', alert.id).execute();

    const links = await db
      .selectFrom('alert_indicators')
      .select('alert_id')
      .where('indicator_id', '=', indicator.id)
      .execute();
    expect(links).toEqual([{ alert_id: other.id }]);
    expect(await db.selectFrom('indicators').select('id').where('id', '=', indicator.id).execute()).toHaveLength(1);
    expect(await db.selectFrom('agent_runs').select('id').where('alert_id', '=', alert.id).execute()).toEqual([]);
    const kept = await db
      .selectFrom('activity_events')
      .selectAll()
      .where('id', '=', event.id)
      .executeTakeFirstOrThrow();
    expect(kept.alert_id).toBeNull();
    expect(kept.references).toEqual({ title: 'x' });
  });

  test('deleting an indicator removes its links', async () => {
    const alert = await newAlert();
    const indicator = await db
      .insertInto('indicators')
      .values({ type: 'ip', value: '192.0.2.8' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db.insertInto('alert_indicators').values({ alert_id: alert.id, indicator_id: indicator.id }).execute();
    await db.deleteFrom('indicators').where('id', '=', indicator.id).execute();
    expect(await db.selectFrom('alert_indicators').select('id').where('alert_id', '=', alert.id).execute()).toEqual([]);
  });

  test('deleting a detection rule detaches its alerts', async () => {
    const rule = await db.insertInto('detection_rules').values({ name: 'r' }).returning('id').executeTakeFirstOrThrow();
    const alert = await db
      .insertInto('alerts')
      .values({ title: 't', source_name: 'generic', occurred_at: new Date(), detection_rule_id: rule.id })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db.deleteFrom('detection_rules').where('id', '=', rule.id).execute();
    const row = await db
      .selectFrom('alerts')
      .select('detection_rule_id')
      .where('id', '=', alert.id)
      .executeTakeFirstOrThrow();
    expect(row.detection_rule_id).toBeNull();
  });

  test('deleting a workflow cascades to versions, runs and approvals', async () => {
    const wf = await db
      .insertInto('workflows')
      .values({ name: 'w', code: 'x' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db.insertInto('workflow_code_versions').values({ workflow_id: wf.id, version: 1, code: 'old' }).execute();
    const run = await db
      .insertInto('workflow_runs')
      .values({ workflow_id: wf.id, trigger_type: 'human', code_version_executed: 1 })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('workflow_approval_requests')
      .values({
        workflow_id: wf.id,
        workflow_run_id: run.id,
        trigger_type: 'agent',
        trigger_agent_key_prefix: 'cai_abcd',
        reason: 'r',
        confidence: 0.9,
        expires_at: new Date(Date.now() + 3_600_000),
      })
      .execute();
    await db.deleteFrom('workflows').where('id', '=', wf.id).execute();
    for (const table of ['workflow_code_versions', 'workflow_runs', 'workflow_approval_requests'] as const) {
      expect(await db.selectFrom(table).select('id').where('workflow_id', '=', wf.id).execute(), table).toEqual([]);
    }
  });

  test('deleting a workflow run keeps its approval request', async () => {
    const wf = await db
      .insertInto('workflows')
      .values({ name: 'w', code: 'x' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const run = await db
      .insertInto('workflow_runs')
      .values({ workflow_id: wf.id, trigger_type: 'human', code_version_executed: 1 })
      .returning('id')
      .executeTakeFirstOrThrow();
    const approval = await db
      .insertInto('workflow_approval_requests')
      .values({
        workflow_id: wf.id,
        workflow_run_id: run.id,
        trigger_type: 'human',
        trigger_agent_key_prefix: 'cai_abcd',
        reason: '',
        confidence: 0,
        expires_at: new Date(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db.deleteFrom('workflow_runs').where('id', '=', run.id).execute();
    const row = await db
      .selectFrom('workflow_approval_requests')
      .select('workflow_run_id')
      .where('id', '=', approval.id)
      .executeTakeFirstOrThrow();
    expect(row.workflow_run_id).toBeNull();
  });

  test('deleting a context document cascades to its versions', async () => {
    const doc = await db
      .insertInto('context_documents')
      .values({ title: 'd', document_type: 'runbook', content: 'c' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('context_document_versions')
      .values({ document_id: doc.id, version: 1, title: 'd', content: 'old' })
      .execute();
    await db.deleteFrom('context_documents').where('id', '=', doc.id).execute();
    expect(
      await db.selectFrom('context_document_versions').select('id').where('document_id', '=', doc.id).execute(),
    ).toEqual([]);
  });
});

describe('value mapping', () => {
  test('ids and counts are numbers, dates are strings, json and arrays round-trip', async () => {
    const alert = await db
      .insertInto('alerts')
      .values({
        title: 'mapped',
        source_name: 'generic',
        occurred_at: '2026-01-02T03:04:05.000Z',
        tags: ['a', 'b'],
        normalized: { title: 'mapped', extra: { nested: [1, 2] } },
        agent_findings: JSON.stringify([{ agent_name: 'x', summary: 's' }]),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    expect(typeof alert.id).toBe('number');
    expect(alert.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(alert.occurred_at).toEqual(new Date('2026-01-02T03:04:05.000Z'));
    expect(alert.occurred_at_inferred).toBe(false);
    expect(alert.tags).toEqual(['a', 'b']);
    expect(alert.normalized).toEqual({ title: 'mapped', extra: { nested: [1, 2] } });
    expect(alert.raw_payload).toEqual({});
    expect(alert.agent_findings).toEqual([{ agent_name: 'x', summary: 's' }]);
    expect(alert).toMatchObject({
      severity: 'Pending',
      status: 'Open',
      enrichment_status: 'Pending',
      escalation_count: 0,
    });

    const { count } = await db
      .selectFrom('alerts')
      .select((eb) => eb.fn.countAll().as('count'))
      .executeTakeFirstOrThrow();
    expect(typeof count).toBe('number');

    await db.insertInto('provider_rate_state').values({ provider_name: 'vt', window_day: '2026-03-04' }).execute();
    const state = await db.selectFrom('provider_rate_state').selectAll().executeTakeFirstOrThrow();
    expect(state.window_day).toBe('2026-03-04');

    await db
      .insertInto('settings')
      .values({ key: 'k', value: JSON.stringify('text') })
      .execute();
    const setting = await db.selectFrom('settings').select('value').where('key', '=', 'k').executeTakeFirstOrThrow();
    expect(setting.value).toBe('text');
  });

  test('updated_at moves on update unless set explicitly', async () => {
    const alert = await db
      .insertInto('alerts')
      .values({ title: 't', source_name: 'generic', occurred_at: new Date(), updated_at: '2000-01-01T00:00:00Z' })
      .returning(['id', 'updated_at'])
      .executeTakeFirstOrThrow();
    expect(alert.updated_at).toEqual(new Date('2000-01-01T00:00:00Z'));
    const touched = await db
      .updateTable('alerts')
      .set({ status: 'Triaging' })
      .where('id', '=', alert.id)
      .returning('updated_at')
      .executeTakeFirstOrThrow();
    expect(touched.updated_at.getTime()).toBeGreaterThan(alert.updated_at.getTime());
    const explicit = await db
      .updateTable('alerts')
      .set({ status: 'Closed', updated_at: '2001-01-01T00:00:00Z' })
      .where('id', '=', alert.id)
      .returning('updated_at')
      .executeTakeFirstOrThrow();
    expect(explicit.updated_at).toEqual(new Date('2001-01-01T00:00:00Z'));
  });
});

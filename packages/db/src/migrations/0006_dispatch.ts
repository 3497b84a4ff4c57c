/**
 * 0006_dispatch — agent deliveries: what dispatch stores beyond v1 (signing, idempotency, attempts).
 *
 * `agent_runs` stays one row per delivery (attempts update it); this adds:
 * - `attempts`: every attempt of the delivery, `[{attempt, started_at, status_code, error, duration_ms}]`;
 * - `trigger`: why the delivery exists (`auto` after enrichment, `redispatch` when a re-enrichment asked
 *   for it, `manual` from trigger-agents, `single` from dispatch-agent, `redeliver`);
 * - `redelivery_of_id`: the delivery a redelivery repeats (same idempotency key);
 * - one automatic delivery per (alert, agent): re-enrichment does not notify agents again (quirk 23).
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE agent_runs
      ADD COLUMN attempts jsonb NOT NULL DEFAULT '[]',
      ADD COLUMN trigger text NOT NULL DEFAULT 'auto',
      ADD COLUMN redelivery_of_id bigint REFERENCES agent_runs (id) ON DELETE SET NULL`.execute(db);
  await sql`
    CREATE UNIQUE INDEX uq_agent_runs_auto_alert_agent
      ON agent_runs (alert_id, agent_registration_id)
      WHERE trigger = 'auto'`.execute(db);
  await sql`CREATE INDEX ix_agent_runs_alert_id_created_at ON agent_runs (alert_id, created_at DESC)`.execute(db);
  await sql`CREATE INDEX ix_agent_runs_idempotency_key ON agent_runs (idempotency_key)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX ix_agent_runs_idempotency_key`.execute(db);
  await sql`DROP INDEX ix_agent_runs_alert_id_created_at`.execute(db);
  await sql`DROP INDEX uq_agent_runs_auto_alert_agent`.execute(db);
  await sql`
    ALTER TABLE agent_runs
      DROP COLUMN redelivery_of_id,
      DROP COLUMN trigger,
      DROP COLUMN attempts`.execute(db);
}

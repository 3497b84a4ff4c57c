/**
 * 0016_table_change_notify — processes cache rarely changing configuration (agents, workflows,
 * context documents) and drop it when it changes, whoever changed it (API, CLI, SQL).
 *
 * A statement-level trigger on each table NOTIFYs `calseta_table_changed` with the table's name
 * (one per statement, delivered on commit). Not on tables the pipeline writes per alert: a NOTIFY
 * in a hot transaction serializes commits.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

const TABLES = ['agent_registrations', 'workflows', 'context_documents'];

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE FUNCTION calseta_notify_table_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('calseta_table_changed', TG_TABLE_NAME);
      RETURN NULL;
    END $$`.execute(db);
  for (const table of TABLES) {
    await sql`
      CREATE TRIGGER calseta_table_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${sql.table(table)}
      FOR EACH STATEMENT EXECUTE FUNCTION calseta_notify_table_changed()`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of TABLES) {
    await sql`DROP TRIGGER IF EXISTS calseta_table_changed ON ${sql.table(table)}`.execute(db);
  }
  await sql`DROP FUNCTION IF EXISTS calseta_notify_table_changed()`.execute(db);
}

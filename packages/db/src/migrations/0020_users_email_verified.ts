/**
 * 0020_users_email_verified — whether the identity provider vouched for a person's email.
 *
 * `calseta users grant-admin <email>` must never grant admin to someone who merely presented that
 * email unverified (an Entra account's mail attribute, a guest's home tenant): it updates only rows
 * whose email was verified at their last sign-in (or the row pre-provisioned for it). Existing rows
 * count as unverified until their next sign-in.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE users DROP COLUMN email_verified`.execute(db);
}

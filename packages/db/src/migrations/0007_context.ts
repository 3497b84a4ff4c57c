/**
 * 0007_context — detection rules and context documents: what contextualize stores beyond v1.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import type { Kysely } from 'kysely';

export async function up(_db: Kysely<any>): Promise<void> {}

export async function down(_db: Kysely<any>): Promise<void> {}

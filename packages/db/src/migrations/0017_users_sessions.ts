/**
 * 0017_users_sessions — people sign in (issue 21): users, server-side sessions, OIDC logins in flight.
 *
 * - `users`: one person per (issuer, subject) of the identity provider; `issuer`/`subject` are null
 *   for a user pre-provisioned by email (`calseta users grant-admin`, `OIDC_ADMIN_EMAILS`) until the
 *   first sign-in claims the row. Roles: `idp_roles` (mapped from the provider's claims at each
 *   sign-in) and `granted_roles` (an admin's or the bootstrap's); a user holds their union.
 * - `sessions`: only the SHA-256 of the cookie's token is stored. `kind` is `oidc` (a user) or
 *   `api_key` (the local API-key sign-in: the key's id, never the key). Idle expiry reads
 *   `last_seen_at` (touched at most once a minute), absolute expiry `expires_at`; `revoked_at` ends it.
 * - `oidc_logins`: an authorization request in flight (state, nonce, PKCE verifier, return path),
 *   keyed by the hash of a random browser-bound cookie; one use, ten minutes.
 * - `api_keys.owner_user_id`: a personal key's owner; `activity_events.actor_user_*`: the person acting.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE users (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid uuid NOT NULL DEFAULT gen_random_uuid(),
      issuer text,
      subject text,
      email text NOT NULL,
      name text,
      idp_roles text[] NOT NULL DEFAULT '{}',
      granted_roles text[] NOT NULL DEFAULT '{}',
      disabled boolean NOT NULL DEFAULT false,
      last_sign_in_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_users_uuid UNIQUE (uuid),
      CONSTRAINT uq_users_issuer_subject UNIQUE (issuer, subject),
      CONSTRAINT ck_users_identity CHECK ((issuer IS NULL) = (subject IS NULL))
    )
  `.execute(db);
  await sql`CREATE INDEX ix_users_email ON users (lower(email))`.execute(db);
  // One pre-provisioned (not yet signed-in) row per email.
  await sql`CREATE UNIQUE INDEX uq_users_pending_email ON users (lower(email)) WHERE issuer IS NULL`.execute(db);

  await sql`
    CREATE TABLE sessions (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid uuid NOT NULL DEFAULT gen_random_uuid(),
      token_hash text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('oidc', 'api_key')),
      user_id bigint REFERENCES users (id) ON DELETE CASCADE,
      api_key_id bigint REFERENCES api_keys (id) ON DELETE CASCADE,
      id_token text,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_sessions_uuid UNIQUE (uuid),
      CONSTRAINT uq_sessions_token_hash UNIQUE (token_hash),
      CONSTRAINT ck_sessions_subject CHECK ((kind = 'oidc') = (user_id IS NOT NULL) AND (kind = 'api_key') = (api_key_id IS NOT NULL))
    )
  `.execute(db);
  await sql`CREATE INDEX ix_sessions_user_id ON sessions (user_id) WHERE revoked_at IS NULL`.execute(db);
  await sql`CREATE INDEX ix_sessions_expires_at ON sessions (expires_at)`.execute(db);

  await sql`
    CREATE TABLE oidc_logins (
      browser_hash text PRIMARY KEY,
      state text NOT NULL,
      nonce text NOT NULL,
      code_verifier text NOT NULL,
      return_to text NOT NULL,
      expires_at timestamptz NOT NULL
    )
  `.execute(db);
  await sql`CREATE INDEX ix_oidc_logins_expires_at ON oidc_logins (expires_at)`.execute(db);

  await sql`ALTER TABLE api_keys ADD COLUMN owner_user_id bigint REFERENCES users (id)`.execute(db);
  await sql`CREATE INDEX ix_api_keys_owner_user_id ON api_keys (owner_user_id) WHERE owner_user_id IS NOT NULL`.execute(
    db,
  );
  await sql`ALTER TABLE activity_events ADD COLUMN actor_user_uuid uuid, ADD COLUMN actor_user_email text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE activity_events DROP COLUMN actor_user_uuid, DROP COLUMN actor_user_email`.execute(db);
  await sql`ALTER TABLE api_keys DROP COLUMN owner_user_id`.execute(db);
  await sql`DROP TABLE oidc_logins`.execute(db);
  await sql`DROP TABLE sessions`.execute(db);
  await sql`DROP TABLE users`.execute(db);
}

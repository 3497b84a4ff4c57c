import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role, Scope } from '@calseta/schema';
import { sql } from 'kysely';
import type { AuthenticatedKey, CoreDeps } from '../infra/context.js';
import { cachedKeyOf, keyRows, keysChanged, usableKey } from './keys.js';
import { normalizeRoles, scopesOfRoles } from './roles.js';

/** The session cookie (HttpOnly, SameSite=Lax, Path=/; Secure over https). */
export const SESSION_COOKIE = 'calseta_session';
const TOKEN_FORMAT = /^cas_[A-Za-z0-9_-]{43}$/;
/** last_seen_at is written at most this often per session, so reads stay reads. */
const TOUCH_RESOLUTION_MS = 60_000;

/** Idle and absolute lifetime of a session (`SESSION_IDLE_TIMEOUT`, `SESSION_ABSOLUTE_TIMEOUT`). */
export interface SessionPolicy {
  idleSeconds: number;
  absoluteSeconds: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { idleSeconds: 8 * 3600, absoluteSeconds: 7 * 86_400 };

/** A session that authenticated: who acts, with what, until when. */
export interface ResolvedSession {
  uuid: string;
  kind: 'oidc' | 'api_key';
  key: AuthenticatedKey;
  user: { uuid: string; email: string; name: string | null; roles: Role[] } | null;
  csrfToken: string;
  expiresAt: Date;
  idleExpiresAt: Date;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** A session token: `cas_` + 32 random bytes; only its SHA-256 is stored. */
function newSessionToken(): string {
  return `cas_${randomBytes(32).toString('base64url')}`;
}

/**
 * The session's CSRF token, derived from the cookie's token (never stored; it cannot be turned back
 * into the cookie): a page of ours reads it from `GET /v1/auth/session`, another site cannot.
 */
export function csrfTokenOf(sessionToken: string): string {
  return createHash('sha256').update(`calseta-csrf:${sessionToken}`).digest('base64url');
}

/** Constant-time check of a presented CSRF token against the session's (`ResolvedSession.csrfToken`). */
export function csrfTokenMatches(expected: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

export type NewSession =
  | { kind: 'oidc'; userId: number; idToken?: string | undefined }
  | { kind: 'api_key'; apiKeyId: number };

/** Store a new session; the token is returned once (for the cookie) and never stored. */
export async function createSession(
  deps: Pick<CoreDeps, 'db'>,
  session: NewSession,
  policy: SessionPolicy,
  now = new Date(),
): Promise<{ token: string; uuid: string; expiresAt: Date }> {
  const token = newSessionToken();
  const expiresAt = new Date(now.getTime() + policy.absoluteSeconds * 1000);
  // Ended sessions stay 30 days for the record, then go (an index range, once per sign-in).
  await deps.db
    .deleteFrom('sessions')
    .where('expires_at', '<', new Date(now.getTime() - 30 * 86_400_000))
    .execute();
  const row = await deps.db
    .insertInto('sessions')
    .values({
      token_hash: sha256(token),
      kind: session.kind,
      user_id: session.kind === 'oidc' ? session.userId : null,
      api_key_id: session.kind === 'api_key' ? session.apiKeyId : null,
      id_token: session.kind === 'oidc' && session.idToken ? sealIdToken(session.idToken, token) : null,
      created_at: now,
      last_seen_at: now,
      expires_at: expiresAt,
    })
    .returning('uuid')
    .executeTakeFirstOrThrow();
  return { token, uuid: row.uuid, expiresAt };
}

/**
 * The live session of a cookie token, or null (unknown, revoked, idle or past its absolute expiry, a
 * disabled user, a key no longer usable). One indexed read per request — no cache, so a revocation
 * holds at once in every replica; `last_seen_at` is written at most once a minute.
 */
export async function resolveSession(
  deps: Pick<CoreDeps, 'db' | 'logger'>,
  token: string | undefined,
  policy: SessionPolicy,
  now = new Date(),
): Promise<ResolvedSession | null> {
  if (!token || !TOKEN_FORMAT.test(token)) return null;
  const idleCutoff = new Date(now.getTime() - policy.idleSeconds * 1000);
  const row = await deps.db
    .selectFrom('sessions as s')
    .leftJoin('users as u', 'u.id', 's.user_id')
    .select([
      's.id',
      's.uuid',
      's.kind',
      's.api_key_id',
      's.created_at',
      's.last_seen_at',
      's.expires_at',
      'u.id as user_id',
      'u.uuid as user_uuid',
      'u.email as user_email',
      'u.name as user_name',
      'u.disabled as user_disabled',
      'u.idp_roles',
      'u.granted_roles',
    ])
    .where('s.token_hash', '=', sha256(token))
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', now)
    .where('s.last_seen_at', '>', idleCutoff)
    .executeTakeFirst();
  if (!row) return null;
  // A policy shortened since the session began applies to it too.
  const expiresAt = new Date(
    Math.min(row.expires_at.getTime(), row.created_at.getTime() + policy.absoluteSeconds * 1000),
  );
  if (expiresAt.getTime() <= now.getTime()) return null;

  let key: AuthenticatedKey;
  let user: ResolvedSession['user'] = null;
  if (row.kind === 'oidc') {
    if (row.user_id === null || row.user_uuid === null || row.user_email === null || row.user_disabled) return null;
    const roles = normalizeRoles([...(row.idp_roles ?? []), ...(row.granted_roles ?? [])]);
    user = { uuid: row.user_uuid, email: row.user_email, name: row.user_name, roles };
    key = {
      id: null,
      uuid: row.uuid,
      name: row.user_email,
      prefix: 'session',
      scopes: scopesOfRoles(roles) as Scope[],
      keyType: 'human',
      allowedSources: null,
      user: { id: row.user_id, uuid: row.user_uuid, email: row.user_email },
    };
  } else {
    const keyRow =
      row.api_key_id === null
        ? undefined
        : await keyRows(deps.db).where('k.id', '=', row.api_key_id).executeTakeFirst();
    if (!keyRow) return null;
    try {
      key = usableKey(deps, cachedKeyOf(keyRow), now);
    } catch {
      return null; // revoked, paused, expired, or its owner disabled
    }
  }

  let lastSeen = row.last_seen_at;
  if (now.getTime() - lastSeen.getTime() > TOUCH_RESOLUTION_MS) {
    lastSeen = now;
    // Best effort and off the request's path: a missed touch only shortens the idle window by a minute.
    deps.db
      .updateTable('sessions')
      .set({ last_seen_at: now })
      .where('id', '=', row.id)
      .execute()
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'could not touch session'));
  }
  return {
    uuid: row.uuid,
    kind: row.kind as ResolvedSession['kind'],
    key,
    user,
    csrfToken: csrfTokenOf(token),
    expiresAt,
    idleExpiresAt: new Date(Math.min(lastSeen.getTime() + policy.idleSeconds * 1000, expiresAt.getTime())),
  };
}

/**
 * End the session of a cookie token (sign-out). Returns the ID token it was created with (for the
 * provider's logout; cleared from the row in the same statement), or null when no live session matched.
 */
export async function endSession(
  deps: Pick<CoreDeps, 'db'>,
  token: string,
  now = new Date(),
): Promise<{ idToken: string | null } | null> {
  if (!TOKEN_FORMAT.test(token)) return null;
  const { rows } = await sql<{ id_token: string | null }>`
    UPDATE sessions s SET revoked_at = ${now}, updated_at = ${now}, id_token = NULL
    FROM (SELECT id, id_token FROM sessions WHERE token_hash = ${sha256(token)} AND revoked_at IS NULL FOR UPDATE) old
    WHERE s.id = old.id
    RETURNING old.id_token`.execute(deps.db);
  const row = rows[0];
  return row ? { idToken: row.id_token === null ? null : openIdToken(row.id_token, token) } : null;
}

/**
 * The ID token is kept only for the provider's logout (`id_token_hint`), sealed (AES-256-GCM) with a
 * key derived from the session token, which only the browser holds (the row has its hash): a reader
 * of the database cannot use it, and no server key is needed.
 */
function idTokenKey(sessionToken: string): Buffer {
  return Buffer.from(hkdfSync('sha256', sessionToken, '', 'calseta id_token', 32));
}

function sealIdToken(idToken: string, sessionToken: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', idTokenKey(sessionToken), iv);
  const sealed = Buffer.concat([cipher.update(idToken, 'utf8'), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), sealed]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

/** The sealed ID token, or null when it cannot be opened (another token, a tampered row). */
function openIdToken(stored: string, sessionToken: string): string | null {
  const [version, iv, tag, sealed] = stored.split('.');
  if (version !== 'v1' || !iv || !tag || sealed === undefined) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', idTokenKey(sessionToken), Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

/** Revoke every live session of a user (admin action, disabling): they end at the next request. */
export async function revokeSessionsOf(db: CoreDeps['db'], userId: number, now = new Date()): Promise<number> {
  const rows = await db
    .updateTable('sessions')
    .set({ revoked_at: now, updated_at: now, id_token: null })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .returning('id')
    .execute();
  return rows.length;
}

/** After a user changes (roles, disabled): their personal keys are re-read everywhere. */
export const userChanged = keysChanged;

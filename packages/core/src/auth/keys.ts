import { createHash, randomBytes } from 'node:crypto';
import type { Scope } from '@calseta/schema';
import { sql } from 'kysely';
import type { AuthenticatedKey, CoreDeps } from '../infra/context.js';
import { ServiceError } from '../infra/errors.js';
import { API_KEYS_CHANNEL, type CachedKey } from '../infra/key-cache.js';
import { ownedKeyScopes } from './roles.js';

const KEY_PREFIX = 'cai_';
const KEY_FORMAT = /^cai_[A-Za-z0-9_-]{32,128}$/;
/** last_used_at is written at most this often per key, so reads stay reads. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** A new plaintext key: `cai_` + 32 random bytes, base64url (47 characters). */
export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * Keys carry 256 bits of entropy, so a fast hash is as safe as bcrypt against offline guessing and
 * lets every request be checked with one indexed lookup (docs/adr/0002-api-key-hashing.md).
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function keyPrefix(key: string): string {
  return key.slice(0, 8);
}

/** What is wrong with an Authorization header before any lookup: no header, or not `Bearer cai_…`. */
export type CredentialFault = 'missing_header' | 'invalid_format';

/** The bearer token of a well-formed header, or why the header cannot carry a key. */
export function bearerToken(authorization: string | undefined): { token: string } | { fault: CredentialFault } {
  if (!authorization) return { fault: 'missing_header' };
  const token = /^Bearer\s+(\S+)$/i.exec(authorization.trim())?.[1];
  return token && KEY_FORMAT.test(token) ? { token } : { fault: 'invalid_format' };
}

/** Resolve a bearer token to its key, or throw UNAUTHORIZED / KEY_EXPIRED. */
export async function authenticate(
  deps: Pick<CoreDeps, 'db' | 'apiKeys' | 'logger'>,
  authorization: string | undefined,
  now = new Date(),
): Promise<AuthenticatedKey> {
  const bearer = bearerToken(authorization);
  if ('fault' in bearer) {
    throw new ServiceError(
      'UNAUTHORIZED',
      `${bearer.fault === 'missing_header' ? 'Missing' : 'Malformed'} Authorization header. Send "Authorization: Bearer cai_...".`,
    );
  }
  const { token } = bearer;
  const hash = hashApiKey(token);
  let row = deps.apiKeys.get(hash);
  if (row === undefined) {
    const found = await keyRows(deps.db).where('k.key_hash', '=', hash).executeTakeFirst();
    row = found ? cachedKeyOf(found) : null;
    deps.apiKeys.set(hash, row);
  }
  return usableKey(deps, row, now);
}

/** Key rows with their owner's state, as authentication reads them (by hash, or by id for a session). */
export function keyRows(db: CoreDeps['db']) {
  return db
    .selectFrom('api_keys as k')
    .leftJoin('users as u', 'u.id', 'k.owner_user_id')
    .select([
      'k.id',
      'k.uuid',
      'k.name',
      'k.key_prefix',
      'k.scopes',
      'k.key_type',
      'k.allowed_sources',
      'k.is_active',
      'k.revoked_at',
      'k.expires_at',
      'k.last_used_at',
      'u.id as owner_id',
      'u.uuid as owner_uuid',
      'u.email as owner_email',
      'u.disabled as owner_disabled',
      'u.idp_roles as owner_idp_roles',
      'u.granted_roles as owner_granted_roles',
      'u.last_sign_in_at as owner_last_sign_in_at',
    ]);
}

type KeyRowWithOwner = NonNullable<Awaited<ReturnType<ReturnType<typeof keyRows>['executeTakeFirst']>>>;

export function cachedKeyOf(row: KeyRowWithOwner): CachedKey {
  const {
    owner_id,
    owner_uuid,
    owner_email,
    owner_disabled,
    owner_idp_roles,
    owner_granted_roles,
    owner_last_sign_in_at,
    ...key
  } = row;
  return {
    ...key,
    owner:
      owner_id === null || owner_uuid === null || owner_email === null
        ? null
        : {
            id: owner_id,
            uuid: owner_uuid,
            email: owner_email,
            disabled: owner_disabled === true,
            roles: [...(owner_idp_roles ?? []), ...(owner_granted_roles ?? [])],
            lastSignInAt: owner_last_sign_in_at,
          },
  };
}

/**
 * A personal key acts only while its owner signed in at the provider within this many days: a person
 * offboarded there never signs in again, so Calseta would otherwise never learn they left. Signing in
 * again brings their keys back.
 */
export const PERSONAL_KEY_SIGN_IN_DAYS = 30;
const SIGN_IN_MAX_AGE_MS = PERSONAL_KEY_SIGN_IN_DAYS * 86_400_000;

/** True when a personal key's owner signed in too long ago (or never) for it to act. */
export function ownerSignInStale(lastSignInAt: Date | null, now = new Date()): boolean {
  return lastSignInAt === null || now.getTime() - lastSignInAt.getTime() > SIGN_IN_MAX_AGE_MS;
}

/**
 * The key a row authenticates as, or UNAUTHORIZED / KEY_EXPIRED. A personal key stops with its
 * disabled owner, or one not signed in for PERSONAL_KEY_SIGN_IN_DAYS, and acts only with the scopes
 * its owner's roles still allow.
 */
export function usableKey(
  deps: Pick<CoreDeps, 'db' | 'logger'>,
  row: CachedKey | null,
  now = new Date(),
): AuthenticatedKey {
  if (!row?.is_active || row.revoked_at || row.owner?.disabled)
    throw new ServiceError('UNAUTHORIZED', 'Invalid API key.');
  if (row.owner && ownerSignInStale(row.owner.lastSignInAt, now)) {
    throw new ServiceError(
      'UNAUTHORIZED',
      `This personal key's owner has not signed in for ${PERSONAL_KEY_SIGN_IN_DAYS} days: sign in again to use it.`,
    );
  }
  if (row.expires_at && row.expires_at.getTime() <= now.getTime()) {
    throw new ServiceError('KEY_EXPIRED', 'This API key has expired.');
  }
  if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > LAST_USED_RESOLUTION_MS) {
    // Best effort and off the request's path: a missed update only makes last_used_at coarser.
    row.last_used_at = now;
    const id = row.id;
    deps.db
      .updateTable('api_keys')
      .set({ last_used_at: now })
      .where('id', '=', id)
      .execute()
      .catch((error: unknown) => deps.logger.warn({ err: error, key_id: id }, 'could not record last_used_at'));
  }
  const { owner } = row;
  return {
    id: row.id,
    uuid: row.uuid,
    name: row.name,
    prefix: row.key_prefix,
    scopes: owner ? ownedKeyScopes(row.scopes as Scope[], owner.roles) : (row.scopes as Scope[]),
    keyType: row.key_type as AuthenticatedKey['keyType'],
    allowedSources: row.allowed_sources && row.allowed_sources.length > 0 ? row.allowed_sources : null,
    ...(owner && { user: { id: owner.id, uuid: owner.uuid, email: owner.email } }),
  };
}

/** Which of `ids` still authenticate: active, not revoked, not expired. */
export async function usableKeyIds(db: CoreDeps['db'], ids: readonly number[], now = new Date()): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('api_keys')
    .select('id')
    .where('id', 'in', ids)
    .where('is_active', '=', true)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .execute();
  return new Set(rows.map((row) => row.id));
}

/** After a key write commits: drop cached keys here and, via NOTIFY, in every other process. */
export async function keysChanged(deps: Pick<CoreDeps, 'db' | 'apiKeys'>): Promise<void> {
  deps.apiKeys.clear();
  await sql`SELECT pg_notify(${API_KEYS_CHANNEL}, '')`.execute(deps.db);
}

/** True when the key holds `admin` or any of `anyOf`. */
export function hasScope(key: AuthenticatedKey, anyOf: readonly Scope[]): boolean {
  return key.scopes.includes('admin') || anyOf.some((scope) => key.scopes.includes(scope));
}

/** Throw FORBIDDEN naming the required scopes unless the key holds one of them (or admin). */
export function requireScope(key: AuthenticatedKey, anyOf: readonly Scope[]): void {
  if (!hasScope(key, anyOf)) {
    throw new ServiceError('FORBIDDEN', `Insufficient scope. Required: ${anyOf.join(' or ')}.`, {
      required_scopes: anyOf,
    });
  }
}

import type { Database } from '@calseta/db';
import {
  type ApiKey,
  type ApiKeyCreate,
  type ApiKeyCreated,
  ApiKeyCreateSchema,
  type ApiKeyUpdate,
  type PageQuery,
  type Scope,
} from '@calseta/schema';
import type { SelectQueryBuilder } from 'kysely';
import { activityRow, actorLabel } from '../infra/activity.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound, ServiceError } from '../infra/errors.js';
import { newUuid } from '../infra/ids.js';
import { iso, pageOf } from '../infra/serialize.js';
import { generateApiKey, hashApiKey, keyPrefix, keysChanged } from './keys.js';
import { authorize } from './permissions.js';

const COLUMNS = [
  'id',
  'uuid',
  'name',
  'key_prefix',
  'scopes',
  'key_type',
  'is_active',
  'created_at',
  'expires_at',
  'last_used_at',
  'revoked_at',
  'allowed_sources',
] as const;

type KeyRow = {
  uuid: string;
  name: string;
  key_prefix: string;
  scopes: string[];
  key_type: string;
  is_active: boolean;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
  allowed_sources: string[] | null;
};

function toApiKey(row: KeyRow): ApiKey {
  return {
    uuid: row.uuid,
    name: row.name,
    key_prefix: row.key_prefix,
    scopes: row.scopes as Scope[],
    key_type: row.key_type as ApiKey['key_type'],
    is_active: row.is_active,
    created_at: iso(row.created_at),
    expires_at: iso(row.expires_at),
    last_used_at: iso(row.last_used_at),
    revoked_at: iso(row.revoked_at),
    allowed_sources: row.allowed_sources && row.allowed_sources.length > 0 ? row.allowed_sources : null,
  };
}

/** Create a key. The plaintext is in the result and nowhere else, ever. */
export async function createApiKey(ctx: ServiceContext, input: ApiKeyCreate): Promise<ApiKeyCreated> {
  authorize(ctx, 'api_keys:manage');
  return insertKey(ctx, ApiKeyCreateSchema.parse(input), null);
}

/** The person signed in (an OIDC session: not a key, not even their own), or 404. */
function signedInPerson(ctx: ServiceContext) {
  const key = ctx.actor.type === 'system' ? undefined : ctx.actor.key;
  if (!key?.user || key.id !== null) {
    throw new ServiceError('NOT_FOUND', 'Personal keys are created by a person signed in with single sign-on.');
  }
  return { key, user: key.user };
}

/**
 * A person's personal key: its scopes within their roles' (403 beyond them), recorded as theirs; it
 * acts within their roles for its whole life and stops when they are disabled (keys.ts).
 */
export async function createPersonalApiKey(ctx: ServiceContext, input: ApiKeyCreate): Promise<ApiKeyCreated> {
  authorize(ctx, 'users:self');
  const { key, user } = signedInPerson(ctx);
  const data = ApiKeyCreateSchema.parse({ ...input, key_type: 'human' });
  const beyond = key.scopes.includes('admin') ? [] : data.scopes.filter((scope) => !key.scopes.includes(scope));
  if (beyond.length > 0) {
    throw new ServiceError(
      'FORBIDDEN',
      `A personal key can only hold scopes of your roles; not: ${beyond.join(', ')}.`,
      {
        required_scopes: beyond,
      },
    );
  }
  return insertKey(ctx, data, user.id);
}

/** The signed-in person's own keys (active unless include_inactive). */
export async function listPersonalApiKeys(ctx: ServiceContext, query: PageQuery & { include_inactive?: boolean }) {
  authorize(ctx, 'users:self');
  const { user } = signedInPerson(ctx);
  return keyPage(ctx.db.selectFrom('api_keys').where('owner_user_id', '=', user.id), query);
}

/** Revoke one of the signed-in person's own keys (404 for anyone else's). */
export async function revokePersonalApiKey(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<void> {
  authorize(ctx, 'users:self');
  const { user } = signedInPerson(ctx);
  await revoke(ctx, uuid, user.id);
}

async function insertKey(
  ctx: ServiceContext,
  data: ReturnType<typeof ApiKeyCreateSchema.parse>,
  owner: number | null,
): Promise<ApiKeyCreated> {
  const key = generateApiKey();
  const created = await ctx.db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('api_keys')
      .values({
        uuid: newUuid(),
        name: data.name,
        key_prefix: keyPrefix(key),
        key_hash: hashApiKey(key),
        scopes: data.scopes,
        key_type: data.key_type,
        expires_at: data.expires_at ?? null,
        allowed_sources: data.allowed_sources ?? null,
        created_by: actorLabel(ctx),
        owner_user_id: owner,
      })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, {
          type: 'api_key_created',
          references: {
            key_uuid: row.uuid,
            name: row.name,
            scopes: row.scopes,
            key_type: row.key_type,
            ...(owner !== null && { personal: true }),
          },
        }),
      )
      .execute();
    return { ...toApiKey(row), key };
  });
  await keysChanged(ctx);
  return created;
}

export async function listApiKeys(ctx: ServiceContext, query: PageQuery & { include_inactive?: boolean }) {
  authorize(ctx, 'api_keys:manage');
  return keyPage(ctx.db.selectFrom('api_keys'), query);
}

async function keyPage(
  from: SelectQueryBuilder<Database, 'api_keys', object>,
  query: PageQuery & { include_inactive?: boolean },
) {
  let base = from;
  if (!query.include_inactive) base = base.where('is_active', '=', true);
  const [rows, count] = await Promise.all([
    base
      .select(COLUMNS)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(query.page_size)
      .offset((query.page - 1) * query.page_size)
      .execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return pageOf(rows.map(toApiKey), Number(count.n), query);
}

export async function getApiKey(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<ApiKey> {
  authorize(ctx, 'api_keys:manage');
  const row = await ctx.db.selectFrom('api_keys').select(COLUMNS).where('uuid', '=', uuid).executeTakeFirst();
  if (!row) throw notFound('API key');
  return toApiKey(row);
}

export async function updateApiKey(
  ctx: ServiceContext,
  { uuid, patch }: { uuid: string; patch: ApiKeyUpdate },
): Promise<ApiKey> {
  authorize(ctx, 'api_keys:manage');
  const updated = await ctx.db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('api_keys')
      .select(['id', 'revoked_at'])
      .where('uuid', '=', uuid)
      .forUpdate()
      .executeTakeFirst();
    if (!current) throw notFound('API key');
    // Revocation is final (audit keeps the row); `is_active` only pauses a key that is not revoked.
    if (current.revoked_at && patch.is_active === true) {
      throw new ServiceError('CONFLICT', 'This API key was revoked and cannot be reactivated; create a new key.');
    }
    const set: Record<string, unknown> = { updated_at: new Date() };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.scopes !== undefined) set.scopes = patch.scopes;
    if (patch.expires_at !== undefined) set.expires_at = patch.expires_at;
    if (patch.allowed_sources !== undefined) set.allowed_sources = patch.allowed_sources;
    if (patch.is_active !== undefined) set.is_active = patch.is_active;
    const row = await trx
      .updateTable('api_keys')
      .set(set)
      .where('id', '=', current.id)
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, { type: 'api_key_updated', references: { key_uuid: uuid, changed: Object.keys(patch) } }),
      )
      .execute();
    return toApiKey(row);
  });
  await keysChanged(ctx);
  return updated;
}

/** Revoke (soft-delete) a key: it stops authenticating at once and stays visible for audit. */
export async function revokeApiKey(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<void> {
  authorize(ctx, 'api_keys:manage');
  await revoke(ctx, uuid, null);
}

/** Revoke a key (only `owner`'s when given). */
async function revoke(ctx: ServiceContext, uuid: string, owner: number | null): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    let update = trx
      .updateTable('api_keys')
      .set({ is_active: false, revoked_at: new Date(), updated_at: new Date() })
      .where('uuid', '=', uuid);
    if (owner !== null) update = update.where('owner_user_id', '=', owner);
    const row = await update.returning(['uuid', 'name']).executeTakeFirst();
    if (!row) throw notFound('API key');
    await trx
      .insertInto('activity_events')
      .values(activityRow(ctx, { type: 'api_key_revoked', references: { key_uuid: row.uuid, name: row.name } }))
      .execute();
  });
  await keysChanged(ctx);
}

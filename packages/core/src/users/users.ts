import type { Db } from '@calseta/db';
import type { PageQuery, Role, User, UserPatch } from '@calseta/schema';
import { UserPatchSchema } from '@calseta/schema';
import { sql } from 'kysely';
import { ownerSignInStale } from '../auth/keys.js';
import { authorize } from '../auth/permissions.js';
import { normalizeRoles, scopesOfRoles } from '../auth/roles.js';
import { revokeSessionsOf, userChanged } from '../auth/sessions.js';
import { activityRow } from '../infra/activity.js';
import type { Actor, CoreDeps, ServiceContext } from '../infra/context.js';
import { notFound, ServiceError } from '../infra/errors.js';
import { API_KEYS_CHANNEL } from '../infra/key-cache.js';
import { iso, pageOf } from '../infra/serialize.js';

const COLUMNS = [
  'id',
  'uuid',
  'issuer',
  'email',
  'name',
  'idp_roles',
  'granted_roles',
  'disabled',
  'last_sign_in_at',
  'created_at',
] as const;

type UserRow = {
  id: number;
  uuid: string;
  issuer: string | null;
  email: string;
  name: string | null;
  idp_roles: string[];
  granted_roles: string[];
  disabled: boolean;
  last_sign_in_at: Date | null;
  created_at: Date;
};

function toUser(row: UserRow): User {
  const roles = normalizeRoles([...row.idp_roles, ...row.granted_roles]);
  return {
    uuid: row.uuid,
    email: row.email,
    name: row.name,
    roles,
    idp_roles: normalizeRoles(row.idp_roles),
    granted_roles: normalizeRoles(row.granted_roles),
    scopes: scopesOfRoles(roles),
    disabled: row.disabled,
    signed_in: row.issuer !== null,
    last_sign_in_at: iso(row.last_sign_in_at),
    created_at: iso(row.created_at) as string,
  };
}

/** A person acting as themselves (their session's actor), for the activity rows of their own sign-in. */
function actorOf(row: Pick<UserRow, 'id' | 'uuid' | 'email'>): Actor {
  return {
    type: 'api',
    key: {
      id: null,
      uuid: row.uuid,
      name: row.email,
      prefix: 'session',
      scopes: [],
      keyType: 'human',
      allowedSources: null,
      user: { id: row.id, uuid: row.uuid, email: row.email },
    },
  };
}

export async function listUsers(ctx: ServiceContext, query: PageQuery) {
  authorize(ctx, 'users:manage');
  const [rows, count] = await Promise.all([
    ctx.db
      .selectFrom('users')
      .select(COLUMNS)
      .orderBy('email')
      .orderBy('id')
      .limit(query.page_size)
      .offset((query.page - 1) * query.page_size)
      .execute(),
    ctx.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return pageOf(rows.map(toUser), Number(count.n), query);
}

/** The person behind the caller (a signed-in user or a personal key's owner); 404 for other keys. */
export async function getMe(ctx: ServiceContext): Promise<User> {
  const user = ctx.actor.type === 'system' ? undefined : ctx.actor.key.user;
  if (!user) throw new ServiceError('NOT_FOUND', 'No person is behind this credential (an API key without an owner).');
  const row = await ctx.db.selectFrom('users').select(COLUMNS).where('id', '=', user.id).executeTakeFirst();
  if (!row) throw notFound('User');
  return toUser(row);
}

/**
 * Change a user's granted roles or disabled flag. Disabling ends their sessions and stops their
 * personal keys at once (in every process: the key caches are notified). An admin cannot disable
 * themselves or drop their own admin role (no lock-out by a slip).
 */
export async function patchUser(ctx: ServiceContext, { uuid, patch }: { uuid: string; patch: UserPatch }) {
  authorize(ctx, 'users:manage');
  const data = UserPatchSchema.parse(patch);
  const self = ctx.actor.type === 'system' ? undefined : ctx.actor.key.user;
  const updated = await ctx.db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('users')
      .select(COLUMNS)
      .where('uuid', '=', uuid)
      .forUpdate()
      .executeTakeFirst();
    if (!current) throw notFound('User');
    const next = {
      granted_roles: data.roles ? normalizeRoles(data.roles) : current.granted_roles,
      disabled: data.disabled ?? current.disabled,
    };
    if (self?.id === current.id) {
      const keepsAdmin = normalizeRoles([...current.idp_roles, ...next.granted_roles]).includes('admin');
      if (next.disabled || !keepsAdmin) {
        throw new ServiceError('CONFLICT', 'You cannot disable yourself or remove your own admin role.');
      }
    }
    const row = await trx
      .updateTable('users')
      .set({ ...next, updated_at: new Date() })
      .where('id', '=', current.id)
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    const revoked = next.disabled && !current.disabled ? await revokeSessionsOf(trx, current.id) : 0;
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, {
          type: 'user_updated',
          references: {
            user_uuid: row.uuid,
            email: row.email,
            changed: Object.keys(data),
            granted_roles: row.granted_roles,
            disabled: row.disabled,
            ...(revoked > 0 && { sessions_revoked: revoked }),
          },
        }),
      )
      .execute();
    return toUser(row);
  });
  await userChanged(ctx);
  return updated;
}

/** End every session of a user now (their personal keys are untouched: revoke those separately). */
export async function revokeUserSessions(ctx: ServiceContext, { uuid }: { uuid: string }) {
  authorize(ctx, 'users:manage');
  return ctx.db.transaction().execute(async (trx) => {
    const user = await trx
      .selectFrom('users')
      .select(['id', 'uuid', 'email'])
      .where('uuid', '=', uuid)
      .executeTakeFirst();
    if (!user) throw notFound('User');
    const revoked = await revokeSessionsOf(trx, user.id);
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, {
          type: 'user_sessions_revoked',
          references: { user_uuid: user.uuid, email: user.email, sessions_revoked: revoked },
        }),
      )
      .execute();
    return { revoked };
  });
}

/**
 * Grant `admin` to the people with this email (`calseta users grant-admin`, `OIDC_ADMIN_EMAILS`):
 * to every existing user with it, or to a pre-provisioned row that the first sign-in with a verified
 * email claims. Returns how many users now hold the grant.
 */
export async function grantAdmin(db: Db, email: string): Promise<{ created: boolean; users: number }> {
  const normalized = email.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+$/.test(normalized) || normalized.length > 320) throw new Error(`not an email: ${email}`);
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('users')
      .set({
        granted_roles: sql<string[]>`(SELECT array_agg(DISTINCT r) FROM unnest(granted_roles || '{admin}'::text[]) r)`,
        updated_at: new Date(),
      })
      .where(sql<boolean>`lower(email) = ${normalized}`)
      // Only a person the provider vouched for holds this email (or the row waiting for them): one
      // who merely presented it unverified must not become admin.
      .where((eb) => eb.or([eb('issuer', 'is', null), eb('email_verified', '=', true)]))
      .returning('id')
      .execute();
    // Personal keys of these people act within their roles: every process re-reads them.
    await sql`SELECT pg_notify(${API_KEYS_CHANNEL}, '')`.execute(trx);
    if (updated.length > 0) return { created: false, users: updated.length };
    await trx
      .insertInto('users')
      .values({ email: normalized, granted_roles: ['admin'] })
      .execute();
    return { created: true, users: 1 };
  });
}

/** What the identity provider said about a person, already validated by the OIDC client. */
export interface SignInClaims {
  issuer: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  /** Mapped from the configured claim at this sign-in. */
  idpRoles: Role[];
}

export type SignInOutcome =
  | { ok: true; user: { id: number; uuid: string; email: string; roles: Role[] } }
  | { ok: false; code: 'disabled' | 'no_role' | 'no_email' };

/**
 * Upsert the person by (issuer, subject) — or claim the row pre-provisioned for their verified email —
 * refresh their provider roles and last sign-in, and say whether they may sign in: never when
 * disabled; never without any role (the row stays, so an admin can grant one). `adminEmails`
 * (`OIDC_ADMIN_EMAILS`) grant admin to those verified emails.
 */
export async function signInUser(
  deps: Pick<CoreDeps, 'db' | 'apiKeys'>,
  claims: SignInClaims,
  adminEmails: readonly string[],
  requestId?: string,
): Promise<SignInOutcome> {
  const email = claims.email?.trim() ?? '';
  if (email === '') return { ok: false, code: 'no_email' };
  const bootstrapAdmin = claims.emailVerified && adminEmails.includes(email.toLowerCase());
  let rolesChanged = false;
  const upsert = () =>
    deps.db.transaction().execute(async (trx): Promise<SignInOutcome> => {
      let row = await trx
        .selectFrom('users')
        .select(COLUMNS)
        .where('issuer', '=', claims.issuer)
        .where('subject', '=', claims.subject)
        .forUpdate()
        .executeTakeFirst();
      if (!row && claims.emailVerified) {
        row = await trx
          .selectFrom('users')
          .select(COLUMNS)
          .where('issuer', 'is', null)
          .where(sql<boolean>`lower(email) = ${email.toLowerCase()}`)
          .forUpdate()
          .executeTakeFirst();
      }
      const granted = normalizeRoles([...(row?.granted_roles ?? []), ...(bootstrapAdmin ? ['admin'] : [])]);
      const values = {
        issuer: claims.issuer,
        subject: claims.subject,
        email,
        name: claims.name,
        idp_roles: claims.idpRoles,
        granted_roles: granted,
        last_sign_in_at: new Date(),
        email_verified: claims.emailVerified,
        updated_at: new Date(),
      };
      const saved = row
        ? await trx
            .updateTable('users')
            .set(values)
            .where('id', '=', row.id)
            .returning(COLUMNS)
            .executeTakeFirstOrThrow()
        : await trx.insertInto('users').values(values).returning(COLUMNS).executeTakeFirstOrThrow();
      const roles = normalizeRoles([...saved.idp_roles, ...saved.granted_roles]);
      rolesChanged =
        row !== undefined &&
        (roles.join() !== normalizeRoles([...row.idp_roles, ...row.granted_roles]).join() ||
          // Their personal keys had stopped (no sign-in for too long): every process re-reads them.
          ownerSignInStale(row.last_sign_in_at));
      const refusal = saved.disabled ? 'disabled' : roles.length === 0 ? 'no_role' : null;
      await trx
        .insertInto('activity_events')
        .values(
          activityRow(
            { actor: actorOf(saved), ...(requestId !== undefined && { requestId }) },
            {
              type: refusal ? 'user_sign_in_refused' : 'user_signed_in',
              references: { user_uuid: saved.uuid, email: saved.email, roles, ...(refusal && { reason: refusal }) },
            },
          ),
        )
        .execute();
      if (refusal) return { ok: false, code: refusal };
      return { ok: true, user: { id: saved.id, uuid: saved.uuid, email: saved.email, roles } };
    });
  // Two first sign-ins of one person at once: the loser's insert hits the unique key; again, it updates.
  const outcome = await upsert().catch((error: unknown) => {
    if ((error as { code?: string }).code === '23505') return upsert();
    throw error;
  });
  // Personal keys act within their owner's roles: re-read everywhere when those changed.
  if (rolesChanged) await userChanged(deps);
  return outcome;
}

import type { Db, SourceIntegrationsTable } from '@calseta/db';
import {
  type PageQuery,
  type SourceAuthConfig,
  type SourceIntegration,
  type SourceIntegrationCreate,
  SourceIntegrationCreateSchema,
  type SourceIntegrationUpdate,
  SourceIntegrationUpdateSchema,
} from '@calseta/schema';
import { type Selectable, sql } from 'kysely';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound, ServiceError } from '../infra/errors.js';
import { newUuid } from '../infra/ids.js';
import { isSealed, type SecretBox } from '../infra/secrets/box.js';
import { iso, pageOf } from '../infra/serialize.js';
import { SOURCES_CHANNEL, type SourceRow } from '../infra/source-row-cache.js';

type Row = Selectable<SourceIntegrationsTable>;

/** Additional data bound to a source's sealed credentials: a copied ciphertext does not open elsewhere. */
export const sourceAuthContext = (uuid: string) => `source_integration:${uuid}`;

function openAuthConfig(
  secrets: SecretBox | null,
  row: { uuid: string; auth_config: unknown },
): SourceAuthConfig | null {
  const stored = row.auth_config;
  if (stored === null || stored === undefined || secrets === null || !isSealed(stored)) return null;
  const value = secrets.open(stored, sourceAuthContext(row.uuid));
  return value && typeof value === 'object' ? (value as SourceAuthConfig) : null;
}

/** Built field by field: the credentials themselves never leave core, only their field names. */
function toSource(ctx: Pick<ServiceContext, 'secrets' | 'logger'>, row: Row): SourceIntegration {
  let config: SourceAuthConfig | null = null;
  try {
    config = openAuthConfig(ctx.secrets, row);
  } catch (error) {
    ctx.logger.warn({ err: error, source_uuid: row.uuid }, 'source auth_config does not decrypt with ENCRYPTION_KEY');
  }
  return {
    uuid: row.uuid,
    source_name: row.source_name,
    display_name: row.display_name,
    is_active: row.is_active,
    auth_type: row.auth_type,
    has_auth_config: row.auth_config !== null,
    has_webhook_secret: typeof config?.webhook_secret === 'string',
    auth_config_fields: config ? Object.keys(config).sort() : [],
    documentation: row.documentation,
    webhook_path: `/v1/ingest/${row.source_name}`,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

function sealAuthConfig(ctx: ServiceContext, uuid: string, config: SourceAuthConfig): string {
  if (ctx.secrets === null) {
    throw new ServiceError(
      'ENCRYPTION_NOT_CONFIGURED',
      'Storing auth_config needs ENCRYPTION_KEY; set it and try again.',
    );
  }
  return JSON.stringify(ctx.secrets.seal(config, sourceAuthContext(uuid)));
}

/** A webhook secret is only useful when the plugin can check it: refuse one it would ignore. */
function checkSecretSupported(ctx: ServiceContext, sourceName: string, config: SourceAuthConfig | null | undefined) {
  if (config?.webhook_secret === undefined) return;
  if (!ctx.sources.get(sourceName).verifySignature) {
    throw new ServiceError(
      'INVALID_SOURCE',
      `The ${sourceName} plugin does not verify webhook signatures, so a webhook_secret cannot be enforced.`,
    );
  }
}

async function findSource(db: Db, uuid: string): Promise<Row> {
  const row = await db.selectFrom('source_integrations').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  if (!row) throw notFound('Source');
  return row;
}

export async function listSources(ctx: ServiceContext, page: PageQuery) {
  authorize(ctx, 'sources:read');
  const [rows, count] = await Promise.all([
    ctx.db
      .selectFrom('source_integrations')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(page.page_size)
      .offset((page.page - 1) * page.page_size)
      .execute(),
    ctx.db
      .selectFrom('source_integrations')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return pageOf(
    rows.map((r) => toSource(ctx, r)),
    Number(count.n),
    page,
  );
}

export async function getSource(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<SourceIntegration> {
  authorize(ctx, 'sources:read');
  return toSource(ctx, await findSource(ctx.db, uuid));
}

export async function createSource(ctx: ServiceContext, input: SourceIntegrationCreate): Promise<SourceIntegration> {
  authorize(ctx, 'sources:manage');
  const data = SourceIntegrationCreateSchema.parse(input);
  if (!ctx.sources.has(data.source_name)) {
    throw new ServiceError('INVALID_SOURCE', `"${data.source_name}" is not a registered source plugin.`, {
      known_sources: ctx.sources.list().map((s) => s.name),
    });
  }
  checkSecretSupported(ctx, data.source_name, data.auth_config);
  const uuid = newUuid();
  const row = await ctx.db
    .insertInto('source_integrations')
    .values({
      uuid,
      source_name: data.source_name,
      display_name: data.display_name,
      is_active: data.is_active,
      auth_type: data.auth_type,
      auth_config: data.auth_config === null ? null : sealAuthConfig(ctx, uuid, data.auth_config),
      documentation: data.documentation,
    })
    .onConflict((oc) => oc.column('source_name').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) {
    throw new ServiceError('CONFLICT', `A source integration for "${data.source_name}" already exists.`, {
      source_name: data.source_name,
    });
  }
  await sourcesChanged(ctx);
  return toSource(ctx, row);
}

export async function updateSource(
  ctx: ServiceContext,
  { uuid, patch }: { uuid: string; patch: SourceIntegrationUpdate },
): Promise<SourceIntegration> {
  authorize(ctx, 'sources:manage');
  const data = SourceIntegrationUpdateSchema.parse(patch);
  const current = await findSource(ctx.db, uuid);
  checkSecretSupported(ctx, current.source_name, data.auth_config);
  const set: Record<string, unknown> = { updated_at: new Date() };
  if (data.display_name !== undefined) set.display_name = data.display_name;
  if (data.is_active !== undefined) set.is_active = data.is_active;
  if (data.auth_type !== undefined) set.auth_type = data.auth_type;
  if (data.documentation !== undefined) set.documentation = data.documentation;
  if (data.auth_config !== undefined) {
    set.auth_config = data.auth_config === null ? null : sealAuthConfig(ctx, uuid, data.auth_config);
  }
  const row = await ctx.db
    .updateTable('source_integrations')
    .set(set)
    .where('uuid', '=', uuid)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw notFound('Source');
  await sourcesChanged(ctx);
  return toSource(ctx, row);
}

export async function deleteSource(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<void> {
  authorize(ctx, 'sources:manage');
  const row = await ctx.db
    .deleteFrom('source_integrations')
    .where('uuid', '=', uuid)
    .returning('id')
    .executeTakeFirst();
  if (!row) throw notFound('Source');
  await sourcesChanged(ctx);
}

/** The integration row of `sourceName` (null: none), through the process's cache (sealed as stored). */
async function sourceRow(ctx: ServiceContext, sourceName: string): Promise<SourceRow | null> {
  const cached = ctx.sourceRows.get(sourceName);
  if (cached !== undefined) return cached;
  const since = ctx.sourceRows.reading();
  const row =
    (await ctx.db
      .selectFrom('source_integrations')
      .select(['uuid', 'is_active', 'auth_config'])
      .where('source_name', '=', sourceName)
      .executeTakeFirst()) ?? null;
  ctx.sourceRows.set(sourceName, row, since);
  return row;
}

/** After a source integration write commits: drop cached rows here and, via NOTIFY, in every other process. */
async function sourcesChanged(ctx: ServiceContext): Promise<void> {
  ctx.sourceRows.clear();
  await sql`SELECT pg_notify(${SOURCES_CHANNEL}, '')`.execute(ctx.db);
}

/**
 * What ingest must enforce for `sourceName`: nothing (no integration configured: today's
 * behaviour, the env secret if any), refusal (integration disabled), or the integration's webhook
 * secret. The row is cached per process and dropped on every write's NOTIFY (infra/source-row-cache.ts):
 * a secret set through the API takes effect on every replica as soon as the notification arrives.
 * Credentials that do not decrypt fail closed (checked on every webhook: only the sealed row is cached).
 */
export async function sourceIngestPolicy(
  ctx: ServiceContext,
  sourceName: string,
): Promise<{ configured: false } | { configured: true; active: boolean; secret: string | null }> {
  const row = await sourceRow(ctx, sourceName);
  if (!row) return { configured: false };
  if (row.auth_config === null) return { configured: true, active: row.is_active, secret: null };
  let config: SourceAuthConfig | null;
  try {
    config = openAuthConfig(ctx.secrets, row);
  } catch (error) {
    ctx.logger.error(
      { err: error, source_name: sourceName },
      'source credentials do not decrypt; refusing its webhooks',
    );
    throw new ServiceError('INVALID_SIGNATURE', `Webhook signature check failed for "${sourceName}".`);
  }
  if (config === null) {
    ctx.logger.error(
      { source_name: sourceName },
      'source credentials stored but no ENCRYPTION_KEY; refusing its webhooks',
    );
    throw new ServiceError('INVALID_SIGNATURE', `Webhook signature check failed for "${sourceName}".`);
  }
  return { configured: true, active: row.is_active, secret: config.webhook_secret ?? null };
}

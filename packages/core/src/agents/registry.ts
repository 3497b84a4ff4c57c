import type { AgentRegistrationRow, Db } from '@calseta/db';
import {
  type Agent,
  type AgentCreateInput,
  AgentCreateSchema,
  type AgentDeliveryHealth,
  type AgentListItem,
  type AgentUpdateInput,
  AgentUpdateSchema,
  type AgentWithSecret,
  type PageQuery,
  type TargetingRules,
} from '@calseta/schema';
import { sql } from 'kysely';
import { authorize } from '../auth/permissions.js';
import { activityRow } from '../infra/activity.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound, ServiceError } from '../infra/errors.js';
import { OutboundBlockedError } from '../infra/http/errors.js';
import { policyFor } from '../infra/http/policy.js';
import { checkOutboundUrl } from '../infra/http/safe-fetch.js';
import { newUuid } from '../infra/ids.js';
import { iso, pageOf } from '../infra/serialize.js';
import { authHeaderContext, signingSecretContext } from './deliver.js';
import { generateSigningSecret } from './signing.js';

export type AgentRow = AgentRegistrationRow;

/** Built field by field, so no encrypted column can leak into a response. */
export function toAgent(row: AgentRow): Agent {
  return {
    uuid: row.uuid,
    name: row.name,
    description: row.description,
    endpoint_url: row.endpoint_url,
    auth_header_name: row.auth_header_name,
    has_auth_header: row.auth_header_value_encrypted !== null,
    trigger_on_sources: row.trigger_on_sources,
    trigger_on_severities: row.trigger_on_severities,
    trigger_filter: (row.trigger_filter as TargetingRules | null) ?? null,
    timeout_seconds: row.timeout_seconds,
    retry_count: row.retry_count,
    token_budget: row.token_budget,
    is_active: row.is_active,
    documentation: row.documentation,
    delivery_mode: row.delivery_mode as Agent['delivery_mode'],
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/** Refuse an endpoint the outbound policy would not reach (reference §8.1, §10.6). */
export async function checkEndpoint(ctx: ServiceContext, url: string): Promise<void> {
  try {
    await checkOutboundUrl(policyFor(ctx.config.outbound ?? {}, 'agents'), url);
  } catch (error) {
    const reason =
      error instanceof OutboundBlockedError ? error.reason : error instanceof Error ? error.message : String(error);
    throw new ServiceError('INVALID_ENDPOINT_URL', `endpoint_url blocked by SSRF protection: ${reason}`, {
      reason,
    });
  }
}

function requireSecrets(ctx: ServiceContext, what: string) {
  if (ctx.secrets === null) {
    throw new ServiceError('ENCRYPTION_NOT_CONFIGURED', `${what} needs ENCRYPTION_KEY; set it and try again.`);
  }
  return ctx.secrets;
}

function sealText(ctx: ServiceContext, value: string, context: string, what: string): string {
  return JSON.stringify(requireSecrets(ctx, what).seal(value, context));
}

export async function findAgent(db: Db, uuid: string, lock = false): Promise<AgentRow> {
  let query = db.selectFrom('agent_registrations').selectAll().where('uuid', '=', uuid);
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) throw notFound('Agent');
  return row;
}

function agentActivity(
  ctx: ServiceContext,
  type: 'agent_created' | 'agent_updated' | 'agent_deleted' | 'agent_signing_secret_rotated',
  row: Pick<AgentRow, 'id' | 'uuid' | 'name'>,
  references: Record<string, unknown> = {},
) {
  return {
    ...activityRow(ctx, { type, references: { agent_uuid: row.uuid, agent_name: row.name, ...references } }),
    agent_id: type === 'agent_deleted' ? null : row.id,
  };
}

export async function listAgents(ctx: ServiceContext, query: PageQuery) {
  authorize(ctx, 'agents:read');
  const [rows, count] = await Promise.all([
    ctx.db
      .selectFrom('agent_registrations')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(query.page_size)
      .offset((query.page - 1) * query.page_size)
      .execute(),
    ctx.db
      .selectFrom('agent_registrations')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  const health = await deliveryHealth(
    ctx.db,
    rows.map((r) => r.id),
  );
  return pageOf(
    rows.map((r): AgentListItem => ({ ...toAgent(r), delivery_health: health.get(r.id) ?? NO_DELIVERIES })),
    Number(count.n),
    query,
  );
}

const NO_DELIVERIES: AgentDeliveryHealth = {
  last_delivery_at: null,
  last_status: null,
  delivered_24h: 0,
  failed_24h: 0,
};

/**
 * Latest delivery and the last 24 hours' outcomes of a page of agents: per agent, one walk of
 * (agent_registration_id, created_at DESC) bounded to a day, plus its newest row.
 */
async function deliveryHealth(db: Db, ids: readonly number[]): Promise<Map<number, AgentDeliveryHealth>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql<{
    id: number;
    last_at: Date | null;
    last_status: string | null;
    delivered: string;
    failed: string;
  }>`
    SELECT a.id, last.created_at AS last_at, last.status AS last_status,
           day.delivered, day.failed
    FROM unnest(${sql.val([...ids])}::bigint[]) AS a(id)
    LEFT JOIN LATERAL (
      SELECT created_at, status FROM agent_runs
      WHERE agent_registration_id = a.id ORDER BY created_at DESC LIMIT 1
    ) last ON true
    CROSS JOIN LATERAL (
      SELECT count(*) FILTER (WHERE status = 'delivered') AS delivered,
             count(*) FILTER (WHERE status = 'failed') AS failed
      FROM agent_runs
      WHERE agent_registration_id = a.id AND created_at > now() - interval '24 hours'
    ) day
  `.execute(db);
  return new Map(
    rows.map((r) => [
      Number(r.id),
      {
        last_delivery_at: r.last_at === null ? null : new Date(r.last_at).toISOString(),
        last_status: r.last_status,
        delivered_24h: Number(r.delivered),
        failed_24h: Number(r.failed),
      },
    ]),
  );
}

export async function getAgent(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<Agent> {
  authorize(ctx, 'agents:read');
  return toAgent(await findAgent(ctx.db, uuid));
}

/** Register an agent. Its signing secret is generated here and returned this once. */
export async function createAgent(ctx: ServiceContext, input: AgentCreateInput): Promise<AgentWithSecret> {
  authorize(ctx, 'agents:write');
  const data = AgentCreateSchema.parse(input);
  await checkEndpoint(ctx, data.endpoint_url);
  const uuid = newUuid();
  const secret = generateSigningSecret();
  const signing = sealText(
    ctx,
    secret,
    signingSecretContext(uuid),
    'Registering an agent (its signing secret is stored encrypted)',
  );
  const authValue =
    data.auth_header_value === null
      ? null
      : sealText(ctx, data.auth_header_value, authHeaderContext(uuid), 'Storing an auth header');
  const row = await ctx.db.transaction().execute(async (trx) => {
    const created = await trx
      .insertInto('agent_registrations')
      .values({
        uuid,
        name: data.name,
        description: data.description,
        endpoint_url: data.endpoint_url,
        auth_header_name: data.auth_header_name,
        auth_header_value_encrypted: authValue,
        signing_secret_encrypted: signing,
        trigger_on_sources: data.trigger_on_sources,
        trigger_on_severities: data.trigger_on_severities,
        trigger_filter: data.trigger_filter === null ? null : JSON.stringify(data.trigger_filter),
        timeout_seconds: data.timeout_seconds,
        retry_count: data.retry_count,
        token_budget: data.token_budget,
        is_active: data.is_active,
        documentation: data.documentation,
        delivery_mode: data.delivery_mode,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('activity_events')
      .values(agentActivity(ctx, 'agent_created', created))
      .execute();
    return created;
  });
  return { ...toAgent(row), signing_secret: secret };
}

/** The origin (scheme, host, port) of an endpoint; null when it does not parse. */
function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/**
 * Update an agent. Its auth header is a credential for the endpoint's host: moving the endpoint to
 * another origin drops the stored header unless a new one comes in the same request — otherwise an
 * `agents:write` key could send the sealed credential to a host of its choosing.
 */
export async function updateAgent(
  ctx: ServiceContext,
  { uuid, patch: input }: { uuid: string; patch: AgentUpdateInput },
): Promise<Agent> {
  authorize(ctx, 'agents:write');
  const patch = AgentUpdateSchema.parse(input);
  if (patch.endpoint_url !== undefined) await checkEndpoint(ctx, patch.endpoint_url);
  const row = await ctx.db.transaction().execute(async (trx) => {
    const current = await findAgent(trx, uuid, true);
    const values: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined || key === 'auth_header_value' || key === 'auth_header_name') continue;
      values[key] = key === 'trigger_filter' && value !== null ? JSON.stringify(value) : value;
    }
    const moved = patch.endpoint_url !== undefined && originOf(patch.endpoint_url) !== originOf(current.endpoint_url);
    const newHeader = patch.auth_header_name !== undefined && patch.auth_header_name !== null;
    const dropHeader = patch.auth_header_name === null || (moved && !newHeader);
    if (dropHeader) {
      values.auth_header_name = null;
      values.auth_header_value_encrypted = null;
    } else if (patch.auth_header_name !== undefined && patch.auth_header_value) {
      values.auth_header_name = patch.auth_header_name;
      values.auth_header_value_encrypted = sealText(
        ctx,
        patch.auth_header_value,
        authHeaderContext(current.uuid),
        'Storing an auth header',
      );
    }
    const updated = await trx
      .updateTable('agent_registrations')
      .set({ ...values, updated_at: new Date() })
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('activity_events')
      .values(
        agentActivity(ctx, 'agent_updated', current, {
          fields: Object.keys(patch).sort(),
          ...(dropHeader && current.auth_header_value_encrypted !== null ? { auth_header_dropped: true } : {}),
        }),
      )
      .execute();
    return updated;
  });
  return toAgent(row);
}

/** Delete an agent and its deliveries (pending ones are never sent). */
export async function deleteAgent(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<void> {
  authorize(ctx, 'agents:write');
  await ctx.db.transaction().execute(async (trx) => {
    const current = await findAgent(trx, uuid, true);
    const runs = await trx
      .selectFrom('agent_runs')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('agent_registration_id', '=', current.id)
      .executeTakeFirstOrThrow();
    await trx.deleteFrom('agent_registrations').where('id', '=', current.id).execute();
    await trx
      .insertInto('activity_events')
      .values(agentActivity(ctx, 'agent_deleted', current, { runs_deleted: Number(runs.n) }))
      .execute();
  });
}

/** A new signing secret, returned this once; the old one stops being used at once. */
export async function rotateAgentSigningSecret(
  ctx: ServiceContext,
  { uuid }: { uuid: string },
): Promise<AgentWithSecret> {
  authorize(ctx, 'agents:write');
  const secret = generateSigningSecret();
  const row = await ctx.db.transaction().execute(async (trx) => {
    const current = await findAgent(trx, uuid, true);
    const updated = await trx
      .updateTable('agent_registrations')
      .set({
        signing_secret_encrypted: sealText(ctx, secret, signingSecretContext(current.uuid), 'A signing secret'),
        updated_at: new Date(),
      })
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('activity_events')
      .values(agentActivity(ctx, 'agent_signing_secret_rotated', current))
      .execute();
    return updated;
  });
  return { ...toAgent(row), signing_secret: secret };
}

import type { Db, WorkflowRow } from '@calseta/db';
import {
  type PageQuery,
  type Workflow,
  type WorkflowCodeVersion,
  type WorkflowCreateInput,
  WorkflowCreateSchema,
  type WorkflowListQuery,
  type WorkflowPatch,
  WorkflowPatchSchema,
  WorkflowSecretNameSchema,
  type WorkflowState,
  type WorkflowSummary,
} from '@calseta/schema';
import { validateWorkflowCode } from '@calseta/workflow-sandbox';
import { sql } from 'kysely';
import { hasScope } from '../auth/keys.js';
import { authorize } from '../auth/permissions.js';
import { activityRow, actorLabel } from '../infra/activity.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound, ServiceError } from '../infra/errors.js';
import { policyFor } from '../infra/http/policy.js';
import { checkOutboundUrl } from '../infra/http/safe-fetch.js';
import { newUuid } from '../infra/ids.js';
import { isSealed } from '../infra/secrets/box.js';
import { csv, iso, paginate } from '../infra/serialize.js';

export type { WorkflowRow };

/**
 * Secret values live in `workflow_secrets` (unique by name) under `<workflow uuid>:<name>`, sealed
 * with the context `workflow_secret:<workflow uuid>:<name>`: a value cannot be moved to another
 * workflow or name.
 */
export const secretRowName = (workflowUuid: string, name: string) => `${workflowUuid}:${name}`;
export const secretContext = (workflowUuid: string, name: string) => `workflow_secret:${workflowUuid}:${name}`;

export { actorLabel };

/** 422 unless an http workflow's endpoint passes the outbound policy (checked again at every run). */
async function assertReachableEndpoint(ctx: ServiceContext, url: string | null): Promise<void> {
  if (url === null) return;
  try {
    await checkOutboundUrl(policyFor(ctx.config.outbound ?? {}, 'workflows'), url);
  } catch (error) {
    throw new ServiceError('VALIDATION_ERROR', 'http_endpoint_url is not reachable under the outbound policy.', {
      errors: [{ path: 'http_endpoint_url', message: error instanceof Error ? error.message : String(error) }],
    });
  }
}

/** 422 `VALIDATION_ERROR` with `details.errors[{path, message, line, column}]` unless the code is valid. */
export function assertValidCode(code: string): void {
  const check = validateWorkflowCode(code);
  if (check.ok) return;
  throw new ServiceError('VALIDATION_ERROR', 'Workflow code is invalid.', {
    errors: check.errors.map((e) => ({ path: 'code', message: e.message, line: e.line, column: e.column })),
  });
}

export function toSummary(row: WorkflowRow): WorkflowSummary {
  return {
    uuid: row.uuid,
    name: row.name,
    workflow_type: row.workflow_type,
    workflow_kind: row.workflow_kind as WorkflowSummary['workflow_kind'],
    http_endpoint_url: row.http_endpoint_url,
    indicator_types: row.indicator_types,
    state: row.state as WorkflowState,
    code_version: row.code_version,
    is_active: row.state === 'active',
    is_system: row.is_system,
    tags: row.tags,
    time_saved_minutes: row.time_saved_minutes,
    approval_mode: row.approval_mode,
    risk_level: row.risk_level,
    documentation: row.documentation,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

async function secretsSet(db: Db, row: Pick<WorkflowRow, 'uuid' | 'secrets'>): Promise<Set<string>> {
  if (row.secrets.length === 0) return new Set();
  const found = await db
    .selectFrom('workflow_secrets')
    .select('name')
    .where(
      'name',
      'in',
      row.secrets.map((n) => secretRowName(row.uuid, n)),
    )
    .execute();
  const prefix = `${row.uuid}:`;
  return new Set(found.map((r) => r.name.slice(prefix.length)));
}

export async function toWorkflow(db: Db, row: WorkflowRow): Promise<Workflow> {
  const set = await secretsSet(db, row);
  return {
    ...toSummary(row),
    code: row.code,
    timeout_seconds: row.timeout_seconds,
    retry_count: row.retry_count,
    approval_channel: row.approval_channel,
    approval_timeout_seconds: row.approval_timeout_seconds,
    secrets: row.secrets.map((name) => ({ name, is_set: set.has(name) })),
  };
}

export async function findWorkflow(db: Db, uuid: string, lock = false): Promise<WorkflowRow> {
  let query = db.selectFrom('workflows').selectAll().where('uuid', '=', uuid);
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) throw notFound('Workflow');
  return row;
}

type ActivityType = 'workflow_created' | 'workflow_updated' | 'workflow_deleted' | 'workflow_secret_set';

export function workflowActivity(
  ctx: Pick<ServiceContext, 'actor' | 'requestId'>,
  type: ActivityType | 'workflow_executed',
  row: Pick<WorkflowRow, 'id' | 'uuid' | 'name'>,
  references: Record<string, unknown> = {},
) {
  return {
    ...activityRow(ctx, { type, references: { workflow_uuid: row.uuid, workflow_name: row.name, ...references } }),
    workflow_id: type === 'workflow_deleted' ? null : row.id,
  };
}

export async function listWorkflows(ctx: ServiceContext, query: WorkflowListQuery & PageQuery) {
  authorize(ctx, 'workflows:read');
  let base = ctx.db.selectFrom('workflows');
  const states = csv(query.state);
  if (states) base = base.where('state', 'in', states);
  const risks = csv(query.risk_level);
  if (risks) base = base.where('risk_level', 'in', risks);
  if (query.workflow_type !== undefined) base = base.where('workflow_type', '=', query.workflow_type);
  if (query.is_system !== undefined) base = base.where('is_system', '=', query.is_system);
  const sortBy = query.sort_by ?? 'created_at';
  const direction = query.sort_order ?? 'desc';
  return paginate(
    base,
    query,
    (q) =>
      q
        .selectAll()
        .orderBy(sql.ref(`workflows.${sortBy}`), direction)
        .orderBy('id', direction),
    toSummary,
  );
}

export async function getWorkflow(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<Workflow> {
  authorize(ctx, 'workflows:read');
  return toWorkflow(ctx.db, await findWorkflow(ctx.db, uuid));
}

export async function createWorkflow(ctx: ServiceContext, input: WorkflowCreateInput): Promise<Workflow> {
  authorize(ctx, 'workflows:write');
  const data = WorkflowCreateSchema.parse(input);
  // Creating below the default (`always`) is lowering the gate, as a PATCH would be: admin only.
  requireApprovalLowering(ctx, 'always', data.approval_mode);
  if (data.workflow_kind === 'http') await assertReachableEndpoint(ctx, data.http_endpoint_url);
  else assertValidCode(data.code ?? '');
  const row = await ctx.db.transaction().execute(async (trx) => {
    const created = await trx
      .insertInto('workflows')
      .values({
        ...data,
        code: data.code ?? '',
        uuid: newUuid(),
        secrets: [...new Set(data.secrets)],
        is_active: data.state === 'active',
        is_system: false,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('activity_events')
      .values(workflowActivity(ctx, 'workflow_created', created))
      .execute();
    return created;
  });
  return toWorkflow(ctx.db, row);
}

/** How much review each approval mode asks for (lowering it needs `admin`). */
const APPROVAL_RANK = { never: 0, agent_only: 1, always: 2 } as const;
const approvalRank = (mode: string): number => APPROVAL_RANK[mode as keyof typeof APPROVAL_RANK] ?? 2;

/** Throw FORBIDDEN unless the caller is admin (or the system) when `after` asks for less review than `before`. */
function requireApprovalLowering(ctx: Pick<ServiceContext, 'actor'>, before: string, after: string): void {
  if (approvalRank(after) >= approvalRank(before) || ctx.actor.type === 'system') return;
  if (hasScope(ctx.actor.key, ['admin'])) return;
  throw new ServiceError(
    'FORBIDDEN',
    `Only an admin lets workflow code run with approval_mode '${after}' (less review than '${before}'); ` +
      "set approval_mode 'always' or ask an admin.",
    { required_scopes: ['admin'], approval_mode: after },
  );
}

/**
 * Update a workflow. A code change is validated, the previous code is kept as a version and
 * `code_version` goes up. The code of a system workflow cannot change (`BUILTIN_RESTRICTED`).
 * Lowering `approval_mode` needs `admin`; any change of it is audited with its before and after.
 */
export async function updateWorkflow(
  ctx: ServiceContext,
  { uuid, patch: input }: { uuid: string; patch: WorkflowPatch },
): Promise<Workflow> {
  authorize(ctx, 'workflows:write');
  const patch = WorkflowPatchSchema.parse(input);
  const fields = Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined);
  if (patch.code !== undefined) assertValidCode(patch.code);
  if (patch.http_endpoint_url !== undefined) await assertReachableEndpoint(ctx, patch.http_endpoint_url);
  const row = await ctx.db.transaction().execute(async (trx) => {
    const current = await findWorkflow(trx, uuid, true);
    if (fields.length === 0) return current;
    if (current.workflow_kind === 'http' && patch.http_endpoint_url === null) {
      throw new ServiceError('VALIDATION_ERROR', 'An http workflow needs http_endpoint_url.', {
        errors: [{ path: 'http_endpoint_url', message: 'required for an http workflow' }],
      });
    }
    // Lowering the approval gate (always → agent_only → never) lets runs through unreviewed: admin only.
    const approvalChanged = patch.approval_mode !== undefined && patch.approval_mode !== current.approval_mode;
    if (approvalChanged) requireApprovalLowering(ctx, current.approval_mode, patch.approval_mode ?? 'always');
    const codeChanged = patch.code !== undefined && patch.code !== current.code;
    if (codeChanged && current.is_system) {
      throw new ServiceError(
        'BUILTIN_RESTRICTED',
        'The code of a system workflow is read-only; create a workflow of your own from it instead.',
      );
    }
    // An admin exempted this workflow's code from review, not whatever replaces it: new code (or a new
    // endpoint) starts from full review unless an admin writes it.
    const endpointChanged =
      patch.http_endpoint_url !== undefined && patch.http_endpoint_url !== current.http_endpoint_url;
    if (codeChanged || endpointChanged) {
      requireApprovalLowering(ctx, 'always', patch.approval_mode ?? current.approval_mode);
    }
    if (codeChanged) {
      await trx
        .insertInto('workflow_code_versions')
        .values({
          workflow_id: current.id,
          version: current.code_version,
          code: current.code,
          saved_by: actorLabel(ctx),
        })
        .execute();
    }
    const { code: _code, ...rest } = patch;
    const updated = await trx
      .updateTable('workflows')
      .set({
        ...rest,
        ...(rest.secrets === undefined ? {} : { secrets: [...new Set(rest.secrets)] }),
        ...(rest.state === undefined ? {} : { is_active: rest.state === 'active' }),
        ...(codeChanged ? { code: patch.code, code_version: current.code_version + 1 } : {}),
        updated_at: new Date(),
      })
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    // Values of secrets no longer declared are dropped.
    if (rest.secrets !== undefined) {
      const keep = new Set(rest.secrets);
      const dropped = current.secrets.filter((n) => !keep.has(n));
      if (dropped.length > 0) {
        await trx
          .deleteFrom('workflow_secrets')
          .where(
            'name',
            'in',
            dropped.map((n) => secretRowName(uuid, n)),
          )
          .execute();
      }
    }
    await trx
      .insertInto('activity_events')
      .values(
        workflowActivity(ctx, 'workflow_updated', updated, {
          fields,
          ...(codeChanged ? { code_version: updated.code_version } : {}),
          ...(approvalChanged
            ? { approval_mode: { before: current.approval_mode, after: updated.approval_mode } }
            : {}),
        }),
      )
      .execute();
    return updated;
  });
  return toWorkflow(ctx.db, row);
}

/** Delete a workflow with its versions, runs and secret values. System workflows: 403. */
export async function deleteWorkflow(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<void> {
  authorize(ctx, 'workflows:write');
  await ctx.db.transaction().execute(async (trx) => {
    const current = await findWorkflow(trx, uuid, true);
    if (current.is_system) throw new ServiceError('FORBIDDEN', 'System workflows cannot be deleted.');
    await trx.deleteFrom('workflow_secrets').where('name', 'like', `${uuid}:%`).execute();
    await trx.deleteFrom('workflows').where('id', '=', current.id).execute();
    await trx
      .insertInto('activity_events')
      .values(workflowActivity(ctx, 'workflow_deleted', current))
      .execute();
  });
}

/** Saved versions (the code before each change), newest first; the current code is not among them. */
export async function listWorkflowVersions(
  ctx: ServiceContext,
  { uuid }: { uuid: string },
): Promise<WorkflowCodeVersion[]> {
  authorize(ctx, 'workflows:read');
  const workflow = await findWorkflow(ctx.db, uuid);
  const rows = await ctx.db
    .selectFrom('workflow_code_versions')
    .select(['version', 'code', 'saved_at', 'saved_by'])
    .where('workflow_id', '=', workflow.id)
    .orderBy('version', 'desc')
    .execute();
  return rows.map((r) => ({
    version: r.version,
    code_preview: r.code.slice(0, 120),
    code: r.code,
    saved_at: iso(r.saved_at),
    saved_by: r.saved_by,
  }));
}

/** Set the value of a declared secret (sealed; never returned). */
export async function setWorkflowSecret(
  ctx: ServiceContext,
  { uuid, name, value }: { uuid: string; name: string; value: string },
): Promise<Workflow> {
  authorize(ctx, 'workflows:write');
  WorkflowSecretNameSchema.parse(name);
  if (ctx.secrets === null) {
    throw new ServiceError(
      'ENCRYPTION_NOT_CONFIGURED',
      'Storing a workflow secret needs ENCRYPTION_KEY; set it and try again.',
    );
  }
  const box = ctx.secrets;
  const row = await ctx.db.transaction().execute(async (trx) => {
    const workflow = await findWorkflow(trx, uuid, true);
    if (!workflow.secrets.includes(name)) {
      throw new ServiceError('VALIDATION_ERROR', `Secret "${name}" is not declared by this workflow.`, {
        errors: [
          {
            path: 'name',
            message: `declare it first: PATCH secrets (declared: ${workflow.secrets.join(', ') || 'none'})`,
          },
        ],
      });
    }
    const sealed = JSON.stringify(box.seal(value, secretContext(uuid, name)));
    await trx
      .insertInto('workflow_secrets')
      .values({ uuid: newUuid(), name: secretRowName(uuid, name), value_encrypted: sealed })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value_encrypted: sealed, updated_at: new Date() }))
      .execute();
    await trx
      .insertInto('activity_events')
      .values(workflowActivity(ctx, 'workflow_secret_set', workflow, { secret_name: name }))
      .execute();
    return workflow;
  });
  return toWorkflow(ctx.db, row);
}

/** The declared secrets that have a readable value: `{name: value}`. */
export async function openWorkflowSecrets(
  ctx: Pick<ServiceContext, 'db' | 'secrets'>,
  workflow: Pick<WorkflowRow, 'uuid' | 'secrets'>,
): Promise<Record<string, string>> {
  if (workflow.secrets.length === 0 || ctx.secrets === null) return {};
  const rows = await ctx.db
    .selectFrom('workflow_secrets')
    .select(['name', 'value_encrypted'])
    .where(
      'name',
      'in',
      workflow.secrets.map((n) => secretRowName(workflow.uuid, n)),
    )
    .execute();
  const out: Record<string, string> = {};
  for (const row of rows) {
    const name = row.name.slice(workflow.uuid.length + 1);
    try {
      const sealed: unknown = JSON.parse(row.value_encrypted);
      if (!isSealed(sealed)) continue;
      const value = ctx.secrets.open(sealed, secretContext(workflow.uuid, name));
      if (typeof value === 'string') out[name] = value;
    } catch {
      // another key or a tampered value: the secret reads as unset
    }
  }
  return out;
}

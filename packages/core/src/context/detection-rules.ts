import type { Db } from '@calseta/db';
import {
  type DetectionRule,
  type DetectionRuleCreateInput,
  DetectionRuleCreateSchema,
  type DetectionRuleListQuery,
  type DetectionRulePatch,
  DetectionRulePatchSchema,
  type PageQuery,
} from '@calseta/schema';
import { sql } from 'kysely';
import { authorize } from '../auth/permissions.js';
import { activityRow, actorLabel } from '../infra/activity.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound, ServiceError } from '../infra/errors.js';
import { newUuid } from '../infra/ids.js';
import { csv, iso, paginate } from '../infra/serialize.js';

const COLUMNS = [
  'id',
  'uuid',
  'name',
  'source_rule_id',
  'source_name',
  'severity',
  'is_active',
  'mitre_tactics',
  'mitre_techniques',
  'mitre_subtechniques',
  'data_sources',
  'run_frequency',
  'created_by',
  'documentation',
  'is_system',
  'created_at',
  'updated_at',
] as const;

type Row = {
  id: number;
  uuid: string;
  name: string;
  source_rule_id: string | null;
  source_name: string | null;
  severity: string | null;
  is_active: boolean;
  mitre_tactics: string[];
  mitre_techniques: string[];
  mitre_subtechniques: string[];
  data_sources: string[];
  run_frequency: string | null;
  created_by: string | null;
  documentation: string | null;
  is_system: boolean;
  created_at: Date;
  updated_at: Date;
};

function toRule({ id: _id, ...row }: Row): DetectionRule {
  return { ...row, created_at: iso(row.created_at), updated_at: iso(row.updated_at) };
}

/** Severity is free text on rules (`high`, `High`): ranked case-insensitively, unknown last. */
const SEVERITY_RANK = sql<number>`CASE lower(detection_rules.severity) WHEN 'critical' THEN 5 WHEN 'high' THEN 4 WHEN 'medium' THEN 3 WHEN 'low' THEN 2 WHEN 'informational' THEN 1 ELSE 0 END`;

const UNIQUE_SOURCE_RULE = 'uq_detection_rules_source_rule';

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; constraint?: string };
  return e?.code === '23505' && e.constraint === UNIQUE_SOURCE_RULE;
}

/** The caller, as recorded in `created_by`. */
export { actorLabel };

export async function listDetectionRules(ctx: ServiceContext, query: DetectionRuleListQuery & PageQuery) {
  authorize(ctx, 'detection_rules:read');
  let base = ctx.db.selectFrom('detection_rules');
  const sources = csv(query.source_name);
  if (sources) base = base.where('source_name', 'in', sources);
  const severities = csv(query.severity)?.map((s) => s.toLowerCase());
  if (severities) base = base.where(sql<string>`lower(severity)`, 'in', severities);
  if (query.is_active !== undefined) base = base.where('is_active', '=', query.is_active);
  // strpos, not LIKE: the search text is literal (no wildcards to escape).
  if (query.name) base = base.where(sql<boolean>`strpos(lower(name), lower(${query.name})) > 0`);
  if (query.mitre_tactic) base = base.where(sql<boolean>`${query.mitre_tactic} = ANY(mitre_tactics)`);
  if (query.mitre_technique) {
    const technique = query.mitre_technique;
    base = base.where(sql<boolean>`(${technique} = ANY(mitre_techniques) OR ${technique} = ANY(mitre_subtechniques))`);
  }
  const sortBy = query.sort_by ?? 'created_at';
  const direction = query.sort_order ?? 'desc';
  return paginate(
    base,
    query,
    (q) =>
      q
        .select(COLUMNS)
        .orderBy(sortBy === 'severity' ? SEVERITY_RANK : sql.ref(`detection_rules.${sortBy}`), direction)
        .orderBy('id', direction),
    toRule,
  );
}

async function findRule(db: Db, uuid: string, lock = false): Promise<Row> {
  let query = db.selectFrom('detection_rules').select(COLUMNS).where('uuid', '=', uuid);
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) throw notFound('Detection rule');
  return row;
}

export async function getDetectionRule(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<DetectionRule> {
  authorize(ctx, 'detection_rules:read');
  return toRule(await findRule(ctx.db, uuid));
}

function duplicateRule(sourceName: string | null, sourceRuleId: string, existingUuid?: string): ServiceError {
  return new ServiceError(
    'CONFLICT',
    `A detection rule for ${sourceName ?? '(no source)'} rule "${sourceRuleId}" already exists (ingest creates one the first time an alert fires on a rule). Update it with PATCH /v1/detection-rules/{existing_uuid}.`,
    {
      source_name: sourceName,
      source_rule_id: sourceRuleId,
      ...(existingUuid === undefined ? {} : { existing_uuid: existingUuid }),
    },
  );
}

/**
 * Create a rule. A rule is identified by `(source_name, source_rule_id)`: when one exists (for
 * instance the stub ingest created when an alert first fired on it) this is 409 `CONFLICT` with
 * `details.existing_uuid`, and the caller documents that rule with PATCH instead.
 */
export async function createDetectionRule(
  ctx: ServiceContext,
  input: DetectionRuleCreateInput,
): Promise<DetectionRule> {
  authorize(ctx, 'detection_rules:manage');
  const data = DetectionRuleCreateSchema.parse(input);
  const sourceName = data.source_name ?? null;
  const sourceRuleId = data.source_rule_id ?? null;
  const row = await ctx.db.transaction().execute(async (trx) => {
    if (sourceRuleId !== null && sourceName !== null) {
      const existing = await trx
        .selectFrom('detection_rules')
        .select('uuid')
        .where('source_name', '=', sourceName)
        .where('source_rule_id', '=', sourceRuleId)
        .executeTakeFirst();
      if (existing) throw duplicateRule(sourceName, sourceRuleId, existing.uuid);
    }
    let created: Row;
    try {
      created = await trx
        .insertInto('detection_rules')
        .values({
          ...data,
          uuid: newUuid(),
          source_name: sourceName,
          source_rule_id: sourceRuleId,
          created_by: data.created_by ?? actorLabel(ctx),
          is_system: false,
        })
        .returning(COLUMNS)
        .executeTakeFirstOrThrow();
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicateRule(sourceName, sourceRuleId ?? '');
      throw error;
    }
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, {
          type: 'detection_rule_created',
          detectionRuleId: created.id,
          references: {
            rule_uuid: created.uuid,
            name: created.name,
            source_name: sourceName,
            source_rule_id: sourceRuleId,
          },
        }),
      )
      .execute();
    return created;
  });
  return toRule(row);
}

export async function updateDetectionRule(
  ctx: ServiceContext,
  { uuid, patch: input }: { uuid: string; patch: DetectionRulePatch },
): Promise<DetectionRule> {
  authorize(ctx, 'detection_rules:manage');
  const patch = DetectionRulePatchSchema.parse(input);
  const fields = Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined);
  const row = await ctx.db.transaction().execute(async (trx) => {
    const current = await findRule(trx, uuid, true);
    if (fields.length === 0) return current;
    const updated = await trx
      .updateTable('detection_rules')
      .set({ ...patch, updated_at: new Date() })
      .where('id', '=', current.id)
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, {
          type: 'detection_rule_updated',
          detectionRuleId: current.id,
          references: { rule_uuid: uuid, name: updated.name, fields },
        }),
      )
      .execute();
    return updated;
  });
  return toRule(row);
}

/** Delete a rule; its alerts stay, unlinked (`detection_rule_id` is set null). */
export async function deleteDetectionRule(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<void> {
  authorize(ctx, 'detection_rules:manage');
  await ctx.db.transaction().execute(async (trx) => {
    const current = await findRule(trx, uuid, true);
    await trx.deleteFrom('detection_rules').where('id', '=', current.id).execute();
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, {
          type: 'detection_rule_deleted',
          references: {
            rule_uuid: uuid,
            name: current.name,
            source_name: current.source_name,
            source_rule_id: current.source_rule_id,
          },
        }),
      )
      .execute();
  });
}

/** A documented rule shipped with Calseta (demo / sandbox seeds). */
export type SystemDetectionRule = Omit<DetectionRuleCreateInput, 'source_name' | 'source_rule_id' | 'created_by'> & {
  source_name: string;
  source_rule_id: string;
};

/**
 * Upsert shipped rules by `(source_name, source_rule_id)` as `is_system` rows (idempotent). A
 * stub ingest created (`created_by = 'system'`) or an earlier seed is replaced by the documented
 * rule, keeping its uuid and alerts; a rule an admin created is left alone. Returns what happened
 * to each rule, in order.
 */
export async function seedSystemDetectionRules(
  ctx: Pick<ServiceContext, 'db' | 'actor' | 'requestId'>,
  rules: readonly SystemDetectionRule[],
): Promise<Array<{ uuid: string; name: string; outcome: 'created' | 'updated' | 'unchanged' | 'kept' }>> {
  const results: Array<{ uuid: string; name: string; outcome: 'created' | 'updated' | 'unchanged' | 'kept' }> = [];
  for (const input of rules) {
    const { source_name, source_rule_id, ...rest } = input;
    const data = DetectionRuleCreateSchema.parse({ ...rest, source_name, source_rule_id });
    const values = {
      name: data.name,
      severity: data.severity ?? null,
      is_active: data.is_active,
      mitre_tactics: data.mitre_tactics,
      mitre_techniques: data.mitre_techniques,
      mitre_subtechniques: data.mitre_subtechniques,
      data_sources: data.data_sources,
      run_frequency: data.run_frequency ?? null,
      documentation: data.documentation ?? null,
    };
    const result = await ctx.db.transaction().execute(async (trx) => {
      const existing = await trx
        .selectFrom('detection_rules')
        .select(COLUMNS)
        .where('source_name', '=', source_name)
        .where('source_rule_id', '=', source_rule_id)
        .forUpdate()
        .executeTakeFirst();
      if (!existing) {
        const created = await trx
          .insertInto('detection_rules')
          .values({ ...values, uuid: newUuid(), source_name, source_rule_id, created_by: 'system', is_system: true })
          .onConflict((oc) =>
            oc.columns(['source_name', 'source_rule_id']).where('source_rule_id', 'is not', null).doNothing(),
          )
          .returning(['id', 'uuid'])
          .executeTakeFirst();
        // Lost a race with ingest creating the stub: the next run documents it.
        if (!created) return { uuid: '', name: data.name, outcome: 'kept' as const };
        await trx
          .insertInto('activity_events')
          .values(
            activityRow(ctx, {
              type: 'detection_rule_created',
              detectionRuleId: created.id,
              references: { rule_uuid: created.uuid, name: data.name, source_name, source_rule_id, seeded: true },
            }),
          )
          .execute();
        return { uuid: created.uuid, name: data.name, outcome: 'created' as const };
      }
      const replaceable = existing.is_system || existing.created_by === 'system';
      if (!replaceable) return { uuid: existing.uuid, name: existing.name, outcome: 'kept' as const };
      const same =
        existing.is_system &&
        (Object.keys(values) as Array<keyof typeof values>).every(
          (k) => JSON.stringify(existing[k]) === JSON.stringify(values[k]),
        );
      if (same) return { uuid: existing.uuid, name: existing.name, outcome: 'unchanged' as const };
      await trx
        .updateTable('detection_rules')
        .set({ ...values, is_system: true, updated_at: new Date() })
        .where('id', '=', existing.id)
        .execute();
      await trx
        .insertInto('activity_events')
        .values(
          activityRow(ctx, {
            type: 'detection_rule_updated',
            detectionRuleId: existing.id,
            references: { rule_uuid: existing.uuid, name: data.name, seeded: true, fields: Object.keys(values) },
          }),
        )
        .execute();
      return { uuid: existing.uuid, name: data.name, outcome: 'updated' as const };
    });
    results.push(result);
  }
  return results;
}

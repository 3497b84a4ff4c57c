import type { DetectionRuleRef } from '@calseta/schema';
import { activityRow } from '../activity/record.js';
import type { Db, ServiceContext } from '../context.js';
import { newUuid } from '../ids.js';

export async function findDetectionRule(db: Db, sourceName: string, sourceRuleId: string): Promise<number | null> {
  const row = await db
    .selectFrom('detection_rules')
    .select('id')
    .where('source_name', '=', sourceName)
    .where('source_rule_id', '=', sourceRuleId)
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  return row?.id ?? null;
}

/**
 * The rule an alert fired on, created as a stub (named after the rule, not its id) the first time
 * it is seen. Safe under concurrent ingests of the same rule.
 */
export async function ensureDetectionRule(
  trx: Db,
  ctx: Pick<ServiceContext, 'actor' | 'requestId'>,
  sourceName: string,
  ref: DetectionRuleRef,
): Promise<number> {
  const created = await trx
    .insertInto('detection_rules')
    .values({
      uuid: newUuid(),
      name: ref.name ?? ref.source_rule_id,
      source_name: sourceName,
      source_rule_id: ref.source_rule_id,
      severity: ref.severity ?? null,
      mitre_tactics: ref.mitre_tactics ?? [],
      mitre_techniques: ref.mitre_techniques ?? [],
      documentation: ref.description ?? null,
      created_by: 'system',
    })
    .onConflict((oc) =>
      oc.columns(['source_name', 'source_rule_id']).where('source_rule_id', 'is not', null).doNothing(),
    )
    .returning('id')
    .executeTakeFirst();
  if (created) {
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, {
          type: 'detection_rule_created',
          detectionRuleId: created.id,
          references: {
            name: ref.name ?? ref.source_rule_id,
            source_name: sourceName,
            source_rule_id: ref.source_rule_id,
            auto_created: true,
          },
        }),
      )
      .execute();
    return created.id;
  }
  const existing = await findDetectionRule(trx, sourceName, ref.source_rule_id);
  if (existing === null) throw new Error('detection rule vanished during ingest');
  return existing;
}

import { type AlertFinding, type FindingAuthor, type FindingCreate, FindingCreateSchema } from '@calseta/schema';
import { sql } from 'kysely';
import { authorize } from '../auth/permissions.js';
import { activityRow } from '../infra/activity.js';
import type { Actor, ServiceContext } from '../infra/context.js';
import { notFound } from '../infra/errors.js';
import { newUuid } from '../infra/ids.js';

const SUMMARY_PREVIEW = 120;

/** Who posted a finding (also incidents' findings). */
export function findingAuthor(actor: Actor): FindingAuthor {
  return actor.type === 'system'
    ? { actor_type: 'system', key_prefix: null, key_name: null, key_type: null }
    : {
        actor_type: actor.type,
        key_prefix: actor.key.prefix,
        key_name: actor.key.name,
        key_type: actor.key.keyType,
        ...(actor.key.user && { user: { uuid: actor.key.user.uuid, email: actor.key.user.email } }),
      };
}

/**
 * Append an agent's (or analyst's) finding to an alert. One UPDATE appends to the jsonb array, so
 * concurrent posts never overwrite each other; the activity event commits with it.
 */
export async function addAlertFinding(
  ctx: ServiceContext,
  { uuid: alertUuid, input }: { uuid: string; input: FindingCreate },
) {
  authorize(ctx, 'findings:write');
  const data = FindingCreateSchema.parse(input);
  const finding: AlertFinding = {
    id: newUuid(),
    agent_name: data.agent_name,
    summary: data.summary,
    confidence: data.confidence ?? null,
    recommended_action: data.recommended_action ?? null,
    evidence: data.evidence ?? null,
    posted_at: new Date().toISOString(),
    posted_by: findingAuthor(ctx.actor),
  };
  await ctx.db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ id: number }>`
      UPDATE alerts
      SET agent_findings = coalesce(agent_findings, '[]'::jsonb) || jsonb_build_array(${JSON.stringify(finding)}::jsonb),
          updated_at = now()
      WHERE uuid = ${alertUuid}
      RETURNING id
    `.execute(trx);
    const alert = rows[0];
    if (!alert) throw notFound('Alert');
    const summary =
      finding.summary.length > SUMMARY_PREVIEW ? `${finding.summary.slice(0, SUMMARY_PREVIEW)}...` : finding.summary;
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, {
          type: 'alert_finding_added',
          alertId: alert.id,
          references: {
            finding_id: finding.id,
            agent_name: finding.agent_name,
            summary,
            confidence: finding.confidence,
          },
        }),
      )
      .execute();
  });
  return finding;
}

/** An alert's findings, oldest first (findings posted at the same instant keep their append order). */
export async function listAlertFindings(
  ctx: ServiceContext,
  { uuid: alertUuid }: { uuid: string },
): Promise<AlertFinding[]> {
  authorize(ctx, 'alerts:read');
  const row = await ctx.db
    .selectFrom('alerts')
    .select('agent_findings')
    .where('uuid', '=', alertUuid)
    .executeTakeFirst();
  if (!row) throw notFound('Alert');
  const findings = (row.agent_findings ?? []) as Array<Partial<AlertFinding>>;
  return findings
    .map(
      (f): AlertFinding => ({
        id: String(f.id ?? ''),
        agent_name: f.agent_name ?? '',
        summary: f.summary ?? '',
        confidence: f.confidence ?? null,
        recommended_action: f.recommended_action ?? null,
        evidence: f.evidence ?? null,
        posted_at: f.posted_at ?? '',
        posted_by: f.posted_by ?? null,
      }),
    )
    .sort((a, b) => Date.parse(a.posted_at) - Date.parse(b.posted_at));
}

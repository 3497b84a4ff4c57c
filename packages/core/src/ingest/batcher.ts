import type { DetectionRuleRef, IngestAccepted, NormalizedAlert } from '@calseta/schema';
import { type AlertSeverity, SEVERITY_WEIGHT } from '@calseta/schema';
import { sql } from 'kysely';
import { activityRow } from '../activity/record.js';
import type { CoreDeps, Db, ServiceContext } from '../context.js';
import { ensureDetectionRule } from './detection-rules.js';

/** An alert ready to be stored: everything computed before touching the database. */
export interface PreparedAlert {
  ctx: ServiceContext;
  uuid: string;
  fingerprint: string;
  sourceName: string;
  normalized: NormalizedAlert;
  raw: Record<string, unknown>;
  ruleRef: DetectionRuleRef | null;
  ingestedAt: Date;
}

interface Pending {
  alert: PreparedAlert;
  resolve: (accepted: IngestAccepted) => void;
  reject: (error: unknown) => void;
}

const MAX_BATCH = 100;
const MAX_IN_FLIGHT = 2;

/**
 * Group commit for ingest. Alerts submitted while earlier batches are committing are stored
 * together: one statement claims their fingerprints and inserts the alerts, their rule links and
 * activity; one more inserts their jobs; one commit. Nothing waits on a timer — a lone alert
 * commits alone — and every caller is answered only after its own batch has committed.
 */
export class IngestBatcher {
  private readonly queue: Pending[] = [];
  private inFlight = 0;

  constructor(private readonly deps: Pick<CoreDeps, 'db' | 'queue' | 'config' | 'logger'>) {}

  submit(alert: PreparedAlert): Promise<IngestAccepted> {
    return new Promise((resolve, reject) => {
      this.queue.push({ alert, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      const batch = this.take();
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  /** Up to MAX_BATCH waiting alerts with distinct fingerprints (a repeat waits for the next batch). */
  private take(): Pending[] {
    const batch: Pending[] = [];
    const prints = new Set<string>();
    for (let i = 0; i < this.queue.length && batch.length < MAX_BATCH; ) {
      const pending = this.queue[i] as Pending;
      if (prints.has(pending.alert.fingerprint)) {
        i++;
        continue;
      }
      prints.add(pending.alert.fingerprint);
      batch.push(pending);
      this.queue.splice(i, 1);
    }
    return batch;
  }

  private async run(batch: Pending[]): Promise<void> {
    try {
      const results = await this.commit(batch.map((p) => p.alert));
      for (const [i, p] of batch.entries()) p.resolve(results[i] as IngestAccepted);
      if (results.some((r) => r.status !== 'deduplicated')) this.deps.queue.announce('enrich-alert');
    } catch (error) {
      if (batch.length === 1) {
        (batch[0] as Pending).reject(error);
        return;
      }
      // One bad alert must not fail the others: store each on its own.
      this.deps.logger.warn({ err: error, size: batch.length }, 'ingest batch failed; committing alerts one by one');
      await Promise.all(batch.map((p) => this.run([p])));
    }
  }

  private commit(alerts: PreparedAlert[]): Promise<IngestAccepted[]> {
    const windowSeconds = Math.round(this.deps.config.dedupWindowHours * 3600);
    // Claim in fingerprint order so concurrent batches lock claim rows in the same order.
    const ordered = [...alerts].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
    const input = ordered.map((a) => {
      const activity = activityRow(a.ctx, {
        type: 'alert_ingested',
        references: { source_name: a.sourceName, severity: a.normalized.severity, title: a.normalized.title },
      });
      return {
        uuid: a.uuid,
        fingerprint: a.fingerprint,
        title: a.normalized.title,
        description: a.normalized.description,
        severity: a.normalized.severity,
        source_name: a.sourceName,
        occurred_at: a.normalized.occurred_at ?? a.ingestedAt.toISOString(),
        occurred_at_inferred: a.normalized.occurred_at === null,
        source_time: a.normalized.occurred_at,
        ingested_at: a.ingestedAt.toISOString(),
        tags: a.normalized.tags,
        normalized: a.normalized,
        raw_payload: a.raw,
        rule_ref: a.ruleRef?.source_rule_id ?? null,
        activity_uuid: activity.uuid,
        actor_type: activity.actor_type,
        actor_key_prefix: activity.actor_key_prefix,
        actor_key_name: activity.actor_key_name,
        api_key_id: activity.api_key_id,
        activity_references: JSON.parse(activity.references),
        request_id: activity.request_id,
      };
    });

    return this.deps.db.transaction().execute(async (trx) => {
      // The claim fails for a fingerprint another alert owns inside the dedup window (a window
      // of 0 always takes it over); only alerts whose claim succeeded are inserted.
      const { rows } = await sql<{ id: number; uuid: string; detection_rule_id: number | null }>`
        WITH input AS (
          SELECT * FROM jsonb_to_recordset(${JSON.stringify(input)}::jsonb) AS x(
            uuid uuid, fingerprint text, title text, description text, severity text, source_name text,
            occurred_at timestamptz, occurred_at_inferred boolean, source_time timestamptz, ingested_at timestamptz,
            tags text[], normalized jsonb, raw_payload jsonb, rule_ref text, activity_uuid uuid, actor_type text,
            actor_key_prefix text, actor_key_name text, api_key_id bigint, activity_references jsonb, request_id text)
        ), claim AS (
          INSERT INTO alert_fingerprints AS f (fingerprint, alert_uuid, claimed_at)
          SELECT fingerprint, uuid, now() FROM input
          ON CONFLICT (fingerprint) DO UPDATE SET alert_uuid = EXCLUDED.alert_uuid, claimed_at = EXCLUDED.claimed_at
            WHERE ${windowSeconds} = 0 OR f.claimed_at < now() - make_interval(secs => ${windowSeconds})
          RETURNING alert_uuid
        ), alert AS (
          INSERT INTO alerts (uuid, title, description, severity, source_name, occurred_at, occurred_at_inferred,
                              source_time, ingested_at, fingerprint, tags, normalized, raw_payload, detection_rule_id)
          SELECT i.uuid, i.title, i.description, i.severity, i.source_name, i.occurred_at, i.occurred_at_inferred,
                 i.source_time, i.ingested_at, i.fingerprint, i.tags, i.normalized, i.raw_payload, rule.id
          FROM input i
          JOIN claim ON claim.alert_uuid = i.uuid
          LEFT JOIN LATERAL (
            SELECT d.id FROM detection_rules d
            WHERE d.source_name = i.source_name AND d.source_rule_id = i.rule_ref ORDER BY d.id LIMIT 1
          ) rule ON true
          RETURNING id, uuid, detection_rule_id
        ), ingested AS (
          INSERT INTO activity_events (uuid, event_type, actor_type, actor_key_prefix, actor_key_name, api_key_id,
                                       alert_id, "references", request_id)
          SELECT i.activity_uuid, 'alert_ingested', i.actor_type, i.actor_key_prefix, i.actor_key_name, i.api_key_id,
                 alert.id, i.activity_references, i.request_id
          FROM input i JOIN alert ON alert.uuid = i.uuid
        )
        SELECT id, uuid, detection_rule_id FROM alert`.execute(trx);

      const stored = new Map(rows.map((r) => [r.uuid, r]));
      const results = new Map<PreparedAlert, IngestAccepted>();
      const jobs: Array<{ alert_id: number; reason: 'ingest' | 'escalation' }> = [];
      for (const alert of ordered) {
        const row = stored.get(alert.uuid);
        if (!row) {
          const duplicate = await countDuplicate(alert, trx);
          results.set(alert, duplicate.accepted);
          if (duplicate.escalatedAlertId) jobs.push({ alert_id: duplicate.escalatedAlertId, reason: 'escalation' });
          continue;
        }
        if (alert.ruleRef && row.detection_rule_id === null) {
          // First alert of this rule: create its stub (named after the rule) and link it.
          const ruleId = await ensureDetectionRule(trx, alert.ctx, alert.sourceName, alert.ruleRef);
          await trx.updateTable('alerts').set({ detection_rule_id: ruleId }).where('id', '=', row.id).execute();
        }
        jobs.push({ alert_id: row.id, reason: 'ingest' });
        results.set(alert, { alert_uuid: alert.uuid, status: 'queued', is_duplicate: false, duplicate_count: null });
      }
      if (jobs.length > 0) await this.deps.queue.sendMany('enrich-alert', jobs, { db: trx });
      return alerts.map((a) => results.get(a) as IngestAccepted);
    });
  }
}

/**
 * Count a duplicate on the alert that owns its fingerprint. A duplicate with higher severity is
 * an escalation: the alert takes the new severity and goes through the pipeline again.
 */
async function countDuplicate(
  alert: PreparedAlert,
  trx: Db,
): Promise<{ accepted: IngestAccepted; escalatedAlertId: number | null }> {
  const original = await trx
    .selectFrom('alert_fingerprints')
    .innerJoin('alerts', 'alerts.uuid', 'alert_fingerprints.alert_uuid')
    .select(['alerts.id', 'alerts.uuid', 'alerts.severity'])
    .where('alert_fingerprints.fingerprint', '=', alert.fingerprint)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const severity = alert.normalized.severity;
  const escalates = SEVERITY_WEIGHT[severity] > SEVERITY_WEIGHT[original.severity as AlertSeverity];
  const now = new Date();
  const updated = await trx
    .updateTable('alerts')
    .set((eb) => ({
      duplicate_count: eb('duplicate_count', '+', 1),
      last_seen_at: now,
      updated_at: now,
      ...(escalates && { severity, escalation_count: eb('escalation_count', '+', 1), last_escalated_at: now }),
    }))
    .where('id', '=', original.id)
    .returning(['duplicate_count'])
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('activity_events')
    .values(
      activityRow(alert.ctx, {
        type: escalates ? 'alert_escalated' : 'alert_deduplicated',
        alertId: original.id,
        references: {
          fingerprint: alert.fingerprint,
          duplicate_count: updated.duplicate_count,
          source_name: alert.sourceName,
          title: alert.normalized.title,
          ...(escalates && { from_severity: original.severity, to_severity: severity }),
        },
      }),
    )
    .execute();
  return {
    accepted: {
      alert_uuid: original.uuid,
      status: escalates ? 'escalated' : 'deduplicated',
      is_duplicate: true,
      duplicate_count: updated.duplicate_count,
    },
    escalatedAlertId: escalates ? original.id : null,
  };
}

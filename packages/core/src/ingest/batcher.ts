import type { Db } from '@calseta/db';
import type { IngestAccepted } from '@calseta/schema';
import { type AlertSeverity, SEVERITY_WEIGHT } from '@calseta/schema';
import { sql } from 'kysely';
import { activityRow } from '../infra/activity.js';
import type { CoreDeps, IngestBatcher, PreparedAlert } from '../infra/context.js';
import { ServiceError } from '../infra/errors.js';
import { GroupCommit } from '../infra/group-commit.js';
import { newUuid } from '../infra/ids.js';
import { enrichJobRows, wakeEnrichWorkers } from '../infra/jobs/rows.js';

const MAX_BATCH = 100;
/**
 * Alerts that may wait for a commit before ingest answers 429: the overload signal. The backlog
 * grows only when alerts arrive faster than Postgres commits them (a saturated or slow database),
 * so a storm that one node can store is accepted whole, however fast it comes, and a real overload
 * is refused early (with Retry-After) instead of holding requests until the SIEM's timeout. 2,000
 * is about 1–2 s of commits on the 2-core reference machine (`pnpm bench ingest`; docs/reliability.md).
 */
export const DEFAULT_MAX_WAITING = 2_000;
/** Seconds a refused sender is told to wait: the backlog drains within about that. */
const OVERLOAD_RETRY_AFTER_SECONDS = 1;

/**
 * Group commit for ingest (one writer per process; API replicas add parallelism). Alerts submitted
 * while earlier batches are committing are stored together: one statement claims their fingerprints
 * and inserts the alerts, their rule links and activity; one more inserts their jobs; one commit.
 */
export function createIngestBatcher(deps: Pick<CoreDeps, 'db' | 'queue' | 'config' | 'logger'>): IngestBatcher {
  return new GroupCommit<PreparedAlert, IngestAccepted>({
    commit: (alerts, requeue) => commitAlerts(deps, alerts, requeue),
    keyOf: (alert) => alert.fingerprint,
    overloaded(waiting) {
      deps.logger.warn({ event: 'ingest_overloaded', waiting }, 'ingest overloaded: 429');
      return new ServiceError(
        'RATE_LIMITED',
        `Ingest is overloaded (${waiting} alerts waiting to be stored); nothing was stored. ` +
          `Retry after ${OVERLOAD_RETRY_AFTER_SECONDS} second.`,
        { retry_after_seconds: OVERLOAD_RETRY_AFTER_SECONDS, reason: 'ingest_backlog' },
      );
    },
    committed(results) {
      // New alerts' jobs were announced by their statement (ingestStatement); an escalation's job was not.
      if (results.some((r) => r.status === 'escalated')) deps.queue.announce('enrich-alert');
    },
    logger: deps.logger,
    batchFailed: 'ingest batch failed; committing alerts one by one',
    maxBatch: MAX_BATCH,
    maxWaiting: DEFAULT_MAX_WAITING,
  });
}

type Deps = Pick<CoreDeps, 'db' | 'queue' | 'config'>;
type Requeue = (alert: PreparedAlert) => Promise<IngestAccepted>;

async function commitAlerts(deps: Deps, alerts: PreparedAlert[], requeue: Requeue): Promise<IngestAccepted[]> {
  const windowSeconds = Math.round(deps.config.dedupWindowHours * 3600);
  // Claim in fingerprint order so concurrent batches lock claim rows in the same order.
  const ordered = [...alerts].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
  const { rows } = await sql<{
    uuid: string;
    owner: string;
    alert_id: number | null;
  }>`
    ${ingestStatement(ordered.map(inputRow), windowSeconds)}`.execute(deps.db);

  const byUuid = new Map(rows.map((r) => [r.uuid, r]));
  const results = new Map<PreparedAlert, IngestAccepted>();
  const duplicates: PreparedAlert[] = [];
  for (const alert of ordered) {
    const row = byUuid.get(alert.uuid);
    if (!row?.alert_id) {
      duplicates.push(alert);
      continue;
    }
    results.set(alert, { alert_uuid: alert.uuid, status: 'queued', is_duplicate: false, duplicate_count: null });
  }
  if (duplicates.length > 0) {
    for (const [alert, accepted] of await countDuplicates(deps, duplicates, requeue)) results.set(alert, accepted);
  }
  return alerts.map((a) => results.get(a) as IngestAccepted);
}

/**
 * Count duplicates on the alerts that own their fingerprints, in one transaction of their own
 * (their owners may have committed after the batch statement's snapshot). An owner deleted in
 * between frees the fingerprint: that alert is ingested again as new.
 */
async function countDuplicates(
  deps: Deps,
  duplicates: PreparedAlert[],
  requeue: Requeue,
): Promise<Map<PreparedAlert, IngestAccepted>> {
  const results = new Map<PreparedAlert, IngestAccepted>();
  const orphans: PreparedAlert[] = [];
  await deps.db.transaction().execute(async (trx) => {
    const jobs: Array<{ alert_id: number; reason: 'escalation' }> = [];
    for (const alert of duplicates) {
      const counted = await countDuplicate(alert, trx);
      if (!counted) {
        orphans.push(alert);
        continue;
      }
      results.set(alert, counted.accepted);
      if (counted.escalatedAlertId) jobs.push({ alert_id: counted.escalatedAlertId, reason: 'escalation' });
    }
    if (jobs.length > 0) await deps.queue.sendMany('enrich-alert', jobs, { db: trx });
  });
  for (const alert of orphans) results.set(alert, await requeue(alert));
  return results;
}

/** One alert as a row of the batch statement's input. */
function inputRow(a: PreparedAlert) {
  const activity = activityRow(a.ctx, {
    type: 'alert_ingested',
    references: {
      source_name: a.sourceName,
      severity: a.normalized.severity,
      title: a.normalized.title,
      ...(a.normalized.severity_unmapped && { severity_raw: a.normalized.severity_raw, severity_unmapped: true }),
    },
  });
  const rule = a.ruleRef;
  return {
    uuid: a.uuid,
    fingerprint: a.fingerprint,
    title: a.normalized.title,
    description: a.normalized.description,
    severity: a.normalized.severity,
    severity_raw: a.normalized.severity_raw?.slice(0, 64) ?? null,
    severity_unmapped: a.normalized.severity_unmapped === true,
    source_name: a.sourceName,
    occurred_at: a.normalized.occurred_at ?? a.ingestedAt.toISOString(),
    occurred_at_inferred: a.normalized.occurred_at === null,
    source_time: a.normalized.occurred_at,
    ingested_at: a.ingestedAt.toISOString(),
    tags: a.normalized.tags,
    normalized: a.normalized,
    raw_payload: a.raw,
    activity_uuid: activity.uuid,
    actor_type: activity.actor_type,
    actor_key_prefix: activity.actor_key_prefix,
    actor_key_name: activity.actor_key_name,
    api_key_id: activity.api_key_id,
    activity_references: JSON.parse(activity.references),
    request_id: activity.request_id,
    rule_ref: rule?.source_rule_id ?? null,
    rule_uuid: rule ? newUuid() : null,
    rule_activity_uuid: rule ? newUuid() : null,
    rule_name: rule ? (rule.name ?? rule.source_rule_id) : null,
    rule_severity: rule?.severity ?? null,
    rule_description: rule?.description ?? null,
    rule_tactics: rule?.mitre_tactics ?? [],
    rule_techniques: rule?.mitre_techniques ?? [],
    traceparent: a.traceparent ?? null,
  };
}

/**
 * The whole new-alert path as ONE statement (its own transaction): claim each fingerprint, create
 * unknown detection rules (named after the rule), insert the alerts linked to their rules, their
 * `alert_ingested` activity and their `enrich-alert` jobs, and wake the workers (at its commit). One round trip per batch matters: on a
 * busy API every round trip also waits its turn on the event loop (docs/adr/0004).
 *
 * The claim always touches the fingerprint row so that it returns the current owner: ours when
 * the fingerprint was free or its dedup window has passed (a window of 0 always takes it over),
 * else the alert this one duplicates.
 */
function ingestStatement(input: ReturnType<typeof inputRow>[], windowSeconds: number) {
  const expired = sql`(${windowSeconds} = 0 OR f.claimed_at < now() - make_interval(secs => ${windowSeconds}))`;
  return sql`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(input)}::jsonb) AS x(
        uuid uuid, fingerprint text, title text, description text, severity text, severity_raw text,
        severity_unmapped boolean, source_name text,
        occurred_at timestamptz, occurred_at_inferred boolean, source_time timestamptz, ingested_at timestamptz,
        tags text[], normalized jsonb, raw_payload jsonb, activity_uuid uuid, actor_type text, actor_key_prefix text,
        actor_key_name text, api_key_id bigint, activity_references jsonb, request_id text, rule_ref text,
        rule_uuid uuid, rule_activity_uuid uuid, rule_name text, rule_severity text, rule_description text,
        rule_tactics text[], rule_techniques text[], traceparent text)
    ), claim AS (
      INSERT INTO alert_fingerprints AS f (fingerprint, alert_uuid, claimed_at)
      SELECT fingerprint, uuid, now() FROM input
      ON CONFLICT (fingerprint) DO UPDATE SET
        alert_uuid = CASE WHEN ${expired} THEN EXCLUDED.alert_uuid ELSE f.alert_uuid END,
        claimed_at = CASE WHEN ${expired} THEN EXCLUDED.claimed_at ELSE f.claimed_at END
      RETURNING fingerprint, alert_uuid AS owner
    ), fresh AS (
      SELECT i.* FROM input i JOIN claim c ON c.owner = i.uuid
    ), new_rule AS (
      INSERT INTO detection_rules (uuid, name, source_name, source_rule_id, severity, mitre_tactics, mitre_techniques,
                                   documentation, created_by)
      SELECT DISTINCT ON (source_name, rule_ref) rule_uuid, rule_name, source_name, rule_ref, rule_severity,
             rule_tactics, rule_techniques, rule_description, 'system'
      FROM fresh
      WHERE rule_ref IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM detection_rules e WHERE e.source_name = fresh.source_name AND e.source_rule_id = fresh.rule_ref)
      ORDER BY source_name, rule_ref
      -- A rule another writer committed after this statement's snapshot: the no-op update returns its
      -- id (the snapshot cannot), so the alert commits linked, with its job. Linked later, a worker
      -- could take the job before the link and build the payload without the rule.
      ON CONFLICT (source_name, source_rule_id) WHERE source_rule_id IS NOT NULL
        DO UPDATE SET source_rule_id = EXCLUDED.source_rule_id
      RETURNING id, uuid, name, source_name, source_rule_id
    ), rule_created AS (
      INSERT INTO activity_events (uuid, event_type, actor_type, detection_rule_id, "references")
      SELECT DISTINCT ON (r.id) i.rule_activity_uuid, 'detection_rule_created', 'system', r.id,
             jsonb_build_object('name', r.name, 'source_name', r.source_name, 'source_rule_id', r.source_rule_id,
                                'auto_created', true)
      FROM new_rule r JOIN fresh i ON i.source_name = r.source_name AND i.rule_ref = r.source_rule_id
      WHERE r.uuid = i.rule_uuid -- created here, not the other writer's
      ORDER BY r.id
    ), alert AS (
      INSERT INTO alerts (uuid, title, description, severity, severity_raw, severity_unmapped, source_name, occurred_at,
                          occurred_at_inferred, source_time, ingested_at, fingerprint, tags, normalized, raw_payload,
                          detection_rule_id)
      SELECT i.uuid, i.title, i.description, i.severity, i.severity_raw, i.severity_unmapped, i.source_name,
             i.occurred_at, i.occurred_at_inferred,
             i.source_time, i.ingested_at, i.fingerprint, i.tags, i.normalized, i.raw_payload, COALESCE(known.id, r.id)
      FROM fresh i
      LEFT JOIN LATERAL (
        SELECT e.id FROM detection_rules e
        WHERE e.source_name = i.source_name AND e.source_rule_id = i.rule_ref ORDER BY e.id LIMIT 1
      ) known ON true
      LEFT JOIN new_rule r ON r.source_name = i.source_name AND r.source_rule_id = i.rule_ref
      RETURNING id, uuid
    ), ingested AS (
      INSERT INTO activity_events (uuid, event_type, actor_type, actor_key_prefix, actor_key_name, api_key_id,
                                   alert_id, "references", request_id)
      SELECT i.activity_uuid, 'alert_ingested', i.actor_type, i.actor_key_prefix, i.actor_key_name, i.api_key_id,
             a.id, i.activity_references, i.request_id
      FROM fresh i JOIN alert a ON a.uuid = i.uuid
    ), job AS (
      ${enrichJobRows(sql`SELECT a.id AS alert_id, i.traceparent FROM alert a JOIN fresh i ON i.uuid = a.uuid`)}
    ), woken AS (${wakeEnrichWorkers(sql`alert`)})
    SELECT i.uuid, c.owner, a.id AS alert_id, (SELECT count(*) FROM woken) AS woken
    FROM input i JOIN claim c ON c.fingerprint = i.fingerprint LEFT JOIN alert a ON a.uuid = i.uuid`;
}

/**
 * Count a duplicate on the alert that owns its fingerprint. A duplicate with higher severity is
 * an escalation: the alert takes the new severity and goes through the pipeline again.
 */
async function countDuplicate(
  alert: PreparedAlert,
  trx: Db,
): Promise<{ accepted: IngestAccepted; escalatedAlertId: number | null } | null> {
  const original = await trx
    .selectFrom('alert_fingerprints')
    .innerJoin('alerts', 'alerts.uuid', 'alert_fingerprints.alert_uuid')
    .select(['alerts.id', 'alerts.uuid', 'alerts.severity'])
    .where('alert_fingerprints.fingerprint', '=', alert.fingerprint)
    .forUpdate()
    .executeTakeFirst();
  if (!original) return null;
  const severity = alert.normalized.severity;
  const escalates = SEVERITY_WEIGHT[severity] > SEVERITY_WEIGHT[original.severity as AlertSeverity];
  const now = new Date();
  const updated = await trx
    .updateTable('alerts')
    .set((eb) => ({
      duplicate_count: eb('duplicate_count', '+', 1),
      last_seen_at: now,
      updated_at: now,
      ...(escalates && {
        severity,
        severity_raw: alert.normalized.severity_raw?.slice(0, 64) ?? null,
        severity_unmapped: alert.normalized.severity_unmapped === true,
        escalation_count: eb('escalation_count', '+', 1),
        last_escalated_at: now,
      }),
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

/**
 * `correlateAlerts`: place enriched alerts into incidents (the pipeline calls it after each enrichment
 * commit). One transaction per batch:
 *
 * 1. load the batch's alerts and their keys (keys.ts), bounded per alert;
 * 2. take advisory transaction locks on every key, in sorted order: two workers correlating related
 *    alerts serialize on the keys they share, so they never open two incidents, and never deadlock;
 * 3. read the candidates: per key, an index range of (key, occurred_at) in the batch's window, limited;
 *    the incidents they belong to are locked (FOR UPDATE, id order) and read after the locks;
 * 4. decide alert by alert, in id order (engine.ts); later alerts of the batch see earlier ones;
 * 5. write incidents, memberships, aggregates, keys and the timeline.
 *
 * Idempotent: an alert already in an incident stays where it is (analysts' pinned decisions included).
 */
import type { Db } from '@calseta/db';
import type { CorrelationConfig } from '@calseta/schema';
import { sql } from 'kysely';
import type { ServiceContext } from '../infra/context.js';
import { newUuid } from '../infra/ids.js';
import { loadCorrelationConfig } from './config.js';
import { Correlator, type EngineAlert, type IncidentRef, type Placement, STRONG_CANDIDATES } from './engine.js';
import { type AlertEntities, type CorrelationKey, compileExclusions, correlationKeys, lockId } from './keys.js';
import { addToAggregates, anyId, type IncidentEventInput, recordIncidentEvents } from './rows.js';

/** Incidents a call opened or added alerts to: what per-incident delivery acts on. */
export interface IncidentChange {
  incidentId: number;
  incidentUuid: string;
  /** True when this call opened the incident. */
  opened: boolean;
  /** Alerts this call added (on open: every member, the earlier alerts pulled in included). */
  alertIds: number[];
}

export interface CorrelationResult {
  changes: IncidentChange[];
}

/** Alerts one call correlates at most (a larger batch is split into transactions of this size). */
export const CORRELATION_BATCH_MAX = 500;

export interface LoadedAlert extends EngineAlert {
  sourceName: string;
  entities: AlertEntities;
}

/** The batch's alerts with what correlation reads of them (a few json paths, never whole payloads). */
export async function loadCorrelationAlerts(
  db: Db,
  where: { ids: number[] } | { from: Date; to: Date; limit: number },
  config: CorrelationConfig,
): Promise<LoadedAlert[]> {
  const rows = await sql<{
    id: number;
    uuid: string;
    title: string;
    severity: string;
    occurred_at: Date;
    source_name: string;
    detection_rule_id: number | null;
    detection_rule_uuid: string | null;
    hostnames: unknown[];
    groups: Record<string, unknown>;
  }>`
    SELECT a.id, a.uuid, a.title, a.severity, a.occurred_at, a.source_name, a.detection_rule_id,
           r.uuid AS detection_rule_uuid,
           jsonb_build_array(a.normalized -> 'src_hostname', a.normalized -> 'dst_hostname') AS hostnames,
           jsonb_build_object(
             'sentinel_incident_id', a.normalized #> '{extra,incident_id}',
             'sentinel_incident_number', a.normalized #> '{extra,incident_number}',
             'sentinel_workspace', jsonb_build_array(a.normalized #> '{extra,subscription_id}',
               a.normalized #> '{extra,resource_group}', a.normalized #> '{extra,workspace}'),
             -- a bare event_id is the notable's only in the ES shape (<guid>@@notable@@<hash>): saved searches
             -- over Windows logs name the event code (4625, ...) event_id, which groups nothing
             'splunk_notable_event_id', coalesce(a.normalized #> '{extra,notable_event_id}',
               CASE WHEN a.normalized #>> '{extra,event_id}' LIKE '%@@notable@@%' THEN a.normalized #> '{extra,event_id}' END),
             'elastic_group_id', coalesce(
               a.raw_payload -> 'kibana.alert.group.id',
               a.raw_payload #> '{kibana,alert,group,id}',
               a.raw_payload #> '{_source,kibana.alert.group.id}',
               a.raw_payload #> '{_source,kibana,alert,group,id}')
           ) AS groups
    FROM alerts a LEFT JOIN detection_rules r ON r.id = a.detection_rule_id
    WHERE ${
      'ids' in where
        ? sql`a.id = ANY(${where.ids}::bigint[])`
        : sql`a.occurred_at >= ${where.from} AND a.occurred_at <= ${where.to}`
    }
    ORDER BY a.id
    ${'ids' in where ? sql`` : sql`LIMIT ${where.limit}`}
  `.execute(db);
  const ids = rows.rows.map((r) => r.id);
  const links =
    ids.length === 0
      ? []
      : await db
          .selectFrom('alert_indicators as ai')
          .innerJoin('indicators as i', 'i.id', 'ai.indicator_id')
          .select(['ai.alert_id', 'i.id', 'i.type', 'i.value', 'ai.source_field'])
          .where('ai.alert_id', '=', anyId(ids))
          .orderBy('ai.alert_id')
          .orderBy('i.id')
          .execute();
  const byAlert = new Map<number, typeof links>();
  // push, not a spread per link: a copy per link is quadratic in an alert's links (500 each, 10k alerts in a dry run).
  for (const link of links) {
    const list = byAlert.get(link.alert_id);
    if (list) list.push(link);
    else byAlert.set(link.alert_id, [link]);
  }
  const exclusions = compileExclusions(config);
  return rows.rows.map((r) => {
    const entities: AlertEntities = {
      sourceName: r.source_name,
      detectionRuleId: r.detection_rule_id,
      indicators: byAlert.get(r.id) ?? [],
      hostnames: r.hostnames,
      groups: r.groups,
    };
    return {
      id: r.id,
      uuid: r.uuid,
      title: r.title,
      severity: r.severity,
      occurredAt: r.occurred_at.getTime(),
      detectionRuleUuid: r.detection_rule_uuid,
      sourceName: r.source_name,
      entities,
      keys: correlationKeys(entities, config, exclusions),
    };
  });
}

/**
 * How many alerts carry each indicator within [from, to], counted up to `cap + 1` on an indicator's
 * newest links (index alert_indicators (indicator_id, alert_id DESC)): every alert counts, correlated
 * or not, so a value a burst of alerts shares is known as shared from the burst's first alert.
 */
export async function indicatorPrevalence(
  db: Db,
  indicatorIds: number[],
  from: Date,
  to: Date,
  cap: number,
): Promise<Map<number, number>> {
  if (indicatorIds.length === 0) return new Map();
  // Links read per indicator at most: enough to find cap + 1 in-window alerts among recent ones.
  const scan = (cap + 1) * 8;
  const { rows } = await sql<{ id: number; n: number }>`
    SELECT ids.id, (
      SELECT count(*)::integer FROM (
        SELECT 1 FROM (
          SELECT ai.alert_id FROM alert_indicators ai
          WHERE ai.indicator_id = ids.id ORDER BY ai.alert_id DESC LIMIT ${scan}
        ) l JOIN alerts a ON a.id = l.alert_id
        WHERE a.occurred_at >= ${from} AND a.occurred_at <= ${to}
        LIMIT ${cap + 1}
      ) hits
    ) AS n
    FROM unnest(${indicatorIds}::bigint[]) AS ids(id)
  `.execute(db);
  return new Map(rows.map((r) => [r.id, r.n]));
}

interface Candidate {
  key: string;
  alert_id: number;
  uuid: string;
  title: string;
  occurred_at: Date;
  incident_id: number | null;
}

/** Alerts already correlated that carry the keys within [from, to]: per key, the newest `limit`. */
async function candidates(db: Db, keys: CorrelationKey[], from: Date, to: Date, cap: number) {
  if (keys.length === 0) return [];
  const limits = keys.map((k) => (k.kind === 'entity' ? cap + 1 : STRONG_CANDIDATES));
  const { rows } = await sql<Candidate>`
    SELECT k.key, c.alert_id, a.uuid, a.title, c.occurred_at, m.incident_id
    FROM unnest(${keys.map((k) => k.key)}::text[], ${limits}::integer[]) AS k(key, lim)
    CROSS JOIN LATERAL (
      SELECT ck.alert_id, ck.occurred_at FROM incident_correlation_keys ck
      WHERE ck.key = k.key AND ck.occurred_at >= ${from} AND ck.occurred_at <= ${to}
      ORDER BY ck.occurred_at DESC LIMIT k.lim
    ) c
    JOIN alerts a ON a.id = c.alert_id
    LEFT JOIN incident_alerts m ON m.alert_id = c.alert_id
  `.execute(db);
  return rows;
}

/** Lock every key of the batch, in one order for every caller. */
async function lockKeys(db: Db, keys: Iterable<string>): Promise<void> {
  const ids = [...new Set([...keys].map(lockId))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (ids.length === 0) return;
  // unnest yields the array in order, so the locks are taken in that order.
  await sql`SELECT pg_advisory_xact_lock(id) FROM unnest(${ids.map(String)}::bigint[]) AS t(id)`.execute(db);
}

/** Lock incidents (id order) and say which are still open. */
async function lockIncidents(db: Db, ids: number[]): Promise<Map<number, IncidentRef>> {
  const refs = new Map<number, IncidentRef>();
  if (ids.length === 0) return refs;
  const rows = await db
    .selectFrom('incidents')
    .select(['id', 'status'])
    .where('id', '=', anyId([...new Set(ids)]))
    .orderBy('id')
    .forUpdate()
    .execute();
  for (const r of rows) refs.set(r.id, { ref: `db:${r.id}`, open: r.status !== 'Closed' });
  return refs;
}

/**
 * Place the alerts into incidents. See the file header; the contract is in docs/guides/incidents.md
 * (and /work/briefs/incidents-contract.md for the pipeline).
 */
export async function correlateAlerts(ctx: ServiceContext, alertIds: number[]): Promise<CorrelationResult> {
  const ids = [...new Set(alertIds)].sort((a, b) => a - b);
  const changes: IncidentChange[] = [];
  for (let i = 0; i < ids.length; i += CORRELATION_BATCH_MAX) {
    changes.push(...(await correlateRetrying(ctx, ids.slice(i, i + CORRELATION_BATCH_MAX))));
  }
  // One entry per incident, even when it changed in several transactions.
  const merged = new Map<number, IncidentChange>();
  for (const c of changes) {
    const seen = merged.get(c.incidentId);
    if (seen) {
      seen.opened ||= c.opened;
      seen.alertIds.push(...c.alertIds);
    } else merged.set(c.incidentId, { ...c, alertIds: [...c.alertIds] });
  }
  return { changes: [...merged.values()] };
}

/**
 * Another writer (a worker correlating an alert related through a third one, an analyst's move) placed
 * an alert this batch read as lone or saw in an incident it did not lock: the batch is decided again on
 * what is committed now, instead of opening an incident around an alert it cannot have.
 */
class PlacedMeanwhile extends Error {}
/** Attempts per batch; the last one keeps what it could write. */
const ATTEMPTS = 3;

async function correlateRetrying(ctx: ServiceContext, ids: number[]): Promise<IncidentChange[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await correlateBatch(ctx, ids, attempt === ATTEMPTS);
    } catch (error) {
      if (!(error instanceof PlacedMeanwhile)) throw error;
    }
  }
}

async function correlateBatch(ctx: ServiceContext, ids: number[], last: boolean): Promise<IncidentChange[]> {
  if (ids.length === 0) return [];
  const config = await loadCorrelationConfig(ctx.db);
  if (!config.enabled) return [];
  const windowMs = config.window_minutes * 60_000;
  return ctx.db.transaction().execute(async (trx) => {
    const alerts = await loadCorrelationAlerts(trx, { ids }, config);
    if (alerts.length === 0) return [];
    await lockKeys(
      trx,
      alerts.flatMap((a) => a.keys.map((k) => k.key)),
    );
    const times = alerts.map((a) => a.occurredAt);
    const from = new Date(Math.min(...times) - windowMs);
    const to = new Date(Math.max(...times) + windowMs);
    const allKeys = [...new Map(alerts.flatMap((a) => a.keys.map((k) => [k.key, k] as const))).values()];
    const [found, placed, prevalence] = await Promise.all([
      candidates(trx, allKeys, from, to, config.prevalence_cap),
      trx
        .selectFrom('incident_alerts')
        .select(['alert_id', 'incident_id'])
        .where('alert_id', '=', anyId(ids))
        .execute(),
      indicatorPrevalence(
        trx,
        [...new Set(allKeys.flatMap((k) => (k.indicatorId === null ? [] : [k.indicatorId])))],
        from,
        to,
        config.prevalence_cap,
      ),
    ]);
    const incidents = await lockIncidents(trx, [
      ...found.flatMap((c) => (c.incident_id === null ? [] : [c.incident_id])),
      ...placed.map((p) => p.incident_id),
    ]);
    // Memberships re-read under the incident locks: an analyst's move may have committed meanwhile.
    const memberOf = new Map(
      (
        await trx
          .selectFrom('incident_alerts')
          .select(['alert_id', 'incident_id'])
          .where('alert_id', '=', anyId([...new Set([...ids, ...found.map((c) => c.alert_id)])]))
          .execute()
      ).map((m) => [m.alert_id, m.incident_id]),
    );
    const refOf = (alertId: number): IncidentRef | null => {
      const incidentId = memberOf.get(alertId);
      if (incidentId === undefined) return null;
      const ref = incidents.get(incidentId);
      if (!ref && !last) throw new PlacedMeanwhile();
      return ref ?? { ref: `db:${incidentId}`, open: false };
    };

    const engine: Correlator = new Correlator(config, (key, alert): number =>
      Math.max(
        key.indicatorId === null ? 0 : (prevalence.get(key.indicatorId) ?? 0),
        engine.countNear(key.key, alert.occurredAt) + 1,
      ),
    );
    const batchIds = new Set(ids);
    for (const c of found) {
      if (batchIds.has(c.alert_id)) continue;
      engine.know(
        { id: c.alert_id, uuid: c.uuid, title: c.title, occurredAt: c.occurred_at.getTime() },
        [c.key],
        refOf(c.alert_id),
      );
    }
    const placements: Array<{ alert: LoadedAlert; placement: Placement }> = [];
    for (const alert of alerts) {
      const current = refOf(alert.id);
      if (current) {
        engine.know(
          alert,
          alert.keys.map((k) => k.key),
          current,
        );
        continue;
      }
      const placement = engine.place(alert);
      if (placement) placements.push({ alert, placement });
    }
    const result = await apply(trx, ctx, placements, last);
    const keyRows = alerts.flatMap((a) => a.keys.map((k) => [k.key, a.id, new Date(a.occurredAt)] as const));
    if (keyRows.length > 0) {
      // Three array parameters however many keys the batch has.
      await sql`
        INSERT INTO incident_correlation_keys (key, alert_id, occurred_at)
        SELECT * FROM unnest(${keyRows.map((r) => r[0])}::text[], ${keyRows.map((r) => r[1])}::bigint[],
                             ${keyRows.map((r) => r[2])}::timestamptz[])
        ON CONFLICT DO NOTHING
      `.execute(trx);
    }
    return result;
  });
}

/** Write the placements: new incidents, memberships (first writer wins per alert), aggregates, timeline. */
async function apply(
  trx: Db,
  ctx: ServiceContext,
  placements: Array<{ alert: LoadedAlert; placement: Placement }>,
  last: boolean,
): Promise<IncidentChange[]> {
  const idOf = new Map<string, { id: number; uuid: string; opened: boolean }>();
  const changes = new Map<number, IncidentChange>();
  const events: IncidentEventInput[] = [];
  const added: number[] = [];
  for (const { placement } of placements) {
    let target = idOf.get(placement.incident.ref);
    if (!target) {
      if (placement.opened) {
        const row = await trx
          .insertInto('incidents')
          .values({ uuid: newUuid(), title: placement.title })
          .returning(['id', 'uuid'])
          .executeTakeFirstOrThrow();
        target = { ...row, opened: true };
        events.push({
          incidentId: row.id,
          type: 'incident_opened',
          alertId: placement.members[0]?.alert.id ?? null,
          references: { title: placement.title, rule: placement.members[0]?.reason.rule },
        });
      } else {
        const id = Number(placement.incident.ref.slice(3));
        const row = await trx.selectFrom('incidents').select('uuid').where('id', '=', id).executeTakeFirstOrThrow();
        target = { id, uuid: row.uuid, opened: false };
      }
      idOf.set(placement.incident.ref, target);
    }
    const inserted = await trx
      .insertInto('incident_alerts')
      .values(
        placement.members.map((m) => ({
          incident_id: (target as { id: number }).id,
          alert_id: m.alert.id,
          reason: JSON.stringify(m.reason),
        })),
      )
      .onConflict((oc) => oc.column('alert_id').doNothing())
      .returning('alert_id')
      .execute();
    const insertedIds = new Set(inserted.map((r) => r.alert_id));
    if (!last && insertedIds.size < placement.members.length) throw new PlacedMeanwhile();
    const change = changes.get(target.id) ?? {
      incidentId: target.id,
      incidentUuid: target.uuid,
      opened: target.opened,
      alertIds: [],
    };
    for (const m of placement.members) {
      if (!insertedIds.has(m.alert.id)) continue;
      change.alertIds.push(m.alert.id);
      added.push(m.alert.id);
      events.push({
        incidentId: target.id,
        type: 'incident_alert_added',
        alertId: m.alert.id,
        references: { alert_uuid: m.alert.uuid, rule: m.reason.rule, summary: m.reason.summary },
      });
    }
    changes.set(target.id, change);
  }
  await addToAggregates(trx, added);
  await recordIncidentEvents(trx, ctx, events);
  return [...changes.values()].filter((c) => c.alertIds.length > 0);
}

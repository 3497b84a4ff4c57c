import type { Db } from '@calseta/db';
import type {
  EnrichmentProviderResult,
  EnrichmentSummary,
  ExtractedIndicator,
  MaliceLevel,
  VerdictExplanation,
} from '@calseta/schema';
import { type RawBuilder, sql } from 'kysely';
import { type ClaimedRun, finishedActivity, LEASE_MARGIN_SECONDS } from '../agents/dispatch.js';
import { agentMatches } from '../agents/matching.js';
import type { AgentRow } from '../agents/registry.js';
import type { TargetingSubject } from '../context/targeting.js';
import { alertMalice } from '../indicators/malice.js';
import { activityInsert, activityRow, insertActivityRows } from '../infra/activity.js';
import type { ServiceContext } from '../infra/context.js';
import { groupCommitPerDatabase } from '../infra/group-commit.js';
import { newUuid } from '../infra/ids.js';
import { insertJsonStatement } from '../infra/insert-json.js';
import type { JobPayload } from '../infra/jobs/catalogue.js';
import { tableCacheOf } from '../infra/table-cache.js';
import { transactionWith } from '../infra/transaction.js';
import { PAYLOAD_ALERT_COLUMNS, type PayloadAlertRow } from '../payload/build.js';
import type { PayloadSources } from '../payload/compose.js';
import { ALERT_ENRICHED_CHANNEL, type AlertEnrichedEvent, type IndicatorUpdate } from './enrich-alert.js';
import type { LinkedIndicator, LoadedAlert } from './load.js';

/** What extraction found, and its activity event's references. */
export interface Extraction {
  indicators: ExtractedIndicator[];
  references: Record<string, unknown>;
}

/** One alert's pipeline result, to be stored (with the others committed at the same moment). */
export interface AlertToCommit {
  data: JobPayload<'enrich-alert'>;
  alert: LoadedAlert;
  extraction: Extraction | null;
  /** Every indicator the alert has or gets, by `type\0value` (`id` null: new). */
  stored: Map<string, LinkedIndicator>;
  /** In the order of the enrichment (stored ones, then new ones). */
  updates: IndicatorUpdate[];
  summary: EnrichmentSummary;
  now: Date;
  attempt: number;
}

/** A delivery claimed for its first attempt by this commit, with its agent. */
export interface ClaimedDelivery extends ClaimedRun {
  agent: AgentRow;
}

export interface CommittedAlert {
  deliveries: ClaimedDelivery[];
  /** What documents and agents are matched on. */
  subject: TargetingSubject;
  /** The alert's indicators as its payload shows them (link order, history): only when there are deliveries. */
  indicators: PayloadSources['indicators'];
  /** The alert's row as stored: only when there may be deliveries. */
  alert: PayloadAlertRow | undefined;
}

/** A row as storeAlerts carries it in JSON: timestamps as epoch milliseconds (see epochMs). */
type JsonRow<R> = { [K in keyof R]: R[K] extends Date ? number : R[K] extends Date | null ? number | null : R[K] };

/**
 * A timestamp as epoch milliseconds for a JSON result: JSON writes timestamps in the session's time
 * zone, whose offset may have seconds (Africa/Monrovia until 1972: -00:44:30) that `Date` cannot parse.
 */
const epochMs = (column: RawBuilder<unknown>) => sql`floor(extract(epoch FROM ${column}) * 1000)`;

/** NOTIFY payloads stay far below Postgres's 8000-byte limit. */
const EVENTS_PER_NOTIFY = 40;
const MAX_BATCH = 64;
const INACTIVE = 'Agent is inactive';
/** The alerts' verdict columns are written by storeAlerts, not by 0014's triggers (migration 0023). */
const DEFERRED_VERDICTS = "SELECT set_config('calseta.alert_verdicts', 'deferred', true)";

const committerOf = groupCommitPerDatabase((ctx: ServiceContext) => ({
  // The agents are read before the transaction (from the process's cache, or with a connection of
  // their own): a transaction holding locks must never wait on the pool for a second connection.
  commit: async (items: AlertToCommit[]) => {
    const agents = await activeAgents(ctx);
    return transactionWith(ctx.db, `${DEFERRED_VERDICTS}; ${lockIndicators(items)}`, (trx) =>
      commitAlerts(ctx, trx, items, agents),
    );
  },
  keyOf: (i: AlertToCommit) => String(i.alert.id),
  logger: ctx.logger,
  batchFailed: 'pipeline commit failed; committing alerts one by one',
  maxBatch: MAX_BATCH,
}));

/**
 * Store one alert's pipeline result. Alerts this process finishes while an earlier commit is
 * running are stored together: a fixed number of set-based statements and one commit per batch,
 * whatever its size (a failed batch is retried alert by alert).
 */
export function commitAlert(ctx: ServiceContext, item: AlertToCommit): Promise<CommittedAlert> {
  return committerOf(ctx).submit(item);
}

const keyOf = (i: { type: string; value: string }) => `${i.type}\u0000${i.value}`;

/**
 * The batch's first statement, sent with `BEGIN`: every stored indicator it writes (`FOR NO KEY
 * UPDATE`) or links (`FOR SHARE`), one id order, before any alert lock. A link and a verdict change
 * of one indicator in two concurrent transactions would each compute alert verdicts from what the
 * other has not committed yet (write skew: an alert linked to a Malicious indicator left ranked
 * Benign); these locks conflict, so the later one waits and its next statements see the other's
 * commit. Links of two batches share the indicator (SHARE) and do not wait on each other. Every
 * linker takes its locks first in id order (ingest/extract-alert-indicators.ts `linkIndicators`),
 * so they cannot deadlock. The ids are integers read from Postgres, inlined because the setup is
 * one simple-protocol query (no parameters).
 */
function lockIndicators(items: AlertToCommit[]): string {
  const exclusive = new Map<number, boolean>();
  for (const item of items) {
    for (const u of item.updates) {
      const id = item.stored.get(keyOf(u))?.id;
      if (u.changed && id != null) exclusive.set(id, true);
    }
    for (const e of item.extraction?.indicators ?? []) {
      const linked = item.stored.get(keyOf(e));
      if (linked?.id != null && linked.link_id == null && !exclusive.has(linked.id)) exclusive.set(linked.id, false);
    }
  }
  if (exclusive.size === 0) return 'SELECT 0';
  const ids = [...exclusive.keys()].sort((a, b) => a - b);
  for (const id of ids) if (!Number.isSafeInteger(id)) throw new TypeError(`not an indicator id: ${id}`);
  return `SELECT count(*) FROM unnest('{${ids.join(',')}}'::bigint[], '{${ids.map((id) => (exclusive.get(id) ? 't' : 'f')).join(',')}}'::boolean[]) AS x(id, exclusive)
    LEFT JOIN LATERAL (SELECT 1 FROM indicators i WHERE i.id = x.id AND x.exclusive FOR NO KEY UPDATE) AS w ON true
    LEFT JOIN LATERAL (SELECT 1 FROM indicators i WHERE i.id = x.id AND NOT x.exclusive FOR SHARE) AS l ON true`;
}

interface IndicatorRow {
  id: number;
  uuid: string;
  type: string;
  value: string;
}

async function commitAlerts(
  ctx: ServiceContext,
  trx: Db,
  items: AlertToCommit[],
  agents: AgentRow[],
): Promise<CommittedAlert[]> {
  const now = new Date();
  const { ids, inserted, newLinks } = await resolveAndLink(trx, items, now);
  const written = await writeIndicators(trx, items, ids, now);
  const others = await lockAlerts(trx, items, written, inserted);
  await refreshOtherAlerts(trx, others);
  const matches =
    agents.length === 0
      ? []
      : items.flatMap((item) => {
          const subject = subjectOf(item);
          return agents.filter((agent) => agentMatches(agent, subject)).map((agent) => ({ item, agent }));
        });
  const { runs, history, alerts } = await storeAlerts(ctx, trx, items, { ids, newLinks, matches, now });
  const deliveries = await claimDeliveries(ctx, trx, items, { agents, matches, runs, now });
  const indicators = payloadIndicators(items, deliveries, ids, newLinks, written, history);

  const retries = items.filter((i) => i.summary.retry_at !== null);
  await ctx.queue.sendMany(
    'enrich-alert',
    retries.map((i) => ({
      alert_id: i.alert.id,
      reason: 'rate_limited' as const,
      attempt: i.attempt + 1,
      ...(i.data.redispatch ? { redispatch: true } : {}),
      startAfterSeconds: Math.max(1, Math.ceil((Date.parse(i.summary.retry_at as string) - i.now.getTime()) / 1000)),
    })),
    { db: trx },
  );
  return items.map((item) => ({
    deliveries: deliveries.get(item.alert.id) ?? [],
    subject: subjectOf(item),
    indicators: indicators.get(item.alert.id) ?? [],
    alert: alerts.get(item.alert.id),
  }));
}

const NEW_INDICATOR_COLUMNS = ['uuid', 'type', 'value', 'first_seen', 'last_seen'];

/** An indicator's identity; `id` null: new, inserted by this commit. */
interface IndicatorRef {
  id: number | null;
  type: string;
  value: string;
}

/**
 * Ids and uuids of every indicator the batch links or writes, and the links of extracted
 * indicators not linked yet (their ids per alert and indicator), in one statement: new indicators
 * are inserted in a fixed order (no deadlock), their ids answered apart (no other transaction can
 * link them before ours commits), and linked with the others. One created by another process since
 * we read (a conflict: this statement cannot see its row) is read and linked by a statement of its own.
 */
async function resolveAndLink(
  trx: Db,
  items: AlertToCommit[],
  now: Date,
): Promise<{ ids: Map<string, IndicatorRow>; inserted: Set<number>; newLinks: Map<string, number> }> {
  const ids = new Map<string, IndicatorRow>();
  const missing = new Map<string, { type: string; value: string }>();
  for (const item of items) {
    for (const i of item.stored.values()) {
      if (i.id !== null && i.uuid !== null) ids.set(keyOf(i), { id: i.id, uuid: i.uuid, type: i.type, value: i.value });
    }
    for (const i of item.stored.values()) if (!ids.has(keyOf(i))) missing.set(keyOf(i), i);
  }
  const fresh = [...missing.values()]
    .sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1))
    .map((i) => ({ uuid: newUuid(), type: i.type, value: i.value, first_seen: now, last_seen: now }));
  const links = items.flatMap((item) =>
    [...(item.extraction?.indicators ?? [])]
      .sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1))
      .filter((e) => item.stored.get(keyOf(e))?.link_id == null)
      .map((e) => ({
        alert_id: item.alert.id,
        indicator: ids.get(keyOf(e)) ?? { id: null, type: e.type, value: e.value },
        source_field: e.source_field,
      })),
  );
  const inserted = new Set<number>();
  const newLinks = new Map<string, number>();
  if (fresh.length === 0 && links.length === 0) return { ids, inserted, newLinks };
  const { rows } = await sql<{ inserted: IndicatorRow[]; linked: LinkRow[] }>`
    WITH new AS (${insertJsonStatement('indicators', fresh, sql`ON CONFLICT (type, value) DO NOTHING RETURNING id, uuid, type, value`, NEW_INDICATOR_COLUMNS)}),
    links AS (${linksInsert(links, sql`new`)})
    SELECT (SELECT coalesce(json_agg(new), '[]') FROM new) AS inserted,
           (SELECT coalesce(json_agg(links), '[]') FROM links) AS linked`.execute(trx);
  const { inserted: insertedRows, linked } = rows[0] as (typeof rows)[number];
  for (const row of insertedRows) {
    ids.set(keyOf(row), row);
    inserted.add(Number(row.id));
  }
  const raced = fresh.filter((i) => !ids.has(keyOf(i)));
  if (raced.length > 0) {
    // Created by another process since we read: a new statement sees its committed row. Locked as
    // lockIndicators locks what the batch writes (a new indicator's first answers are written): a share
    // lock here would deadlock two batches that both raced to it and then both upgrade to write it.
    const { rows: found } = await sql<IndicatorRow>`
      SELECT i.id, i.uuid, i.type, i.value
      FROM unnest(${raced.map((r) => r.type)}::text[], ${raced.map((r) => r.value)}::text[]) AS x(type, value)
      JOIN indicators i ON i.type = x.type AND i.value = x.value
      ORDER BY i.id FOR NO KEY UPDATE OF i`.execute(trx);
    for (const row of found) ids.set(keyOf(row), row);
    const late = links.filter((l) => l.indicator.id === null && ids.has(keyOf(l.indicator)));
    if (late.length > 0) {
      const { rows: more } = await linksInsert(
        late.map((l) => ({ ...l, indicator: ids.get(keyOf(l.indicator)) as IndicatorRow })),
        sql`(SELECT NULL::bigint AS id, NULL::text AS type, NULL::text AS value WHERE false)`,
      ).execute(trx);
      linked.push(...more);
    }
  }
  for (const row of linked) newLinks.set(`${row.alert_id}:${row.indicator_id}`, row.id);
  await touchLastSeen(trx, items, linked);
  return { ids, inserted, newLinks };
}

interface LinkRow {
  id: number;
  alert_id: number;
  indicator_id: number;
}

/**
 * Links in the order given (link order is the payload's order); an indicator without an id takes
 * the one `created` (id, type, value rows) has for it, or is left out when it has none.
 */
function linksInsert(
  links: ReadonlyArray<{ alert_id: number; indicator: IndicatorRef; source_field: string | null }>,
  created: RawBuilder<unknown>,
) {
  const rows = links.map((l, ord) => ({
    ord,
    alert_id: l.alert_id,
    indicator_id: l.indicator.id,
    type: l.indicator.type,
    value: l.indicator.value,
    source_field: l.source_field,
  }));
  return sql<LinkRow>`
    INSERT INTO alert_indicators (alert_id, indicator_id, source_field)
    SELECT l.alert_id, coalesce(l.indicator_id, c.id), l.source_field
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
      AS l(ord integer, alert_id bigint, indicator_id bigint, type text, value text, source_field text)
    LEFT JOIN ${created} AS c ON l.indicator_id IS NULL AND c.type = l.type AND c.value = l.value
    WHERE coalesce(l.indicator_id, c.id) IS NOT NULL
    ORDER BY l.ord
    ON CONFLICT (alert_id, indicator_id) DO NOTHING RETURNING id, alert_id, indicator_id`;
}

/**
 * `last_seen` to the minute, for indicators seen before (new ones were inserted with it); rows
 * another job is touching right now are skipped, not waited for.
 */
async function touchLastSeen(trx: Db, items: AlertToCommit[], linked: readonly LinkRow[]): Promise<void> {
  const now = new Date();
  const stale = new Set<number>();
  for (const item of items) {
    for (const i of item.stored.values()) {
      if (i.id !== null && i.last_seen !== undefined && now.getTime() - i.last_seen.getTime() > 60_000) stale.add(i.id);
    }
  }
  const seen = [...new Set(linked.map((r) => r.indicator_id))].filter((id) => stale.has(id));
  if (seen.length === 0) return;
  await sql`
    UPDATE indicators SET last_seen = ${now}, updated_at = ${now}
    WHERE id IN (
      SELECT id FROM indicators
      WHERE id = ANY(${seen}::bigint[]) AND last_seen < ${now}::timestamptz - interval '1 minute'
      ORDER BY id FOR NO KEY UPDATE SKIP LOCKED)`.execute(trx);
}

interface WrittenIndicator {
  id: number;
  malice: string;
  malice_source: string;
  malice_explanation: VerdictExplanation | null;
  /** The verdict before this write. */
  was: string;
}

/**
 * Indicators whose answers changed, in one statement (already locked by lockIndicators, in id order,
 * so concurrent batches sharing indicators never deadlock; `NO KEY UPDATE`, the lock the UPDATE itself
 * takes: a `FOR UPDATE` would wait on the key-share locks another batch's new links hold, while that
 * batch waits on ours — a deadlock). An analyst's verdict is re-checked here: it may have
 * been set while the providers ran. Answers what was stored.
 */
async function writeIndicators(
  trx: Db,
  items: AlertToCommit[],
  ids: Map<string, IndicatorRow>,
  now: Date,
): Promise<Map<number, WrittenIndicator>> {
  // Alerts of one batch sharing an indicator computed the same answers (one provider call each): the last stands.
  const changed = new Map<number, IndicatorUpdate & { id: number }>();
  for (const item of items) {
    for (const u of item.updates) {
      if (u.changed)
        changed.set((ids.get(keyOf(u)) as IndicatorRow).id, { ...u, id: (ids.get(keyOf(u)) as IndicatorRow).id });
    }
  }
  const written = new Map<number, WrittenIndicator>();
  if (changed.size === 0) return written;
  const rows = [...changed.values()].map((u) => ({
    id: u.id,
    results: u.results,
    verdict: u.verdict,
    explanation: u.explanation,
    enriched: u.enriched,
  }));
  const { rows: stored } = await sql<WrittenIndicator>`
    WITH old AS (
      SELECT id, malice FROM indicators WHERE id = ANY(${[...changed.keys()]}::bigint[]) ORDER BY id FOR NO KEY UPDATE)
    UPDATE indicators AS i SET
      enrichment_results = u.results,
      malice = CASE WHEN i.malice_source = 'analyst' THEN i.malice ELSE u.verdict END,
      malice_explanation = CASE WHEN i.malice_source = 'analyst' THEN i.malice_explanation ELSE u.explanation END,
      is_enriched = u.enriched,
      enriched_at = ${now},
      updated_at = ${now}
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
      AS u(id bigint, results jsonb, verdict text, explanation jsonb, enriched boolean), old
    WHERE i.id = u.id AND old.id = i.id
    RETURNING i.id, i.malice, i.malice_source, i.malice_explanation, old.malice AS was`.execute(trx);
  for (const row of stored) written.set(Number(row.id), row);
  return written;
}

interface HistoryRow {
  id: number;
  n: number;
  /** Epoch milliseconds. */
  first: number;
  last: number;
}

/**
 * The rest of the batch in one statement: the alerts' status, summary and verdict columns — computed
 * by a statement that starts once lockAlerts holds the alerts (a snapshot taken before waiting on an
 * alert would miss the verdict change, an analyst's, that held it) — their activity events, the
 * automatic delivery of each (alert, matching agent), the enriched notifications, and the history
 * of the values of alerts that may be delivered (for their payloads).
 */
async function storeAlerts(
  ctx: ServiceContext,
  trx: Db,
  items: AlertToCommit[],
  batch: {
    ids: Map<string, IndicatorRow>;
    newLinks: Map<string, number>;
    matches: Array<{ item: AlertToCommit; agent: AgentRow }>;
    now: Date;
  },
): Promise<{ runs: RunRow[]; history: Map<number, HistoryRow>; alerts: Map<number, PayloadAlertRow> }> {
  const { ids, newLinks, matches, now } = batch;
  const alerts = items.map((i) => ({
    id: i.alert.id,
    status: i.summary.status,
    enriched_at: i.summary.status === 'Pending' ? null : i.now.toISOString(),
    summary: i.summary,
    at: i.now.toISOString(),
  }));
  // Deliveries come from the automatic runs inserted here, or from runs released below.
  const deliverable = new Set(matches.map((m) => m.item.alert.id));
  for (const item of items) if (released(item)) deliverable.add(item.alert.id);
  const historyOf = [
    ...new Set(
      items
        .filter((i) => deliverable.has(i.alert.id))
        .flatMap((i) => i.updates.map((u) => (ids.get(keyOf(u)) as IndicatorRow).id)),
    ),
  ];
  const events: AlertEnrichedEvent[] = items.map((i) => ({ alert_uuid: i.alert.uuid, status: i.summary.status }));
  const notifications: string[] = [];
  for (let start = 0; start < events.length; start += EVENTS_PER_NOTIFY) {
    notifications.push(JSON.stringify(events.slice(start, start + EVENTS_PER_NOTIFY)));
  }
  // Every member runs (data-modifying ones whether read or not; the notifications are read).
  const { rows } = await sql<{
    runs: RunRow[];
    history: HistoryRow[];
    notified: number;
    alerts: Array<JsonRow<PayloadAlertRow> & { id: number }>;
  }>`
    WITH written AS (
      UPDATE alerts AS a SET
        enrichment_status = u.status,
        is_enriched = u.status <> 'Pending',
        enriched_at = u.enriched_at,
        enrichment_summary = u.summary,
        updated_at = u.at,
        indicators_malice_rank = v.worst,
        indicator_count = v.n
      FROM jsonb_to_recordset(${JSON.stringify(alerts)}::jsonb)
        AS u(id bigint, status text, enriched_at timestamptz, summary jsonb, at timestamptz)
      CROSS JOIN LATERAL (
        SELECT COALESCE(max(${MALICE_RANK}), 0)::integer AS worst, count(*)::integer AS n
        FROM alert_indicators ai JOIN indicators i ON i.id = ai.indicator_id
        WHERE ai.alert_id = u.id) v
      WHERE a.id = u.id
      RETURNING a.id, ${sql.join(PAYLOAD_ALERT_COLUMNS.map((column) => sql.ref(`a.${column}`)))}
    ),
    activity AS (${activityInsert(activityOf(ctx, items, newLinks))}),
    runs AS (${runsInsert(rowsOfRuns('auto', matches, now), AUTO_RUN_CONFLICT)}),
    notified AS (SELECT pg_notify(${ALERT_ENRICHED_CHANNEL}, n) FROM unnest(${notifications}::text[]) AS n)
    SELECT
      (SELECT coalesce(json_agg(runs), '[]') FROM runs) AS runs,
      (SELECT coalesce(json_agg(json_build_object('id', h.indicator_id, 'n', h.alert_count,
          'first', ${epochMs(sql`h.first_seen`)}, 'last', ${epochMs(sql`h.last_seen`)})), '[]')
        FROM calseta_indicator_history(${historyOf}::bigint[]) h) AS history,
      (SELECT count(*) FROM notified) AS notified,
      (SELECT coalesce(jsonb_agg(to_jsonb(w) || jsonb_build_object('occurred_at', ${epochMs(sql`w.occurred_at`)},
          'ingested_at', ${epochMs(sql`w.ingested_at`)}, 'enriched_at', ${epochMs(sql`w.enriched_at`)})), '[]')
        FROM written w WHERE w.id = ANY(${[...deliverable]}::bigint[])) AS alerts`.execute(trx);
  const { runs, history, alerts: stored } = rows[0] as (typeof rows)[number];
  return {
    runs,
    history: new Map(history.map((h) => [Number(h.id), h])),
    alerts: new Map(
      stored.map(({ id, occurred_at, ingested_at, enriched_at, ...row }) => [
        Number(id),
        // As Postgres's driver reads them (JSON carries timestamps as text).
        {
          ...row,
          occurred_at: new Date(occurred_at),
          ingested_at: new Date(ingested_at),
          enriched_at: enriched_at === null ? null : new Date(enriched_at),
        },
      ]),
    ),
  };
}

/** An indicator verdict's weight, as migration 0014 ranks it. */
const MALICE_RANK = sql.raw(
  `CASE i.malice WHEN 'Malicious' THEN 5 WHEN 'Suspicious' THEN 4 WHEN 'Benign' THEN 3 WHEN 'Context' THEN 2 WHEN 'Unknown' THEN 1 WHEN 'Pending' THEN 0 END`,
);

/**
 * Locks the batch's alerts and, with them, the alerts outside the batch that 0014's verdict trigger
 * would refresh (linked to an indicator whose verdict this batch changed) — all in one id order, as
 * the trigger locked them: two phases (batch, then others) deadlock two batches each reaching an
 * alert of the other's. Indicators the batch created are linked to its own alerts only. `NO KEY
 * UPDATE`, as the trigger's refresh (migration 0027): a `FOR UPDATE` waits on the key-share lock of a
 * link another transaction is inserting to the alert, which waits on ours — a deadlock. Answers the
 * others' ids.
 */
async function lockAlerts(
  trx: Db,
  items: AlertToCommit[],
  written: Map<number, WrittenIndicator>,
  inserted: Set<number>,
): Promise<number[]> {
  const changed = [...written.values()]
    .filter((w) => w.malice !== w.was && !inserted.has(Number(w.id)))
    .map((w) => w.id);
  const batch = new Set(items.map((i) => Number(i.alert.id)));
  // A union of ids, not `id = ANY(…) OR id IN (…)`: an OR with a subquery is a filter on every alert.
  const ids =
    changed.length === 0
      ? sql`SELECT unnest(${[...batch]}::bigint[])`
      : sql`SELECT unnest(${[...batch]}::bigint[]) UNION
            SELECT ai.alert_id FROM alert_indicators ai WHERE ai.indicator_id = ANY(${changed}::bigint[])`;
  const { rows } = await sql<{ id: number }>`
    SELECT id FROM alerts WHERE id IN (${ids}) ORDER BY id FOR NO KEY UPDATE`.execute(trx);
  return rows.map((r) => Number(r.id)).filter((id) => !batch.has(id));
}

/** What 0014's verdict trigger does for the alerts outside the batch (locked by lockAlerts). */
async function refreshOtherAlerts(trx: Db, others: number[]): Promise<void> {
  if (others.length === 0) return;
  await sql`SELECT calseta_refresh_alert_verdicts(${others}::bigint[])`.execute(trx);
}

function activityOf(ctx: ServiceContext, items: AlertToCommit[], newLinks: Map<string, number>) {
  return items.flatMap((item) => {
    const rows = [];
    if (item.extraction !== null) {
      const linked = [...newLinks.keys()].filter((k) => k.startsWith(`${item.alert.id}:`)).length;
      rows.push(
        activityRow(ctx, {
          type: 'alert_indicators_extracted',
          alertId: item.alert.id,
          references: { ...item.extraction.references, new_links: linked },
        }),
      );
    }
    const s = item.summary;
    rows.push(
      activityRow(ctx, {
        type: 'alert_enrichment_completed',
        alertId: item.alert.id,
        references: {
          status: s.status,
          providers_succeeded: s.providers_succeeded,
          providers_failed: s.providers_failed,
          providers_skipped: s.providers_skipped,
          providers_deferred: s.providers_deferred,
          malice_counts: s.malice_counts,
          attempt: item.attempt,
        },
      }),
    );
    return rows;
  });
}

/** What agents are matched on, from what the pipeline holds. */
export function subjectOf(item: AlertToCommit): TargetingSubject {
  const a = item.alert;
  return {
    source_name: a.source_name,
    severity: a.severity,
    tags: a.tags,
    title: a.title,
    malice: alertMalice(
      a.malice_override,
      item.updates.map((u) => ({ malice: u.verdict })),
    ),
    detection_rule: [a.rule_name, a.source_rule_id].filter((v): v is string => typeof v === 'string' && v !== ''),
    mitre_tactics: a.mitre_tactics ?? [],
    mitre_techniques: a.mitre_techniques ?? [],
    indicator_types: [...new Set(item.updates.map((u) => u.type))],
  };
}

interface RunRow {
  id: number;
  uuid: string;
  idempotency_key: string;
  trigger: string;
  alert_id: number;
  agent_registration_id: number;
  status: string;
}

/** Automatic deliveries: one per (alert, agent). A literal predicate: a prepared statement's generic plan cannot infer the partial unique index from a parameter. */
const AUTO_RUN_CONFLICT = sql`ON CONFLICT (alert_id, agent_registration_id) WHERE trigger = 'auto' DO NOTHING`;

/**
 * Delivery rows for `pairs`: claimed for the first attempt (status `delivering`, a lease of the
 * agent's timeout + margin) when the enrichment is final, or `waiting` while rate-limited providers
 * are retried (sent by the final enrichment, which claims them).
 */
function rowsOfRuns(trigger: string, pairs: ReadonlyArray<{ item: AlertToCommit; agent: AgentRow }>, now: Date) {
  return pairs.map(({ item, agent }) => {
    const final = item.summary.retry_at === null;
    return {
      uuid: newUuid(),
      agent_registration_id: agent.id,
      alert_id: item.alert.id,
      trigger,
      status: final ? 'delivering' : 'waiting',
      attempt_count: final ? 1 : 0,
      started_at: final ? now.toISOString() : null,
      // Seconds of lease (null: none), ended by the database's clock, as the sweeper reads it (a
      // worker's clock may be off by more than the margin).
      lease: final ? agent.timeout_seconds + LEASE_MARGIN_SECONDS : null,
    };
  });
}

/** Whether the item's final enrichment releases deliveries recorded while it waited on rate limits (a fresh alert has none). */
const released = (item: AlertToCommit) => item.summary.retry_at === null && item.data.reason !== 'ingest';

/**
 * The batch's deliveries claimed for their first attempt: the automatic ones storeAlerts inserted
 * (`runs`), plus a new one per matching agent for a `redispatch` (quirk 23), plus those recorded as
 * waiting on rate limits that this final enrichment releases.
 */
async function claimDeliveries(
  ctx: ServiceContext,
  trx: Db,
  items: AlertToCommit[],
  batch: {
    agents: AgentRow[];
    matches: Array<{ item: AlertToCommit; agent: AgentRow }>;
    runs: RunRow[];
    now: Date;
  },
): Promise<Map<number, ClaimedDelivery[]>> {
  const { agents, matches, now } = batch;
  const runs = [...batch.runs];
  const claimed = new Map<number, ClaimedDelivery[]>();
  const agentById = new Map(agents.map((a) => [a.id, a]));
  // A rate-limit retry of a redispatch only releases the deliveries its first run recorded as waiting.
  const again = matches.filter(
    ({ item, agent }) =>
      item.data.redispatch === true &&
      item.data.reason !== 'rate_limited' &&
      !runs.some((r) => r.alert_id === item.alert.id && r.agent_registration_id === agent.id),
  );
  if (again.length > 0) {
    const { rows } = await runsInsert(rowsOfRuns('redispatch', again, now), sql``).execute(trx);
    runs.push(...rows);
  }
  const releasing = items.filter(released).map((i) => i.alert.id);
  if (releasing.length > 0) {
    // An agent deactivated meanwhile is not delivered to: its delivery is cancelled, as its
    // `dispatch-agent` job cancels it (runAgentDelivery).
    const { rows } = await sql<RunRow>`
      UPDATE agent_runs AS r SET
        status = CASE WHEN a.is_active THEN 'delivering' ELSE 'cancelled' END,
        attempt_count = CASE WHEN a.is_active THEN 1 ELSE r.attempt_count END,
        started_at = CASE WHEN a.is_active THEN ${now}::timestamptz END,
        next_attempt_at = CASE WHEN a.is_active
          THEN now() + make_interval(secs => a.timeout_seconds + ${LEASE_MARGIN_SECONDS}) END,
        error = CASE WHEN a.is_active THEN r.error ELSE ${INACTIVE} END,
        completed_at = CASE WHEN a.is_active THEN NULL ELSE ${now}::timestamptz END,
        updated_at = ${now}
      FROM agent_registrations a
      WHERE a.id = r.agent_registration_id AND r.alert_id = ANY(${releasing}::bigint[]) AND r.status = 'waiting'
      RETURNING r.id, r.uuid, r.idempotency_key, r.trigger, r.alert_id, r.agent_registration_id, r.status`.execute(trx);
    const cancelled = rows.filter((row) => row.status === 'cancelled');
    if (cancelled.length > 0) {
      const inactive = await trx
        .selectFrom('agent_registrations')
        .selectAll()
        .where('id', '=', sql<number>`ANY(${[...new Set(cancelled.map((r) => r.agent_registration_id))]}::bigint[])`)
        .execute();
      const byId = new Map(inactive.map((a) => [a.id, a]));
      await insertActivityRows(
        trx,
        cancelled.map((run) =>
          finishedActivity(ctx, byId.get(run.agent_registration_id) as AgentRow, run, 'cancelled', {
            status_code: null,
            attempt_count: 0,
            error: INACTIVE,
          }),
        ),
      );
    }
    for (const row of rows) {
      // Active, but not in this process's cache yet (activated a moment ago).
      if (row.status === 'delivering' && !agentById.has(row.agent_registration_id)) {
        const agent = await trx
          .selectFrom('agent_registrations')
          .selectAll()
          .where('id', '=', row.agent_registration_id)
          .executeTakeFirstOrThrow();
        agentById.set(agent.id, agent);
      }
    }
    runs.push(...rows);
  }
  for (const run of runs) {
    if (run.status !== 'delivering') continue;
    const list = claimed.get(run.alert_id) ?? [];
    list.push({ ...run, agent: agentById.get(run.agent_registration_id) as AgentRow });
    claimed.set(run.alert_id, list);
  }
  return claimed;
}

/** The active agents, oldest first (kept in process until an agent changes). */
export function activeAgents(ctx: ServiceContext): Promise<AgentRow[]> {
  return tableCacheOf(ctx.notifications).get('agent_registrations', 'active', () =>
    ctx.db
      .selectFrom('agent_registrations')
      .selectAll()
      .where('is_active', '=', true)
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .execute(),
  );
}

/**
 * The payload's indicators of each alert with deliveries, from memory plus the history of their
 * values (read by storeAlerts as this transaction sees it, so it includes this alert): one row per
 * value, whatever the number of alerts carrying it.
 */
function payloadIndicators(
  items: AlertToCommit[],
  deliveries: Map<number, ClaimedDelivery[]>,
  ids: Map<string, IndicatorRow>,
  newLinks: Map<string, number>,
  written: Map<number, WrittenIndicator>,
  history: Map<number, HistoryRow>,
): Map<number, PayloadSources['indicators']> {
  const result = new Map<number, PayloadSources['indicators']>();
  const wanted = items.filter((i) => deliveries.has(i.alert.id));
  for (const item of wanted) {
    const sourceFields = new Map((item.extraction?.indicators ?? []).map((e) => [keyOf(e), e.source_field]));
    const linked = item.updates.flatMap((u) => {
      const row = ids.get(keyOf(u)) as IndicatorRow;
      const stored = item.stored.get(keyOf(u)) as LinkedIndicator;
      const linkId = stored.link_id ?? newLinks.get(`${item.alert.id}:${row.id}`);
      if (linkId === undefined) return []; // linked by nobody: not the alert's
      const w = written.get(row.id);
      const h = history.get(row.id);
      return [
        {
          linkId,
          indicator: {
            uuid: row.uuid,
            type: u.type,
            value: u.value,
            malice: (w?.malice ?? (stored.malice_source === 'analyst' ? stored.malice : u.verdict)) as MaliceLevel,
            malice_source: w?.malice_source ?? stored.malice_source ?? 'enrichment',
            source_field: stored.source_field ?? sourceFields.get(keyOf(u)) ?? null,
            explanation: (w !== undefined
              ? w.malice_explanation
              : stored.malice_source === 'analyst'
                ? stored.malice_explanation
                : u.explanation) as VerdictExplanation | null,
            results: u.results as Record<string, EnrichmentProviderResult>,
            first_seen: h ? new Date(h.first).toISOString() : item.now.toISOString(),
            last_seen: h ? new Date(h.last).toISOString() : item.now.toISOString(),
            alert_count: h?.n ?? 1,
          },
        },
      ];
    });
    result.set(
      item.alert.id,
      linked.sort((a, b) => a.linkId - b.linkId).map((l) => l.indicator),
    );
  }
  return result;
}

/** Deliveries, claimed (a lease in seconds, by the database's clock) or waiting; the key is the uuid. */
function runsInsert(rows: ReadonlyArray<Record<string, unknown>>, onConflict: RawBuilder<unknown>) {
  return sql<RunRow>`
    INSERT INTO agent_runs (uuid, agent_registration_id, alert_id, idempotency_key, trigger, status, attempt_count,
      started_at, next_attempt_at)
    SELECT r.uuid, r.agent_registration_id, r.alert_id, r.uuid, r.trigger, r.status, r.attempt_count, r.started_at,
      now() + make_interval(secs => r.lease)
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(uuid uuid, agent_registration_id bigint,
      alert_id bigint, trigger text, status text, attempt_count int, started_at timestamptz, lease float8)
    ${onConflict}
    RETURNING id, uuid, idempotency_key, trigger, alert_id, agent_registration_id, status`;
}

/**
 * `POST /v1/incidents/correlation/dry-run`: replay the alerts of a time range through the correlation
 * engine (the stored rules, or rules to try) and say what would group. Reads only; writes nothing.
 * Existing incidents are ignored: the replay starts from nothing, so it shows what the rules do.
 */
import {
  type AlertSeverity,
  type CorrelationDryRunRequest,
  CorrelationDryRunRequestSchema,
  type CorrelationDryRunResult,
  SEVERITY_WEIGHT,
} from '@calseta/schema';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../infra/context.js';
import { iso } from '../infra/serialize.js';
import { configWith } from './config.js';
import { loadCorrelationAlerts } from './correlate.js';
import { Correlator, type Member } from './engine.js';

/** Groups listed at most (largest first); members per group at most. */
const MAX_GROUPS = 200;
const MAX_GROUP_ALERTS = 100;

/** Sorted times per key, to count a key's alerts within a window by two binary searches. */
class KeyTimes {
  private readonly times = new Map<string, number[]>();

  add(key: string, at: number) {
    const list = this.times.get(key) ?? [];
    list.push(at);
    this.times.set(key, list);
  }

  seal() {
    for (const list of this.times.values()) list.sort((a, b) => a - b);
  }

  countNear(key: string, at: number, windowMs: number): number {
    const list = this.times.get(key) ?? [];
    return lowerBound(list, at + windowMs + 1) - lowerBound(list, at - windowMs);
  }
}

function lowerBound(list: number[], value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((list[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export async function dryRunCorrelation(
  ctx: ServiceContext,
  input: CorrelationDryRunRequest,
): Promise<CorrelationDryRunResult> {
  authorize(ctx, 'incidents:read');
  const request = CorrelationDryRunRequestSchema.parse(input);
  const config = await configWith(ctx.db, request.config);
  const windowMs = config.window_minutes * 60_000;
  const loaded = await loadCorrelationAlerts(
    ctx.db,
    { from: new Date(request.from_time), to: new Date(request.to_time), limit: request.max_alerts + 1 },
    config,
  );
  const truncated = loaded.length > request.max_alerts;
  const alerts = loaded.slice(0, request.max_alerts);
  // Prevalence over the whole replayed range (what a live run sees once a burst has been ingested).
  const times = new KeyTimes();
  for (const a of alerts) for (const k of a.keys) times.add(k.key, a.occurredAt);
  times.seal();
  const engine = new Correlator(config, (key, alert) => times.countNear(key.key, alert.occurredAt, windowMs));

  const groups = new Map<string, { members: Member[]; title: string; worst: AlertSeverity }>();
  const severityOf = new Map(alerts.map((a) => [a.id, a.severity as AlertSeverity]));
  for (const alert of alerts) {
    const placement = engine.place(alert);
    if (!placement) continue;
    const group = groups.get(placement.incident.ref) ?? { members: [], title: placement.title, worst: 'Pending' };
    for (const m of placement.members) {
      group.members.push(m);
      const severity = severityOf.get(m.alert.id) ?? 'Pending';
      if (SEVERITY_WEIGHT[severity] > SEVERITY_WEIGHT[group.worst]) group.worst = severity;
    }
    groups.set(placement.incident.ref, group);
  }
  const grouped = [...groups.values()].sort((a, b) => b.members.length - a.members.length);
  const groupedCount = grouped.reduce((n, g) => n + g.members.length, 0);
  return {
    config,
    alerts_considered: alerts.length,
    truncated,
    groups: grouped.slice(0, MAX_GROUPS).map((g) => ({
      title: g.title,
      severity: g.worst,
      alert_count: g.members.length,
      alerts: g.members.slice(0, MAX_GROUP_ALERTS).map((m) => ({
        uuid: m.alert.uuid,
        title: m.alert.title,
        occurred_at: iso(new Date(m.alert.occurredAt)),
        reason: m.reason,
      })),
    })),
    ungrouped_count: alerts.length - groupedCount,
  };
}

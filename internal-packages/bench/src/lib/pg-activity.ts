/** pg_stat_activity sampling: what one application's Postgres connections spend their time on. */
import type { Pool } from './stack.js';
import { fmt } from './stats.js';

export interface ActivitySummary {
  samples: number;
  /** Average number of connections per `state wait_event_type:wait_event`, most frequent first. */
  connections: Record<string, number>;
}

/**
 * Samples pg_stat_activity for one application's connections every 100 ms while the load runs: what
 * its backends were doing (running, waiting on I/O or a lock, idle in a transaction waiting for the
 * client, idle). A measurement aid, not a result: it shows where the time goes.
 */
export function activitySampler(pool: Pool, applicationName: string) {
  const counts = new Map<string, number>();
  let samples = 0;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    pool
      .query<{ what: string; n: number }>(
        `SELECT state || coalesce(' ' || wait_event_type || ':' || wait_event, '') AS what, count(*)::int AS n
           FROM pg_stat_activity WHERE application_name = $1 GROUP BY 1`,
        [applicationName],
      )
      .then(({ rows }) => {
        samples++;
        for (const row of rows) counts.set(row.what, (counts.get(row.what) ?? 0) + row.n);
      })
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, 100);
  return {
    /** Average number of connections per state/wait over the samples, most frequent first. */
    stop(): ActivitySummary {
      clearInterval(timer);
      const connections: Record<string, number> = {};
      for (const [what, n] of [...counts].sort((a, b) => b[1] - a[1])) connections[what] = n / Math.max(1, samples);
      return { samples, connections };
    },
  };
}

export function describeActivity(activity: { connections: Record<string, number> }): string {
  const parts = Object.entries(activity.connections)
    .filter(([, n]) => n >= 0.05)
    .slice(0, 6)
    .map(([what, n]) => `${fmt(n, 1)} ${what}`);
  return parts.length ? parts.join(', ') : 'n/a';
}

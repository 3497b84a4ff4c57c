/**
 * Prometheus metrics (issue 22): one registry per process, served by each app's /metrics listener.
 *
 * Labels are bounded by configuration, never by traffic: source names, provider names, agent names,
 * job kinds, routes (patterns), outcomes and reason codes. No alert id, indicator value or raw path
 * is ever a label (a scrape test ingests distinct values and checks none appears).
 * Names follow Prometheus conventions: `calseta_` prefix, base units (`_seconds`), counters `_total`.
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export const metricsRegistry = new Registry();

let processService: string | undefined;

/**
 * Node's process and runtime metrics, and a `service` label on every series of this process.
 * Once per process: a second call (another core in the same process, a test) changes nothing.
 */
export function collectProcessMetrics(service: 'api' | 'worker' | 'mcp'): void {
  if (processService) return;
  processService = service;
  metricsRegistry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: metricsRegistry });
}

/** The exposition text of every metric of this process, with its content type. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: metricsRegistry.contentType, body: await metricsRegistry.metrics() };
}

const registers = [metricsRegistry];

/** What the registry reads from a metric at scrape time (prom-client's metric object contract). */
interface Exported {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: Array<{ labels: Record<string, string>; value: number; metricName?: string }>;
}

/**
 * Counters and histograms for hot paths (a few per alert, per provider call). prom-client's own
 * hash their label values on every update (about 0.5–1 µs each); here a child is made once per
 * label combination and an update is a number added to a field. The registry reads them at scrape
 * time like any prom-client metric (its `get()` contract), so the exposition format is prom-client's.
 */
abstract class Light<Child> {
  private readonly made = new Map<string, { labels: Record<string, string>; child: Child }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
  ) {
    if (labelNames.length > 3) throw new Error(`${name}: at most three labels`);
    metricsRegistry.registerMetric(this as never);
  }

  protected abstract make(): Child;
  protected abstract export(labels: Record<string, string>, child: Child): Exported['values'];
  abstract readonly type: Exported['type'];

  /** The child for these label values (in `labelNames` order, at most three), made on first use. */
  labels(a = '', b = '', c = ''): Child {
    const key = `${a}\u0000${b}\u0000${c}`;
    let entry = this.made.get(key);
    if (entry === undefined) {
      const values = [a, b, c];
      const labels = Object.fromEntries(this.labelNames.map((name, i) => [name, values[i] as string]));
      entry = { labels, child: this.make() };
      this.made.set(key, entry);
    }
    return entry.child;
  }

  async get(): Promise<Exported> {
    const values = [...this.made.values()].flatMap(({ labels, child }) => this.export(labels, child));
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum', values };
  }
}

class LightCounter extends Light<{ value: number; inc(by?: number): void }> {
  readonly type = 'counter';
  protected make() {
    return {
      value: 0,
      inc(by = 1) {
        this.value += by;
      },
    };
  }
  protected export(labels: Record<string, string>, child: { value: number }) {
    return [{ labels, value: child.value }];
  }
}

interface HistogramChild {
  counts: Float64Array;
  sum: number;
  observe(value: number): void;
}

class LightHistogram extends Light<HistogramChild> {
  readonly type = 'histogram';
  private readonly le: string[];
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
    this.le = [...buckets.map(String), '+Inf'];
  }
  protected make(): HistogramChild {
    const { buckets } = this;
    return {
      counts: new Float64Array(buckets.length + 1),
      sum: 0,
      observe(value) {
        let i = 0;
        while (i < buckets.length && value > (buckets[i] as number)) i++;
        (this.counts[i] as number) += 1;
        this.sum += value;
      },
    };
  }
  protected export(labels: Record<string, string>, child: HistogramChild) {
    const values: Exported['values'] = [];
    let cumulative = 0;
    for (const [i, le] of this.le.entries()) {
      cumulative += child.counts[i] as number;
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: cumulative });
    }
    values.push({ metricName: `${this.name}_sum`, labels, value: child.sum });
    values.push({ metricName: `${this.name}_count`, labels, value: cumulative });
    return values;
  }
}

/** Latencies from milliseconds to minutes (HTTP, provider calls). */
const CALL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Pipeline hops: seconds to tens of minutes (rate-limited providers, agent retries). */
const PIPELINE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
/** The rate governor's decision: one in-memory check or one row-locked statement. */
const GOVERNOR_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

// ---- ingest ------------------------------------------------------------------------------------

const ingestAlerts = new LightCounter(
  'calseta_ingest_alerts_total',
  'Alerts offered to ingest, by source and outcome (accepted, duplicate, refused) and reason (duplicate: deduplicated/escalated; refused: the error code).',
  ['source', 'outcome', 'reason'],
);

/** Source of an alert that named no registered source (the name is the caller's: never a label). */
export const UNKNOWN_SOURCE = 'unknown';

export function countIngest(source: string, outcome: 'accepted' | 'duplicate' | 'refused', reason = ''): void {
  ingestAlerts.labels(source, outcome, reason).inc();
}

const httpDuration = new LightHistogram(
  'calseta_http_request_duration_seconds',
  'HTTP request latency by method, route pattern (never the raw path) and status code.',
  ['method', 'route', 'status'],
  CALL_BUCKETS,
);

export function observeHttpRequest(method: string, route: string, status: number, seconds: number): void {
  httpDuration.labels(method, route, String(status)).observe(seconds);
}

// ---- pipeline ----------------------------------------------------------------------------------

const ingestToEnriched = new LightHistogram(
  'calseta_alert_ingest_to_enriched_seconds',
  'Time from an alert being ingested to its first settled enrichment.',
  [],
  PIPELINE_BUCKETS,
);
const enrichedToDelivered = new LightHistogram(
  'calseta_alert_enriched_to_delivered_seconds',
  "Time from an alert's enrichment to its automatic delivery to an agent (2xx).",
  [],
  PIPELINE_BUCKETS,
);
const alertEnrichments = new LightCounter(
  'calseta_alert_enrichments_total',
  "Completed enrichments of alerts, by the alert's resulting enrichment status.",
  ['status'],
);

export function observeAlertEnriched(status: string, sinceIngestSeconds: number | null): void {
  alertEnrichments.labels(status).inc();
  if (sinceIngestSeconds !== null) ingestToEnriched.labels().observe(sinceIngestSeconds);
}

export function observeAlertDelivered(sinceEnrichedSeconds: number): void {
  enrichedToDelivered.labels().observe(sinceEnrichedSeconds);
}

// ---- providers ---------------------------------------------------------------------------------

/** What became of one provider call this process made (a cache hit or a shared call is no call). */
export type ProviderCallOutcome = 'answered' | 'not_found' | 'failed' | 'timed_out' | 'rate_limited' | 'throttled';

const providerCalls = new LightCounter(
  'calseta_provider_calls_total',
  'Live provider calls by provider and outcome: answered, not_found, failed (failure_reason), timed_out, rate_limited (the provider answered 429), throttled (our rate governor held the call back: nothing sent).',
  ['provider', 'outcome', 'failure_reason'],
);
const providerDuration = new LightHistogram(
  'calseta_provider_call_duration_seconds',
  "A provider call's HTTP steps, by provider (calls that sent requests).",
  ['provider'],
  CALL_BUCKETS,
);
const providerLookups = new LightCounter(
  'calseta_provider_cache_lookups_total',
  'Provider answers needed, by how they were found: hit (cache), miss (a live call by this process), coalesced (the answer of a call already in flight, here or in another process).',
  ['provider', 'result'],
);
const governorWait = new LightHistogram(
  'calseta_provider_governor_wait_seconds',
  "Time spent waiting for the rate governor's decision before a provider call (the shared row lock of limited providers).",
  ['provider'],
  GOVERNOR_BUCKETS,
);

export function countProviderCall(
  provider: string,
  outcome: ProviderCallOutcome,
  failureReason: string,
  seconds: number | null,
): void {
  providerCalls.labels(provider, outcome, failureReason).inc();
  if (seconds !== null) providerDuration.labels(provider).observe(seconds);
}

export function countProviderLookup(provider: string, result: 'hit' | 'miss' | 'coalesced'): void {
  providerLookups.labels(provider, result).inc();
}

export function observeGovernorWait(provider: string, seconds: number): void {
  governorWait.labels(provider).observe(seconds);
}

// ---- queue -------------------------------------------------------------------------------------

const queueRetries = new LightCounter(
  'calseta_queue_retries_total',
  'Jobs taken again after a failed, expired or orphaned attempt, by job kind.',
  ['kind'],
);
const queueExpirations = new LightCounter(
  'calseta_queue_expirations_total',
  'Attempts that ended by expiry (active past their expiry, or their process died), by job kind; counted when the job is taken again or swept, so an expired job with no retry left is not counted.',
  ['kind'],
);
const queueJobs = new LightCounter(
  'calseta_queue_jobs_total',
  'Job attempts this process ran, by job kind and outcome (completed, failed).',
  ['kind', 'outcome'],
);

export function countJobRetry(kind: string): void {
  queueRetries.labels(kind).inc();
}
export function countJobExpiry(kind: string, n = 1): void {
  queueExpirations.labels(kind).inc(n);
}
export function countJob(kind: string, outcome: 'completed' | 'failed'): void {
  queueJobs.labels(kind, outcome).inc();
}

/** Waiting jobs of one kind, as the queue reports them at scrape time. */
export interface QueueStat {
  kind: string;
  /** Jobs not yet taken (due or scheduled later). */
  depth: number;
  /** Seconds the oldest due job has waited to be taken (0 when none is due). */
  oldestAgeSeconds: number;
}

/**
 * Values read from the database at scrape time: cached for a few seconds (several scrapers, or
 * one scraping often, cost one query), shared by every series that reads them, and from the
 * latest source attached in this process (a process has one core; tests may build several).
 */
const SCRAPE_TTL_MS = 5_000;

function scraped<T>(empty: T) {
  let source: (() => Promise<T>) | undefined;
  let cached: { at: number; value: Promise<T> } | undefined;
  return {
    attach(read: () => Promise<T>): () => void {
      source = read;
      cached = undefined;
      return () => {
        if (source === read) source = undefined;
        cached = undefined;
      };
    },
    read(): Promise<T> {
      if (source === undefined) return Promise.resolve(empty);
      const now = Date.now();
      if (cached === undefined || now - cached.at > SCRAPE_TTL_MS) {
        // A failed read (the database away) shows nothing rather than failing the whole scrape.
        cached = { at: now, value: source().catch(() => empty) };
      }
      return cached.value;
    },
  };
}

const queueStats = scraped<QueueStat[]>([]);

new Gauge({
  name: 'calseta_queue_depth',
  help: 'Jobs waiting to be taken (due now or scheduled), by job kind. The queue is shared: every process reports the same value.',
  labelNames: ['kind'] as const,
  registers,
  async collect() {
    this.reset();
    for (const stat of await queueStats.read()) this.labels(stat.kind).set(stat.depth);
  },
});
new Gauge({
  name: 'calseta_queue_oldest_job_age_seconds',
  help: 'How long the oldest due job of each kind has waited to be taken (0: none waiting).',
  labelNames: ['kind'] as const,
  registers,
  async collect() {
    this.reset();
    for (const stat of await queueStats.read()) this.labels(stat.kind).set(stat.oldestAgeSeconds);
  },
});

/** Report the queue's waiting jobs through `read` (called at most every few seconds). Returns a detach. */
export function observeQueue(read: () => Promise<QueueStat[]>): () => void {
  return queueStats.attach(read);
}

// ---- deliveries, workflows, approvals ----------------------------------------------------------

const deliveryAttempts = new LightCounter(
  'calseta_delivery_attempts_total',
  'Agent delivery attempts by agent name and outcome: delivered, retrying (a retry is scheduled), failed (the last attempt), cancelled (the agent was deactivated).',
  ['agent', 'outcome'],
);
const deliveryDuration = new LightHistogram(
  'calseta_delivery_attempt_duration_seconds',
  "An agent delivery attempt's HTTP request, by agent name.",
  ['agent'],
  CALL_BUCKETS,
);

export function countDeliveryAttempt(
  agent: string,
  outcome: 'delivered' | 'retrying' | 'failed' | 'cancelled',
  seconds: number | null,
): void {
  deliveryAttempts.labels(agent, outcome).inc();
  if (seconds !== null) deliveryDuration.labels(agent).observe(seconds);
}

const workflowRuns = new LightCounter(
  'calseta_workflow_runs_total',
  'Workflow runs by kind (code, http) and outcome (the run status).',
  ['kind', 'outcome'],
);
const workflowDuration = new LightHistogram(
  'calseta_workflow_run_duration_seconds',
  'Workflow run time by kind: code runs in the sandbox, http runs call their endpoint.',
  ['kind'],
  [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
);

export function countWorkflowRun(kind: string, outcome: string, seconds: number): void {
  workflowRuns.labels(kind, outcome).inc();
  workflowDuration.labels(kind).observe(seconds);
}

const pendingApprovals = scraped<number | null>(null);

new Gauge({
  name: 'calseta_approvals_pending',
  help: 'Workflow approval requests waiting for a decision.',
  registers,
  async collect() {
    const pending = await pendingApprovals.read();
    if (pending !== null) this.set(pending);
  },
});

/** Report the pending approval requests through `read` (called at most every few seconds). */
export function observePendingApprovals(read: () => Promise<number>): () => void {
  return pendingApprovals.attach(read);
}

// ---- database pool -----------------------------------------------------------------------------

/** What a pg Pool says about itself (the fields prom-client reads at scrape time). */
export interface PoolLike {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  on(event: 'connect', listener: (client: { on(event: 'error', listener: () => void): unknown }) => void): unknown;
}

const pools = new Set<PoolLike>();
const sum = (pick: (pool: PoolLike) => number) => [...pools].reduce((total, pool) => total + pick(pool), 0);

new Gauge({
  name: 'calseta_db_pool_connections',
  help: "Connections of this process's database pool, by state (in_use, idle).",
  labelNames: ['state'] as const,
  registers,
  collect() {
    this.labels('in_use').set(sum((p) => p.totalCount - p.idleCount));
    this.labels('idle').set(sum((p) => p.idleCount));
  },
});
new Gauge({
  name: 'calseta_db_pool_waiting_requests',
  help: 'Queries waiting for a free connection of the pool.',
  registers,
  collect() {
    this.set(sum((p) => p.waitingCount));
  },
});
const poolErrors = new LightCounter(
  'calseta_db_pool_errors_total',
  'Errors of pooled database connections (a connection lost while idle or lent out).',
  [],
);

/**
 * Report a database pool (its connections, waiters and errors): call it before the pool's first
 * connection. Errors are counted on each client (idle or lent out: pg-pool re-emits an idle
 * client's error on the pool, so counting both would count it twice). Returns a detach.
 */
export function observeDbPool(pool: PoolLike): () => void {
  if (!pools.has(pool)) {
    pools.add(pool);
    pool.on('connect', (client) =>
      client.on('error', () => {
        if (pools.has(pool)) poolErrors.labels().inc();
      }),
    );
  }
  return () => pools.delete(pool);
}

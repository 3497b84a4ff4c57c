import { EventEmitter } from 'node:events';
import { type Database, isDatabaseUnavailable } from '@calseta/db';
import { CompiledQuery, type Kysely } from 'kysely';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { GroupCommit } from '../group-commit.js';
import { livenessHeldSql } from '../liveness.js';
import type { Logger } from '../logger.js';
import { Notifications } from '../notifications.js';
import { countJob, countJobExpiry, countJobRetry, observeQueue, type QueueStat } from '../telemetry/metrics.js';
import { continueTrace, traceCarrier } from '../telemetry/tracing.js';
import { JOB_NAMES, JOBS, type JobName, type JobPayload } from './catalogue.js';
import { PGBOSS_SCHEMA_VERSION, QUEUE_SCHEMA, WAKE_CHANNEL } from './rows.js';

/** Advisory-lock key serializing queue creation across processes ("calseta" queues). */
const QUEUE_SETUP_LOCK = 7_301_001;

const SCHEMA = QUEUE_SCHEMA;
/** Fallback poll for jobs no insert announces (retries becoming due, missed notifications). */
const IDLE_POLL_MS = 2_000;
/**
 * How often a working process looks for active jobs whose process is gone (and once at start). A
 * job's owner must be seen gone on two sweeps in a row before its job is failed for a retry, so a
 * live process whose connection was only cut (a database restart) is not mistaken for a dead one.
 */
const ORPHAN_SWEEP_MS = 5_000;
/** pg-boss's `output` of a job it failed for staying active past its expiry (plans.js, failJobsByTimeout). */
const EXPIRED_MESSAGE = 'job failed by timeout in active state';
/** What a job's `output` says while it is active: the liveness id of the process running it. */
const OWNER_FIELD = 'calseta_owner';

export interface QueueOptions {
  url: string;
  logger: Logger;
  /** The worker supervises (expiry, retries, archiving); API processes only send. */
  supervise?: boolean;
  maxConnections?: number;
  /**
   * Expiry of every queue's jobs, in seconds, instead of the catalogue's (`JOB_EXPIRE_SECONDS`): how
   * long a job held by a process that died stays active before it is retried. Supervision then runs
   * at least that often.
   */
  expireInSeconds?: number;
}

export interface Job<N extends JobName> {
  id: string;
  name: N;
  data: JobPayload<N>;
}

/** What `JobQueue.events` emits after each job this process ran: `completed` or `failed`. */
export interface JobOutcome {
  name: JobName;
  id: string;
  data: unknown;
  error?: string;
}

export interface WorkOptions<N extends JobName> {
  /** How many jobs of this queue run at once in this process. */
  concurrency: number;
  handler: (job: Job<N>) => Promise<void>;
}

interface Completion {
  name: JobName;
  id: string;
}

/**
 * The job queue: pg-boss for storage, retries and expiry, with our own fetch loop so a worker takes
 * new work the moment it is committed (LISTEN/NOTIFY) instead of after a poll interval.
 */
export class JobQueue {
  readonly boss: PgBoss;
  private readonly logger: Logger;
  private readonly wake = new EventEmitter();
  /** `completed` / `failed` with a JobOutcome, for observers (tests, metrics) in this process. */
  readonly events = new EventEmitter();
  /** This process's LISTEN connection, shared with core's caches. */
  readonly notifications: Notifications;
  private listening = false;
  private stopping = false;
  private readonly pendingAnnounce = new Set<JobName>();
  private announceTimer: NodeJS.Immediate | undefined;
  private readonly loops: Promise<void>[] = [];
  /** Queues whose fetch loop runs in this process (readiness: a worker is consuming). */
  private readonly consumingQueues = new Set<JobName>();
  private readonly expireInSeconds: number | undefined;
  private readonly url: string;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Owners (liveness ids) seen gone by the previous sweep. */
  private goneBefore = new Set<string>();
  /** Stops reporting this queue's waiting jobs to /metrics. */
  private unobserve: () => void = () => {};
  /** Jobs finished while an earlier completion was being written are completed together, in one statement. */
  private readonly completions: GroupCommit<Completion, void>;

  constructor(options: QueueOptions) {
    this.logger = options.logger;
    this.url = options.url;
    this.expireInSeconds = options.expireInSeconds;
    this.notifications = new Notifications(options.url, options.logger);
    this.wake.setMaxListeners(0);
    this.events.setMaxListeners(0);
    this.boss = new PgBoss({
      connectionString: options.url,
      schema: SCHEMA,
      max: options.maxConnections ?? 4,
      supervise: options.supervise ?? false,
      schedule: options.supervise ?? false,
      maintenanceIntervalSeconds: Math.max(1, Math.min(30, Math.floor((options.expireInSeconds ?? 60) / 2))),
      monitorStateIntervalSeconds: 60,
    });
    this.boss.on('error', (error) => {
      if (this.stoppingWithoutDatabase(error)) {
        this.logger.debug({ err: error }, 'the database ended a queue connection while the queue stopped');
      } else this.logger.error({ err: error }, 'queue error');
    });
    this.completions = new GroupCommit<Completion, void>({
      commit: async (items) => {
        for (const name of new Set(items.map((i) => i.name))) {
          const ids = items.filter((i) => i.name === name).map((i) => i.id);
          await this.boss.complete(name, ids);
        }
        return items.map(() => undefined);
      },
      keyOf: (item) => item.id,
      overloaded: () => new Error('unreachable: completions are never refused'),
      logger: this.logger,
      batchFailed: 'job completion batch failed; completing jobs one by one',
      maxBatch: 200,
      maxWaiting: Number.POSITIVE_INFINITY,
    });
  }

  /** Install/upgrade the pg-boss schema and create our queues. */
  async start(): Promise<void> {
    // pg-boss's own start creates queues too (a supervising process's cron queue): under the same lock.
    await this.withQueueLock(async () => {
      await this.boss.start();
      const { rows } = await this.boss.getDb().executeSql(`SELECT version FROM ${SCHEMA}.version`, []);
      const version = (rows[0] as { version: number } | undefined)?.version;
      if (version !== PGBOSS_SCHEMA_VERSION) {
        throw new Error(
          `pg-boss schema version ${version} is not ${PGBOSS_SCHEMA_VERSION}, the version ingest writes job rows for ` +
            '(packages/core/src/infra/jobs/rows.ts). Update that SQL with the pg-boss upgrade.',
        );
      }
      for (const name of JOB_NAMES) {
        const { retryLimit, retryDelay, retryBackoff } = JOBS[name];
        const expireInSeconds = this.expireInSeconds ?? JOBS[name].expireInSeconds;
        const options = { name, retryLimit, retryDelay, retryBackoff, expireInSeconds };
        if (await this.boss.getQueue(name)) await this.boss.updateQueue(name, options);
        else await this.boss.createQueue(name, options);
      }
    });
    // Early builds woke workers from a trigger; NOTIFY inside the ingest transaction serializes
    // commits (Postgres holds its notify lock through the WAL flush), so it is gone.
    await this.boss.getDb().executeSql(`DROP TRIGGER IF EXISTS calseta_notify_job ON ${SCHEMA}.job`, []);
    this.unobserve = observeQueue(() => this.waiting());
  }

  /**
   * Run `work` holding a session advisory lock on a connection of its own: processes starting
   * together on a fresh database would otherwise create the same queues at once, and pg-boss's
   * `create_queue` (partition DDL) deadlocks between them.
   */
  private async withQueueLock(work: () => Promise<void>): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [QUEUE_SETUP_LOCK]);
      await work();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [QUEUE_SETUP_LOCK]).catch(() => undefined);
      await client.end();
    }
  }

  /**
   * Enqueue a job. Pass the caller's transaction as `db` and the job commits or rolls back with it:
   * that is how a 202 means "durable and will be processed". Call `announce(name)` once the
   * transaction has committed so workers start at once; without `db` the job is announced here.
   */
  async send<N extends JobName>(
    name: N,
    data: JobPayload<N>,
    options: { db?: Kysely<Database>; startAfterSeconds?: number } = {},
  ): Promise<string> {
    // The sender's trace context rides in the job (beside the parsed payload): the worker continues it.
    const payload = { ...JOBS[name].payload.parse(data), ...traceCarrier() };
    const executor = options.db;
    const id = await this.boss.send(name, payload, {
      ...(executor ? { db: this.executorFor(executor) } : {}),
      ...(options.startAfterSeconds === undefined ? {} : { startAfter: options.startAfterSeconds }),
    });
    if (id === null) throw new Error(`Job ${name} was not created`);
    if (!executor) this.announce(name);
    return id;
  }

  /** Enqueue many jobs of one queue in one statement (same transaction rules as `send`). */
  async sendMany<N extends JobName>(
    name: N,
    data: Array<JobPayload<N> & { startAfterSeconds?: number }>,
    options: { db?: Kysely<Database> } = {},
  ): Promise<void> {
    if (data.length === 0) return;
    const carrier = traceCarrier();
    const jobs = data.map(({ startAfterSeconds, ...d }) => ({
      name,
      data: { ...JOBS[name].payload.parse(d), ...carrier },
      ...(startAfterSeconds === undefined ? {} : { startAfter: new Date(Date.now() + startAfterSeconds * 1000) }),
    }));
    const executor = options.db;
    await this.boss.insert(jobs, executor ? { db: this.executorFor(executor) } : {});
    if (!executor) this.announce(name);
  }

  /**
   * Wake the workers of `name` in every process (NOTIFY after commit). Coalesced: a burst of
   * announcements costs one statement. Best effort — a lost one only delays work to the next poll.
   */
  announce(name: JobName): void {
    this.pendingAnnounce.add(name);
    // Coalesced per turn of the event loop: the commits that end together, not a waiting window
    // (every alert's ingest → delivered time paid it).
    this.announceTimer ??= setImmediate(() => {
      this.announceTimer = undefined;
      const names = [...this.pendingAnnounce];
      this.pendingAnnounce.clear();
      const db = this.boss.getDb();
      for (const queue of names) {
        db.executeSql(`SELECT pg_notify('${WAKE_CHANNEL}', $1)`, [queue]).catch((error: unknown) =>
          this.logger.warn({ err: error, queue }, 'job announcement failed; workers will poll'),
        );
      }
    });
  }

  /** pg-boss statements run on the caller's Kysely transaction. */
  private executorFor(db: Kysely<Database>) {
    return {
      executeSql: async (text: string, values: unknown[]) => {
        const result = await db.executeQuery(CompiledQuery.raw(text, values));
        return { rows: result.rows as never[] };
      },
    };
  }

  /** Run a queue's jobs in this process until `stop()`. */
  async work<N extends JobName>(name: N, options: WorkOptions<N>): Promise<void> {
    // Listening first: our liveness lock is held before any job is marked as ours.
    await this.listen();
    this.startSweeping();
    this.loops.push(this.loop(name, options));
  }

  /**
   * Jobs held by a process that died are retried now instead of after their expiry (minutes): every
   * working process sweeps at start and every ORPHAN_SWEEP_MS (system/liveness.ts).
   */
  private startSweeping(): void {
    if (this.sweepTimer !== undefined || this.stopping) return;
    const sweep = () => {
      this.sweepOrphans()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'orphaned job sweep failed'))
        .finally(() => {
          if (!this.stopping) this.sweepTimer = setTimeout(sweep, ORPHAN_SWEEP_MS).unref();
        });
    };
    this.sweepTimer = setTimeout(sweep, 0).unref();
  }

  /** Fail (for a retry, as an expiry would) the active jobs whose owner was gone on this sweep and the last. */
  async sweepOrphans(): Promise<number> {
    const db = this.boss.getDb();
    const { rows } = await db.executeSql(
      `SELECT j.name, j.id, j.output->>'${OWNER_FIELD}' AS owner FROM ${SCHEMA}.job j
       WHERE j.state = 'active' AND j.name = ANY($1::text[]) AND j.output ? '${OWNER_FIELD}'
         AND NOT ${livenessHeldSql(`j.output->>'${OWNER_FIELD}'`)}`,
      [JOB_NAMES],
    );
    const gone = rows as Array<{ name: JobName; id: string; owner: string }>;
    const orphans = gone.filter((r) => this.goneBefore.has(r.owner));
    this.goneBefore = new Set(gone.map((r) => r.owner));
    for (const name of new Set(orphans.map((o) => o.name))) {
      const ids = orphans.filter((o) => o.name === name).map((o) => o.id);
      for (const id of ids) await this.boss.fail(name, id, { message: 'its process died; retried' });
      countJobExpiry(name, ids.length);
      this.logger.warn({ queue: name, jobs: ids.length }, 'retrying jobs held by a process that died');
    }
    return orphans.length;
  }

  private async loop<N extends JobName>(name: N, { concurrency, handler }: WorkOptions<N>): Promise<void> {
    const running = new Set<Promise<void>>();
    this.consumingQueues.add(name);
    while (!this.stopping) {
      const free = concurrency - running.size;
      const jobs = free > 0 ? await this.fetch(name, free) : [];
      for (const job of jobs) {
        const task = this.run(name, job, handler).finally(() => running.delete(task));
        running.add(task);
      }
      if (jobs.length > 0 && jobs.length === free) continue;
      // Idle or full: wait for a slot to free up, a new job to be announced, or the fallback poll.
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.wake.off(name, done);
          this.wake.off('stop', done);
          resolve();
        };
        const timer = setTimeout(done, IDLE_POLL_MS);
        this.wake.once(name, done);
        this.wake.once('stop', done);
        for (const task of running) void task.then(done, done);
      });
    }
    // Draining from here on: no new job is taken, so this process no longer counts as consuming.
    this.consumingQueues.delete(name);
    await Promise.allSettled(running);
  }

  /**
   * pg-boss's fetch (its `fetchNextJob` for our standard-policy queues), plus the owner: the job's
   * `output` holds this process's liveness id while it is active (pg-boss overwrites it on
   * completion or failure), so a sweep elsewhere can tell when the process running it is gone.
   */
  private async fetch<N extends JobName>(name: N, batchSize: number): Promise<PgBoss.Job<unknown>[]> {
    try {
      const { rows } = await this.boss.getDb().executeSql(
        `WITH next AS (
           SELECT id, started_on IS NOT NULL AS retried, output->'value'->>'message' = '${EXPIRED_MESSAGE}' AS expired
           FROM ${SCHEMA}.job
           WHERE name = $1 AND state < 'active' AND start_after < now()
           ORDER BY priority DESC, created_on, id
           LIMIT $2
           FOR UPDATE SKIP LOCKED
         )
         UPDATE ${SCHEMA}.job j SET
           state = 'active',
           started_on = now(),
           retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END,
           output = jsonb_build_object('${OWNER_FIELD}', $3::text)
         FROM next
         WHERE j.name = $1 AND j.id = next.id
         RETURNING j.id, j.name, j.data, EXTRACT(epoch FROM j.expire_in) AS "expireInSeconds",
           next.retried, next.expired`,
        [name, batchSize, String(this.notifications.livenessId)],
      );
      const jobs = rows as Array<PgBoss.Job<unknown> & { retried: boolean; expired: boolean | null }>;
      for (const job of jobs) {
        if (job.retried) countJobRetry(name);
        if (job.expired) countJobExpiry(name);
      }
      return jobs;
    } catch (error) {
      this.logger.warn({ err: error, queue: name }, 'job fetch failed');
      return [];
    }
  }

  private async run<N extends JobName>(name: N, job: PgBoss.Job<unknown>, handler: WorkOptions<N>['handler']) {
    try {
      const data = JOBS[name].payload.parse(job.data) as JobPayload<N>;
      const attributes = {
        'messaging.system': 'pg-boss',
        'messaging.destination.name': name,
        'messaging.message.id': job.id,
      };
      await continueTrace(job.data, `job ${name}`, attributes, () => handler({ id: job.id, name, data }));
      await this.completions.submit({ name, id: job.id });
      countJob(name, 'completed');
      this.events.emit('completed', { name, id: job.id, data: job.data } satisfies JobOutcome);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (this.stoppingWithoutDatabase(error)) {
        this.logger.warn(
          { err: error, queue: name, job_id: job.id },
          'job not finished: the database went away while the queue stopped (it is retried)',
        );
      } else this.logger.error({ err: error, queue: name, job_id: job.id }, 'job failed');
      await this.boss.fail(name, job.id, { message }).catch((failError: unknown) => {
        if (this.stoppingWithoutDatabase(failError)) return; // retried once its lease expires
        this.logger.error({ err: failError }, 'could not record job failure');
      });
      countJob(name, 'failed');
      this.events.emit('failed', { name, id: job.id, data: job.data, error: message } satisfies JobOutcome);
    }
  }

  private async listen(): Promise<void> {
    if (this.listening) return;
    this.listening = true;
    await this.notifications.listen(WAKE_CHANNEL, (queue) => this.wake.emit(queue));
  }

  /** The queues this process takes jobs from right now (none before `work`, none once stopping). */
  consuming(): JobName[] {
    return this.stopping ? [] : [...this.consumingQueues];
  }

  /**
   * Waiting jobs per queue and how long the oldest due one has waited (scraped for /metrics; pg-boss's
   * partial index on waiting jobs answers it without reading finished ones).
   */
  async waiting(): Promise<QueueStat[]> {
    const { rows } = await this.boss.getDb().executeSql(
      `SELECT name AS kind, count(*)::int AS depth,
         coalesce(extract(epoch FROM now() - min(start_after) FILTER (WHERE start_after <= now())), 0)::float8
           AS "oldestAgeSeconds"
       FROM ${SCHEMA}.job WHERE state < 'active' AND name = ANY($1::text[]) GROUP BY name`,
      [JOB_NAMES],
    );
    const found = new Map((rows as QueueStat[]).map((row) => [row.kind, row]));
    return JOB_NAMES.map((kind) => found.get(kind) ?? { kind, depth: 0, oldestAgeSeconds: 0 });
  }

  /** Counts of jobs by state per queue, for health and metrics. */
  async depth(): Promise<number> {
    const db = this.boss.getDb();
    const { rows } = await db.executeSql(
      `SELECT count(*)::int AS n FROM ${SCHEMA}.job WHERE state IN ('created', 'retry')`,
      [],
    );
    return (rows[0] as { n: number } | undefined)?.n ?? 0;
  }

  /**
   * A lost connection while this process stops: expected when Postgres stops beside it (a Ctrl-C on
   * `pnpm start` reaches the embedded Postgres too). Nothing is lost: unfinished jobs are retried.
   */
  private stoppingWithoutDatabase(error: unknown): boolean {
    return this.stopping && isDatabaseUnavailable(error);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.unobserve();
    if (this.announceTimer !== undefined) clearImmediate(this.announceTimer);
    clearTimeout(this.sweepTimer);
    this.wake.emit('stop');
    await Promise.allSettled(this.loops);
    await this.notifications.stop();
    await this.boss.stop({ graceful: false, close: true, wait: true });
  }
}

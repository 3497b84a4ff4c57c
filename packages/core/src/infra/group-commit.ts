import type { Logger } from './logger.js';

/** What a group commit stores and how (ingest's alert statement is one: ingest/batcher.ts). */
export interface GroupCommitOptions<T, R> {
  /**
   * Store `items` (distinct keys, at most `maxBatch`) and answer each, in order. `requeue` stores an
   * item again, in a batch of its own started at once (past the overload check and the one-writer
   * limit: the caller's batch still holds the writer), and answers with its result.
   */
  commit(items: T[], requeue: (item: T) => Promise<R>): Promise<R[]>;
  /** Items with the same key never share a batch: a repeat waits for the next one. */
  keyOf(item: T): string;
  /** The error that refuses an item while `maxWaiting` items already wait (logged by the caller's choice). */
  overloaded(waiting: number): Error;
  /** Called after each batch commits, with its results (e.g. to wake the consumers of its jobs). */
  committed?(results: R[]): void;
  logger: Logger;
  /** The log line of a failed batch, before its items are retried one by one. */
  batchFailed: string;
  maxBatch: number;
  maxWaiting: number;
}

/** Batches being committed at once. One writer: batches form while it commits (docs/adr/0004). */
const MAX_IN_FLIGHT = 1;

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: items submitted while earlier batches are committing are stored together, in one
 * commit. Nothing waits on a timer — a lone item commits alone — and every caller is answered only
 * after its own batch has committed. One bad item must not fail the others: a failed batch is retried
 * item by item.
 */
export class GroupCommit<T, R> {
  private readonly queue: Array<Pending<T, R>> = [];
  private inFlight = 0;
  /** Items that may wait for a commit before `submit` refuses (settable for tests). */
  maxWaiting: number;

  constructor(private readonly options: GroupCommitOptions<T, R>) {
    this.maxWaiting = options.maxWaiting;
  }

  /** Items waiting for a commit (not counting the batch being committed). */
  get waiting(): number {
    return this.queue.length;
  }

  submit(item: T): Promise<R> {
    if (this.queue.length >= this.maxWaiting) return Promise.reject(this.options.overloaded(this.queue.length));
    return this.enqueue(item);
  }

  private enqueue(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
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

  /** Up to `maxBatch` waiting items with distinct keys (a repeat waits for the next batch). */
  private take(): Array<Pending<T, R>> {
    const batch: Array<Pending<T, R>> = [];
    const keys = new Set<string>();
    for (let i = 0; i < this.queue.length && batch.length < this.options.maxBatch; ) {
      const pending = this.queue[i] as Pending<T, R>;
      const key = this.options.keyOf(pending.item);
      if (keys.has(key)) {
        i++;
        continue;
      }
      keys.add(key);
      batch.push(pending);
      this.queue.splice(i, 1);
    }
    return batch;
  }

  private async run(batch: Array<Pending<T, R>>): Promise<void> {
    try {
      const results = await this.options.commit(
        batch.map((p) => p.item),
        // Not through the queue: a batch awaiting its own requeued item there would wait on itself.
        (item) => new Promise<R>((resolve, reject) => void this.run([{ item, resolve, reject }])),
      );
      for (const [i, p] of batch.entries()) p.resolve(results[i] as R);
      this.options.committed?.(results);
    } catch (error) {
      if (batch.length === 1) {
        (batch[0] as Pending<T, R>).reject(error);
        return;
      }
      this.options.logger.warn({ err: error, size: batch.length }, this.options.batchFailed);
      await Promise.all(batch.map((p) => this.run([p])));
    }
  }
}

/** The options of a writer whose callers bound themselves (a worker's jobs): nothing is ever refused. */
type UnboundedOptions<T, R> = Omit<GroupCommitOptions<T, R>, 'overloaded' | 'maxWaiting'>;

/**
 * One group commit per database handle — per process, made on first use — for writers whose callers
 * already bound how many items wait (a worker runs at most its concurrency of jobs).
 */
export function groupCommitPerDatabase<C extends { db: object }, T, R>(
  options: (ctx: C) => UnboundedOptions<T, R>,
): (ctx: C) => GroupCommit<T, R> {
  const writers = new WeakMap<object, GroupCommit<T, R>>();
  return (ctx) => {
    let writer = writers.get(ctx.db);
    if (writer === undefined) {
      writer = new GroupCommit({
        ...options(ctx),
        overloaded: () => new Error('unreachable: the callers bound their own items'),
        maxWaiting: Number.POSITIVE_INFINITY,
      });
      writers.set(ctx.db, writer);
    }
    return writer;
  };
}

/**
 * Items submitted during one turn of the event loop are handled together, by one call of `run`
 * (one statement instead of one per item), once the turn is over (`setImmediate`). Nothing waits on
 * a timer: an item submitted alone runs in the next turn, alone. Batches do not wait for each other.
 * `run` answers each item, in order; if it throws, every item of the batch gets the error.
 */
export class TickBatcher<T, R> {
  private pending: Array<{ item: T; resolve: (result: R) => void; reject: (error: unknown) => void }> = [];

  constructor(private readonly run: (items: T[]) => Promise<R[]>) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ item, resolve, reject });
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.run(batch.map((p) => p.item)).then(
      (results) => {
        for (const [i, p] of batch.entries()) p.resolve(results[i] as R);
      },
      (error: unknown) => {
        for (const p of batch) p.reject(error);
      },
    );
  }
}

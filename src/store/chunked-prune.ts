import type { Database, Key } from 'lmdb';

/** Keys a pruning pass visits per write transaction: about a millisecond of the writer's time. */
export const PRUNE_CHUNK_KEYS = 2_000;

/**
 * Removes the keys of a rollup database whose last element (a time) is before a cutoff, at most `budget` keys
 * visited per write transaction. The time is last in these keys, so a pass visits every key: done in one
 * transaction, a pass held the writer and the event loop for 43 ms at 100,000 records, growing with the store.
 */
export class ChunkedPrune {
  /** The pass in progress: its cutoff and the last key it visited. */
  private pass: { cutoff: number; after: Key | undefined } | null = null;
  /** The cutoff the last finished pass pruned to. */
  private prunedTo = -Infinity;

  constructor(private readonly db: Database<Buffer, Key>, private readonly budget: number) {}

  /** Starts a pass to `cutoff` unless one is running or the last one already reached it. */
  request(cutoff: number): void {
    if (!this.pass && cutoff > this.prunedTo) this.pass = { cutoff, after: undefined };
  }

  /** Visits up to `budget` keys of the pass in progress, removing the old ones (inside a write transaction). */
  step(): number {
    const pass = this.pass;
    if (!pass) return 0;
    let visited = 0;
    for (const key of this.db.getKeys({ start: pass.after, exclusiveStart: pass.after !== undefined, limit: this.budget })) {
      visited++;
      pass.after = key;
      const time = (key as Key[]).at(-1);
      if (typeof time === 'number' && time < pass.cutoff) this.db.removeSync(key);
    }
    if (visited < this.budget) {
      this.prunedTo = pass.cutoff;
      this.pass = null;
    }
    return visited;
  }
}

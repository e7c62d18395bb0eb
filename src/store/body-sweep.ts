import type { RootDatabase } from 'lmdb';
import { compareRecordPositions, type BodyDbs } from './bodies.js';
import { oldestRecordKey, type StoreDbs } from './indexes.js';

/** Bodies looked at per write transaction: a lookup each, 1-2 ms of the writer's time. */
const SWEEP_CHUNK_KEYS = 1_000;
/** Bodies a retention pass looks at, at most: a full sweep of a store with many bodies takes several passes. */
export const SWEEP_KEYS_PER_PASS = 10_000;

/**
 * Frees the bodies stored apart that no record can refer to any more: their newest reference is older than the oldest
 * record kept, or they have none. Retention frees a body with the last record that refers to it (releaseBodies); these
 * are the ones it never sees: a batch dropped after its writer thread died having put its bodies, records a version 5
 * process removed. Freed as retention would have freed them with their records, never sooner. Resumes where the last
 * pass stopped, and starts over at the end, so every body is looked at in turn.
 */
export class BodySweep {
  private after: Buffer | undefined;

  constructor(private readonly env: RootDatabase, private readonly dbs: StoreDbs) {}

  /** Looks at up to `budget` bodies, SWEEP_CHUNK_KEYS per write transaction; returns how many it freed. */
  async pass(budget = SWEEP_KEYS_PER_PASS): Promise<number> {
    const bodies = this.dbs.bodies;
    if (!bodies) return 0;
    let freed = 0;
    for (let left = budget; left > 0;) {
      const chunk = Math.min(left, SWEEP_CHUNK_KEYS);
      const step = await this.env.childTransaction(() => this.step(bodies, chunk));
      freed += step.freed;
      left -= step.visited;
      if (step.visited < chunk) break; // reached the end: the next pass starts over
    }
    return freed;
  }

  private step(bodies: BodyDbs, limit: number): { visited: number; freed: number } {
    const oldest = oldestRecordKey(this.dbs);
    let visited = 0;
    let freed = 0;
    for (const key of bodies.bytes.getKeys({ start: this.after, exclusiveStart: this.after !== undefined, limit })) {
      visited++;
      this.after = Buffer.from(key); // lmdb-js may reuse a key's buffer for the next one
      const newest = bodies.uses.get(key);
      if (newest !== undefined && oldest !== undefined && compareRecordPositions(newest, oldest) >= 0) continue;
      bodies.bytes.removeSync(key);
      bodies.uses.removeSync(key);
      freed++;
    }
    if (visited < limit) this.after = undefined;
    return { visited, freed };
  }
}

import type { Key } from 'lmdb';
import type { AuditRecord } from '../audit/record.js';
import { resolveBodies } from './bodies.js';
import type { CommitLog, LogEntry, LogVisitor } from './store.js';
import type { StoreDbs } from './indexes.js';
import { lastSeq, logPositions, visitLogPositions } from './log-batches.js';

const POSITION_PREFIX = 'position:';

/** The CommitLog of one LMDB store: the batched log read in seq order, follower positions in `meta`. */
export class LmdbCommitLog implements CommitLog {
  private readonly pinned = new Set<string>();

  constructor(private readonly dbs: StoreDbs) {}

  readLog(afterSeq: number, limit: number): LogEntry[] {
    const entries: LogEntry[] = [];
    for (const { seq, ms, id } of logPositions(this.dbs, afterSeq, limit)) {
      const bytes = this.dbs.records.getBinary([ms, id] as Key);
      if (bytes) entries.push({ seq, id, createdAtMs: ms, bytes: Buffer.from(bytes) });
    }
    return entries;
  }

  visitLog(fromSeq: number, toSeq: number, visit: LogVisitor): void {
    visitLogPositions(this.dbs, fromSeq, toSeq, (seq, ms, id) => {
      const bytes = this.dbs.records.getBinaryFast([ms, id] as Key);
      // lmdb-js returns its shared read buffer with `length` overridden to the value's size: view just the value
      if (bytes) visit(seq, ms, id, bytes.subarray(0, bytes.length));
    });
  }

  readRecords(afterSeq: number, limit: number): AuditRecord[] {
    const records: AuditRecord[] = [];
    for (const { ms, id } of logPositions(this.dbs, afterSeq, limit)) {
      const record = this.dbs.records.get([ms, id] as Key);
      if (record) records.push(resolveBodies(this.dbs.bodies, record));
    }
    return records;
  }

  lastSeq(): number {
    return lastSeq(this.dbs);
  }

  position(name: string): number {
    const found = this.dbs.meta.get(POSITION_PREFIX + name);
    return typeof found === 'number' ? found : 0;
  }

  async setPosition(name: string, seq: number): Promise<void> {
    await this.dbs.meta.put(POSITION_PREFIX + name, seq);
  }

  pin(name: string): void {
    this.pinned.add(name);
  }

  /** Retention may remove records up to this seq (Infinity when no follower pins). */
  removableThrough(): number {
    let through = Infinity;
    for (const name of this.pinned) through = Math.min(through, this.position(name));
    return through;
  }
}

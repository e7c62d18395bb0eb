import type { Key } from 'lmdb';
import type { AuditRecord } from '../audit/record.js';
import type { CommitLog, LogEntry } from './store.js';
import { lastSeq, type StoreDbs } from './indexes.js';

const POSITION_PREFIX = 'position:';

/** The CommitLog of one LMDB store: the `log` database read in seq order, follower positions in `meta`. */
export class LmdbCommitLog implements CommitLog {
  private readonly pinned = new Set<string>();

  constructor(private readonly dbs: StoreDbs) {}

  readLog(afterSeq: number, limit: number): LogEntry[] {
    const entries: LogEntry[] = [];
    for (const { key, value } of this.dbs.log.getRange({ start: afterSeq + 1, limit })) {
      const [createdAtMs, id] = value as [number, string];
      const bytes = this.dbs.records.getBinary([createdAtMs, id] as Key);
      if (bytes) entries.push({ seq: key as number, id, createdAtMs, bytes: Buffer.from(bytes) });
    }
    return entries;
  }

  readRecords(afterSeq: number, limit: number): AuditRecord[] {
    const records: AuditRecord[] = [];
    for (const { value } of this.dbs.log.getRange({ start: afterSeq + 1, limit })) {
      const record = this.dbs.records.get(value as Key);
      if (record) records.push(record);
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

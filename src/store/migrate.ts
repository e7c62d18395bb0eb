import type { Key, RootDatabase } from 'lmdb';
import type { AuditRecord } from '../audit/record.js';
import { INDEXED_FIELDS, MAX_MS, MIN_MS, createdAtMs, type StoreDbs } from './indexes.js';
import { PostingsBuilder } from './postings.js';

export const SCHEMA_KEY = 'schemaVersion';
/** Where a migration has got to: [ms, id] of the last record done and the chunk number (the postings' tag). */
const PROGRESS_KEY = 'migration:postings';
/** Records per migration transaction. */
const CHUNK = 5_000;
/** Version 1's per-record index databases, dropped once their postings exist. */
const V1_INDEXES = ['idx_org_time', ...INDEXED_FIELDS.map((field) => `idx_org_${field}`)];

/**
 * Schema 1 -> 2: the one-entry-per-record indexes (`idx_org_*`) become postings (`post_org_*`). Records, their
 * bytes and the commit log are not touched, so followers' positions and the Merkle log's leaves stay valid.
 * Each chunk is one transaction that reads and advances the progress kept in `meta`, under LMDB's writer lock:
 * several processes opening the store at once share the work without doing any chunk twice, and a crash resumes
 * where the last committed chunk ended. The last transaction drops the old databases and writes version 2.
 */
export function migrateToPostings(env: RootDatabase, dbs: StoreDbs): number {
  let migrated = 0;
  for (;;) {
    const done = env.transactionSync(() => {
      if (dbs.meta.get(SCHEMA_KEY) !== 1) return true;
      const progress = dbs.meta.get(PROGRESS_KEY) as [number, string, number] | undefined;
      const start: Key = progress ? [progress[0], progress[1]] : [MIN_MS];
      const records: AuditRecord[] = [];
      for (const { value } of dbs.records.getRange({ start, end: [MAX_MS], exclusiveStart: progress !== undefined, limit: CHUNK })) records.push(value);
      if (records.length === 0) {
        for (const name of V1_INDEXES) env.openDB({ name }).dropSync();
        dbs.meta.putSync(SCHEMA_KEY, 2);
        dbs.meta.removeSync(PROGRESS_KEY);
        return true;
      }
      const chunk = (progress?.[2] ?? 0) + 1;
      const postings = new PostingsBuilder(dbs);
      for (const record of records) postings.add(record);
      postings.write(-chunk);
      const last = records[records.length - 1]!;
      dbs.meta.putSync(PROGRESS_KEY, [createdAtMs(last), last.id, chunk]);
      migrated += records.length;
      return false;
    });
    if (done) return migrated;
  }
}

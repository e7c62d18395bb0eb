import type { Key, RootDatabase } from 'lmdb';
import type { AuditRecord } from '../audit/record.js';
import { INDEXED_FIELDS, MAX_MS, MIN_MS, createdAtMs, isTimedRequestId, organizationOf, type StoreDbs } from './indexes.js';
import { RequestIdPostings } from './request-postings.js';
import { PostingsBuilder } from './postings.js';
import { encodePositions } from './positions.js';
import type { Position } from './cursor.js';

export const SCHEMA_KEY = 'schemaVersion';
/** How far a migration has got (see Progress). */
const PROGRESS_KEY = 'migration:v2';
/** Records (or log entries) per migration transaction. */
const CHUNK = 5_000;
/** Version 1's commit log (one entry per seq) and per-record index databases, dropped once migrated. */
const V1_LOG = 'log';
const V1_DATABASES = [V1_LOG, 'idx_org_time', ...INDEXED_FIELDS.map((field) => `idx_org_${field}`)];

interface Progress {
  /** [ms, id] of the last record given postings and the chunk number (their tag, negated); 'done' after the last. */
  postings: [number, string, number] | 'done';
  /** The last version 1 log seq moved into a batch entry. */
  logSeq: number;
}

/**
 * Schema 1 -> 2: the one-entry-per-record indexes (`idx_org_*`) become postings (`post_org_*`) and the commit log
 * (`log`, one entry per seq) becomes batch entries (`log_batches`) with the same seqs. Records and their bytes are
 * not touched, so followers' positions and the Merkle log's leaves stay valid. Each chunk is one transaction that
 * reads and advances the progress kept in `meta`, under LMDB's writer lock: processes opening the store at once
 * share the work without doing a chunk twice, and a crash resumes after the last committed chunk. The last
 * transaction drops version 1's databases and writes version 2. Returns how many records this process migrated.
 */
export function migrateToV2(env: RootDatabase, dbs: StoreDbs): number {
  let migrated = 0;
  for (;;) {
    const step = env.transactionSync(() => {
      if (dbs.meta.get(SCHEMA_KEY) !== 1) return -1;
      const progress = (dbs.meta.get(PROGRESS_KEY) as Progress | undefined) ?? { postings: [MIN_MS, '', 0], logSeq: 0 };
      const done = progress.postings === 'done' ? migrateLogChunk(env, dbs, progress) : migratePostingsChunk(dbs, progress);
      if (done === -1) finish(env, dbs);
      else dbs.meta.putSync(PROGRESS_KEY, progress);
      return done;
    });
    if (step === -1) return migrated;
    migrated += step;
  }
}

/** Gives the next chunk of records their postings; returns how many (0 once none are left: the phase is over). */
function migratePostingsChunk(dbs: StoreDbs, progress: Progress): number {
  const [ms, id, chunk] = progress.postings as [number, string, number];
  const start: Key = chunk === 0 ? [MIN_MS] : [ms, id];
  const records: AuditRecord[] = [];
  for (const { value } of dbs.records.getRange({ start, end: [MAX_MS], exclusiveStart: chunk > 0, limit: CHUNK })) records.push(value);
  if (records.length === 0) {
    progress.postings = 'done';
    return 0;
  }
  const postings = new PostingsBuilder(dbs);
  const requestIds = new RequestIdPostings(dbs.requestIds!); // a read-write open always has it
  for (const record of records) {
    postings.add(record);
    if (isTimedRequestId(record.requestId)) requestIds.add(organizationOf(record), record.requestId, { ms: createdAtMs(record), id: record.id });
  }
  postings.write(-(chunk + 1));
  requestIds.write(-(chunk + 1));
  const last = records[records.length - 1]!;
  progress.postings = [createdAtMs(last), last.id, chunk + 1];
  return records.length;
}

/** Moves the next chunk of version 1 log entries into one batch entry; -1 when none are left. */
function migrateLogChunk(env: RootDatabase, dbs: StoreDbs, progress: Progress): number {
  const v1Log = env.openDB<Key[], number>({ name: V1_LOG });
  const entries = Array.from(v1Log.getRange({ start: progress.logSeq + 1, limit: CHUNK }));
  if (entries.length === 0) return -1;
  const first = entries[0]!.key as number;
  const slots: (Position | null)[] = [];
  for (const { key, value } of entries) {
    // Seqs pruned under version 1 keep their (empty) slots, so every later seq stays where it was.
    while (first + slots.length < (key as number)) slots.push(null);
    slots.push({ ms: value[0] as number, id: value[1] as string });
  }
  dbs.log.putSync(first, encodePositions(slots));
  progress.logSeq = entries[entries.length - 1]!.key as number;
  return 0;
}

function finish(env: RootDatabase, dbs: StoreDbs): void {
  for (const name of V1_DATABASES) env.openDB({ name }).dropSync();
  dbs.meta.putSync(SCHEMA_KEY, 2);
  dbs.meta.removeSync(PROGRESS_KEY);
}

import type { Database, Key, RootDatabase } from 'lmdb';
import type { AuditRecord } from '../audit/record.js';
import type { AuditFilter } from './store.js';

/** Organization value stored for records that have none, so they still sit in the organization indexes. */
export const NO_ORGANIZATION = '';

/** Filter fields that have an organization + field index, most selective first (the query planner's preference). */
export const INDEXED_FIELDS = ['requestId', 'apiKeyId', 'serviceAccountId', 'userId', 'statusCode', 'method'] as const;
export type IndexedField = (typeof INDEXED_FIELDS)[number];

/** Bounds on createdAtMs in keys. Explicit bounds also keep scans of `records` off its shared-structures entry. */
export const MIN_MS = Number.MIN_SAFE_INTEGER;
export const MAX_MS = Number.MAX_SAFE_INTEGER;

/** Index entries hold no value: the key is the whole entry. */
const EMPTY = Buffer.alloc(0);

/**
 * The sub-databases of one environment. Every key ends in [createdAtMs, id], so any index entry names its record.
 * `records` is keyed by [createdAtMs, id] and therefore doubles as the global time index.
 */
export interface StoreDbs {
  records: Database<AuditRecord, Key>;
  orgTime: Database<Buffer, Key>;
  byField: Record<IndexedField, Database<Buffer, Key>>;
  /** Commit log: seq -> [createdAtMs, id], in commit order (see CommitLog). */
  log: Database<Key[], number>;
  meta: Database<unknown, string>;
}

export function openDbs(env: RootDatabase): StoreDbs {
  const index = (name: string) => env.openDB<Buffer, Key>({ name, encoding: 'binary' });
  const byField = Object.fromEntries(INDEXED_FIELDS.map((field) => [field, index(`idx_org_${field}`)])) as StoreDbs['byField'];
  return {
    records: env.openDB<AuditRecord, Key>({ name: 'records', sharedStructuresKey: Symbol.for('structures') }),
    orgTime: index('idx_org_time'),
    byField,
    log: env.openDB<Key[], number>({ name: 'log' }),
    meta: env.openDB<unknown, string>({ name: 'meta' }),
  };
}

export function createdAtMs(record: AuditRecord): number {
  return Date.parse(record.createdAt);
}

export function organizationOf(record: AuditRecord): string {
  return record.organizationId ?? NO_ORGANIZATION;
}

/** The value a record holds for an indexed field as it is keyed (methods uppercase), or null when it has none. */
export function indexedValue(source: AuditRecord | AuditFilter, field: IndexedField): string | number | null {
  const value = source[field];
  if (value === null || value === undefined) return null;
  return field === 'method' ? String(value).toUpperCase() : value;
}

export function recordKey(record: AuditRecord): Key[] {
  return [createdAtMs(record), record.id];
}

/** The record's [createdAtMs, id] from any index key. */
export function positionOf(indexKey: Key[]): Key[] {
  return indexKey.slice(-2);
}

/** Puts or removes the record with every index entry; called inside one transaction or batch. */
export function writeRecord(dbs: StoreDbs, record: AuditRecord): void {
  const ms = createdAtMs(record);
  const { id } = record;
  const org = organizationOf(record);
  dbs.records.put([ms, id], record);
  if (record.seq !== undefined) dbs.log.put(record.seq, [ms, id]);
  dbs.orgTime.put([org, ms, id], EMPTY);
  for (const field of INDEXED_FIELDS) {
    const value = indexedValue(record, field);
    if (value !== null) dbs.byField[field].put([org, value, ms, id], EMPTY);
  }
}

export function removeRecord(dbs: StoreDbs, record: AuditRecord): void {
  const tail = recordKey(record);
  const org = organizationOf(record);
  dbs.records.removeSync(tail);
  if (record.seq !== undefined) dbs.log.removeSync(record.seq);
  dbs.orgTime.removeSync([org, ...tail]);
  for (const field of INDEXED_FIELDS) {
    const value = indexedValue(record, field);
    if (value !== null) dbs.byField[field].removeSync([org, value, ...tail]);
  }
}

/** The highest seq in the commit log, 0 when it is empty. Read inside the write transaction when assigning. */
export function lastSeq(dbs: StoreDbs): number {
  for (const seq of dbs.log.getKeys({ reverse: true, limit: 1 })) return seq as number;
  return 0;
}

import type { Database, Key, RootDatabase } from 'lmdb';
import type { AuditRecord } from '../audit/record.js';
import type { AuditFilter } from './store.js';
import { recordTimeMs } from '../audit/iso-time.js';
import { keyValue } from '../audit/key-value.js';
import { openBodyDbs, type BodyDbs, type RecordPosition } from './bodies.js';

/** Organization value stored for records that have none, so they still sit in the organization indexes. */
export const NO_ORGANIZATION = '';

/** Filter fields that have an organization + field index, most selective first (the query planner's preference). */
export const INDEXED_FIELDS = ['requestId', 'apiKeyId', 'serviceAccountId', 'userId', 'statusCode', 'method'] as const;
export type IndexedField = (typeof INDEXED_FIELDS)[number];

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Whether a request id is a lowercase UUIDv7 (its first 48 bits a millisecond), as the proxy makes them: its records
 * are posted per batch in `requestIds` (request-postings.ts), not under a posting of their own.
 */
export function isTimedRequestId(requestId: string): boolean {
  return UUID7.test(requestId);
}

/** Bounds on createdAtMs in keys. Explicit bounds also keep scans of `records` off its shared-structures entry. */
export const MIN_MS = Number.MIN_SAFE_INTEGER;
export const MAX_MS = Number.MAX_SAFE_INTEGER;

/** A posting's value (see postings.ts): its positions ascending, packed by positions.ts. */
export type PostingsDb = Database<Buffer, Key>;

const LOG_DB = 'log_batches';

/** Names of the postings databases (schema version 2); version 1 kept one entry per record in `idx_org_*`. */
const ORG_TIME_DB = 'post_org_time';
const REQUEST_TIME_DB = 'post_org_request_time';
const fieldDbName = (field: IndexedField): string => `post_org_${field}`;
/** Every postings database (their keys hold organizations and values: migrate-keys.ts). */
export const POSTINGS_DB_NAMES: readonly string[] = [ORG_TIME_DB, REQUEST_TIME_DB, ...INDEXED_FIELDS.map(fieldDbName)];

/**
 * The sub-databases of one environment. `records` is keyed by [createdAtMs, id] and therefore doubles as the global
 * time index; the organization indexes are postings (postings.ts) whose positions are those keys.
 */
export interface StoreDbs {
  records: Database<AuditRecord, Key>;
  orgTime: PostingsDb;
  byField: Record<IndexedField, PostingsDb>;
  /**
   * Timed (UUIDv7) request ids, per batch and the second each id names (schema 4, request-postings.ts). Undefined
   * in a read-only open of a store no version 4 has written yet (lmdb-js opens no missing database then).
   */
  requestIds: PostingsDb | undefined;
  /** Commit log, one entry per write batch: first seq -> its records' positions in seq order (log-batches.ts). */
  log: Database<Buffer, number>;
  meta: Database<unknown, string>;
  /** Captured bodies of store.bodiesApartBytes or more, stored apart (schema 6, bodies.ts); undefined as requestIds is. */
  bodies: BodyDbs | undefined;
}

export function openDbs(env: RootDatabase): StoreDbs {
  const index = (name: string) => env.openDB<Buffer, Key>({ name, encoding: 'binary' });
  const byField = Object.fromEntries(INDEXED_FIELDS.map((field) => [field, index(fieldDbName(field))])) as StoreDbs['byField'];
  return {
    records: env.openDB<AuditRecord, Key>({ name: 'records', sharedStructuresKey: Symbol.for('structures') }),
    orgTime: index(ORG_TIME_DB),
    byField,
    requestIds: index(REQUEST_TIME_DB),
    log: env.openDB<Buffer, number>({ name: LOG_DB, encoding: 'binary' }),
    meta: env.openDB<unknown, string>({ name: 'meta' }),
    bodies: openBodyDbs(env),
  };
}

export function createdAtMs(record: AuditRecord): number {
  return recordTimeMs(record.createdAt);
}

/** The organization as keys hold it (key-value.ts), of a record or a filter. */
export function organizationOf(source: Pick<AuditRecord, 'organizationId'> | AuditFilter): string {
  return keyValue(source.organizationId ?? NO_ORGANIZATION);
}

/** The value a record holds for an indexed field as it is keyed (methods uppercase, long ones hashed), or null when it has none. */
export function indexedValue(source: AuditRecord | AuditFilter, field: IndexedField): string | number | null {
  const value = source[field];
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  return keyValue(field === 'method' ? value.toUpperCase() : value);
}

export function recordKey(record: AuditRecord): Key[] {
  return [createdAtMs(record), record.id];
}

/** Removes the record; removeFromPostings and removeFromLog take it out of the indexes and the commit log. */
export function removeRecord(dbs: StoreDbs, record: AuditRecord): void {
  dbs.records.removeSync(recordKey(record));
}

/** createdAtMs of the oldest record kept, or undefined when the store holds none. */
export function oldestRecordMs(dbs: StoreDbs): number | undefined {
  return oldestRecordKey(dbs)?.[0];
}

/** The [createdAtMs, id] key of the oldest record kept. */
export function oldestRecordKey(dbs: StoreDbs): RecordPosition | undefined {
  for (const key of dbs.records.getKeys({ start: [MIN_MS], end: [MAX_MS], limit: 1 })) return key as RecordPosition;
  return undefined;
}

import type { Database, Key, RootDatabase } from 'lmdb';
import type { AuditRecord } from '../audit/record.js';
import { recordTimeMs } from '../audit/iso-time.js';
import type { AuditFilter } from './store.js';
import { bucketOf } from './postings.js';
import { ChunkedPrune, PRUNE_CHUNK_KEYS } from './chunked-prune.js';
import { organizationOf } from './indexes.js';
import { keyValue } from '../audit/key-value.js';

/** The filter fields a count rollup may be kept for (the ones the postings do not index, and principal pairs). */
type CountField = 'path' | 'principalType' | 'workspaceId' | 'resourceType' | 'action' | 'clientIp' | 'country' | 'userId' | 'apiKeyId' | 'serviceAccountId';

/**
 * What is counted, per organization and second: every record (dimension 0, the check against the postings), and
 * records by the value of each field set a Portkey filter asks for alone (user_type; user_id is a union of
 * principal type and id pairs). A filter whose fields are exactly one of these sets is counted from the rollup.
 */
const DIMENSIONS: readonly (readonly CountField[])[] = [
  [], ['path'], ['principalType'], ['workspaceId'], ['resourceType'], ['action'], ['clientIp'], ['country'],
  ['principalType', 'userId'], ['principalType', 'apiKeyId'], ['principalType', 'serviceAccountId'],
];
const ALL_RECORDS = 0;
export const COUNTS_DB = 'stats_count';
/** Keys read per chunk when listing a filter's seconds, growing fourfold from the first (a page often needs a few). */
const FIRST_SECONDS_CHUNK = 4;
const SECONDS_CHUNK = 256;
/** Whether every record of the store passed through applyInTransaction (it was empty when counting began). */
const COMPLETE_KEY: Key = ['complete'];

/** The dimension serving exactly these filter fields, or -1. */
function dimensionOf(filter: AuditFilter): number {
  const asked = (Object.keys(filter) as (keyof AuditFilter)[])
    .filter((name) => filter[name] !== undefined && name !== 'organizationId' && name !== 'fromMs' && name !== 'toMs');
  return DIMENSIONS.findIndex((fields, index) => index !== ALL_RECORDS && fields.length === asked.length
    && fields.every((field) => asked.includes(field)));
}

/** One organization's second in a batch: its records, and per dimension how many hold each value. */
interface SecondTally {
  org: string;
  bucket: number;
  all: number;
  byValue: Map<string, number>[];
}

/** Between the values of a pair (a principal type never holds it). */
const SEPARATOR = '\u0000';

/** The record's values of the fields as keys hold them (key-value.ts), joined by SEPARATOR; null when it lacks one. */
function valueOf(record: AuditRecord, fields: readonly CountField[]): string | null {
  const first = record[fields[0]!];
  if (first === null || first === undefined) return null;
  if (fields.length === 1) return keyValue(first);
  const second = record[fields[1]!];
  return second === null || second === undefined ? null : keyValue(first) + SEPARATOR + keyValue(second);
}

/** Whole seconds [fromBucket, toBucket] of counts to add up for one organization and filter. */
export interface CountRequest {
  filter: AuditFilter;
  fromBucket: number;
  toBucket: number;
}

/**
 * Record counts per (organization, field values, second) in their own database (`stats_count`), kept in each write
 * batch's transaction, so that a total over a filter no index serves adds up a few hundred counts instead of decoding
 * every record of the organization. Counts are never decremented: retention removes records from the postings
 * only, and a reader checks the rollup's count of all records against the postings before trusting it (query-counts.ts).
 */
export class CountRollup {
  /** Undefined in a read-only environment written before the rollup existed. */
  private readonly db: Database<Buffer, Key> | undefined;
  /** Removes counts of seconds no record is left in (retention removed them), a chunk per write transaction. */
  readonly prune: ChunkedPrune;

  constructor(env: RootDatabase, hasRecords: () => boolean, readOnly: boolean) {
    const db = env.openDB<Buffer, Key>({ name: COUNTS_DB, encoding: 'binary' });
    this.db = db;
    this.prune = new ChunkedPrune(db, PRUNE_CHUNK_KEYS);
    if (!readOnly && db.get(COMPLETE_KEY) === undefined) {
      env.transactionSync(() => {
        if (db.get(COMPLETE_KEY) === undefined) db.putSync(COMPLETE_KEY, Buffer.from([hasRecords() ? 0 : 1]));
      });
    }
  }

  /** True when the rollup has counted every record ever committed; otherwise totals are scanned. */
  complete(): boolean {
    return this.db?.get(COMPLETE_KEY)?.[0] === 1;
  }

  /** The dimension a filter is counted by, or -1 when the rollup cannot answer it. */
  dimensionFor(filter: AuditFilter): number {
    return filter.organizationId === undefined ? -1 : dimensionOf(filter);
  }

  /** Counts committed records. Runs inside the write transaction that commits them (read-add-write of each count). */
  applyInTransaction(records: readonly AuditRecord[]): void {
    const seconds = new Map<string, SecondTally>();
    for (const record of records) {
      const bucket = bucketOf(recordTimeMs(record.createdAt));
      const org = organizationOf(record);
      const id = `${bucket}\u0000${org}`;
      let tally = seconds.get(id);
      if (!tally) seconds.set(id, tally = { org, bucket, all: 0, byValue: DIMENSIONS.map(() => new Map()) });
      tally.all++;
      for (let dimension = 1; dimension < DIMENSIONS.length; dimension++) {
        const value = valueOf(record, DIMENSIONS[dimension]!);
        if (value !== null) tally.byValue[dimension]!.set(value, (tally.byValue[dimension]!.get(value) ?? 0) + 1);
      }
    }
    for (const { org, bucket, all, byValue } of seconds.values()) {
      this.add([org, ALL_RECORDS, bucket], all);
      byValue.forEach((values, dimension) => {
        for (const [value, n] of values) this.add([org, dimension, ...value.split(SEPARATOR), bucket], n);
      });
    }
  }

  private add(key: Key[], n: number): void {
    const stored = this.db!.get(key);
    const value = Buffer.allocUnsafe(4);
    value.writeUInt32LE(n + (stored ? stored.readUInt32LE(0) : 0));
    void this.db!.put(key, value);
  }

  /** The rollup's count of every record of the organization (as keys hold it: organizationOf) in the seconds. */
  allRecords(organization: string, fromBucket: number, toBucket: number): number {
    return this.sum([organization, ALL_RECORDS], fromBucket, toBucket);
  }

  /** The rollup's count of the filter's matches in the seconds; the filter must have a dimension (dimensionFor). */
  matches({ filter, fromBucket, toBucket }: CountRequest): number {
    return this.sum(this.prefixOf(filter), fromBucket, toBucket);
  }

  private prefixOf(filter: AuditFilter): Key[] {
    const dimension = dimensionOf(filter);
    return [organizationOf(filter), dimension, ...DIMENSIONS[dimension]!.map((field) => keyValue(filter[field] as string))];
  }

  /**
   * The seconds in [fromBucket, toBucket] holding a match of the filter, newest first (a page skips the others); read
   * in chunks, so no read transaction stays open between them. The filter must have a dimension (dimensionFor).
   */
  *secondsWith(filter: AuditFilter, fromBucket: number, toBucket: number): Generator<number> {
    const prefix = this.prefixOf(filter);
    const end = [...prefix, fromBucket - 1];
    let start: Key[] = [...prefix, toBucket + 1];
    let exclusiveStart = false;
    for (let chunk = FIRST_SECONDS_CHUNK; ; chunk = Math.min(chunk * 4, SECONDS_CHUNK)) {
      const keys = Array.from(this.db!.getKeys({ start, end, reverse: true, exclusiveStart, limit: chunk })) as Key[][];
      for (const key of keys) if ((key.at(-1) as number) >= fromBucket) yield key.at(-1) as number;
      if (keys.length < chunk) return;
      start = keys.at(-1)!;
      exclusiveStart = true;
    }
  }

  private sum(prefix: Key[], fromBucket: number, toBucket: number): number {
    let total = 0;
    for (const { value } of this.db!.getRange({ start: [...prefix, fromBucket], end: [...prefix, toBucket + 1] })) total += value.readUInt32LE(0);
    return total;
  }
}

import type { Key } from 'lmdb';
import type { AuditRecord } from '../audit/record.js';
import { INDEXED_FIELDS, createdAtMs, indexedValue, isTimedRequestId, organizationOf, type PostingsDb, type StoreDbs } from './indexes.js';
import type { Position } from './cursor.js';
import { decodePositions, encodePositions, packedPosition, slotCount } from './positions.js';

/**
 * Index postings: instead of one LMDB entry per record and index, each write batch puts one entry per index key
 * and time bucket, holding the positions ([createdAtMs, id]) of every record of the batch under it. Keys are
 * [...prefix, bucket, tag]: prefix is [org] or [org, value], bucket is createdAtMs / BUCKET_MS, tag tells the
 * batches apart (the batch's first seq; negative numbers for postings built by a migration). Every position of a
 * posting lies inside its bucket, so reading a bucket's postings gives its records in full.
 */
export const BUCKET_MS = 1_000;

export function bucketOf(ms: number): number {
  return Math.floor(ms / BUCKET_MS);
}

/** Every (database, prefix) a record is indexed under. */
export function postingPrefixes(dbs: StoreDbs, record: AuditRecord): [PostingsDb, Key[]][] {
  const org = organizationOf(record);
  const out: [PostingsDb, Key[]][] = [[dbs.orgTime, [org]]];
  for (const field of INDEXED_FIELDS) {
    const value = indexedValue(record, field);
    if (value !== null) out.push([dbs.byField[field], [org, value]]);
  }
  return out;
}

interface Pending {
  db: PostingsDb;
  key: Key[];
  positions: Position[];
}

/** Pending postings of one index by organization, value (null for the time index) and bucket. */
type ByPrefix = Map<string, Map<string | number | null, Map<number, Pending>>>;

function child<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let found = map.get(key);
  if (found === undefined) map.set(key, (found = make()));
  return found;
}

/**
 * Gathers the postings of one batch; `write` puts them inside the batch's transaction. Looked up through nested
 * maps keyed by the record's own strings and numbers: a composite string key per record and index cost 9 % of
 * the write path's CPU.
 */
export class PostingsBuilder {
  private readonly byDb = new Map<PostingsDb, ByPrefix>();
  private pending: Pending[] = [];

  constructor(private readonly dbs: StoreDbs) {}

  /**
   * `position` (packed once, positions.ts) is shared by every posting of the record. A timed request id gets no
   * posting here: the caller adds it to a RequestIdPostings.
   */
  add(record: AuditRecord, ms = createdAtMs(record), position = packedPosition(ms, record.id)): void {
    const bucket = bucketOf(ms);
    const org = organizationOf(record);
    this.addTo(this.dbs.orgTime, org, null, bucket, position);
    for (const field of INDEXED_FIELDS) {
      const value = indexedValue(record, field);
      if (value !== null && (field !== 'requestId' || !isTimedRequestId(value as string))) {
        this.addTo(this.dbs.byField[field], org, value, bucket, position);
      }
    }
  }

  /** Puts one entry per (index, prefix, bucket) under `tag`; positions sorted ascending. */
  write(tag: number): void {
    for (const { db, key, positions } of this.pending) {
      key.push(tag);
      db.put(key, encodePositions(sortPositions(positions)));
    }
    this.pending = [];
    this.byDb.clear();
  }

  private addTo(db: PostingsDb, org: string, value: string | number | null, bucket: number, position: Position): void {
    const byBucket = child(child(child(this.byDb, db, () => new Map()), org, () => new Map()), value, () => new Map<number, Pending>());
    let entry = byBucket.get(bucket);
    if (!entry) {
      entry = { db, key: value === null ? [org, bucket] : [org, value, bucket], positions: [] };
      byBucket.set(bucket, entry);
      this.pending.push(entry);
    }
    entry.positions.push(position);
  }
}

/** Sorts positions ascending by (ms, id); batches arrive nearly sorted, so this is usually a check. */
function sortPositions(positions: Position[]): Position[] {
  for (let i = 1; i < positions.length; i++) {
    if (comparePositions(positions[i - 1]!, positions[i]!) > 0) return positions.sort(comparePositions);
  }
  return positions;
}

export function comparePositions(a: Position, b: Position): number {
  if (a.ms !== b.ms) return a.ms - b.ms;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Removes the records' positions from their postings (an emptied posting is removed). Inside a transaction. */
export function removeFromPostings(dbs: StoreDbs, records: AuditRecord[]): void {
  const groups = new Map<string, { db: PostingsDb; prefix: Key[]; bucket: number; ids: Set<string> }>();
  for (const record of records) {
    const bucket = bucketOf(createdAtMs(record));
    postingPrefixes(dbs, record).forEach(([db, prefix], index) => {
      const mapKey = `${index}\u0000${JSON.stringify(prefix)}\u0000${bucket}`;
      let group = groups.get(mapKey);
      if (!group) groups.set(mapKey, (group = { db, prefix, bucket, ids: new Set() }));
      group.ids.add(record.id);
    });
  }
  for (const { db, prefix, bucket, ids } of groups.values()) {
    for (const { key, value } of db.getRange({ start: [...prefix, bucket], end: [...prefix, bucket + 1] })) {
      const all = decodePositions(value) as Position[];
      const kept = all.filter((position) => !ids.has(position.id));
      if (kept.length === all.length) continue;
      if (kept.length === 0) db.removeSync(key);
      else db.putSync(key, encodePositions(kept));
    }
  }
}

/** Inclusive createdAtMs bounds of a scan. */
export interface MsRange {
  fromMs: number;
  toMs: number;
}

/**
 * Postings read per chunk, from FIRST_CHUNK growing fourfold to CHUNK: a first page usually needs a few postings,
 * a long scan fewer, larger reads. A bucket split across chunks is completed from the next one.
 */
const FIRST_CHUNK = 4;
const CHUNK = 64;

/**
 * Positions under `prefix` within `range`, newest first, strictly before `after` when given. Reads a bucket's
 * postings at a time, in chunks of entries, so no read transaction stays open between chunks.
 */
export function* scanPostings(db: PostingsDb, prefix: Key[], range: MsRange, after?: Position): Generator<Position> {
  const upperMs = after ? Math.min(after.ms, range.toMs) : range.toMs;
  const lower: Key[] = [...prefix, bucketOf(range.fromMs)];
  let start: Key[] = [...prefix, bucketOf(upperMs) + 1];
  let exclusiveStart = false;
  let bucket: number | null = null;
  let gathered: Buffer[] = [];
  for (let chunk = FIRST_CHUNK; ; chunk = Math.min(chunk * 4, CHUNK)) {
    const entries = Array.from(db.getRange({ start, end: lower, reverse: true, exclusiveStart, limit: chunk }));
    for (const { key, value } of entries) {
      const keyBucket = (key as Key[])[prefix.length] as number;
      if (bucket !== null && keyBucket !== bucket) yield* bucketPositions(gathered, range, after);
      if (keyBucket !== bucket) gathered = [];
      bucket = keyBucket;
      gathered.push(value);
    }
    if (entries.length < chunk) break;
    start = entries[entries.length - 1]!.key as Key[];
    exclusiveStart = true;
  }
  if (gathered.length > 0) yield* bucketPositions(gathered, range, after);
}

/** One bucket's positions from all its postings, newest first, within the range and before `after`. */
function bucketPositions(postings: Buffer[], range: MsRange, after: Position | undefined): Position[] {
  const out: Position[] = [];
  for (const value of postings) {
    for (const position of decodePositions(value) as Position[]) {
      if (position.ms < range.fromMs || position.ms > range.toMs) continue;
      if (after && comparePositions(position, after) >= 0) continue;
      out.push(position);
    }
  }
  return out.sort((a, b) => comparePositions(b, a));
}

/** How many positions under `prefix` fall within `range`. */
export function countPostings(db: PostingsDb, prefix: Key[], range: MsRange): number {
  let count = 0;
  const fromBucket = bucketOf(range.fromMs);
  const toBucket = bucketOf(range.toMs);
  for (const { key, value } of db.getRange({ start: [...prefix, fromBucket], end: [...prefix, toBucket + 1] })) {
    const bucket = (key as Key[])[prefix.length] as number;
    if (bucket > fromBucket && bucket < toBucket) {
      count += slotCount(value);
      continue;
    }
    for (const position of decodePositions(value) as Position[]) if (position.ms >= range.fromMs && position.ms <= range.toMs) count++;
  }
  return count;
}

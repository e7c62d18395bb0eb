import type { Key } from 'lmdb';
import type { Position } from './cursor.js';
import { isTimedRequestId, organizationOf, type PostingsDb, type StoreDbs } from './indexes.js';
import { bucketOf, comparePositions, type MsRange } from './postings.js';
import { decodePositions, encodePositions, visitSlots } from './positions.js';

/**
 * Postings of UUIDv7 request ids (schema 4), the ids the proxy makes when a client sends none. Request ids are
 * unique, so keyed by the id (`post_org_requestId`, [org, id, bucket, tag]) every record costs an entry of its own
 * keyed by its 36-character id (about 115 bytes a record, measured). A UUIDv7 names its own
 * millisecond, so these are kept per write batch instead, keyed by the second the id names: [org, idBucket, tag] ->
 * uint32 count, the ids' 16 bytes each, then their records' positions (positions.ts) in the same order. A lookup
 * reads that second's postings and compares 16-byte ids. Other request ids keep the per-id posting.
 */
const ID_BYTES = 16;
const HEADER = 4;

function idBytes(requestId: string): Buffer {
  return Buffer.from(requestId.replace(/-/g, ''), 'hex');
}

function idBucket(requestId: string): number {
  return bucketOf(parseInt(requestId.slice(0, 8) + requestId.slice(9, 13), 16));
}

interface Pending {
  key: Key[];
  ids: string[];
  positions: Position[];
}

/** Gathers one batch's timed request-id postings; `write` puts them inside the batch's transaction. */
export class RequestIdPostings {
  private readonly byOrg = new Map<string, Map<number, Pending>>();

  constructor(private readonly db: PostingsDb) {}

  add(org: string, requestId: string, position: Position): void {
    let byBucket = this.byOrg.get(org);
    if (!byBucket) this.byOrg.set(org, (byBucket = new Map()));
    const bucket = idBucket(requestId);
    let entry = byBucket.get(bucket);
    if (!entry) byBucket.set(bucket, (entry = { key: [org, bucket], ids: [], positions: [] }));
    entry.ids.push(requestId);
    entry.positions.push(position);
  }

  write(tag: number): void {
    for (const byBucket of this.byOrg.values()) {
      for (const { key, ids, positions } of byBucket.values()) this.db.put([...key, tag], encode(ids.map(idBytes), positions));
    }
    this.byOrg.clear();
  }
}

function encode(ids: readonly Buffer[], positions: readonly Position[]): Buffer {
  const head = Buffer.allocUnsafe(HEADER);
  head.writeUInt32LE(ids.length, 0);
  return Buffer.concat([head, ...ids, encodePositions(positions)]);
}

/** The ids (16 bytes each) and the packed positions of one posting value. */
function parts(value: Uint8Array): { count: number; ids: Buffer; positions: Buffer } {
  const buffer = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const count = buffer.readUInt32LE(0);
  const end = HEADER + count * ID_BYTES;
  return { count, ids: buffer.subarray(HEADER, end), positions: buffer.subarray(end) };
}

/** Positions of records with this timed request id within `range`, before `after`, newest first. */
export function timedRequestPositions(dbs: StoreDbs, org: string, requestId: string, range: MsRange, after?: Position): Position[] {
  if (!dbs.requestIds) return [];
  const needle = idBytes(requestId);
  const bucket = idBucket(requestId);
  const out: Position[] = [];
  for (const { value } of dbs.requestIds.getRange({ start: [org, bucket], end: [org, bucket + 1] })) {
    const { count, ids, positions } = parts(value);
    for (let i = 0; i < count; i++) {
      if (ids.compare(needle, 0, ID_BYTES, i * ID_BYTES, (i + 1) * ID_BYTES) !== 0) continue;
      visitSlots(positions, i, i + 1, (_slot, ms, id) => {
        if (ms >= range.fromMs && ms <= range.toMs && (!after || comparePositions({ ms, id }, after) < 0)) out.push({ ms, id });
      });
    }
  }
  return out.sort((a, b) => comparePositions(b, a));
}

/** A record whose timed request id is to be taken out of its posting. */
export interface RequestIdHolder {
  id: string;
  requestId: string;
  organizationId: string | null;
}

/** A posting value's request ids and their records' positions, in order (removed slots left out). */
export function decodeRequestPosting(value: Uint8Array): { requestId: string; position: Position }[] {
  const { count, ids, positions } = parts(value);
  const slots = decodePositions(positions);
  const out: { requestId: string; position: Position }[] = [];
  for (let i = 0; i < count; i++) {
    const slot = slots[i];
    if (!slot) continue;
    const hex = ids.toString('hex', i * ID_BYTES, (i + 1) * ID_BYTES);
    const requestId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    out.push({ requestId, position: slot });
  }
  return out;
}

/** Removes the records' positions from the timed request-id postings (an emptied posting is removed). */
export function removeFromRequestPostings(dbs: StoreDbs, records: readonly RequestIdHolder[]): void {
  const db = dbs.requestIds;
  if (!db) return;
  const groups = new Map<string, { org: string; bucket: number; ids: Set<string> }>();
  for (const record of records) {
    if (!isTimedRequestId(record.requestId)) continue;
    const org = organizationOf(record);
    const bucket = idBucket(record.requestId);
    const mapKey = `${bucket}\u0000${org}`;
    let group = groups.get(mapKey);
    if (!group) groups.set(mapKey, (group = { org, bucket, ids: new Set() }));
    group.ids.add(record.id);
  }
  for (const { org, bucket, ids } of groups.values()) {
    for (const { key, value } of db.getRange({ start: [org, bucket], end: [org, bucket + 1] })) {
      const entries = decodeRequestPosting(value);
      const kept = entries.filter(({ position }) => !ids.has(position.id));
      if (kept.length === entries.length) continue;
      if (kept.length === 0) db.removeSync(key);
      else db.putSync(key, encode(kept.map(({ requestId }) => idBytes(requestId)), kept.map(({ position }) => position)));
    }
  }
}

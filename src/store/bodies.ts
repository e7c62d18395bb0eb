import { createHash } from 'node:crypto';
import type { Database, RootDatabase } from 'lmdb';
import type { AuditRecord } from '../audit/record.js';

/**
 * Captured bodies of this many UTF-8 bytes or more are stored apart from their record (schema 6): once per distinct
 * body, compressed, under its SHA-256, which the record keeps in its place. Smaller ones stay in the record, where
 * they cost less than a second entry to write and to read.
 */
export const BODY_APART_BYTES = 1024;

/** How a record names a body stored apart: `sha256-` and the digest in base64 (Subresource Integrity's form). */
export const BODY_REF_PREFIX = 'sha256-';

/** A record's fields that hold a captured body, and the field that holds its reference when stored apart. */
export const BODY_FIELDS = [['requestBody', 'requestBodyRef'], ['responseBody', 'responseBodyRef']] as const;

/** Where a body's newest reference sits: the [createdAtMs, id] key of that record. */
export type RecordPosition = [number, string];

export interface BodyDbs {
  /** SHA-256 digest (32 bytes) -> the body's UTF-8 bytes, compressed by lmdb-js (LZ4) above its threshold. */
  bytes: Database<Buffer, Buffer>;
  /** SHA-256 digest -> the position of the newest record that refers to the body: retention frees it past that. */
  uses: Database<RecordPosition, Buffer>;
}

/** Undefined in a read-only open of a store no version 6 has written yet (lmdb-js opens no missing database then). */
export function openBodyDbs(env: RootDatabase): BodyDbs | undefined {
  const bytes = env.openDB<Buffer, Buffer>({ name: 'bodies', encoding: 'binary', keyEncoding: 'binary', compression: true });
  const uses = env.openDB<RecordPosition, Buffer>({ name: 'body_uses', keyEncoding: 'binary' });
  return bytes && uses ? { bytes, uses } : undefined;
}

export function digestOf(ref: string): Buffer {
  return Buffer.from(ref.slice(BODY_REF_PREFIX.length), 'base64');
}

export function refOf(digest: Buffer): string {
  return BODY_REF_PREFIX + digest.toString('base64');
}

function comparePositions(a: RecordPosition, b: RecordPosition): number {
  return a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);
}

/**
 * A batch's bodies stored apart: `take` swaps a settled record's large bodies for their references (hashing them
 * before the write transaction, off LMDB's lock); `write`, inside it, stores each new body once and moves each
 * body's newest reference forward.
 */
export class BodiesApart {
  private readonly taken = new Map<string, { digest: Buffer; bytes: Buffer; newest: RecordPosition | null }>();

  /**
   * The record with its bodies of BODY_APART_BYTES or more replaced by references to them: a copy, since the batch's
   * own records are written again as they are should the batch be retried.
   */
  take(record: AuditRecord): AuditRecord {
    let stored = record;
    for (const [field, refField] of BODY_FIELDS) {
      const text = record[field];
      if (text === null || text === undefined || text.length * 3 < BODY_APART_BYTES) continue;
      const bytes = Buffer.from(text, 'utf8');
      if (bytes.length < BODY_APART_BYTES) continue;
      const digest = createHash('sha256').update(bytes).digest();
      const ref = refOf(digest);
      if (!this.taken.has(ref)) this.taken.set(ref, { digest, bytes, newest: null });
      if (stored === record) stored = { ...record };
      stored[field] = null;
      stored[refField] = ref;
    }
    return stored;
  }

  /** Notes where the record sits (inside the transaction, once its key is known). */
  place(record: AuditRecord, position: RecordPosition): void {
    for (const [, refField] of BODY_FIELDS) {
      const ref = record[refField];
      if (ref === undefined) continue;
      const body = this.taken.get(ref);
      if (body && (!body.newest || comparePositions(position, body.newest) > 0)) body.newest = position;
    }
  }

  /** Puts the new bodies and the newest references (inside the batch's write transaction). */
  write(dbs: BodyDbs): void {
    for (const { digest, bytes, newest } of this.taken.values()) {
      if (!newest) continue;
      if (!dbs.bytes.doesExist(digest)) dbs.bytes.put(digest, bytes);
      const known = dbs.uses.get(digest);
      if (known === undefined || comparePositions(newest, known) > 0) dbs.uses.put(digest, newest);
    }
  }
}

/** The record with its bodies stored apart read back in place of their references (as an endpoint shows it). */
export function resolveBodies(dbs: BodyDbs | undefined, record: AuditRecord): AuditRecord {
  for (const [field, refField] of BODY_FIELDS) {
    const ref = record[refField];
    if (ref === undefined) continue;
    record[field] = dbs?.bytes.getBinary(digestOf(ref))?.toString('utf8') ?? null;
    delete record[refField];
  }
  return record;
}

/**
 * Frees the bodies only the removed records referred to. Retention removes records oldest first, so every record
 * at or before the last one removed is gone: a body whose newest reference is no newer is referred to by none left.
 * Inside the removing transaction.
 */
export function releaseBodies(dbs: BodyDbs, removed: readonly AuditRecord[], lastRemoved: RecordPosition): void {
  for (const record of removed) {
    for (const [, refField] of BODY_FIELDS) {
      const ref = record[refField];
      if (ref === undefined) continue;
      const digest = digestOf(ref);
      const newest = dbs.uses.get(digest);
      if (newest !== undefined && comparePositions(newest, lastRemoved) > 0) continue;
      dbs.bytes.removeSync(digest);
      dbs.uses.removeSync(digest);
    }
  }
}

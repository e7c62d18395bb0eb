import { createHash } from 'node:crypto';
import type { Database, RootDatabase } from 'lmdb';
import { recordTimeMs } from '../audit/iso-time.js';
import { settleBody, withoutRawBodies, type AppendedRecord } from '../audit/raw-body.js';
import type { AuditRecord } from '../audit/record.js';
import type { BodyRedactor } from '../audit/redact.js';

/** How a record names a body stored apart: `sha256-` and the digest in base64 (Subresource Integrity's form). */
export const BODY_REF_PREFIX = 'sha256-';

/** A record's fields that hold a captured body, the field that holds its reference when stored apart, and its raw body's. */
export const BODY_FIELDS = [['requestBody', 'requestBodyRef', 'request'], ['responseBody', 'responseBodyRef', 'response']] as const;

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

const REF = /^sha256-[A-Za-z0-9+/]{43}=$/;
const REF_BYTES = Buffer.from(BODY_REF_PREFIX);

/**
 * Whether a record's stored bytes may hold a body reference (msgpack keeps a string as its UTF-8): only such records
 * are decoded to check their references. A body that itself contains the prefix only costs a decode.
 */
export function holdsBodyRef(stored: Uint8Array): boolean {
  return Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength).indexOf(REF_BYTES) !== -1;
}

/** The SHA-256 a reference names, or null when it is not one (a store edited by hand: reads must not throw on it). */
export function digestOf(ref: unknown): Buffer | null {
  return typeof ref === 'string' && REF.test(ref) ? Buffer.from(ref.slice(BODY_REF_PREFIX.length), 'base64') : null;
}

/** A body's key: the SHA-256 of its UTF-8 bytes. */
export function bodyDigest(utf8: Uint8Array): Buffer {
  return createHash('sha256').update(utf8).digest();
}

export function refOf(digest: Buffer): string {
  return BODY_REF_PREFIX + digest.toString('base64');
}

export function compareRecordPositions(a: RecordPosition, b: RecordPosition): number {
  return a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);
}

/**
 * A batch's records as they are stored, and its bodies stored apart: `settle`, before the write transaction (off
 * LMDB's lock), decodes and redacts a record's raw bodies and swaps its large bodies for references, hashing them;
 * `write`, inside it, stores each new body once and moves each body's newest reference forward.
 */
export class BodiesApart {
  private readonly taken = new Map<string, { digest: Buffer; bytes: Buffer; newest: RecordPosition }>();

  /**
   * `apartBytes` (store.bodiesApartBytes, 0 = none): bodies of this many UTF-8 bytes or more are stored apart. Smaller
   * ones stay in the record, where they cost less than the two entries apart, whose keys (hashes) land on random pages.
   */
  constructor(private readonly redactor: BodyRedactor, private readonly apartBytes: number) {}

  /**
   * The record as it is stored: raw bodies decoded and redacted, bodies of `apartBytes` or more replaced by
   * references, no rawBodies key. A copy when anything changed: the batch's own records are written again as they
   * are should the batch be retried.
   */
  settle(record: AppendedRecord): AuditRecord {
    let stored: AuditRecord = record.rawBodies ? withoutRawBodies(record) : record;
    for (const [field, refField, rawField] of BODY_FIELDS) {
      const raw = record.rawBodies?.[rawField];
      const settled = raw ? settleBody(raw, this.redactor) : null;
      const text = settled ? settled.text : record[field];
      if (settled) stored[field] = text;
      if (text === null || this.apartBytes === 0 || text.length * 3 < this.apartBytes) continue;
      const utf8 = settled?.utf8 ?? Buffer.from(text, 'utf8');
      if (utf8.length < this.apartBytes) continue;
      if (stored === record) stored = { ...record };
      stored[field] = null;
      stored[refField] = this.keep(utf8, [recordTimeMs(record.createdAt), record.id]);
    }
    return stored;
  }

  /** The body's reference, hashing it; each distinct body of the batch is kept once, with its newest record's position. */
  private keep(utf8: Buffer, position: RecordPosition): string {
    const digest = bodyDigest(utf8);
    const ref = refOf(digest);
    const body = this.taken.get(ref);
    if (!body) this.taken.set(ref, { digest, bytes: utf8, newest: position });
    else if (compareRecordPositions(position, body.newest) > 0) body.newest = position;
    return ref;
  }

  /**
   * Puts the new bodies and the newest references, inside the batch's write transaction and before its records: a
   * writer thread terminated part way leaves what it put committed, and no record may then name a missing body.
   */
  write(dbs: BodyDbs): void {
    for (const { digest, bytes, newest } of this.taken.values()) {
      if (!dbs.bytes.doesExist(digest)) dbs.bytes.put(digest, unshared(bytes));
      const known = dbs.uses.get(digest);
      if (known === undefined || compareRecordPositions(newest, known) > 0) dbs.uses.put(digest, newest);
    }
  }
}

/**
 * Whether a record's stored bytes hold this body: inside them (msgpack keeps a string as its UTF-8) or by the
 * reference that names it (hashed only when it is not inside). What a copy of the record elsewhere (the fleet's rows)
 * is checked by.
 */
export function storedHoldsBody(stored: Uint8Array, body: string): boolean {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const utf8 = Buffer.from(body, 'utf8');
  return bytes.includes(utf8) || bytes.includes(refOf(bodyDigest(utf8)));
}

let scratch = Buffer.alloc(0);

/**
 * The bytes, or a copy of them out of shared memory, for which lmdb-js (3.5.6) writes garbage: into one buffer reused,
 * as a put inside a write transaction copies the value at once.
 */
function unshared(bytes: Buffer): Buffer {
  if (!(bytes.buffer instanceof SharedArrayBuffer)) return bytes;
  if (scratch.length < bytes.length) scratch = Buffer.allocUnsafeSlow(Math.max(bytes.length, 2 * scratch.length));
  bytes.copy(scratch);
  return scratch.subarray(0, bytes.length);
}

/**
 * The record with its bodies stored apart read back in place of their references (as an endpoint shows it). Without
 * the body databases (a read that shows no body, or a store no version 6 has written) they read as null.
 */
export function resolveBodies(dbs: BodyDbs | undefined, record: AuditRecord): AuditRecord {
  for (const [field, refField] of BODY_FIELDS) {
    const ref = record[refField];
    if (ref === undefined) continue;
    const digest = digestOf(ref);
    record[field] = (digest && dbs?.bytes.getBinary(digest)?.toString('utf8')) ?? null;
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
      if (!digest) continue;
      const newest = dbs.uses.get(digest);
      if (newest !== undefined && compareRecordPositions(newest, lastRemoved) > 0) continue;
      dbs.bytes.removeSync(digest);
      dbs.uses.removeSync(digest);
    }
  }
}

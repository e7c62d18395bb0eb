import type { AuditRecord } from '../audit/record.js';
import { recordTimeMs } from '../audit/iso-time.js';
import { keyValue } from '../audit/key-value.js';
import { NO_ORGANIZATION } from './rows.js';

/** PostgreSQL's binary COPY header: signature, flags, header extension length (COPY ... WITH (FORMAT binary)). */
const HEADER = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
/** Fields per tuple: COPY_COLUMNS. */
const FIELDS = 20;
/** timestamptz counts microseconds from 2000-01-01T00:00:00Z. */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 2 ** 32;
const FIRST_CAPACITY = 1 << 20;
/** Text cells up to this many characters try the byte-by-byte ASCII copy first. */
const SHORT_TEXT = 128;

/** A filter column's cell: its value as keys hold it (key-value.ts: a long one would exceed a B-tree entry), or NULL. */
function keyed(value: string | null): string | null {
  return value === null ? null : keyValue(value);
}

/**
 * A batch of records as PostgreSQL's binary COPY stream (COPY_COLUMNS order), written into one growing buffer: no
 * text escaping, hex or date parsing on either side, and a record's stored bytes go in as they are.
 */
export class BinaryCopyBatch {
  private buffer: Buffer;
  private length: number;

  /** `capacity`: the bytes to start with (the size of the batches before: growing by copies cost ~4 % of shipping). */
  constructor(private readonly nodeId: string, capacity = FIRST_CAPACITY) {
    this.buffer = Buffer.allocUnsafe(Math.max(capacity, HEADER.length + 2));
    this.length = HEADER.copy(this.buffer, 0);
  }

  /** Bytes encoded so far. */
  get size(): number {
    return this.length;
  }

  /** Appends one record and its exact stored bytes (the Merkle leaf; NULL when absent). */
  add(record: AuditRecord, stored: Uint8Array | undefined): void {
    const json = JSON.stringify(record);
    this.int16(FIELDS);
    this.text(record.id);
    this.int64Field((recordTimeMs(record.createdAt) - PG_EPOCH_MS) * 1000);
    this.text(this.nodeId);
    this.int64Field(record.seq ?? 0);
    this.text(keyValue(record.organizationId ?? NO_ORGANIZATION));
    this.text(keyValue(record.requestId));
    this.text(keyed(record.apiKeyId));
    this.text(keyed(record.serviceAccountId));
    this.text(keyed(record.userId));
    this.int32(4);
    this.int32(record.statusCode);
    this.text(keyValue(record.method.toUpperCase()));
    this.text(keyValue(record.path));
    this.text(keyValue(record.principalType));
    this.text(keyed(record.workspaceId));
    this.text(keyValue(record.resourceType));
    this.text(keyValue(record.action));
    this.text(keyValue(record.clientIp));
    this.text(keyed(record.country));
    this.utf8(json); // json's binary form is its text; JSON.stringify never leaves a raw NUL in it
    if (stored === undefined) this.int32(-1);
    else {
      this.int32(stored.length);
      this.reserve(stored.length);
      this.buffer.set(stored, this.length);
      this.length += stored.length;
    }
  }

  /** Forgets every record added after the batch had this size (to keep it under a byte cap). */
  truncate(size: number): void {
    this.length = Math.max(HEADER.length, Math.min(size, this.length));
  }

  /** The COPY stream: header, tuples, trailer (a view of the batch's buffer, valid until the next add). */
  bytes(): Buffer {
    this.reserve(2);
    this.buffer.writeInt16BE(-1, this.length);
    return this.buffer.subarray(0, this.length + 2);
  }

  /**
   * A text cell (length-prefixed UTF-8), or NULL; PostgreSQL text cannot hold NUL, so it becomes U+FFFD. Short ASCII
   * values (ids, paths, most cells) are copied byte by byte: cheaper than a call into Buffer#write for each of them.
   */
  private text(value: string | null): void {
    if (value === null) {
      this.int32(-1);
      return;
    }
    if (value.length <= SHORT_TEXT && this.ascii(value)) return;
    this.utf8(value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value);
  }

  /** Writes the cell when every character is ASCII other than NUL; false (nothing written) otherwise. */
  private ascii(value: string): boolean {
    const length = value.length;
    this.reserve(4 + length);
    const buffer = this.buffer;
    const start = this.length + 4;
    for (let i = 0; i < length; i++) {
      const code = value.charCodeAt(i);
      if (code === 0 || code > 0x7f) return false;
      buffer[start + i] = code;
    }
    this.int32(length);
    this.length += length;
    return true;
  }

  /** A text cell without NUL. */
  private utf8(cell: string): void {
    this.reserve(4 + 3 * cell.length); // at most 3 bytes of UTF-8 per UTF-16 unit
    const written = this.buffer.write(cell, this.length + 4);
    this.int32(written);
    this.length += written;
  }

  /** An 8-byte integer field (bigint, or timestamptz in microseconds); exact for any safe integer. */
  private int64Field(value: number): void {
    this.int32(8);
    this.reserve(8);
    const high = Math.floor(value / TWO_32);
    this.buffer.writeInt32BE(high, this.length);
    this.buffer.writeUInt32BE(value - high * TWO_32, this.length + 4);
    this.length += 8;
  }

  private int32(value: number): void {
    this.reserve(4);
    const buffer = this.buffer;
    const at = this.length;
    buffer[at] = value >>> 24;
    buffer[at + 1] = (value >>> 16) & 0xff;
    buffer[at + 2] = (value >>> 8) & 0xff;
    buffer[at + 3] = value & 0xff;
    this.length = at + 4;
  }

  private int16(value: number): void {
    this.reserve(2);
    this.buffer.writeInt16BE(value, this.length);
    this.length += 2;
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

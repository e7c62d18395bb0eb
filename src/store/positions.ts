/**
 * Positions ([createdAtMs, id], the `records` key) packed as one binary value, for postings and commit-log batches.
 * Written and read by hand: msgpack of large arrays cost several times more in lmdb-js. Two layouts, told apart by
 * the top bit of the leading uint32 (a slot count never reaches 2^30):
 * - wide (schema 2's only one, still read): uint32 count, then per slot float64 ms, uint16 id length, id in UTF-8;
 *   an id length of 0 marks a removed slot (ids are never empty). Written when an ms is not a safe integer.
 * - compact: uint32 count | COMPACT (| WITH_BASE, then a float64 base ms), then per slot a tag byte:
 *   REMOVED; UUID_TIMED (16 raw bytes of a lowercase UUID whose first 48 bits are its ms, as UUIDv7 ids are: no ms
 *   kept); UUID (uvarint ms - base, 16 raw bytes); TEXT (uvarint ms - base, uvarint byte length, UTF-8) for any
 *   other id. A UUIDv7 record costs 17 bytes per posting or log slot instead of 46.
 */
import type { Position } from './cursor.js';

const HEADER = 4;
const WIDE_FIXED = 10;
const COMPACT = 0x80000000;
const WITH_BASE = 0x40000000;
const COUNT_MASK = 0x3fffffff;
const UUID_BYTES = 16;

const REMOVED = 0;
const UUID_TIMED = 1;
const UUID = 2;
const TEXT = 3;

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A position with its compact form worked out once, for a record that sits in several postings and the log. */
interface Packed extends Position {
  readonly tag: number;
  /** The UUID's 16 bytes (tags UUID_TIMED and UUID). */
  readonly raw: Uint8Array | null;
}

/** The record's position, packed once: encodePositions then copies its bytes into every value it goes into. */
export function packedPosition(ms: number, id: string): Position {
  if (!CANONICAL_UUID.test(id)) return { ms, id, tag: TEXT, raw: null } as Packed;
  const raw = Buffer.from(id.replace(/-/g, ''), 'hex');
  return { ms, id, tag: raw.readUIntBE(0, 6) === ms ? UUID_TIMED : UUID, raw } as Packed;
}

function packed(position: Position): Packed {
  return 'tag' in position ? (position as Packed) : (packedPosition(position.ms, position.id) as Packed);
}

function uvarintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    length++;
  }
  return length;
}

function writeUvarint(buffer: Buffer, value: number, at: number): number {
  while (value >= 0x80) {
    buffer[at++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  buffer[at++] = value;
  return at;
}

/** The compact layout needs integer ms within a safe distance of the base; anything else is written wide. */
function fitsCompact(positions: readonly (Packed | null)[]): { fits: boolean; base: number } {
  let base = Infinity;
  let top = -Infinity;
  for (const position of positions) {
    if (!position) continue;
    if (!Number.isSafeInteger(position.ms)) return { fits: false, base: 0 };
    if (position.tag !== UUID_TIMED) {
      base = Math.min(base, position.ms);
      top = Math.max(top, position.ms);
    }
  }
  return { fits: base === Infinity || top - base <= Number.MAX_SAFE_INTEGER, base };
}

export function encodePositions(positions: readonly (Position | null)[]): Buffer {
  const all = positions.map((position) => (position ? packed(position) : null));
  const { fits, base } = fitsCompact(all);
  return fits ? encodeCompact(all, base) : encodeWide(positions);
}

function encodeCompact(positions: readonly (Packed | null)[], base: number): Buffer {
  const withBase = base !== Infinity;
  let size = HEADER + (withBase ? 8 : 0);
  for (let i = 0; i < positions.length; i++) {
    const tag = positions[i]?.tag ?? REMOVED;
    size += 1;
    if (tag === UUID_TIMED) size += UUID_BYTES;
    else if (tag === UUID) size += uvarintLength(positions[i]!.ms - base) + UUID_BYTES;
    else if (tag === TEXT) {
      const bytes = Buffer.byteLength(positions[i]!.id);
      size += uvarintLength(positions[i]!.ms - base) + uvarintLength(bytes) + bytes;
    }
  }
  const buffer = Buffer.allocUnsafe(size);
  buffer.writeUInt32LE((positions.length | COMPACT | (withBase ? WITH_BASE : 0)) >>> 0, 0);
  let at = HEADER;
  if (withBase) at = buffer.writeDoubleLE(base, at);
  for (const position of positions) {
    if (!position) {
      buffer[at++] = REMOVED;
      continue;
    }
    const { tag, ms, id, raw } = position;
    buffer[at++] = tag;
    if (tag !== UUID_TIMED) at = writeUvarint(buffer, ms - base, at);
    if (raw) {
      for (let k = 0; k < UUID_BYTES; k++) buffer[at + k] = raw[k]!;
      at += UUID_BYTES;
    } else {
      at = writeUvarint(buffer, Buffer.byteLength(id), at);
      at += buffer.write(id, at, 'utf8');
    }
  }
  return buffer;
}

function encodeWide(positions: readonly (Position | null)[]): Buffer {
  let size = HEADER;
  for (const p of positions) size += WIDE_FIXED + (p ? Buffer.byteLength(p.id) : 0);
  const buffer = Buffer.allocUnsafe(size);
  buffer.writeUInt32LE(positions.length, 0);
  let at = HEADER;
  for (const p of positions) {
    buffer.writeDoubleLE(p ? p.ms : 0, at);
    const length = p ? buffer.write(p.id, at + WIDE_FIXED, 'utf8') : 0;
    buffer.writeUInt16LE(length, at + 8);
    at += WIDE_FIXED + length;
  }
  return buffer;
}

function view(value: Uint8Array): Buffer {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** How many slots the value holds (removed ones included), without decoding them. */
export function slotCount(value: Uint8Array): number {
  const head = view(value).readUInt32LE(0);
  return head & COMPACT ? head & COUNT_MASK : head;
}

/** Every slot in order; null where one was removed. */
export function decodePositions(value: Uint8Array): (Position | null)[] {
  const out: (Position | null)[] = new Array<Position | null>(slotCount(value)).fill(null);
  visitSlots(value, 0, out.length, (slot, ms, id) => (out[slot] = { ms, id }));
  return out;
}

/** Visits slots [from, to) of a packed value in order, skipping earlier ones without decoding them; removed ones too. */
export function visitSlots(value: Uint8Array, from: number, to: number, visit: (slot: number, ms: number, id: string) => void): void {
  const buffer = view(value);
  const head = buffer.readUInt32LE(0);
  if (head & COMPACT) visitCompact(buffer, head, from, to, visit);
  else visitWide(buffer, head, from, to, visit);
}

function visitWide(buffer: Buffer, count: number, from: number, to: number, visit: (slot: number, ms: number, id: string) => void): void {
  const end = Math.min(to, count);
  let at = HEADER;
  for (let i = 0; i < end; i++) {
    const length = buffer.readUInt16LE(at + 8);
    if (i >= from && length > 0) visit(i, buffer.readDoubleLE(at), buffer.toString('utf8', at + WIDE_FIXED, at + WIDE_FIXED + length));
    at += WIDE_FIXED + length;
  }
}

function visitCompact(buffer: Buffer, head: number, from: number, to: number, visit: (slot: number, ms: number, id: string) => void): void {
  const end = Math.min(to, head & COUNT_MASK);
  const base = head & WITH_BASE ? buffer.readDoubleLE(HEADER) : 0;
  let at = HEADER + (head & WITH_BASE ? 8 : 0);
  for (let i = 0; i < end; i++) {
    const tag = buffer[at++]!;
    if (tag === REMOVED) continue;
    let ms = 0;
    if (tag !== UUID_TIMED) {
      ms = base + readUvarint(buffer, at);
      at = varintEnd;
    }
    if (tag === TEXT) {
      const length = readUvarint(buffer, at);
      if (i >= from) visit(i, ms, buffer.toString('utf8', varintEnd, varintEnd + length));
      at = varintEnd + length;
      continue;
    }
    if (i >= from) {
      if (tag === UUID_TIMED) ms = buffer.readUIntBE(at, 6);
      visit(i, ms, uuidText(buffer, at));
    }
    at += UUID_BYTES;
  }
}

/** Where the last readUvarint stopped (no pair allocated per slot on the read path). */
let varintEnd = 0;

function readUvarint(buffer: Buffer, at: number): number {
  let value = 0;
  let scale = 1;
  for (;;) {
    const byte = buffer[at++]!;
    value += (byte & 0x7f) * scale;
    scale *= 0x80;
    if (byte < 0x80) {
      varintEnd = at;
      return value;
    }
  }
}

const HEX_DIGITS = new Uint8Array(Array.from('0123456789abcdef', (c) => c.charCodeAt(0)));
const DASH = 0x2d;
const uuidScratch = Buffer.alloc(36);

/** The canonical text of 16 UUID bytes, written into a scratch buffer and read as one flat string (1.5x faster than hex and slices). */
function uuidText(buffer: Buffer, at: number): string {
  let out = 0;
  for (let k = 0; k < UUID_BYTES; k++) {
    if (k === 4 || k === 6 || k === 8 || k === 10) uuidScratch[out++] = DASH;
    const byte = buffer[at + k]!;
    uuidScratch[out++] = HEX_DIGITS[byte >> 4]!;
    uuidScratch[out++] = HEX_DIGITS[byte & 15]!;
  }
  return uuidScratch.toString('latin1', 0, 36);
}

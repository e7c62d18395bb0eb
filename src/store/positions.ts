/**
 * Positions ([createdAtMs, id], the `records` key) packed as one binary value, for postings and commit-log batches:
 * uint32 count, then per position float64 ms, uint16 id length, id in UTF-8. An id length of 0 marks a removed slot
 * (ids are never empty). Written and read by hand: msgpack of large arrays cost several times more in lmdb-js.
 */
import type { Position } from './cursor.js';

const HEADER = 4;
const SLOT_FIXED = 10;

export function encodePositions(positions: readonly (Position | null)[]): Buffer {
  let size = HEADER;
  for (const p of positions) size += SLOT_FIXED + (p ? Buffer.byteLength(p.id) : 0);
  const buffer = Buffer.allocUnsafe(size);
  buffer.writeUInt32LE(positions.length, 0);
  let at = HEADER;
  for (const p of positions) {
    buffer.writeDoubleLE(p ? p.ms : 0, at);
    const length = p ? buffer.write(p.id, at + SLOT_FIXED, 'utf8') : 0;
    buffer.writeUInt16LE(length, at + 8);
    at += SLOT_FIXED + length;
  }
  return buffer;
}

/** How many slots the value holds (removed ones included), without decoding them. */
export function slotCount(value: Uint8Array): number {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).readUInt32LE(0);
}

/** Every slot in order; null where one was removed. */
export function decodePositions(value: Uint8Array): (Position | null)[] {
  const buffer = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const count = buffer.readUInt32LE(0);
  const out: (Position | null)[] = new Array(count);
  let at = HEADER;
  for (let i = 0; i < count; i++) {
    const ms = buffer.readDoubleLE(at);
    const length = buffer.readUInt16LE(at + 8);
    out[i] = length === 0 ? null : { ms, id: buffer.toString('utf8', at + SLOT_FIXED, at + SLOT_FIXED + length) };
    at += SLOT_FIXED + length;
  }
  return out;
}

/** Visits slots [from, to) of a packed value in order, skipping earlier ones without decoding them; removed ones too. */
export function visitSlots(value: Uint8Array, from: number, to: number, visit: (slot: number, ms: number, id: string) => void): void {
  const buffer = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const end = Math.min(to, buffer.readUInt32LE(0));
  let at = HEADER;
  for (let i = 0; i < end; i++) {
    const length = buffer.readUInt16LE(at + 8);
    if (i >= from && length > 0) visit(i, buffer.readDoubleLE(at), buffer.toString('utf8', at + SLOT_FIXED, at + SLOT_FIXED + length));
    at += SLOT_FIXED + length;
  }
}

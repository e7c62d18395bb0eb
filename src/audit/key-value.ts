import { createHash } from 'node:crypto';

/**
 * Longest value, in UTF-8 bytes, kept as it is in an index key. LMDB refuses keys over 1,978 bytes and PostgreSQL
 * B-tree entries over 2,704, and a key holds an organization, a value and more: one 8,000-character path or claim
 * would fail its whole write batch, and every batch after it.
 */
export const MAX_KEYED_BYTES = 256;
/** Starts a hashed value; a value that itself starts so is hashed too, so no raw value can pass for a hash. */
const HASHED = 'sha256:';
/** Up to this many UTF-16 units a string cannot exceed MAX_KEYED_BYTES (3 UTF-8 bytes a unit at most). */
const SURELY_SHORT = Math.floor(MAX_KEYED_BYTES / 3);
/**
 * Hashed too: a value holding U+0000 (PostgreSQL text cannot hold it; the count rollup joins pairs with it) or starting
 * with a control character (lmdb-js's ordered-binary decodes a key wrongly after a long string starting U+0000-U+0004).
 */
const UNKEYABLE = /^[\u0000-\u001f]|\u0000/;

/**
 * A filter value as index keys hold it: itself, or when too long or unkeyable `sha256:` and its SHA-256 in hex.
 * Records keep the value itself; only keys (and the fleet's filter columns) hold the hash, so an exact filter still
 * finds it.
 */
export function keyValue(value: string): string {
  const fits = value.length <= SURELY_SHORT || Buffer.byteLength(value, 'utf8') <= MAX_KEYED_BYTES;
  if (fits && !value.startsWith(HASHED) && !UNKEYABLE.test(value)) return value;
  return HASHED + createHash('sha256').update(value, 'utf8').digest('hex');
}

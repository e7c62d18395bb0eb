import type { AuditFilter, FilterField } from './store.js';

/**
 * The UTF-8 bytes of the string values a residual filter asks for (methods compare without case, numbers encode in
 * several ways: neither is included), or null when there are none. msgpack keeps a string's UTF-8 bytes contiguous,
 * so a record whose stored bytes lack one cannot match, and is skipped without decoding it.
 */
export function needlesOf(filter: AuditFilter, residual: readonly FilterField[]): Buffer[] | null {
  const needles = residual
    .filter((name) => name !== 'method' && typeof filter[name] === 'string' && filter[name] !== '')
    .map((name) => Buffer.from(filter[name] as string, 'utf8'));
  return needles.length > 0 ? needles : null;
}

/**
 * Whether stored bytes hold every needle. lmdb-js's getBinaryFast answers a view of a shared 16 MiB buffer whose
 * `length` alone is the value's: searched through a subarray, so stale bytes after it are never read.
 */
export function mayMatch(stored: Buffer | undefined, needles: readonly Buffer[]): boolean {
  if (stored === undefined) return false;
  const bytes = stored.subarray(0, stored.length);
  return needles.every((needle) => bytes.includes(needle));
}

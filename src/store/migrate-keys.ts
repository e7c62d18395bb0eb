import type { Database, Key, RootDatabase } from 'lmdb';
import { keyValue } from '../audit/key-value.js';

/** Keys read per chunk, and rewritten per transaction. */
const CHUNK = 10_000;

/**
 * Schema 4 -> 5: index keys hold long values by hash (key-value.ts). Rewrites, in the named databases, every key one
 * of whose strings keyValue changes (a value over 256 bytes an older version kept as it was), moving its value
 * to the hashed key. Reads keys in chunks and rewrites each chunk in one transaction, so a crash resumes by scanning
 * again; a store without long values only pays for reading its keys. Returns how many keys moved.
 */
export function rekeyLongValues(env: RootDatabase, names: readonly string[]): number {
  let moved = 0;
  for (const name of names) {
    const db = env.openDB<Buffer, Key>({ name, encoding: 'binary' });
    let start: Key | undefined;
    for (;;) {
      const keys = Array.from(db.getKeys({ ...(start === undefined ? {} : { start, exclusiveStart: true }), limit: CHUNK })) as Key[];
      const stale = keys.filter((key) => Array.isArray(key) && key.some((part) => typeof part === 'string' && keyValue(part) !== part));
      if (stale.length > 0) moved += env.transactionSync(() => stale.reduce((n: number, key) => n + moveTo(db, key as Key[]), 0));
      if (keys.length < CHUNK) break;
      start = keys[keys.length - 1];
    }
  }
  return moved;
}

function moveTo(db: Database<Buffer, Key>, key: Key[]): number {
  const value = db.get(key);
  if (value === undefined) return 0;
  db.putSync(key.map((part) => (typeof part === 'string' ? keyValue(part) : part)), value);
  db.removeSync(key);
  return 1;
}

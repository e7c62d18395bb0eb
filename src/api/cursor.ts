import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AuditFilter } from '../store/store.js';

/** The key cursors are signed with: derived from the installation secret, so it is never used raw for two jobs. */
export function cursorKey(installationSecret: string): Buffer {
  return createHmac('sha256', installationSecret).update('audit-proxy api cursor v1').digest();
}

const TAG_CHARS = 22; // 16 bytes of HMAC-SHA256 in base64url

/**
 * The API's cursor is the store's, bound to the filters it was made for and signed (HMAC under the installation's
 * key): a cursor replayed with other filters, tampered with or made by hand is refused with 400, and the store
 * only ever sees positions it produced itself.
 */
export function encodeCursor(filter: AuditFilter, storeCursor: string | null, key: Buffer): string | null {
  if (storeCursor === null) return null;
  const payload = Buffer.from(storeCursor, 'utf8').toString('base64url');
  return `${payload}.${tag(key, filter, payload)}`;
}

/** The store's cursor inside an API cursor, or null when it is malformed, forged or belongs to other filters. */
export function decodeCursor(filter: AuditFilter, cursor: string, key: Buffer): string | null {
  const dot = cursor.indexOf('.');
  if (dot <= 0 || cursor.length - dot - 1 !== TAG_CHARS) return null;
  const payload = cursor.slice(0, dot);
  const given = Buffer.from(cursor.slice(dot + 1));
  const expected = Buffer.from(tag(key, filter, payload));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return Buffer.from(payload, 'base64url').toString('utf8');
}

function tag(key: Buffer, filter: AuditFilter, payload: string): string {
  return createHmac('sha256', key).update(canonicalFilter(filter)).update('\n').update(payload).digest().subarray(0, 16).toString('base64url');
}

function canonicalFilter(filter: AuditFilter): string {
  const entries = Object.entries(filter).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify(entries);
}

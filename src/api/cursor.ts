import { createHash } from 'node:crypto';
import type { AuditFilter } from '../store/store.js';

/**
 * The API's cursor wraps the store's with a digest of the filter it was made for, so a cursor replayed with other
 * filters (or tampered with) is refused with 400 instead of paging from a meaningless position.
 */
export function encodeCursor(filter: AuditFilter, storeCursor: string | null): string | null {
  if (storeCursor === null) return null;
  return Buffer.from(JSON.stringify([filterDigest(filter), storeCursor])).toString('base64url');
}

/** The store's cursor inside an API cursor, or null when it is malformed or belongs to other filters. */
export function decodeCursor(filter: AuditFilter, cursor: string): string | null {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(decoded) || decoded.length !== 2) return null;
    const [digest, storeCursor] = decoded as unknown[];
    return digest === filterDigest(filter) && typeof storeCursor === 'string' ? storeCursor : null;
  } catch {
    return null;
  }
}

function filterDigest(filter: AuditFilter): string {
  const canonical = Object.entries(filter).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url').slice(0, 16);
}

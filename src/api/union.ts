import type { AuditRecord } from '../audit/record.js';
import { decodeCursor as decodeStoreCursor, encodeCursor as encodeStoreCursor } from '../store/cursor.js';
import type { AuditFilter, AuditStore, ViewItem } from '../store/store.js';
import type { RecordView } from '../audit/views.js';
import { viewItem } from '../store/read-pool/view-page.js';
import { queryView } from './view-pages.js';

/** A page of a union of filters: newest first, the total of every match, and whether more follow. */
export interface UnionPage {
  items: ViewItem[];
  total: number;
  hasMore: boolean;
}

/** Offsets up to this deep are served by merging each filter's first offset + limit matches. */
const MERGE_OFFSET_MAX = 1_000;

/** Where to start: an offset into the matches, or a store cursor (the position after which the page starts). */
export type UnionStart = { offset: number; cursor?: undefined } | { cursor: string; offset?: undefined };

/**
 * Queries over a union of disjoint filters (the store ANDs its filters; a Portkey user_type, user_id or method scope
 * may mean several principal types or methods). A single filter goes straight to the store and its indexes.
 */
export async function queryUnion(store: AuditStore, filters: readonly AuditFilter[], limit: number, start: UnionStart, view: RecordView): Promise<UnionPage> {
  if (filters.length === 1) {
    const page = await queryView(store, filters[0]!, { limit, ...start, withTotal: true }, view);
    return { items: page.items, total: page.total ?? 0, hasMore: page.hasMore };
  }
  if (start.cursor !== undefined) return mergePages(store, filters, limit, { cursor: start.cursor }, view);
  if (start.offset + limit <= MERGE_OFFSET_MAX) return mergePages(store, filters, limit, start, view);
  // The filters are disjoint, so their totals add up.
  const totals = await Promise.all(filters.map(async (f) => (await store.query(f, { limit: 1, withTotal: true })).total ?? 0));
  const total = totals.reduce((sum, n) => sum + n, 0);
  if (start.offset >= total) return { items: [], total, hasMore: false }; // no walk through every match for nothing
  const items: ViewItem[] = [];
  let skipped = 0;
  for await (const record of iterateUnion(store, filters)) {
    if (items.length === limit) break;
    if (skipped < start.offset) skipped++;
    else items.push(viewItem(record, view));
  }
  return { items, total, hasMore: start.offset + items.length < total };
}

/**
 * Each filter's first offset + limit matches (or its page after the cursor) with its total, merged: the newest
 * `limit` after the offset. One read per filter; deeper offsets walk the union instead.
 */
async function mergePages(store: AuditStore, filters: readonly AuditFilter[], limit: number, start: UnionStart, view: RecordView): Promise<UnionPage> {
  const offset = start.offset ?? 0;
  const page = { limit: offset + limit, ...(start.cursor !== undefined && { cursor: start.cursor }), withTotal: true };
  const pages = await Promise.all(filters.map((f) => queryView(store, f, page, view)));
  const merged = pages.flatMap((p) => p.items).sort((a, b) => (a.id < b.id ? 1 : -1));
  const total = pages.reduce((sum, p) => sum + (p.total ?? 0), 0);
  const items = merged.slice(offset, offset + limit);
  const more = start.cursor !== undefined ? merged.length > limit || pages.some((p) => p.hasMore) : offset + items.length < total;
  return { items, total, hasMore: more };
}

/** True when the store can read this as a position (an API cursor's digest alone does not prove it). */
export function isStoreCursor(cursor: string): boolean {
  try {
    decodeStoreCursor(cursor);
    return true;
  } catch {
    return false;
  }
}

/** The store cursor continuing after this item; valid for every filter, as all share the store's time order. */
export function storeCursorAfter(item: ViewItem): string {
  return encodeStoreCursor({ ms: item.ms, id: item.id });
}

/** Every match of any filter, newest first, read lazily: a k-way merge on the time-ordered UUIDv7 ids. */
export async function* iterateUnion(store: AuditStore, filters: readonly AuditFilter[]): AsyncGenerator<AuditRecord> {
  if (filters.length === 1) {
    yield* store.iterate(filters[0]!);
    return;
  }
  const sources = filters.map((f) => store.iterate(f)[Symbol.asyncIterator]());
  const heads = await Promise.all(sources.map((s) => s.next()));
  try {
    for (;;) {
      const newest = newestHead(heads);
      if (newest === -1) return;
      yield heads[newest]!.value as AuditRecord;
      heads[newest] = await sources[newest]!.next();
    }
  } finally {
    // Ends the store's read transactions when the consumer stops early (a page is full, a client went away).
    await Promise.all(sources.map((source) => source.return?.()));
  }
}

function newestHead(heads: readonly IteratorResult<AuditRecord>[]): number {
  let newest = -1;
  for (let i = 0; i < heads.length; i++) {
    const head = heads[i]!;
    if (!head.done && (newest === -1 || head.value.id > (heads[newest]!.value as AuditRecord).id)) newest = i;
  }
  return newest;
}

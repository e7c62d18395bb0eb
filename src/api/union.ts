import type { AuditRecord } from '../audit/record.js';
import type { AuditFilter, AuditStore } from '../store/store.js';

/**
 * Queries over a union of disjoint filters (the store ANDs its filters; a Portkey user_type or user_id may mean
 * one of several principal types). A single filter goes straight to the store and its indexes.
 */
export async function queryUnion(store: AuditStore, filters: readonly AuditFilter[], limit: number, offset: number): Promise<{ items: AuditRecord[]; total: number }> {
  if (filters.length === 1) {
    const page = await store.query(filters[0]!, { limit, offset, withTotal: true });
    return { items: page.items, total: page.total ?? 0 };
  }
  // The filters differ in principalType, so their matches are disjoint and their totals add up.
  const totals = await Promise.all(filters.map(async (f) => (await store.query(f, { limit: 1, withTotal: true })).total ?? 0));
  const total = totals.reduce((sum, n) => sum + n, 0);
  const items: AuditRecord[] = [];
  let skipped = 0;
  for await (const record of iterateUnion(store, filters)) {
    if (items.length === limit) break;
    if (skipped < offset) skipped++;
    else items.push(record);
  }
  return { items, total };
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

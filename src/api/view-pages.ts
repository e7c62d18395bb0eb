import type { RecordView } from '../audit/views.js';
import { viewPage } from '../store/read-pool/view-page.js';
import type { AuditFilter, AuditStore, PageRequest, ViewItem, ViewPage } from '../store/store.js';

/** A page with its records serialized in `view`: by the reader thread that read them where the store has one. */
export async function queryView(store: AuditStore, filter: AuditFilter, page: PageRequest, view: RecordView): Promise<ViewPage> {
  if (store.queryView) return store.queryView(filter, page, view);
  return viewPage(await store.query(filter, page), view);
}

/** The items as a JSON array, from their serialized forms. */
export function jsonArray(items: readonly ViewItem[]): string {
  return `[${items.map((item) => item.json).join(',')}]`;
}

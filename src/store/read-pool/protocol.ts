import type { Config } from '../../config/schema.js';
import type { RecordView } from '../../audit/views.js';
import type { AuditFilter, PageRequest, QueryResult, ViewPage } from '../store.js';

/** main -> reader: close the store and let the thread end (terminating a thread inside lmdb's native code aborts the process). */
export interface CloseMessage {
  close: true;
}

/** main -> reader: one query; the reader answers it with exactly one Reply carrying the same id. */
export interface QueryMessage {
  id: number;
  filter: AuditFilter;
  page: PageRequest;
  /** Answer a ViewPage, the records serialized in this view, instead of records (which cost a structured clone). */
  view?: RecordView;
}

/** reader -> main: `ready` once, when the store is open, then one answer per query. */
export type Reply =
  | { ready: true }
  | { id: number; ok: true; result: QueryResult | ViewPage }
  | { id: number; ok: false; name: string; message: string };

/** What a reader thread is started with. */
export interface ReaderData {
  store: Config['store'];
}

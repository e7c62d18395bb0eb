import type { AuditRecord } from '../../audit/record.js';
import { recordTimeMs } from '../../audit/iso-time.js';
import { viewJson, type RecordView } from '../../audit/views.js';
import type { QueryResult } from '../store.js';

/** A record as an endpoint shows it (JSON text), with its position to merge and continue by. */
export interface ViewItem {
  id: string;
  ms: number;
  json: string;
}

/** A QueryResult whose items are serialized in a view: what a reader thread sends back instead of records. */
export interface ViewPage extends Omit<QueryResult, 'items'> {
  items: ViewItem[];
}

export function viewItem(record: AuditRecord, view: RecordView): ViewItem {
  return { id: record.id, ms: recordTimeMs(record.createdAt), json: viewJson(record, view) };
}

export function viewPage(result: QueryResult, view: RecordView): ViewPage {
  return { ...result, items: result.items.map((record) => viewItem(record, view)) };
}

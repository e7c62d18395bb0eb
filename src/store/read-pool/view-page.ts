import type { AuditRecord } from '../../audit/record.js';
import { recordTimeMs } from '../../audit/iso-time.js';
import { viewJson, type RecordView } from '../../audit/views.js';
import type { QueryResult, ViewItem, ViewPage } from '../store.js';

export function viewItem(record: AuditRecord, view: RecordView): ViewItem {
  return { id: record.id, ms: recordTimeMs(record.createdAt), json: viewJson(record, view) };
}

export function viewPage(result: QueryResult, view: RecordView): ViewPage {
  return { ...result, items: result.items.map((record) => viewItem(record, view)) };
}

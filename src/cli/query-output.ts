import { API_KEY_REQUEST_FIELDS } from '../api/api-key-requests.js';
import { apiKeyRequestItem } from '../audit/views.js';
import { csvCell } from '../api/export.js';
import { REQUEST_DETAIL_FIELDS, requestDetail } from '../api/request-details.js';
import type { AuditRecord } from '../audit/record.js';

export type Print = (text: string) => void;
export type Format = 'table' | 'json' | 'ndjson' | 'csv';
type Row = Record<string, unknown>;

const TABLE_COLUMNS = ['createdAt', 'method', 'statusCode', 'path', 'principalType', 'principalId', 'organizationId', 'durationMs'] as const;

/** Prints records in one format; `full` adds headers, bodies, query, sizes and the outcome detail to each. */
export class RecordPrinter {
  private readonly fields: readonly string[];
  private readonly widths = TABLE_COLUMNS.map((c) => c.length);

  constructor(private readonly format: Format, private readonly full: boolean, private readonly print: Print) {
    this.fields = full ? REQUEST_DETAIL_FIELDS : API_KEY_REQUEST_FIELDS;
  }

  /** A whole answer: the json format is one array, the others one line (or block) per record. */
  all(records: AuditRecord[]): void {
    if (this.format === 'json') return this.print(JSON.stringify(records.map((r) => this.row(r)), null, 2));
    this.header(records);
    for (const record of records) this.one(record);
    if (this.format === 'table' && !this.full) this.print(`${records.length} record${records.length === 1 ? '' : 's'}`);
  }

  /** Before a stream of records (--follow): the csv header, the table's column names. */
  header(sizing: AuditRecord[] = []): void {
    if (this.format === 'csv') this.print(this.fields.map(csvCell).join(','));
    if (this.format !== 'table' || this.full) return;
    for (const record of sizing) this.cells(record).forEach((cell, i) => { this.widths[i] = Math.max(this.widths[i]!, cell.length); });
    this.printCells([...TABLE_COLUMNS]);
  }

  one(record: AuditRecord): void {
    const row = this.row(record);
    if (this.format === 'ndjson' || this.format === 'json') return this.print(JSON.stringify(row));
    if (this.format === 'csv') return this.print(this.fields.map((f) => csvCell(cellText(row[f]))).join(','));
    if (this.full) return this.block(row);
    this.printCells(this.cells(record));
  }

  private row(record: AuditRecord): Row {
    return this.full ? requestDetail(record) : apiKeyRequestItem(record);
  }

  private cells(record: AuditRecord): string[] {
    const item = apiKeyRequestItem(record);
    return TABLE_COLUMNS.map((column) => String(item[column] ?? '-'));
  }

  private printCells(cells: string[]): void {
    this.print(cells.map((cell, i) => cell.padEnd(this.widths[i]!)).join('  ').trimEnd());
  }

  /** One record for people: a field per line, bodies as sent, a blank line after. */
  private block(row: Row): void {
    for (const field of this.fields) this.print(`${field}: ${cellText(row[field]) ?? '-'}`);
    this.print('');
  }
}

function cellText(value: unknown): string | number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string') return value;
  return JSON.stringify(value);
}


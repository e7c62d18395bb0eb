import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AuditRecord } from '../audit/record.js';
import type { RequestContext } from '../pipeline/context.js';
import type { AuditFilter, AuditStore } from '../store/store.js';
import { isDenial } from './access.js';
import { auditLogRecord } from '../audit/views.js';
import { auditLogFilterParams, scopedAuditLogFilters, type MethodScope } from './audit-logs.js';
import { parseParams } from './params.js';
import { sendApiError } from './respond.js';
import { iterateUnion } from './union.js';

export const exportParams = z.strictObject({
  ...auditLogFilterParams,
  format: z.enum(['ndjson', 'csv'], 'must be ndjson or csv').default('ndjson'),
});

/** Portkey's record plus what its shape has no field for: the captured error-response body. */
function exportRow(record: AuditRecord) {
  return { ...auditLogRecord(record), response_body: record.responseBody };
}

type ExportRow = ReturnType<typeof exportRow>;

export const EXPORT_COLUMNS = [
  'timestamp', 'method', 'uri', 'request_id', 'request_body', 'query_params', 'request_headers', 'user_id', 'user_type',
  'organisation_id', 'workspace_id', 'response_status_code', 'resource_type', 'action', 'client_ip', 'country', 'response_body',
] as const satisfies readonly (keyof ExportRow)[];

interface Format {
  contentType: string;
  header: string;
  line(row: ExportRow): string;
}

const FORMATS: Record<'ndjson' | 'csv', Format> = {
  ndjson: { contentType: 'application/x-ndjson; charset=utf-8', header: '', line: (row: ExportRow) => `${JSON.stringify(row)}\n` },
  csv: { contentType: 'text/csv; charset=utf-8', header: csvLine(EXPORT_COLUMNS), line: (row: ExportRow) => csvLine(EXPORT_COLUMNS.map((c) => row[c])) },
};

/**
 * A CSV cell per RFC 4180 (quoted when it holds a quote, comma or line break; quotes doubled). A text starting with
 * = + - @, a tab or a carriage return (OWASP's list) gets a leading single quote so a spreadsheet shows it instead of
 * evaluating it as a formula.
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvLine(cells: readonly (string | number | null)[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** GET /v1/audit-logs/export: every match as NDJSON or CSV, newest first, streamed row by row. */
export async function answerExport(ctx: RequestContext, store: AuditStore, scope: MethodScope): Promise<void> {
  const parsed = parseParams(ctx.search, exportParams);
  if (!parsed.ok) return sendApiError(ctx, 400, parsed.message);
  const filters = scopedAuditLogFilters(ctx, parsed.value, scope);
  if (isDenial(filters)) return sendApiError(ctx, filters.status, filters.message);
  const format = FORMATS[parsed.value.format];
  ctx.statusCode = 200;
  ctx.res.writeHead(200, {
    'content-type': format.contentType,
    'content-disposition': `attachment; filename="audit-logs.${parsed.value.format}"`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-request-id': ctx.requestId,
  });
  if (ctx.req.method === 'HEAD') return void ctx.res.end();
  await streamRows(ctx, store, filters, format);
}

/** Writes one row at a time, waiting for 'drain' when the socket is full: memory stays flat for any row count. */
async function streamRows(ctx: RequestContext, store: AuditStore, filters: AuditFilter[], format: Format): Promise<void> {
  const { res } = ctx;
  const write = (text: string): boolean => {
    ctx.responseBytes += Buffer.byteLength(text);
    return res.write(text);
  };
  if (format.header) write(format.header);
  for await (const record of iterateUnion(store, filters)) {
    if (res.destroyed) return; // the client went away: leaving the loop ends the store's iteration
    if (!write(format.line(exportRow(record)))) {
      await drainedOrClosed(res);
    }
  }
  res.end();
}

async function drainedOrClosed(res: ServerResponse): Promise<void> {
  const done = new AbortController();
  try {
    await Promise.race([once(res, 'drain', { signal: done.signal }), once(res, 'close', { signal: done.signal })]);
  } finally {
    done.abort(); // removes the listener that lost the race, so none pile up over millions of rows
  }
}

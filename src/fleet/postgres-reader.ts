import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { AuditRecord } from '../audit/record.js';
import { decodeCursor, encodeCursor, type Position } from '../store/cursor.js';
import type { AuditFilter, PageRequest, QueryResult } from '../store/store.js';
import { StoreUnavailableError } from '../store/unavailable.js';
import { FILTER_COLUMNS } from './rows.js';
import { RECORDS_TABLE } from './schema.js';
import { describeError } from './errors.js';
import { recordTimeMs } from '../audit/iso-time.js';

/** Rows fetched per round trip while iterating (keyset pages: no cursor or transaction stays open between them). */
const ITERATE_CHUNK = 500;

/** The audit store's reads, answered from PostgreSQL with the LMDB store's contract: same filters, order, cursors. */
export class PostgresReader {
  constructor(private readonly pool: pg.Pool) {}

  async query(filter: AuditFilter, page: PageRequest): Promise<QueryResult> {
    if (!Number.isInteger(page.limit) || page.limit < 1) throw new RangeError('limit must be a positive integer');
    const after = page.cursor ? decodeCursor(page.cursor) : undefined;
    const offset = after ? 0 : Math.max(0, page.offset ?? 0);
    const [rows, total] = await Promise.all([
      this.page(filter, after, page.limit + 1, offset),
      page.withTotal ? this.count(filter) : Promise.resolve(undefined),
    ]);
    const hasMore = rows.length > page.limit;
    const items = hasMore ? rows.slice(0, page.limit) : rows;
    const last = items[items.length - 1];
    const nextCursor = hasMore && last ? encodeCursor(positionOf(last)) : null;
    const result: QueryResult = { items, hasMore, nextCursor };
    if (total !== undefined) result.total = total;
    return result;
  }

  /** Every match newest first, fetched in keyset chunks; leaving the loop early stops fetching. */
  async *iterate(filter: AuditFilter): AsyncGenerator<AuditRecord> {
    let after: Position | undefined;
    for (;;) {
      const rows = await this.page(filter, after, ITERATE_CHUNK, 0);
      yield* rows;
      if (rows.length < ITERATE_CHUNK) return;
      after = positionOf(rows[rows.length - 1]!);
    }
  }

  /**
   * Keyset pages without an offset walk time windows newest first (today and ahead, then widening back): each query
   * names its bounds, so PostgreSQL plans only the daily partitions inside them (planning every partition of a long
   * retention costs far more than reading a page). An offset counts across windows, so it takes one query over all.
   */
  private async page(filter: AuditFilter, after: Position | undefined, limit: number, offset: number): Promise<AuditRecord[]> {
    if (offset > 0) return this.pageWithin(filter, after, limit, offset, {});
    const rows: AuditRecord[] = [];
    for (const window of timeWindows(Date.now(), filter, after)) {
      rows.push(...await this.pageWithin(filter, after, limit - rows.length, 0, window));
      if (rows.length >= limit) break;
    }
    return rows;
  }

  private async pageWithin(filter: AuditFilter, after: Position | undefined, limit: number, offset: number, window: Window): Promise<AuditRecord[]> {
    const where = whereClause(filter);
    if (after) {
      where.params.push(isoMs(after.ms), after.id);
      where.conditions.push(`(created_at, id) < ($${where.params.length - 1}::timestamptz, $${where.params.length})`);
    }
    if (window.fromMs !== undefined) {
      where.params.push(isoMs(window.fromMs));
      where.conditions.push(`created_at >= $${where.params.length}::timestamptz`);
    }
    if (window.toMs !== undefined) {
      where.params.push(isoMs(window.toMs));
      where.conditions.push(`created_at < $${where.params.length}::timestamptz`);
    }
    where.params.push(limit, offset);
    const text = `SELECT record FROM ${RECORDS_TABLE}${sqlWhere(where.conditions)} ORDER BY created_at DESC, id DESC`
      + ` LIMIT $${where.params.length - 1} OFFSET $${where.params.length}`;
    const rows = await this.run<{ record: AuditRecord }>(text, where.params, statementName(text));
    return rows.map((row) => row.record);
  }

  private async count(filter: AuditFilter): Promise<number> {
    const where = whereClause(filter);
    const rows = await this.run<{ total: string }>(`SELECT count(*) AS total FROM ${RECORDS_TABLE}${sqlWhere(where.conditions)}`, where.params);
    return Number(rows[0]!.total);
  }

  /** A failed query means the fleet store cannot answer now (the API says 503), whatever PostgreSQL's reason. */
  private async run<Row extends pg.QueryResultRow>(text: string, values: unknown[], name?: string): Promise<Row[]> {
    try {
      return (await this.pool.query<Row>(name ? { name, text, values } : { text, values })).rows;
    } catch (error) {
      throw new StoreUnavailableError(`the fleet audit store (PostgreSQL) cannot answer: ${describeError(error)}`);
    }
  }
}

interface Where {
  conditions: string[];
  params: unknown[];
}

/** Every filter as an equality on its column (methods compare uppercase), times as inclusive millisecond bounds. */
function whereClause(filter: AuditFilter): Where {
  const where: Where = { conditions: [], params: [] };
  const add = (condition: (n: number) => string, value: unknown): void => {
    where.params.push(value);
    where.conditions.push(condition(where.params.length));
  };
  for (const [field, column] of Object.entries(FILTER_COLUMNS) as [keyof typeof FILTER_COLUMNS, string][]) {
    const value = filter[field];
    if (value === undefined) continue;
    add((n) => `${column} = $${n}`, field === 'method' ? String(value).toUpperCase() : value);
  }
  if (filter.fromMs !== undefined) add((n) => `created_at >= $${n}::timestamptz`, isoMs(Math.ceil(filter.fromMs!)));
  if (filter.toMs !== undefined) add((n) => `created_at < $${n}::timestamptz`, isoMs(Math.floor(filter.toMs!) + 1));
  return where;
}

/** A half-open time range [fromMs, toMs); a missing bound is open. */
interface Window {
  fromMs?: number;
  toMs?: number;
}

const DAY_MS = 86_400_000;
/** Window edges in days before today: [today, ahead), then 7 days back, then 30 more, then everything older. */
const WINDOW_EDGES_DAYS = [0, 7, 37];

/** The windows a newest-first page walks, skipping those the filter's bounds or the cursor leave empty. */
export function timeWindows(nowMs: number, filter: AuditFilter, after: Position | undefined): Window[] {
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const edges = WINDOW_EDGES_DAYS.map((days) => today - days * DAY_MS);
  const windows: Window[] = edges.map((fromMs, i) => (i === 0 ? { fromMs } : { fromMs, toMs: edges[i - 1]! }));
  windows.push({ toMs: edges[edges.length - 1]! });
  const newest = Math.min(filter.toMs ?? Infinity, after?.ms ?? Infinity);
  const oldest = filter.fromMs ?? -Infinity;
  return windows.filter((w) => (w.fromMs ?? -Infinity) <= newest && (w.toMs ?? Infinity) > oldest);
}

function sqlWhere(conditions: string[]): string {
  return conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '';
}

/** Epoch milliseconds as an ISO time PostgreSQL reads exactly; out-of-range bounds clamp to what it can hold. */
function isoMs(ms: number): string {
  return new Date(Math.min(Math.max(ms, MIN_PG_MS), MAX_PG_MS)).toISOString();
}

/** 0001-01-01 and 9999-12-31: inside both JavaScript's and PostgreSQL's ranges, and beyond any record. */
const MIN_PG_MS = -62_135_596_800_000;
const MAX_PG_MS = 253_402_214_400_000;

/** A page's statement, prepared once per connection under a name its text determines (few shapes exist: one per set of filters). */
function statementName(text: string): string {
  return `audit_page_${createHash('sha256').update(text).digest('base64url').slice(0, 22)}`;
}

function positionOf(record: AuditRecord): Position {
  return { ms: recordTimeMs(record.createdAt), id: record.id };
}

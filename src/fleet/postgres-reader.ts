import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { AuditRecord } from '../audit/record.js';
import { decodeCursor, encodeCursor, type Position } from '../store/cursor.js';
import type { AuditFilter, PageRequest, QueryResult } from '../store/store.js';
import { StoreUnavailableError } from '../store/unavailable.js';
import { FILTER_COLUMNS, keyedFilter } from './rows.js';
import { RECORDS_TABLE } from './schema.js';
import { ALWAYS_SET_FIELD, VALUE_BUCKETS_TABLE, rollupValues, type FieldValue } from './value-buckets.js';
import { describeError } from './errors.js';
import { recordTimeMs } from '../audit/iso-time.js';

/** Rows fetched per round trip while iterating (keyset pages: no cursor or transaction stays open between them). */
const ITERATE_CHUNK = 500;

/** The audit store's reads, answered from PostgreSQL with the LMDB store's contract: same filters, order, cursors. */
export class PostgresReader {
  constructor(private readonly pool: pg.Pool) {}

  async query(asked: AuditFilter, page: PageRequest): Promise<QueryResult> {
    if (!Number.isInteger(page.limit) || page.limit < 1) throw new RangeError('limit must be a positive integer');
    const filter = keyedFilter(asked);
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
  async *iterate(asked: AuditFilter): AsyncGenerator<AuditRecord> {
    const filter = keyedFilter(asked);
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
    const values = rollupValues(filter);
    if (offset > 0) return (values && await this.offsetThroughBuckets(filter, values, limit, offset)) ?? this.pageWithin(filter, after, limit, offset, {});
    if (values) return this.pageThroughBuckets(filter, values, after, limit);
    const rows: AuditRecord[] = [];
    for (const window of timeWindows(Date.now(), filter, after)) {
      rows.push(...await this.pageWithin(filter, after, limit - rows.length, 0, window));
      if (rows.length >= limit) break;
    }
    return rows;
  }

  private async pageWithin(filter: AuditFilter, after: Position | undefined, limit: number, offset: number, window: Window): Promise<AuditRecord[]> {
    const where = whereClause(filter, after);
    if (window.fromMs !== undefined) where.add((n) => `created_at >= $${n}::timestamptz`, isoMs(window.fromMs));
    if (window.toMs !== undefined) where.add((n) => `created_at < $${n}::timestamptz`, isoMs(window.toMs));
    const limitAt = where.param(limit);
    const offsetAt = where.param(offset);
    const text = `SELECT record FROM ${RECORDS_TABLE}${sqlWhere(where.conditions)} ORDER BY created_at DESC, id DESC`
      + ` LIMIT $${limitAt} OFFSET $${offsetAt}`;
    return this.records(text, where.params);
  }

  /**
   * A page of a filter the value rollup serves: only the buckets holding every value are walked, each from the first
   * to the last time the rollup saw, newest first; an absent value costs one lookup of the rollup.
   */
  private async pageThroughBuckets(filter: AuditFilter, values: FieldValue[], after: Position | undefined, limit: number): Promise<AuditRecord[]> {
    const rows: AuditRecord[] = [];
    let olderThan = bucketBound(filter, after);
    for (;;) {
      // One value: each bucket holds at least one match, so the page needs at most `limit` of them.
      const count = values.length === 1 ? Math.min(BUCKETS_CHUNK, limit - rows.length) : BUCKETS_CHUNK;
      const buckets = await this.valueBuckets(filter, values, olderThan, count);
      let next = 0;
      while (next < buckets.length) {
        const spans: ValueBucket[] = [];
        for (let expected = 0; next < buckets.length && expected < limit - rows.length; next++) {
          spans.push(buckets[next]!);
          expected += buckets[next]!.rows;
        }
        rows.push(...await this.pageInSpans(filter, after, limit - rows.length, spans));
        if (rows.length >= limit) return rows;
      }
      if (buckets.length < count) return rows;
      olderThan = buckets[buckets.length - 1]!.bucket;
    }
  }

  /**
   * An offset page of one value without time bounds (the rollup's counts are then exact): the newest spans that hold
   * offset + limit matches, walked in one statement that skips the offset; null when the counts cannot say which
   * spans (several values, bounds, or more buckets than one lookup reads).
   */
  private async offsetThroughBuckets(filter: AuditFilter, values: FieldValue[], limit: number, offset: number): Promise<AuditRecord[] | null> {
    if (values.length > 1 || filter.fromMs !== undefined || filter.toMs !== undefined) return null;
    const count = Math.min(BUCKETS_CHUNK, offset + limit);
    const buckets = await this.valueBuckets(filter, values, bucketBound(filter, undefined), count);
    let expected = 0;
    let taken = 0;
    while (taken < buckets.length && expected < offset + limit) expected += buckets[taken++]!.rows;
    if (expected < offset + limit && buckets.length === count) return null;
    return this.pageInSpans(filter, undefined, limit, buckets.slice(0, taken), offset);
  }

  /**
   * Up to `count` buckets (newest first, before `olderThan`) whose rollup holds every value, with the span and the rows
   * they hold. One value reads a backward range of the rollup's key and stops; several are grouped by bucket.
   */
  private async valueBuckets(filter: AuditFilter, values: FieldValue[], olderThan: string, count: number): Promise<ValueBucket[]> {
    const params: unknown[] = [filter.organizationId, values.map((v) => v.field), values.map((v) => v.value), olderThan, count];
    let from = '';
    if (filter.fromMs !== undefined) {
      params.push(isoMs(Math.floor(Math.ceil(filter.fromMs) / BUCKET_MS) * BUCKET_MS));
      from = ` AND v.bucket >= $${params.length}::timestamptz`;
    }
    const text = values.length === 1
      ? `SELECT v.bucket::text AS bucket, v.rows, v.first_at::text AS first_at, v.last_at::text AS last_at FROM ${VALUE_BUCKETS_TABLE} v
      WHERE v.organization_id = $1 AND v.field = ($2::text[])[1] AND v.value = ($3::text[])[1] AND v.bucket < $4::timestamptz${from}
      ORDER BY v.bucket DESC LIMIT $5`
      : `SELECT v.bucket::text AS bucket, min(v.rows) AS rows, max(v.first_at)::text AS first_at, min(v.last_at)::text AS last_at
      FROM unnest($2::text[], $3::text[]) AS f(field, value)
      JOIN ${VALUE_BUCKETS_TABLE} v ON v.organization_id = $1 AND v.field = f.field AND v.value = f.value
      WHERE v.bucket < $4::timestamptz${from}
      GROUP BY v.bucket HAVING count(*) = cardinality($2::text[]) AND max(v.first_at) <= min(v.last_at)
      ORDER BY v.bucket DESC LIMIT $5`;
    const rows = await this.run<{ bucket: string; rows: string; first_at: string; last_at: string }>(text, params, statementName(text));
    return rows.map((row) => ({ bucket: row.bucket, rows: Number(row.rows), firstAt: row.first_at, lastAt: row.last_at }));
  }

  /** The newest matches inside these spans (disjoint, newest first), each walked on its own, after skipping `offset`. */
  private async pageInSpans(filter: AuditFilter, after: Position | undefined, limit: number, spans: ValueBucket[], offset = 0): Promise<AuditRecord[]> {
    const where = whereClause(filter, after);
    const firstAt = where.param(spans.map((span) => span.firstAt));
    const lastAt = where.param(spans.map((span) => span.lastAt));
    const spanLimitAt = where.param(offset + limit);
    const limitAt = where.param(limit);
    const offsetAt = where.param(offset);
    where.conditions.push('created_at >= s.first_at', 'created_at <= s.last_at');
    const text = `SELECT r.record FROM unnest($${firstAt}::timestamptz[], $${lastAt}::timestamptz[]) AS s(first_at, last_at)
      CROSS JOIN LATERAL (SELECT record, created_at, id FROM ${RECORDS_TABLE}${sqlWhere(where.conditions)}
        ORDER BY created_at DESC, id DESC LIMIT $${spanLimitAt}) AS r
      ORDER BY r.created_at DESC, r.id DESC LIMIT $${limitAt} OFFSET $${offsetAt}`;
    return this.records(text, where.params);
  }

  private async records(text: string, params: unknown[]): Promise<AuditRecord[]> {
    const rows = await this.run<{ record: AuditRecord }>(text, params, statementName(text));
    return rows.map((row) => row.record);
  }

  /**
   * The filter's total: from the value rollup when it holds the answer (an organization, or all, with at most one of
   * its values and no time bounds), else counted over the filter's key.
   */
  private async count(filter: AuditFilter): Promise<number> {
    const summed = rollupTotal(filter);
    if (summed) {
      const rows = await this.run<{ total: string | null }>(`SELECT sum(rows) AS total FROM ${VALUE_BUCKETS_TABLE} WHERE ${summed.conditions.join(' AND ')}`, summed.params);
      return Number(rows[0]!.total ?? 0);
    }
    const where = whereClause(filter, undefined);
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

/** A statement's conditions and their numbered parameters. */
class Where {
  readonly conditions: string[] = [];
  readonly params: unknown[] = [];

  /** A parameter; resolves with its number. */
  param(value: unknown): number {
    this.params.push(value);
    return this.params.length;
  }

  add(condition: (n: number) => string, value: unknown): number {
    const n = this.param(value);
    this.conditions.push(condition(n));
    return n;
  }
}

/** Every filter as an equality on its column (methods compare uppercase), times as inclusive millisecond bounds, then the cursor. */
function whereClause(filter: AuditFilter, after: Position | undefined): Where {
  const where = new Where();
  for (const [field, column] of Object.entries(FILTER_COLUMNS) as [keyof typeof FILTER_COLUMNS, string][]) {
    const value = filter[field];
    if (value === undefined) continue;
    where.add((n) => `${column} = $${n}`, field === 'method' ? String(value).toUpperCase() : value);
  }
  if (filter.fromMs !== undefined) where.add((n) => `created_at >= $${n}::timestamptz`, isoMs(Math.ceil(filter.fromMs)));
  if (filter.toMs !== undefined) where.add((n) => `created_at < $${n}::timestamptz`, isoMs(Math.floor(filter.toMs) + 1));
  if (after) {
    const ms = where.param(isoMs(after.ms));
    where.add((n) => `(created_at, id) < ($${ms}::timestamptz, $${n})`, after.id);
  }
  return where;
}

/** An bucket the rollup says holds the values: its matches lie between firstAt and lastAt (PostgreSQL's exact text). */
interface ValueBucket {
  bucket: string;
  rows: number;
  firstAt: string;
  lastAt: string;
}

/** Buckets of the rollup read per lookup. */
const BUCKETS_CHUNK = 500;
/** The rollup's time bucket (value-buckets.ts: date_bin of 10 minutes). */
const BUCKET_MS = 600_000;

/** The rollup rows whose sum is the filter's total, or null when the rollup cannot say. */
function rollupTotal(filter: AuditFilter): { conditions: string[]; params: unknown[] } | null {
  if (filter.fromMs !== undefined || filter.toMs !== undefined) return null;
  const { organizationId, ...rest } = filter;
  const set = (Object.entries(rest) as [keyof AuditFilter, unknown][]).filter(([, value]) => value !== undefined);
  const where = new Where();
  if (organizationId !== undefined) where.add((n) => `organization_id = $${n}`, organizationId);
  if (set.length === 0) {
    where.add((n) => `field = $${n}`, ALWAYS_SET_FIELD);
    return where;
  }
  const values = rollupValues({ ...filter, organizationId: '' });
  if (values?.length !== 1) return null;
  const [value] = values as [FieldValue];
  where.add((n) => `field = $${n}`, value.field);
  where.add((n) => `value = $${n}`, value.value);
  return where;
}

/** Buckets before this one (exclusive) can hold the page: the bucket after the filter's upper bound or the cursor. */
function bucketBound(filter: AuditFilter, after: Position | undefined): string {
  const newest = Math.min(filter.toMs ?? Infinity, after?.ms ?? Infinity);
  return isoMs(Number.isFinite(newest) ? Math.floor(newest / BUCKET_MS) * BUCKET_MS + BUCKET_MS : MAX_PG_MS);
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

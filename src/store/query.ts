import type { Database, Key } from 'lmdb';
import type { AuditRecord } from '../audit/record.js';
import type { AuditFilter, PageRequest, QueryResult } from './store.js';
import { INDEXED_FIELDS, MAX_MS, MIN_MS, createdAtMs, indexedValue, positionOf, type StoreDbs } from './indexes.js';
import { decodeCursor, encodeCursor, type Position } from './cursor.js';

/** Index keys read per chunk when records must be checked against filters the index does not serve. */
const SCAN_CHUNK = 256;

type FilterField = Exclude<keyof AuditFilter, 'fromMs' | 'toMs'>;

/** Which index to scan: keys are [...prefix, createdAtMs, id]; `residual` checks what the index does not. */
interface ScanPlan {
  db: Database<unknown, Key>;
  prefix: Key[];
  residual: ((record: AuditRecord) => boolean) | null;
}

interface KeyRange {
  start: Key;
  end: Key;
}

export function planScan(dbs: StoreDbs, filter: AuditFilter): ScanPlan {
  const org = filter.organizationId;
  if (org === undefined) return { db: dbs.records, prefix: [], residual: residualOf(filter, []) };
  const field = INDEXED_FIELDS.find((name) => filter[name] !== undefined);
  if (!field) return { db: dbs.orgTime, prefix: [org], residual: residualOf(filter, ['organizationId']) };
  return {
    db: dbs.byField[field],
    prefix: [org, indexedValue(filter, field)!],
    residual: residualOf(filter, ['organizationId', field]),
  };
}

/** A predicate for the filters the index does not serve, or null when it serves them all. */
function residualOf(filter: AuditFilter, served: FilterField[]): ((record: AuditRecord) => boolean) | null {
  const checks = (Object.keys(filter) as (keyof AuditFilter)[])
    .filter((name): name is FilterField => name !== 'fromMs' && name !== 'toMs')
    .filter((name) => filter[name] !== undefined && !served.includes(name))
    .map((name) => name === 'method'
      ? (record: AuditRecord) => record.method.toUpperCase() === String(filter.method).toUpperCase()
      : (record: AuditRecord) => record[name] === filter[name]);
  if (checks.length === 0) return null;
  return (record) => checks.every((check) => check(record));
}

/** Index range in ascending order: [fromMs, toMs] inclusive on createdAtMs within the prefix. */
function ascendingRange(plan: ScanPlan, filter: AuditFilter): KeyRange {
  const lower = [...plan.prefix, filter.fromMs === undefined ? MIN_MS : Math.ceil(filter.fromMs)];
  const upper = [...plan.prefix, filter.toMs === undefined ? MAX_MS : Math.floor(filter.toMs) + 1];
  return { start: lower, end: upper };
}

/**
 * Every match newest first, read in chunks of index keys so no read transaction stays open between chunks.
 * `skip` drops that many matches first (inside the index range when there is no residual filter).
 */
function* scan(dbs: StoreDbs, plan: ScanPlan, filter: AuditFilter, after: Position | undefined, skip: number, chunk: number): Generator<AuditRecord> {
  const range = ascendingRange(plan, filter);
  let start: Key = after ? [...plan.prefix, after.ms, after.id] : range.end;
  let exclusiveStart = after !== undefined;
  let offset = plan.residual ? 0 : skip;
  let toSkip = plan.residual ? skip : 0;
  for (;;) {
    const keys = Array.from(plan.db.getKeys({ start, end: range.start, reverse: true, exclusiveStart, offset, limit: chunk })) as Key[][];
    for (const key of keys) {
      const record = dbs.records.get(positionOf(key));
      if (!record || (plan.residual && !plan.residual(record))) continue;
      if (toSkip > 0) toSkip--;
      else yield record;
    }
    if (keys.length < chunk) return;
    start = keys[keys.length - 1]!;
    exclusiveStart = true;
    offset = 0;
  }
}

function countMatches(dbs: StoreDbs, plan: ScanPlan, filter: AuditFilter): number {
  if (!plan.residual) return plan.db.getKeysCount(ascendingRange(plan, filter));
  let count = 0;
  for (const _ of scan(dbs, plan, filter, undefined, 0, SCAN_CHUNK)) count++;
  return count;
}

export function runQuery(dbs: StoreDbs, filter: AuditFilter, page: PageRequest): QueryResult {
  if (!Number.isInteger(page.limit) || page.limit < 1) throw new RangeError('limit must be a positive integer');
  const plan = planScan(dbs, filter);
  const after = page.cursor ? decodeCursor(page.cursor) : undefined;
  const skip = after ? 0 : Math.max(0, page.offset ?? 0);
  const chunk = plan.residual ? SCAN_CHUNK : page.limit + 1;
  const items: AuditRecord[] = [];
  let hasMore = false;
  for (const record of scan(dbs, plan, filter, after, skip, chunk)) {
    if (items.length === page.limit) {
      hasMore = true;
      break;
    }
    items.push(record);
  }
  const last = items[items.length - 1];
  const nextCursor = hasMore && last ? encodeCursor({ ms: createdAtMs(last), id: last.id }) : null;
  const result: QueryResult = { items, hasMore, nextCursor };
  if (page.withTotal) result.total = countMatches(dbs, plan, filter);
  return result;
}

export function* iterateMatches(dbs: StoreDbs, filter: AuditFilter): Generator<AuditRecord> {
  yield* scan(dbs, planScan(dbs, filter), filter, undefined, 0, SCAN_CHUNK);
}

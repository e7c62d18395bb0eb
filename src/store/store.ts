import type { AppendedRecord } from '../audit/raw-body.js';
import type { AuditRecord } from '../audit/record.js';
import type { RecordView } from '../audit/views.js';
import type { StatsRollupReader } from './stats.js';

/** Filters the store can answer. Every field is optional; absent means "any". All filters are ANDed. */
export interface AuditFilter {
  organizationId?: string;
  apiKeyId?: string;
  serviceAccountId?: string;
  userId?: string;
  requestId?: string;
  statusCode?: number;
  method?: string;
  path?: string;
  principalType?: string;
  workspaceId?: string;
  resourceType?: string;
  action?: string;
  clientIp?: string;
  country?: string;
  /** Inclusive bounds on createdAt, epoch milliseconds. */
  fromMs?: number;
  toMs?: number;
}

/** A filter's fields that match a value (the time bounds are a range). */
export type FilterField = Exclude<keyof AuditFilter, 'fromMs' | 'toMs'>;

/** A page: either offset-based or continuing from an opaque cursor (which wins when both are given). */
export interface PageRequest {
  limit: number;
  offset?: number;
  cursor?: string;
  /** Count every match (costs a scan of the chosen index range). */
  withTotal?: boolean;
  /** The caller reads no body: a store may leave bodies stored apart unread, their fields null (IterateOptions). */
  withoutBodies?: boolean;
}

export interface IterateOptions {
  /** The caller reads no body (the stats scan): a store may leave bodies stored apart unread, their fields null. */
  withoutBodies?: boolean;
}

export interface QueryResult {
  /** Newest first. */
  items: AuditRecord[];
  hasMore: boolean;
  /** Present when withTotal was asked for. */
  total?: number;
  /** Continues after the last item; null on the last page. */
  nextCursor: string | null;
}

export interface StoreHealth {
  ok: boolean;
  queueDepth: number;
  queueCapacity: number;
  written: number;
  dropped: number;
  /** Records evicted (oldest first) to keep the store below its size limit, by this process. */
  evicted?: number;
  lastError: string | null;
}

/** The audit store as the rest of the proxy sees it. */
export interface AuditStore {
  /**
   * Queue a record for a batched write (its raw bodies are decoded and redacted there). Never blocks. False when it
   * was dropped (queue full or store failed).
   */
  append(record: AppendedRecord): boolean;
  /** True when the store can take new records (the `closed` failure mode refuses traffic otherwise). */
  accepting(): boolean;
  health(): StoreHealth;
  query(filter: AuditFilter, page: PageRequest): Promise<QueryResult>;
  /** query, its records serialized in a view where they are read (reader threads); callers fall back to viewPage. */
  queryView?(filter: AuditFilter, page: PageRequest, view: RecordView): Promise<ViewPage>;
  /** Every match, newest first, read lazily (for exports of millions of rows). */
  iterate(filter: AuditFilter, options?: IterateOptions): AsyncIterable<AuditRecord>;
  /** Per-minute statistics kept as records commit (the stats endpoint scans when a store has none). */
  statsRollup?: StatsRollupReader;
  /** Resolves when every record appended so far is committed. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** One committed record, in commit order: what followers of the store (the Merkle log, the fleet shipper) read. */
export interface LogEntry {
  /** Commit sequence number: 1, 2, 3... in commit order, one sequence for the whole store (all processes). */
  seq: number;
  id: string;
  createdAtMs: number;
  /** The record exactly as stored (its canonical bytes). */
  bytes: Buffer;
}

export type LogVisitor = (seq: number, createdAtMs: number, id: string, bytes: Uint8Array) => void;

/**
 * The store's commit log, for followers that must see every committed record once, in order, and persist how far
 * they got. A follower registered with `pin` keeps retention from removing records it has not passed.
 */
export interface CommitLog {
  /** Entries with seq > afterSeq, ascending, at most `limit`; entries whose record was pruned are left out. */
  readLog(afterSeq: number, limit: number): LogEntry[];
  /**
   * Each stored entry with seq in [fromSeq, toSeq], ascending, as readLog gives it but without copying or an object per
   * entry: `bytes` is valid only during the call (for bulk hashing).
   */
  visitLog(fromSeq: number, toSeq: number, visit: LogVisitor): void;
  /** The records of readLog(afterSeq, limit), decoded (each carries its seq). */
  readRecords(afterSeq: number, limit: number): AuditRecord[];
  /** The highest committed seq (0 for an empty store). */
  lastSeq(): number;
  /** A follower's persisted position (0 when it never stored one). */
  position(name: string): number;
  /** Persists a follower's position (after what it did with the entries up to it is durable). */
  setPosition(name: string, seq: number): Promise<void>;
  /** Retention never removes a record whose seq is above this follower's position. */
  pin(name: string): void;
}

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

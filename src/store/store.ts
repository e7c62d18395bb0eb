import type { AuditRecord } from '../audit/record.js';
import type { StatsRollupReader } from './stats-rollup.js';

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

/** A page: either offset-based or continuing from an opaque cursor (which wins when both are given). */
export interface PageRequest {
  limit: number;
  offset?: number;
  cursor?: string;
  /** Count every match (costs a scan of the chosen index range). */
  withTotal?: boolean;
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
  lastError: string | null;
}

/** The audit store as the rest of the proxy sees it. */
export interface AuditStore {
  /** Queue a record for a batched write. Never blocks. False when it was dropped (queue full or store failed). */
  append(record: AuditRecord): boolean;
  /** True when the store can take new records (the `closed` failure mode refuses traffic otherwise). */
  accepting(): boolean;
  health(): StoreHealth;
  query(filter: AuditFilter, page: PageRequest): QueryResult;
  /** Every match, newest first, read lazily (for exports of millions of rows). */
  iterate(filter: AuditFilter): Iterable<AuditRecord>;
  /** Per-minute statistics kept as records commit (the stats endpoint scans when a store has none). */
  statsRollup?: StatsRollupReader;
  /** Resolves when every record appended so far is committed. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

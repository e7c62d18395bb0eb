import type { AuditRecord } from '../audit/record.js';

/**
 * Where the shipper sends committed records (PostgreSQL now; ClickHouse or another engine later). A sink encodes
 * records itself, so the shipper can cap a batch by bytes, and `write` resolves only once the engine has made the
 * batch durable. Writing the same batch twice must leave each record stored once (the shipper is at-least-once).
 */
export interface Sink {
  /** Names the sink in logs and metrics. */
  readonly name: string;
  /** Creates or upgrades what the sink needs (tables, partitions); safe when many proxies do it at once. */
  prepare(): Promise<void>;
  /** The record as this sink sends it; its length counts against the batch's byte cap. */
  encode(record: AuditRecord): string;
  /** Stores the batch durably (idempotent by record id). Rejects when nothing or not everything is durable. */
  write(batch: readonly AuditRecord[], encoded: readonly string[]): Promise<void>;
  /** Periodic upkeep (partitions ahead, retention); failures are reported, never fatal. */
  maintain(nowMs: number): Promise<void>;
  close(): Promise<void>;
}

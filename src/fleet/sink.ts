import type { AuditRecord } from '../audit/record.js';

/** A signed checkpoint of the node's Merkle log (C2SP tlog-checkpoint note) and the tree size it signs. */
export interface SignedCheckpoint {
  size: number;
  note: string;
}

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
  /** The record (and its exact stored bytes, the Merkle leaf) as this sink sends it; its length counts against the batch's byte cap. */
  encode(record: AuditRecord, stored: Uint8Array | undefined): string;
  /** Stores the batch durably (idempotent by record id). Rejects when nothing or not everything is durable. */
  write(batch: readonly AuditRecord[], encoded: readonly string[]): Promise<void>;
  /** Stores the node's signed checkpoints durably (idempotent by tree size). */
  writeCheckpoints(checkpoints: readonly SignedCheckpoint[]): Promise<void>;
  /** Periodic upkeep (partitions ahead, retention); failures are reported, never fatal. */
  maintain(nowMs: number): Promise<void>;
  close(): Promise<void>;
}

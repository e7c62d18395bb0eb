import type { AuditRecord } from '../audit/record.js';

/** A signed checkpoint of the node's Merkle log (C2SP tlog-checkpoint note) and the tree size it signs. */
export interface SignedCheckpoint {
  size: number;
  note: string;
}

/** A batch as its sink sends it, built record by record so the shipper can cap it by bytes. */
export interface EncodedBatch {
  /** Bytes encoded so far. */
  readonly size: number;
  /** Appends the record and its exact stored bytes (the Merkle leaf). */
  add(record: AuditRecord, stored: Uint8Array | undefined): void;
  /** Forgets every record added after the batch had this size. */
  truncate(size: number): void;
  /** What the sink sends for the batch. */
  bytes(): Uint8Array;
}

/**
 * Where the shipper sends committed records (PostgreSQL now; ClickHouse or another engine later). A sink encodes
 * records itself (newBatch), so the shipper can cap a batch by bytes, and `write` resolves only once the engine has made the
 * batch durable. Writing the same batch twice must leave each record stored once (the shipper is at-least-once).
 */
export interface Sink {
  /** Names the sink in logs and metrics. */
  readonly name: string;
  /** Batches the shipper may have in `write` at once (acknowledged in order all the same). */
  readonly parallel: number;
  /** Creates or upgrades what the sink needs (tables, partitions); safe when many proxies do it at once. */
  prepare(): Promise<void>;
  /** An empty batch in this sink's encoding; its size counts against the batch's byte cap. */
  newBatch(): EncodedBatch;
  /** Stores the batch (`encoded` holds exactly these records) durably, idempotent by record id. Rejects when nothing or not everything is durable. */
  write(batch: readonly AuditRecord[], encoded: EncodedBatch): Promise<void>;
  /** Stores the node's signed checkpoints durably (idempotent by tree size). */
  writeCheckpoints(checkpoints: readonly SignedCheckpoint[]): Promise<void>;
  /** Periodic upkeep (partitions ahead, retention); failures are reported, never fatal. */
  maintain(nowMs: number): Promise<void>;
  close(): Promise<void>;
}

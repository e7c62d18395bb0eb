import pg from 'pg';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { Test } from 'tap';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { openFleet, type Fleet } from '../../src/fleet/fleet.js';
import type { Logger } from '../../src/log.js';
import type { AuditRecord } from '../../src/audit/record.js';
import type { EncodedBatch, Sink } from '../../src/fleet/sink.js';
import { PostgresSink } from '../../src/fleet/postgres-sink.js';
import { PostgresReader } from '../../src/fleet/postgres-reader.js';
import { endPool } from './postgres.js';
import { openAuditStore, type LmdbAuditStore } from '../../src/store/index.js';
import { eventually } from './eventually.js';

export interface TestFleetStore extends Fleet {
  local: LmdbAuditStore;
  registry: Registry;
  /** Resolves once every record appended so far is committed locally and acknowledged by PostgreSQL. */
  settle(timeoutMs?: number): Promise<void>;
}

/** The proxy's fleet store (LMDB outbox, shipper, PostgreSQL reads) outside a proxy, for store-level tests. */
export function openTestFleetStore(dataDir: string, postgresUrl: string, logger: Logger, fleet: Record<string, unknown> = {}): TestFleetStore {
  const config: Config = parseConfig({
    upstream: { url: 'http://127.0.0.1:9' },
    store: { path: dataDir },
    fleet: { postgres: { url: postgresUrl }, nodeId: 'test-node', idleMs: 10, retryMinMs: 20, retryMaxMs: 200, retentionDays: 0, ...fleet },
  });
  const local = openAuditStore(config.store, logger);
  const registry = new Registry();
  const opened = openFleet(config, local, logger, { ships: true, registry });
  return {
    ...opened,
    local,
    registry,
    async settle(timeoutMs = 15_000) {
      await local.flush();
      const target = local.lastSeq();
      await eventually(() => opened.shipper!.position() >= target, timeoutMs);
    },
  };
}

/** The records as one batch in the sink's encoding, without stored bytes (as rows shipped before migration 2). */
export function encodeAll(sink: Sink, records: readonly AuditRecord[]): EncodedBatch {
  const batch = sink.newBatch();
  for (const record of records) batch.add(record, undefined);
  return batch;
}

/** A sink as node `n`, a day of partitions ahead, nothing expiring. */
export function testSink(url: string): PostgresSink {
  return new PostgresSink({ connection: { connectionString: url }, nodeId: 'n', partitionsAheadDays: 1, retentionDays: 0 }, pino({ level: 'silent' }));
}

/** A reader over a pool of two, ended with the test. */
export function testReader(t: Test, url: string): PostgresReader {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  t.teardown(() => endPool(pool));
  return new PostgresReader(pool);
}

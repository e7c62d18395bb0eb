import pg from 'pg';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { AuditStore, CommitLog } from '../store/store.js';
import { connectionConfig, describeTarget, nodeIdOf } from './connection.js';
import { FleetMetrics } from './metrics.js';
import { PostgresReader } from './postgres-reader.js';
import { PostgresSink } from './postgres-sink.js';
import { FLEET_FOLLOWER, Shipper, type CheckpointSource } from './shipper.js';
import { FleetStatus } from './status.js';

/** Sink upkeep (partitions ahead, retention) runs at most this often. */
const MAINTAIN_EVERY_MS = 3_600_000;
/**
 * A batch's statements (partitions, COPY, COMMIT, the staging path when sent again), each bounded by the statement
 * timeout while the server answers: past this many timeouts the connection is taken as dead.
 */
const STALL_STATEMENTS = 4;

/** The fleet as one process sees it: its store (local writes, fleet-wide reads), the shipper if it runs one. */
export interface Fleet {
  /** Appends go to the local LMDB outbox; queries and exports are answered from PostgreSQL for the whole fleet. */
  store: AuditStore;
  status: FleetStatus;
  shipper: Shipper | null;
}

export interface FleetOptions {
  /** This process ships (runsFollowers()); every process pins and reports. */
  ships: boolean;
  registry: Registry;
  /** The Merkle log's signed checkpoints (chain.enabled), shipped with the records for `verify --fleet`. */
  checkpoints?: CheckpointSource | undefined;
}

export function openFleet(config: Config, local: AuditStore & CommitLog, logger: Logger, options: FleetOptions): Fleet {
  const fleet = config.fleet;
  const connection = connectionConfig(fleet);
  const log = logger.child({ fleet: describeTarget(fleet) });
  // Every process pins: retention runs wherever the store is open, and must keep what is not shipped yet.
  local.pin(FLEET_FOLLOWER);
  const metrics = new FleetMetrics(options.registry);
  const shipper = options.ships ? new Shipper(local, new PostgresSink({
    connection, nodeId: nodeIdOf(fleet), partitionsAheadDays: fleet.partitionsAheadDays, retentionDays: fleet.retentionDays,
    connections: fleet.shipConnections, stallMs: STALL_STATEMENTS * fleet.postgres.statementTimeoutMs,
  }, log), {
    batchRows: fleet.batchRows, batchBytes: fleet.batchBytes, retryMinMs: fleet.retryMinMs, retryMaxMs: fleet.retryMaxMs,
    idleMs: fleet.idleMs, maintainEveryMs: MAINTAIN_EVERY_MS, onShipped: metrics.shipped,
    ...(options.checkpoints ? { checkpoints: options.checkpoints } : {}),
  }, log) : null;
  const status = new FleetStatus(local, shipper, fleet.degradedAfterMs);
  metrics.watch(status, shipper);
  const { reader, close: closeReader } = openFleetReader(fleet, log);
  shipper?.start();
  return {
    status,
    shipper,
    store: {
      append: (record) => local.append(record),
      accepting: () => local.accepting(),
      health: () => local.health(),
      query: (filter, page) => reader.query(filter, page),
      iterate: (filter) => reader.iterate(filter),
      flush: () => local.flush(),
      // Stops shipping (after the batch in flight), closes PostgreSQL, then the local store.
      close: async () => {
        await shipper?.stop();
        await closeReader();
        await local.close();
      },
    },
  };
}

/** Reads of the fleet's records (for the proxy's endpoints and `audit-proxy query --fleet`), over a small pool. */
export function openFleetReader(fleet: Config['fleet'], logger: Logger): { reader: PostgresReader; close(): Promise<void> } {
  // Generic plans: a page's statement is planned once per connection, not per query. Planning a custom plan over a
  // week of daily partitions and their keys took 1-33 ms at 5,000,000 rows against 0.1-0.5 ms to run it, and the key
  // a page uses does not depend on the values (docs/performance.md, issue 13, third session). No JIT: a generic plan's
  // row estimates over millions of rows crossed jit_above_cost, and compiling took 8-35 ms of a 0.1 ms page.
  const pool = new pg.Pool({ ...connectionConfig(fleet), max: fleet.postgres.poolMax, options: '-c plan_cache_mode=force_generic_plan -c jit=off' });
  // An idle connection dropped by the server is replaced on the next query; it must not crash the process.
  pool.on('error', (err) => logger.debug({ error: err.message }, 'fleet: idle PostgreSQL connection closed'));
  return { reader: new PostgresReader(pool), close: () => pool.end() };
}

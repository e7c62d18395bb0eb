import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { AuditRecord } from '../audit/record.js';
import type { Logger } from '../log.js';
import type { EncodedBatch, SignedCheckpoint, Sink } from './sink.js';
import { COPY_COLUMNS } from './rows.js';
import { BinaryCopyBatch } from './copy-binary.js';
import { CHECKPOINTS_TABLE, RECORDS_TABLE, dayOf, daysAhead, dropExpiredPartitions, ensurePartitions, migrate } from './schema.js';
import { recordTimeMs } from '../audit/iso-time.js';

export interface PostgresSinkOptions {
  connection: pg.ClientConfig;
  nodeId: string;
  partitionsAheadDays: number;
  /** 0 keeps every partition. */
  retentionDays: number;
  /** Batches written at once, each on a connection of its own (default 1). */
  connections?: number;
  /**
   * A write or upkeep that has not settled in this long ends its connection (omitted: never). A server that vanished
   * without a reset sends nothing, and its statement timeout cannot fire: without this, the wait never ends.
   */
  stallMs?: number;
}

const STAGING = 'audit_records_staging';
const COLUMNS = COPY_COLUMNS.join(', ');
/** SQLSTATE unique_violation: a row of the batch is already stored. */
const UNIQUE_VIOLATION = '23505';

/** One connection of the sink; its temporary staging table lives as long as it does. */
interface Lane {
  client: pg.Client | null;
  hasStaging: boolean;
}

/**
 * Ships batches with binary COPY straight into the partitioned table, one transaction per batch: a batch is stored
 * whole or not at all. A batch sent again (a row already stored) goes through a per-connection staging table and
 * INSERT ... ON CONFLICT DO NOTHING, so it adds nothing. Up to `connections` batches are written at once, each on its
 * own connection: PostgreSQL stores one while the next is copied in, on a core of its own.
 */
export class PostgresSink implements Sink {
  readonly name = 'postgres';
  readonly parallel: number;
  private readonly lanes: Lane[];
  private readonly idle: Lane[];
  private readonly waiting: ((lane: Lane) => void)[] = [];
  /** Days whose partition this process knows exists; forgotten after any failure (retention may have dropped one). */
  private readonly knownDays = new Set<number>();
  /** Bytes of the largest batch written so far: where the next batch's buffer starts. */
  private largestBatch = 0;

  constructor(private readonly options: PostgresSinkOptions, private readonly logger: Logger) {
    this.parallel = options.connections ?? 1;
    this.lanes = Array.from({ length: this.parallel }, () => ({ client: null, hasStaging: false }));
    this.idle = [...this.lanes];
  }

  /** Not bounded by `stallMs`: a migration over millions of rows takes minutes. */
  prepare(): Promise<void> {
    return this.onLane(async (client) => {
      const applied = await migrate(client);
      if (applied > 0) this.logger.info({ applied }, 'fleet: PostgreSQL schema migrated');
      await this.ensureDays(client, daysAhead(Date.now(), this.options.partitionsAheadDays));
    }, false);
  }

  newBatch(): EncodedBatch {
    // A quarter more: a batch a little larger than the last must not grow (a copy of all of it) near its end.
    return new BinaryCopyBatch(this.options.nodeId, Math.ceil(this.largestBatch * 1.25));
  }

  write(batch: readonly AuditRecord[], encoded: EncodedBatch): Promise<void> {
    this.largestBatch = Math.max(this.largestBatch, encoded.size + 2);
    return this.onLane(async (client, lane) => {
      await this.ensureDays(client, batch.map((record) => dayOf(recordTimeMs(record.createdAt))));
      if (!await this.copyDirect(client, encoded)) await this.copyStaged(client, lane, encoded);
    });
  }

  /**
   * COPY straight into the records table in a transaction of its own: no staging table and no INSERT ... SELECT for
   * every batch. When a row is already stored (a batch sent again) the COPY fails whole on the primary key, rolls back,
   * and this resolves false.
   */
  private async copyDirect(client: pg.Client, encoded: EncodedBatch): Promise<boolean> {
    await client.query('BEGIN');
    try {
      await copy(client, RECORDS_TABLE, encoded);
    } catch (error) {
      if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
      await client.query('ROLLBACK');
      return false;
    }
    await client.query('COMMIT');
    return true;
  }

  /** A batch sent again: COPY into the staging table, then INSERT ... ON CONFLICT DO NOTHING, in one transaction. */
  private async copyStaged(client: pg.Client, lane: Lane, encoded: EncodedBatch): Promise<void> {
    await this.ensureStaging(client, lane);
    await client.query('BEGIN');
    await copy(client, STAGING, encoded);
    await client.query(`INSERT INTO ${RECORDS_TABLE} (${COLUMNS}) SELECT ${COLUMNS} FROM ${STAGING} ON CONFLICT DO NOTHING`);
    await client.query('COMMIT');
  }

  writeCheckpoints(checkpoints: readonly SignedCheckpoint[]): Promise<void> {
    return this.onLane(async (client) => {
      await client.query(
        `INSERT INTO ${CHECKPOINTS_TABLE} (node_id, tree_size, note) SELECT $1, * FROM unnest($2::bigint[], $3::text[]) ON CONFLICT DO NOTHING`,
        [this.options.nodeId, checkpoints.map((c) => c.size), checkpoints.map((c) => c.note)]);
    });
  }

  maintain(nowMs: number): Promise<void> {
    return this.onLane(async (client) => {
      await this.ensureDays(client, daysAhead(nowMs, this.options.partitionsAheadDays));
      if (this.options.retentionDays === 0) return;
      const dropped = await dropExpiredPartitions(client, nowMs, this.options.retentionDays);
      if (dropped.length > 0) this.logger.info({ dropped }, 'fleet: dropped expired PostgreSQL partitions');
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => this.reset(lane)));
  }

  /**
   * Runs `work` on an idle connection (waiting for one when all are busy), connecting it when needed. A failure
   * closes that connection (the next use reconnects) and forgets the known partitions. `bounded`: past `stallMs` the
   * connection is cut, which fails the work.
   */
  private async onLane(work: (client: pg.Client, lane: Lane) => Promise<void>, bounded = true): Promise<void> {
    const lane = this.idle.pop() ?? await new Promise<Lane>((resolve) => this.waiting.push(resolve));
    let stall: NodeJS.Timeout | undefined;
    try {
      const client = await this.connected(lane);
      const { stallMs } = this.options;
      if (bounded && stallMs !== undefined) {
        stall = setTimeout(() => client.connection.stream.destroy(new Error(`no answer from PostgreSQL in ${stallMs} ms; connection ended`)), stallMs);
      }
      await work(client, lane);
    } catch (error) {
      this.knownDays.clear();
      await this.reset(lane);
      throw error;
    } finally {
      clearTimeout(stall);
      const next = this.waiting.shift();
      if (next) next(lane);
      else this.idle.push(lane);
    }
  }

  private async ensureDays(client: pg.Client, days: Iterable<number>): Promise<void> {
    const missing = new Set([...days].filter((day) => !this.knownDays.has(day)));
    if (missing.size === 0) return;
    await ensurePartitions(client, missing);
    for (const day of missing) this.knownDays.add(day);
  }

  private async connected(lane: Lane): Promise<pg.Client> {
    if (lane.client) return lane.client;
    const client = new pg.Client(this.options.connection);
    client.on('error', () => { // a dropped connection is noticed here; the next use reconnects
      if (lane.client === client) void this.reset(lane);
    });
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    lane.client = client;
    return client;
  }

  /** The connection's staging table (created after the migrations, which define the table it copies). */
  private async ensureStaging(client: pg.Client, lane: Lane): Promise<void> {
    if (lane.hasStaging) return;
    await client.query(`CREATE TEMPORARY TABLE IF NOT EXISTS ${STAGING} (LIKE ${RECORDS_TABLE} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`);
    lane.hasStaging = true;
  }

  private async reset(lane: Lane): Promise<void> {
    const client = lane.client;
    lane.client = null;
    lane.hasStaging = false;
    await client?.end().catch(() => undefined);
  }
}

async function copy(client: pg.Client, table: string, encoded: EncodedBatch): Promise<void> {
  await pipeline(Readable.from([encoded.bytes()]), client.query(copyFrom(`COPY ${table} (${COLUMNS}) FROM STDIN WITH (FORMAT binary)`)));
}

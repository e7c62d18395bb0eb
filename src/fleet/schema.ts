import type { ClientBase } from 'pg';
import { VALUE_BUCKETS_TABLE, valueBucketsMigration, valueBucketsPartitionOf, valuePairsMigration } from './value-buckets.js';
import { MAX_KEYED_BYTES } from '../audit/key-value.js';
import { FILTER_COLUMNS } from './rows.js';

/** Advisory lock keys (pg_advisory_xact_lock): migrations, and partition creation or removal. */
const MIGRATION_LOCK = 0x61_75_64_01;
const PARTITION_LOCK = 0x61_75_64_02;

export const RECORDS_TABLE = 'audit_records';
export const CHECKPOINTS_TABLE = 'audit_checkpoints';
const DAY_MS = 86_400_000;

/** Filter columns with an index of their own (after the organization): the identities and the rare values. */
const INDEXED_COLUMNS = ['request_id', 'api_key_id', 'service_account_id', 'user_id', 'workspace_id', 'status_code', 'path', 'client_ip'];

/**
 * Versioned migrations, applied in order, each once. Never edit one that has shipped: add the next.
 * Every key ends in created_at (the primary key and the time key in (created_at, id)) so any filter pages newest first
 * by keyset; organization_id leads every key so
 * a Citus deployment can distribute on it (docs/fleet.md).
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE ${RECORDS_TABLE} (
    organization_id text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    id text COLLATE "C" NOT NULL,
    node_id text NOT NULL,
    seq bigint NOT NULL,
    request_id text COLLATE "C" NOT NULL,
    api_key_id text COLLATE "C",
    service_account_id text COLLATE "C",
    user_id text COLLATE "C",
    status_code integer NOT NULL,
    method text COLLATE "C" NOT NULL,
    path text COLLATE "C" NOT NULL,
    principal_type text COLLATE "C" NOT NULL,
    workspace_id text COLLATE "C",
    resource_type text COLLATE "C" NOT NULL,
    action text COLLATE "C" NOT NULL,
    client_ip text COLLATE "C" NOT NULL,
    country text COLLATE "C",
    record json NOT NULL,
    PRIMARY KEY (organization_id, created_at, id)
  ) PARTITION BY RANGE (created_at);
  CREATE INDEX ${RECORDS_TABLE}_time ON ${RECORDS_TABLE} (created_at, id);
  ${INDEXED_COLUMNS.map((column) => `CREATE INDEX ${RECORDS_TABLE}_${column} ON ${RECORDS_TABLE} (organization_id, ${column}, created_at, id)`
    + ` WHERE ${column} IS NOT NULL;`).join('\n  ')}`,
  // 2: each record's exact stored bytes (the Merkle leaf; NULL for rows shipped before) and each node's checkpoints.
  `ALTER TABLE ${RECORDS_TABLE} ADD COLUMN stored bytea;
  CREATE TABLE ${CHECKPOINTS_TABLE} (
    node_id text NOT NULL,
    tree_size bigint NOT NULL,
    note text NOT NULL,
    PRIMARY KEY (node_id, tree_size)
  );`,
  // 3: the filter keys without `id`: a page orders equal times by id in an incremental sort of those few rows, and
  // every shipped row pays about a fifth less to insert into eight narrower keys (docs/performance.md, issue 13).
  INDEXED_COLUMNS.map((column) => `DROP INDEX ${RECORDS_TABLE}_${column};
  CREATE INDEX ${RECORDS_TABLE}_${column} ON ${RECORDS_TABLE} (organization_id, ${column}, created_at) WHERE ${column} IS NOT NULL;`).join('\n  '),
  // 4: the value rollup (value-buckets.ts): absent and rare values of the columns without a key, and totals, without walking rows.
  valueBucketsMigration(RECORDS_TABLE),
  // 5: long values by hash in the filter columns and the rollup, as shippers write them from now on (key-value.ts).
  keyedValuesMigration(),
  // 6: the value rollup counts resource type + action as one value (value-buckets.ts PAIR): that filter's total.
  valuePairsMigration(RECORDS_TABLE),
];

/** Migration 5: the cells keyValue would hash (over 256 bytes, or unkeyable) that an older release kept as they were. */
function keyedValuesMigration(): string {
  const unkeyable = (column: string) => `(octet_length(${column}) > ${MAX_KEYED_BYTES} OR starts_with(${column}, 'sha256:') OR ${column} ~ '^[\\x01-\\x1f]')`;
  const rekey = (column: string) => `${column} = CASE WHEN ${unkeyable(column)} THEN 'sha256:' || encode(sha256(convert_to(${column}, 'UTF8')), 'hex') ELSE ${column} END`;
  const rekeyAll = (table: string, columns: string[]) => `UPDATE ${table} SET ${columns.map(rekey).join(', ')} WHERE ${columns.map(unkeyable).join(' OR ')};`;
  const textColumns = Object.values(FILTER_COLUMNS).filter((column) => column !== FILTER_COLUMNS.statusCode);
  return `${rekeyAll(RECORDS_TABLE, textColumns)}\n  ${rekeyAll(VALUE_BUCKETS_TABLE, ['organization_id', 'value'])}`;
}

/**
 * Applies the migrations this database lacks up to `through` (all of them; tests stop earlier to upgrade a database
 * an older release made), under an advisory lock: N proxies starting together are safe.
 */
export async function migrate(client: ClientBase, through = MIGRATIONS.length): Promise<number> {
  await client.query('BEGIN');
  try {
    // A migration over millions of rows takes minutes (docs/fleet.md): the sink's statement timeout would cancel it at
    // every start, and shipping would never resume.
    await client.query('SET LOCAL statement_timeout = 0');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS audit_proxy_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM audit_proxy_migrations');
    const applied = rows[0]?.version ?? 0;
    for (let version = applied + 1; version <= through; version++) {
      await client.query(MIGRATIONS[version - 1]!);
      await client.query('INSERT INTO audit_proxy_migrations (version) VALUES ($1)', [version]);
    }
    await client.query('COMMIT');
    return Math.max(0, through - applied);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** The UTC day (its first millisecond) a time falls in. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export function partitionName(day: number): string {
  return `${RECORDS_TABLE}_p${new Date(day).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/**
 * Creates the daily partitions for these days when missing, the records' and the rollup's (under a lock, as other
 * proxies may do the same). The records' first: a COPY locks the records and then, through its trigger, the rollup,
 * and taking them the other way round deadlocked with it.
 */
export async function ensurePartitions(client: ClientBase, days: Iterable<number>): Promise<void> {
  await inLockedTransaction(client, async () => {
    for (const day of days) {
      const bounds = `FOR VALUES FROM ('${new Date(day).toISOString()}') TO ('${new Date(day + DAY_MS).toISOString()}')`;
      const name = partitionName(day);
      await client.query(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF ${RECORDS_TABLE} ${bounds}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${valueBucketsPartitionOf(name, RECORDS_TABLE)} PARTITION OF ${VALUE_BUCKETS_TABLE} ${bounds}`);
    }
  });
}

/** Today and the days ahead of it. */
export function daysAhead(nowMs: number, ahead: number): number[] {
  return Array.from({ length: ahead + 1 }, (_, i) => dayOf(nowMs) + i * DAY_MS);
}

/**
 * Drops whole daily partitions that end before the retention horizon, with their rollup partitions in the same
 * transaction (never DELETE); returns the records partitions' names. The horizon is counted from the earlier of
 * `nowMs` and PostgreSQL's clock: one proxy whose clock runs ahead must not drop the whole fleet's recent days.
 */
export async function dropExpiredPartitions(client: ClientBase, nowMs: number, retentionDays: number): Promise<string[]> {
  const dropped: string[] = [];
  await inLockedTransaction(client, async () => {
    const { rows: [clock] } = await client.query<{ ms: number }>('SELECT extract(epoch FROM now())::float8 * 1000 AS ms');
    const horizon = Math.min(nowMs, clock!.ms) - retentionDays * DAY_MS;
    const { rows } = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = $1::regclass`, [RECORDS_TABLE]);
    for (const { name } of rows) {
      const match = /_p(\d{4})(\d{2})(\d{2})$/.exec(name);
      if (!match) continue;
      const day = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
      if (day + DAY_MS > horizon) continue;
      await client.query(`DROP TABLE ${name}`);
      await client.query(`DROP TABLE IF EXISTS ${valueBucketsPartitionOf(name, RECORDS_TABLE)}`);
      dropped.push(name);
    }
  });
  return dropped;
}

async function inLockedTransaction(client: ClientBase, work: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
    await work();
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

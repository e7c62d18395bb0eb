import type { AuditFilter } from '../store/store.js';

/**
 * The value rollup: per organization, filter column, value and 10-minute bucket (UTC), how many rows hold that value
 * and the first and last time among them. Filters of the few-valued columns without a key of their own read it to
 * answer an absent value at once, to walk only the spans of the buckets that hold a rare one, and to total without
 * counting rows. Ten minutes: a value seen about once an hour then has a span of one row, and a batch (a second or
 * so of traffic) still touches one bucket per organization and value.
 */
export const VALUE_BUCKETS_TABLE = 'audit_value_buckets';

/** The columns the rollup counts (few values each, no key of their own), by filter field. */
export const VALUE_FIELDS = {
  method: 'method',
  principalType: 'principal_type',
  resourceType: 'resource_type',
  action: 'action',
  country: 'country',
  statusCode: 'status_code',
  workspaceId: 'workspace_id',
} as const satisfies Partial<Record<keyof AuditFilter, string>>;

/**
 * Pairs counted as one value (migration 6): Portkey's resource_type with action is one filter of its own, whose total
 * two separate values cannot give (their rows overlap), so it was counted over the organization's key.
 */
const PAIR = { field: 'resource_type+action', columns: ['resource_type', 'action'] } as const;
/** A pair's value: the first value's UTF-8 length, a colon, then both values (unambiguous whatever they hold). */
const PAIR_SQL = `octet_length(${PAIR.columns[0]}) || ':' || ${PAIR.columns[0]} || ${PAIR.columns[1]}`;

function pairValue(first: string, second: string): string {
  return `${Buffer.byteLength(first, 'utf8')}:${first}${second}`;
}

/** One of the rollup's values a filter asks for. */
export interface FieldValue {
  field: string;
  value: string;
}

/**
 * The rollup's values when the filter is an organization, some of the rollup's columns and nothing with a key of its
 * own (time bounds allowed); otherwise null (the filter's key serves it).
 */
export function rollupValues(filter: AuditFilter): FieldValue[] | null {
  if (filter.organizationId === undefined) return null;
  const values: FieldValue[] = [];
  for (const [key, value] of Object.entries(filter) as [keyof AuditFilter, unknown][]) {
    if (value === undefined || key === 'organizationId' || key === 'fromMs' || key === 'toMs') continue;
    if (!(key in VALUE_FIELDS)) return null;
    values.push({ field: VALUE_FIELDS[key as keyof typeof VALUE_FIELDS], value: key === 'method' ? String(value).toUpperCase() : String(value) });
  }
  return values.length > 0 ? withPairs(values) : null;
}

/** Both values of a pair become the pair's one value: its buckets, spans and totals are exact. */
function withPairs(values: FieldValue[]): FieldValue[] {
  const parts = PAIR.columns.map((column) => values.find((v) => v.field === column));
  if (parts.some((part) => part === undefined)) return values;
  return [...values.filter((v) => !(PAIR.columns as readonly string[]).includes(v.field)),
    { field: PAIR.field, value: pairValue(parts[0]!.value, parts[1]!.value) }];
}

/** Keys migration 4 drops: the rollup serves these columns' filters, and every shipped row paid ~4 µs of CPU for each. */
const REPLACED_KEYS = ['workspace_id', 'status_code'];

/** Counted for every row (never NULL), so its values' rows sum to an organization's total. */
export const ALWAYS_SET_FIELD = VALUE_FIELDS.method;

/**
 * Adds the rows of `source` (the statement's inserted rows, or a whole table when backfilling) to the rollup, in key
 * order so concurrent shippers lock shared rollup rows in one order (no deadlock).
 */
export function addToValueBuckets(source: string, countPair = true): string {
  const columns = Object.values(VALUE_FIELDS);
  const counted = columns.map((column) => `('${column}', ${column}::text)`);
  if (countPair) counted.push(`('${PAIR.field}', ${PAIR_SQL})`);
  const pairs = counted.join(', ');
  // Grouped by every counted column at once first (a batch has few combinations), then unpivoted: unpivoting each row
  // of a 5,000-row batch cost about three times as much of PostgreSQL's CPU.
  return `INSERT INTO ${VALUE_BUCKETS_TABLE} AS v (organization_id, field, value, bucket, rows, first_at, last_at)
    SELECT organization_id, f.field, f.value, bucket, sum(n), min(first_at), max(last_at)
    FROM (SELECT organization_id, date_bin('10 minutes', created_at, '2000-01-01T00:00:00Z') AS bucket, ${columns.join(', ')},
            count(*) AS n, min(created_at) AS first_at, max(created_at) AS last_at
          FROM ${source} GROUP BY 1, 2, ${columns.map((_, i) => i + 3).join(', ')}) AS combinations
    CROSS JOIN LATERAL (VALUES ${pairs}) AS f(field, value)
    WHERE f.value IS NOT NULL
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (organization_id, field, value, bucket) DO UPDATE
    SET rows = v.rows + excluded.rows, first_at = least(v.first_at, excluded.first_at), last_at = greatest(v.last_at, excluded.last_at)`;
}

/**
 * Migration 4: the rollup table, partitioned by day like the records (a partition for each existing one, dropped with
 * it by retention), kept by a statement trigger on the records' inserted rows (so every writer keeps it exact, an
 * older release's shipper included, and a row ON CONFLICT skipped is not counted), then filled from the rows already
 * there. The trigger comes first: it locks the records table against inserts until the migration commits. Last, the
 * keys the rollup replaces are dropped.
 */
export function valueBucketsMigration(recordsTable: string): string {
  return `CREATE TABLE ${VALUE_BUCKETS_TABLE} (
    organization_id text COLLATE "C" NOT NULL,
    field text COLLATE "C" NOT NULL,
    value text COLLATE "C" NOT NULL,
    bucket timestamptz NOT NULL,
    rows bigint NOT NULL,
    first_at timestamptz NOT NULL,
    last_at timestamptz NOT NULL,
    PRIMARY KEY (organization_id, field, value, bucket)
  ) PARTITION BY RANGE (bucket);
  CREATE FUNCTION ${VALUE_BUCKETS_TABLE}_add() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    ${addToValueBuckets('inserted', false)};
    RETURN NULL;
  END $fn$;
  CREATE TRIGGER ${recordsTable}_value_buckets AFTER INSERT ON ${recordsTable}
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION ${VALUE_BUCKETS_TABLE}_add();
  DO $do$
  DECLARE part record;
  BEGIN
    FOR part IN SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bounds
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = '${recordsTable}'::regclass
    LOOP
      EXECUTE format('CREATE TABLE %I PARTITION OF ${VALUE_BUCKETS_TABLE} %s',
        '${VALUE_BUCKETS_TABLE}' || substr(part.name, ${recordsTable.length + 1}), part.bounds);
    END LOOP;
  END $do$;
  ${addToValueBuckets(recordsTable, false)};
  ${REPLACED_KEYS.map((column) => `DROP INDEX ${recordsTable}_${column};`).join('\n  ')}`;
}

/** The rollup partition beside a records partition (same day suffix). */
export function valueBucketsPartitionOf(recordsPartition: string, recordsTable: string): string {
  return VALUE_BUCKETS_TABLE + recordsPartition.slice(recordsTable.length);
}

/**
 * Migration 6: the trigger counts the pair too (PAIR), and the rows already there are counted once. The records
 * table is locked against inserts first, so no row commits counted by the old function after the backfill's snapshot.
 */
export function valuePairsMigration(recordsTable: string): string {
  return `LOCK TABLE ${recordsTable} IN SHARE ROW EXCLUSIVE MODE;
  CREATE OR REPLACE FUNCTION ${VALUE_BUCKETS_TABLE}_add() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    ${addToValueBuckets('inserted')};
    RETURN NULL;
  END $fn$;
  INSERT INTO ${VALUE_BUCKETS_TABLE} (organization_id, field, value, bucket, rows, first_at, last_at)
    SELECT organization_id, '${PAIR.field}', ${PAIR_SQL},
      date_bin('10 minutes', created_at, '2000-01-01T00:00:00Z'), count(*), min(created_at), max(created_at)
    FROM ${recordsTable} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;`;
}

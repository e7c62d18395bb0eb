// Bulk load for the fleet bench's reads: rows generated inside PostgreSQL (generate_series) into the real schema, one
// daily partition at a time, built as a plain table and attached (PostgreSQL then builds its keys by sorting): loading
// millions of rows through the shipper would take most of an hour on the bench machine.
import type pg from 'pg';
import { RECORDS_TABLE, dayOf, partitionName } from '../src/fleet/schema.js';
import { VALUE_BUCKETS_TABLE, addToValueBuckets, valueBucketsPartitionOf } from '../src/fleet/value-buckets.js';

const DAY_MS = 86_400_000;
export const BULK_ORGS = 20;

/**
 * Columns of a generated row from its number g: 20 organizations, 10 API keys and 5 service accounts each, a user on a
 * third of the rows, 1,000 paths, 256 client addresses, mostly GET with POSTs (never in org-3, g % 20 = 3) and rare
 * DELETEs, statuses mostly 200 with 404s, 500s and rare 429s, a few countries, resource types and actions.
 */
const GENERATED = `
  SELECT g, ms, org, (g / ${BULK_ORGS}) AS n,
    lpad(to_hex(ms), 12, '0') || '-7000-8000-' || lpad(to_hex(g), 12, '0') AS id,
    'req-' || g AS request_id,
    CASE WHEN (g / ${BULK_ORGS}) % 4 = 0 THEN NULL ELSE org || '-key-' || (g / ${BULK_ORGS}) % 10 END AS api_key_id,
    CASE WHEN (g / ${BULK_ORGS}) % 4 = 0 THEN org || '-sa-' || (g / ${BULK_ORGS}) % 5 END AS service_account_id,
    CASE WHEN g % 3 = 1 THEN org || '-user-' || (g / ${BULK_ORGS}) % 200 END AS user_id,
    CASE WHEN g % 53 = 0 THEN 500 WHEN g % 20 = 7 OR g % 17 = 0 THEN 404 WHEN g % 997 = 5 THEN 429 ELSE 200 END AS status_code,
    CASE WHEN g % 5 = 0 THEN 'POST' WHEN g % 97 = 1 THEN 'DELETE' ELSE 'GET' END AS method,
    '/v1/items/' || g % 1000 AS path,
    CASE WHEN (g / ${BULK_ORGS}) % 4 = 0 THEN 'service_account' ELSE 'api_key' END AS principal_type,
    org || '-ws-' || (g / ${BULK_ORGS}) % 3 AS workspace_id,
    (ARRAY['item', 'completion', 'embedding', 'file', 'item', 'item', 'completion'])[1 + g % 7] AS resource_type,
    CASE WHEN g % 5 = 0 THEN 'create' WHEN g % 97 = 1 THEN 'delete' ELSE 'read' END AS action,
    '203.0.113.' || (g / ${BULK_ORGS}) % 256 AS client_ip,
    CASE WHEN g % 11 = 0 THEN 'DE' WHEN g % 13 = 0 THEN 'US' WHEN g % 10007 = 3 THEN 'IS' ELSE 'NL' END AS country
  FROM (SELECT g, $3::bigint + g * $4::bigint / $5::bigint AS ms, 'org-' || g % ${BULK_ORGS} AS org
        FROM generate_series($1::bigint, $1::bigint + $2::bigint - 1) AS g) AS base`;

const INSERT = (table: string): string => `INSERT INTO ${table} (id, created_at, node_id, seq, organization_id, request_id, api_key_id,
    service_account_id, user_id, status_code, method, path, principal_type, workspace_id, resource_type, action, client_ip, country, record)
  SELECT id, created_at, 'bulk', g, org, request_id, api_key_id, service_account_id, user_id, status_code, method, path, principal_type,
    workspace_id, resource_type, action, client_ip, country, json_build_object('id', id, 'requestId', request_id,
      'createdAt', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'method', method, 'path', path, 'query', '{}'::json,
      'routePattern', '/v1/items/:id', 'resourceType', resource_type, 'action', action, 'statusCode', status_code, 'outcome', 'completed',
      'durationMs', 12.3, 'ttfbMs', 11.9, 'requestBytes', 0, 'responseBytes', 1234, 'clientIp', client_ip, 'country', country,
      'userAgent', 'bench/1.0', 'principalType', principal_type, 'principalId', 'p-' || n % 200, 'apiKeyId', api_key_id,
      'serviceAccountId', service_account_id, 'userId', user_id, 'organizationId', org, 'workspaceId', workspace_id, 'authError', NULL,
      'requestHeaders', json_build_object('host', 'api.example.com', 'accept', 'application/json', 'authorization', 'Bearer …f00d'),
      'requestBody', NULL, 'requestBodyTruncated', false, 'responseBody', NULL, 'upstream', 'http://127.0.0.1:9000', 'seq', g)
  FROM (SELECT *, '1970-01-01Z'::timestamptz + ms * interval '1 millisecond' AS created_at FROM (${GENERATED}) AS columns) AS rows`;

/**
 * Adds `count` generated rows spread evenly over the `days` days that end at `endMs` (rows already in those days'
 * partitions are kept); returns the rows added. Each day's partition is rebuilt as a plain table and attached again.
 */
export async function bulkGenerate(client: pg.Client, count: number, endMs: number, days: number): Promise<number> {
  const startMs = endMs - days * DAY_MS;
  const spanMs = days * DAY_MS;
  // Row g is at startMs + floor(g * spanMs / count): the rows of a day are those g with that time inside it (exact, in BigInt).
  const firstAt = (ms: number): number => Number((BigInt(ms - startMs) * BigInt(count) + BigInt(spanMs) - 1n) / BigInt(spanMs));
  let added = 0;
  for (let day = dayOf(startMs); day < endMs; day += DAY_MS) {
    const first = Math.max(0, firstAt(day));
    const end = Math.min(count, firstAt(day + DAY_MS));
    if (end <= first) continue;
    const name = partitionName(day);
    const building = `${name}_bulk`;
    const bounds = `FOR VALUES FROM ('${new Date(day).toISOString()}') TO ('${new Date(day + DAY_MS).toISOString()}')`;
    await client.query(`CREATE TABLE ${building} (LIKE ${RECORDS_TABLE} INCLUDING DEFAULTS)`);
    await client.query(INSERT(building), [first, end - first, startMs, spanMs, count]);
    // Attaching fires no trigger: the generated rows are added to the value rollup here, as the shipper's inserts are.
    await client.query(`CREATE TABLE IF NOT EXISTS ${valueBucketsPartitionOf(name, RECORDS_TABLE)} PARTITION OF ${VALUE_BUCKETS_TABLE} ${bounds}`);
    await client.query(addToValueBuckets(building));
    const exists = (await client.query('SELECT to_regclass($1) AS found', [name])).rows[0].found !== null;
    if (exists) {
      await client.query(`ALTER TABLE ${RECORDS_TABLE} DETACH PARTITION ${name}`);
      await client.query(`INSERT INTO ${building} SELECT * FROM ${name}`);
      await client.query(`DROP TABLE ${name}`);
    }
    await client.query(`ALTER TABLE ${building} RENAME TO ${name}`);
    await client.query(`ALTER TABLE ${RECORDS_TABLE} ATTACH PARTITION ${name} ${bounds}`);
    added += end - first;
  }
  return added;
}

import { z } from 'zod';

/** A PostgreSQL connection URL; the message never repeats the value (it may hold a password). */
const postgresUrl = z.string().refine(isPostgresUrl, 'must be a postgres:// or postgresql:// URL with a host, e.g. postgres://audit@db:5432/audit');

function isPostgresUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
  } catch {
    return false;
  }
}

export const fleetSchema = z.strictObject({
  postgres: z.strictObject({
    url: postgresUrl.nullable().default(null)
      .describe('PostgreSQL for the whole fleet (env AUDIT_PROXY_FLEET_POSTGRES_URL); null keeps every record local. Password: in the URL, PGPASSWORD or passwordFile.'),
    passwordFile: z.string().min(1).nullable().default(null)
      .describe('File holding the PostgreSQL password (first line), when it is not in the URL or PGPASSWORD.'),
    poolMax: z.number().int().min(1).default(4).describe('Most connections this process opens for audit queries.'),
    statementTimeoutMs: z.number().int().min(100).default(15_000).describe('Longest a query or shipped batch may take.'),
  }).prefault({}),
  nodeId: z.string().min(1).max(200).nullable().default(null)
    .describe('Names this proxy on every record it ships (null: the host name).'),
  batchRows: z.number().int().min(1).max(100_000).default(5_000).describe('Most records in one shipped batch.'),
  batchBytes: z.number().int().min(1024).default(8 * 1024 * 1024).describe('Most bytes of encoded records in one shipped batch.'),
  shipConnections: z.number().int().min(1).max(8).default(2)
    .describe('Batches shipped at once, each on a PostgreSQL connection of its own (acknowledged in order).'),
  retryMinMs: z.number().int().min(1).default(250).describe('First wait after a failed batch; doubles per failure, with jitter.'),
  retryMaxMs: z.number().int().min(1).default(30_000).describe('Longest wait between retries (a batch is retried forever, never dropped).'),
  idleMs: z.number().int().min(1).default(100).describe('How often the shipper looks for new records when it has caught up.'),
  degradedAfterMs: z.number().int().min(0).default(30_000)
    .describe('/readyz names the fleet sink degraded when the oldest unshipped record is older than this (or shipping fails).'),
  partitionsAheadDays: z.number().int().min(1).max(60).default(3).describe('Daily partitions created ahead of today.'),
  retentionDays: z.number().int().min(0).default(90)
    .describe('Daily partitions older than this are dropped from PostgreSQL (0 = keep forever).'),
}).prefault({});

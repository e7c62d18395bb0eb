import { z } from 'zod';

export const storeSchema = z.strictObject({
  enabled: z.boolean().default(true)
    .describe('Record requests. Off turns the proxy into a plain forwarder (for measuring the cost of auditing).'),
  path: z.string().min(1).default('./data').describe('Directory of the LMDB environment (--data-dir overrides it).'),
  mapSizeMb: z.number().int().min(1).default(16_384)
    .describe('Largest size the LMDB map may grow to, in MiB (the store refuses batches once its live pages reach it).'),
  queueMax: z.number().int().min(1).default(50_000)
    .describe('Records waiting to be written before the store counts as unable to keep up.'),
  batchMax: z.number().int().min(1).default(5_000)
    .describe('Most records in one write transaction.'),
  writer: z.enum(['thread', 'inline']).default('thread')
    .describe('Where write transactions run: thread = a worker thread of their own, so they never wait behind the proxy\'s sockets (the kill -9 loss window stays within 50 ms under load); inline = on the main event loop, which costs about 5-10 µs less CPU per request (one core, or --workers on every core) but can hold a commit back behind a busy loop.'),
  bodiesApartBytes: z.number().int().min(0).default(4_096)
    .describe('Captured bodies of this many UTF-8 bytes or more are stored apart from their record, once per distinct body, LZ4-compressed (docs/store.md); 0 = every body in its record. Apart, a body that repeats costs less CPU and disk; one new each time costs more CPU (the writer hashes and compresses it) and less disk.'),
  retryMs: z.number().int().min(1).default(1_000)
    .describe('Wait before retrying a failed write batch (onFailure closed).'),
  onFailure: z.enum(['closed', 'open']).default('closed')
    .describe('When the store fails or falls behind: closed = refuse new requests with 503; open = keep proxying and count dropped records.'),
  retention: z.strictObject({
    maxAgeDays: z.number().min(0).default(30).describe('Records older than this are pruned (0 = keep forever).'),
    maxRecords: z.number().int().min(1).nullable().default(null).describe('Keep at most this many records (null = no limit).'),
    intervalMs: z.number().int().min(1000).default(60_000).describe('How often pruning runs.'),
    batchSize: z.number().int().min(1).default(2_000).describe('Records removed per pruning transaction.'),
    evictAbovePercent: z.number().int().min(0).max(99).default(90)
      .describe('When the store\'s live pages reach this share of mapSizeMb, the oldest records (that no pinning follower still needs) are evicted down to 10 points below it, so the store never fills; 0 = never evict (a full store then refuses or drops records per onFailure).'),
  }).prefault({}),
}).prefault({});

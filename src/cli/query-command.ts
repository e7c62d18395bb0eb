import type { Argv, CommandModule } from 'yargs';
import { isoTimeMs } from '../api/params.js';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { fleetSchema } from '../config/sections/fleet.js';
import { storeSchema } from '../config/sections/store.js';
import { createLogger, type Logger } from '../log.js';
import { InvalidCursorError, openAuditStore, type LmdbAuditStore } from '../store/index.js';
import type { AuditFilter, AuditStore } from '../store/store.js';
import { follow } from './query-follow.js';
import { RecordPrinter, type Format, type Print } from './query-output.js';

interface QueryArgs {
  org?: string;
  'api-key-id'?: string;
  'service-account-id'?: string;
  'user-id'?: string;
  'request-id'?: string;
  method?: string;
  status?: number;
  path?: string;
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
  follow: boolean;
  full: boolean;
  format: Format;
  'data-dir'?: string;
  config?: string;
  fleet?: boolean;
}

/** `audit-proxy query`: reads the LMDB store directly and read-only (safe beside a running server), or with --fleet the fleet's PostgreSQL; newest first. */
export function createQueryCommand(print: Print = (text) => process.stdout.write(`${text}\n`)): CommandModule<object, QueryArgs> {
  return {
    command: 'query',
    describe: 'Print recorded requests from the audit store, newest first (read-only; works while the server runs)',
    builder: (yargs: Argv) => yargs
      .option('org', { type: 'string', describe: 'organization id' })
      .option('api-key-id', { type: 'string', describe: 'API key id' })
      .option('service-account-id', { type: 'string', describe: 'service account id' })
      .option('user-id', { type: 'string', describe: 'user id' })
      .option('request-id', { type: 'string', describe: 'request id (X-Request-Id of the response)' })
      .option('method', { type: 'string', describe: 'HTTP method, any case' })
      .option('status', { type: 'number', describe: 'response status code' })
      .option('path', { type: 'string', describe: 'exact path, without the query string' })
      .option('from', { type: 'string', describe: 'earliest time, ISO 8601 (inclusive)' })
      .option('to', { type: 'string', describe: 'latest time, ISO 8601 (inclusive)' })
      .option('limit', { type: 'number', default: 20, describe: 'most records printed (one page)' })
      .option('cursor', { type: 'string', describe: 'continue after the page that printed this cursor (on stderr)' })
      .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'then print new records as they are committed, like tail -f' })
      .option('full', { type: 'boolean', default: false, describe: 'every recorded field: headers, bodies, query, sizes, outcome detail' })
      .option('format', { choices: ['table', 'json', 'ndjson', 'csv'] as const, default: 'table' as const, describe: 'output format' })
      .option('data-dir', { type: 'string', describe: 'LMDB directory (store.path)' })
      .option('config', { alias: 'c', type: 'string', describe: 'config file whose store.path to read' })
      .option('fleet', { type: 'boolean', describe: 'read the whole fleet from PostgreSQL (fleet.postgres.url, or env AUDIT_PROXY_FLEET_POSTGRES_URL)' }) as unknown as Argv<QueryArgs>,
    handler: async (args) => {
      const problem = flagProblem(args);
      if (problem) return usageError(problem);
      const filter = filterOf(args);
      const logger = createLogger({ log: { level: 'warn', pretty: 'false', requests: false } }, process.stderr);
      const printer = new RecordPrinter(args.format, args.full, print);
      try {
        await (args.fleet ? printFleetPage(args, filter, logger, printer) : printLocal(args, filter, logger, printer));
      } catch (err) {
        if (!(err instanceof InvalidCursorError)) throw err;
        usageError('--cursor is not one this command printed (pass it unchanged, with the same filters)');
      }
    },
  };
}

async function printLocal(args: QueryArgs, filter: AuditFilter, logger: Logger, printer: RecordPrinter): Promise<void> {
  const store = openAuditStore(storeConfig(args), logger, { readOnly: true });
  try {
    await (args.follow ? printAndFollow(store, filter, args, printer) : printPage(store, filter, args, printer));
  } finally {
    await store.close();
  }
}

/** One page of the whole fleet, from PostgreSQL (pg is loaded only for --fleet). */
async function printFleetPage(args: QueryArgs, filter: AuditFilter, logger: Logger, printer: RecordPrinter): Promise<void> {
  const { openFleetReader } = await import('../fleet/fleet.js');
  const { reader, close } = openFleetReader(fleetConfig(args), logger);
  try {
    await printPage(reader, filter, args, printer);
  } finally {
    await close();
  }
}

/** A usage error: exit 2 like the CLI's others (a yargs check would exit 1, as an internal failure). */
function usageError(problem: string): void {
  process.stderr.write(`audit-proxy: ${problem}\n`);
  process.exitCode = 2;
}

/** One page, newest first; the next cursor on stderr. */
async function printPage(store: Pick<AuditStore, 'query'>, filter: AuditFilter, args: QueryArgs, printer: RecordPrinter): Promise<void> {
  const page = await store.query(filter, { limit: args.limit, cursor: args.cursor });
  printer.all(page.items);
  if (page.nextCursor) process.stderr.write(`more: audit-proxy query ... --cursor ${page.nextCursor}\n`);
}

/** The newest page oldest first, so the stream reads in order, then every record committed after it. */
async function printAndFollow(store: LmdbAuditStore, filter: AuditFilter, args: QueryArgs, printer: RecordPrinter): Promise<void> {
  const page = await store.query(filter, { limit: args.limit });
  const oldestFirst = [...page.items].reverse();
  printer.header(oldestFirst);
  for (const record of oldestFirst) printer.one(record);
  await follow(store, filter, printer);
}

/** --data-dir alone needs no config file (and no upstream); --config reads store.path and the rest of store.*. */
function storeConfig(args: QueryArgs): Config['store'] {
  if (args.config === undefined) return storeSchema.parse({ path: args['data-dir'] ?? './data' });
  const overrides = { 'store.path': args['data-dir'] };
  return loadConfig({ file: args.config, env: process.env, overrides }).store;
}

/** --fleet reads fleet.* from --config, else the URL from AUDIT_PROXY_FLEET_POSTGRES_URL (and PGPASSWORD). */
export function fleetConfig(args: { config?: string | undefined }): Config['fleet'] {
  const fleet = args.config === undefined
    ? parsedFleet({ postgres: { url: process.env.AUDIT_PROXY_FLEET_POSTGRES_URL ?? null } })
    : loadConfig({ file: args.config, env: process.env }).fleet;
  if (fleet.postgres.url === null) throw new ConfigError(['--fleet needs fleet.postgres.url (in --config, or env AUDIT_PROXY_FLEET_POSTGRES_URL)']);
  return fleet;
}

function parsedFleet(tree: unknown): Config['fleet'] {
  const result = fleetSchema.safeParse(tree);
  if (!result.success) throw new ConfigError(result.error.issues.map((issue) => `fleet.${issue.path.join('.')}: ${issue.message}`));
  return result.data;
}

/** What is wrong with the flags, or null. */
function flagProblem(args: QueryArgs): string | null {
  if (!Number.isInteger(args.limit) || args.limit < 1) return '--limit must be a positive integer';
  if (args.status !== undefined && !Number.isInteger(args.status)) return '--status must be an integer';
  if (args.follow && args.format === 'json') return '--follow prints a record per line: use --format table, ndjson or csv';
  if (args.follow && args.cursor !== undefined) return '--follow starts from the newest records: leave out --cursor';
  if (args.follow && args.fleet) return '--follow reads this proxy\'s own store: leave out --fleet';
  for (const name of ['from', 'to'] as const) {
    if (args[name] !== undefined && Number.isNaN(isoTimeMs(args[name]))) {
      return `--${name} must be an ISO 8601 date or date-time, e.g. 2026-11-23T11:21:44Z or 20261123T112144Z (no zone means UTC)`;
    }
  }
  return null;
}

function filterOf(args: QueryArgs): AuditFilter {
  const time = (value: string | undefined) => (value === undefined ? undefined : isoTimeMs(value));
  return {
    organizationId: args.org, apiKeyId: args['api-key-id'], serviceAccountId: args['service-account-id'], userId: args['user-id'],
    requestId: args['request-id'],
    method: args.method?.toUpperCase(), statusCode: args.status, path: args.path, fromMs: time(args.from), toMs: time(args.to),
  };
}

import type { Argv, CommandModule } from 'yargs';
import { API_KEY_REQUEST_FIELDS, apiKeyRequestItem } from '../api/api-key-requests.js';
import { csvCell } from '../api/export.js';
import { isoTimeMs } from '../api/params.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { storeSchema } from '../config/sections/store.js';
import { createLogger } from '../log.js';
import { openAuditStore } from '../store/index.js';
import type { AuditFilter } from '../store/store.js';

type Print = (text: string) => void;
type Item = ReturnType<typeof apiKeyRequestItem>;

interface QueryArgs {
  org?: string;
  'api-key-id'?: string;
  'service-account-id'?: string;
  'user-id'?: string;
  method?: string;
  status?: number;
  path?: string;
  from?: string;
  to?: string;
  limit: number;
  format: 'table' | 'json' | 'ndjson' | 'csv';
  'data-dir'?: string;
  config?: string;
}

const TABLE_COLUMNS = ['createdAt', 'method', 'statusCode', 'path', 'principalType', 'principalId', 'organizationId', 'durationMs'] as const;

/** `audit-proxy query`: reads the LMDB store directly and read-only (safe beside a running server), newest first. */
export function createQueryCommand(print: Print = (text) => process.stdout.write(`${text}\n`)): CommandModule<object, QueryArgs> {
  return {
    command: 'query',
    describe: 'Print recorded requests from the audit store, newest first (read-only; works while the server runs)',
    builder: (yargs: Argv) => yargs
      .option('org', { type: 'string', describe: 'organization id' })
      .option('api-key-id', { type: 'string', describe: 'API key id' })
      .option('service-account-id', { type: 'string', describe: 'service account id' })
      .option('user-id', { type: 'string', describe: 'user id' })
      .option('method', { type: 'string', describe: 'HTTP method, any case' })
      .option('status', { type: 'number', describe: 'response status code' })
      .option('path', { type: 'string', describe: 'exact path, without the query string' })
      .option('from', { type: 'string', describe: 'earliest time, ISO 8601 (inclusive)' })
      .option('to', { type: 'string', describe: 'latest time, ISO 8601 (inclusive)' })
      .option('limit', { type: 'number', default: 20, describe: 'most records printed' })
      .option('format', { choices: ['table', 'json', 'ndjson', 'csv'] as const, default: 'table' as const, describe: 'output format' })
      .option('data-dir', { type: 'string', describe: 'LMDB directory (store.path)' })
      .option('config', { alias: 'c', type: 'string', describe: 'config file whose store.path to read' }) as unknown as Argv<QueryArgs>,
    handler: async (args) => {
      const problem = flagProblem(args);
      if (problem) {
        // A usage error: exit 2 like the CLI's others (a yargs check would exit 1, as an internal failure).
        process.stderr.write(`audit-proxy: ${problem}\n`);
        process.exitCode = 2;
        return;
      }
      const filter = filterOf(args);
      const store = openAuditStore(storeConfig(args), createLogger({ log: { level: 'warn', pretty: 'false', requests: false } }, process.stderr), { readOnly: true });
      try {
        printItems(await takeItems(store.iterate(filter), args.limit), args.format, print);
      } finally {
        await store.close();
      }
    },
  };
}

/** --data-dir alone needs no config file (and no upstream); --config reads store.path and the rest of store.*. */
function storeConfig(args: QueryArgs): Config['store'] {
  if (args.config === undefined) return storeSchema.parse({ path: args['data-dir'] ?? './data' });
  const overrides = { 'store.path': args['data-dir'] };
  return loadConfig({ file: args.config, env: process.env, overrides }).store;
}

/** What is wrong with the flags, or null. */
function flagProblem(args: QueryArgs): string | null {
  if (!Number.isInteger(args.limit) || args.limit < 1) return '--limit must be a positive integer';
  if (args.status !== undefined && !Number.isInteger(args.status)) return '--status must be an integer';
  for (const name of ['from', 'to'] as const) {
    if (args[name] !== undefined && Number.isNaN(isoTimeMs(args[name]))) {
      return `--${name} must be an ISO 8601 date or date-time with a zone, e.g. 2024-05-01T12:00:00Z`;
    }
  }
  return null;
}

function filterOf(args: QueryArgs): AuditFilter {
  const time = (value: string | undefined) => (value === undefined ? undefined : isoTimeMs(value));
  return {
    organizationId: args.org, apiKeyId: args['api-key-id'], serviceAccountId: args['service-account-id'], userId: args['user-id'],
    method: args.method?.toUpperCase(), statusCode: args.status, path: args.path, fromMs: time(args.from), toMs: time(args.to),
  };
}

async function takeItems(records: AsyncIterable<Parameters<typeof apiKeyRequestItem>[0]>, limit: number): Promise<Item[]> {
  const items: Item[] = [];
  for await (const record of records) {
    if (items.length === limit) break;
    items.push(apiKeyRequestItem(record));
  }
  return items;
}

function printItems(items: Item[], format: QueryArgs['format'], print: Print): void {
  if (format === 'json') return print(JSON.stringify(items, null, 2));
  if (format === 'ndjson') return items.forEach((item) => print(JSON.stringify(item)));
  if (format === 'csv') {
    print(API_KEY_REQUEST_FIELDS.map(csvCell).join(','));
    return items.forEach((item) => print(API_KEY_REQUEST_FIELDS.map((field) => csvCell(item[field])).join(',')));
  }
  printTable(items, print);
}

/** Aligned columns for people; the other formats carry every field. */
function printTable(items: Item[], print: Print): void {
  const rows = [[...TABLE_COLUMNS], ...items.map((item) => TABLE_COLUMNS.map((column) => String(item[column] ?? '-')))];
  const widths = TABLE_COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) print(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  print(`${items.length} record${items.length === 1 ? '' : 's'}`);
}

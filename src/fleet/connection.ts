import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Config } from '../config/schema.js';

type FleetConfig = Config['fleet'];

/**
 * How to reach the fleet's PostgreSQL. The password comes from the URL, else postgres.passwordFile, else PGPASSWORD
 * (which pg reads itself); it is handed to pg only, never logged.
 */
export function connectionConfig(fleet: FleetConfig): pg.ClientConfig {
  const url = fleet.postgres.url;
  if (url === null) throw new Error('fleet.postgres.url is not set');
  return {
    connectionString: withPasswordFile(url, fleet.postgres.passwordFile),
    application_name: 'audit-proxy',
    statement_timeout: fleet.postgres.statementTimeoutMs,
    connectionTimeoutMillis: Math.min(fleet.postgres.statementTimeoutMs, 10_000),
  };
}

/** pg lets the connection string's fields win over `password`, so the file's password goes into the URL. */
function withPasswordFile(url: string, passwordFile: string | null): string {
  const parsed = new URL(url);
  if (parsed.password !== '' || passwordFile === null) return url;
  parsed.password = encodeURIComponent(readPasswordFile(passwordFile));
  return parsed.toString();
}

function readPasswordFile(file: string): string {
  try {
    return readFileSync(file, 'utf8').split(/\r?\n/)[0]!;
  } catch (error) {
    throw new Error(`cannot read fleet.postgres.passwordFile ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** Where the records go, for logs: host, port and database, never the user's password. */
export function describeTarget(fleet: FleetConfig): string {
  const url = new URL(fleet.postgres.url!);
  return `${url.hostname}:${url.port || '5432'}${url.pathname}`;
}

export function nodeIdOf(fleet: FleetConfig): string {
  return fleet.nodeId ?? hostname();
}

/** The audit API as the page calls it: the key goes in a header, never in a URL. */

export interface ApiPaths {
  records: string;
  stats: string;
  export: string;
}

/** Paths the proxy wrote into the page's meta tag (they follow its audit.* config). */
export function apiPaths(): ApiPaths {
  const meta = document.querySelector('meta[name="audit-proxy-api"]')?.getAttribute('content') ?? '{}';
  const given = JSON.parse(meta) as Partial<ApiPaths>;
  return {
    records: given.records ?? '/v1/audit-logs/records',
    stats: given.stats ?? '/v1/audit-logs/stats',
    export: given.export ?? '/v1/audit-logs/export',
  };
}

/** The record as the records endpoint serves it: the server's own type, so the two cannot drift apart. */
export type { AuditRecord } from '../../src/audit/record.js';
import type { AuditRecord } from '../../src/audit/record.js';

export interface RecordsPage {
  items: AuditRecord[];
  hasMore: boolean;
  nextCursor: string | null;
}

export interface StatsBucket {
  start: string;
  count: number;
  status: Record<'none' | '1xx' | '2xx' | '3xx' | '4xx' | '5xx', number>;
  durationMs: { p50: number; p95: number; p99: number } | null;
}

export interface Stats {
  bucketMs: number;
  source: string;
  complete: boolean;
  coveredFrom: string;
  buckets: StatsBucket[];
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function request(path: string, params: URLSearchParams, key: string, signal?: AbortSignal): Promise<Response> {
  const query = params.toString();
  return fetch(query ? `${path}?${query}` : path, {
    headers: { authorization: `Bearer ${key}` },
    cache: 'no-store',
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
    signal,
  });
}

async function failure(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => null)) as { message?: unknown } | null;
  const message = typeof body?.message === 'string' ? body.message : `the audit API answered HTTP ${res.status}`;
  return new ApiError(res.status, message);
}

/** The `data` of a 200 answer; an ApiError carrying the API's own message otherwise. */
export async function getData<T>(path: string, params: URLSearchParams, key: string, signal?: AbortSignal): Promise<T> {
  const res = await request(path, params, key, signal);
  if (!res.ok) throw await failure(res);
  return ((await res.json()) as { data: T }).data;
}

/** Fetches an export with the key in a header and hands it to the browser as a file download. */
export async function download(path: string, params: URLSearchParams, key: string, filename: string): Promise<void> {
  const res = await request(path, params, key);
  if (!res.ok) throw await failure(res);
  const url = URL.createObjectURL(await res.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

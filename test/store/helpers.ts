import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { AuditRecord } from '../../src/audit/record.js';
import { storeSchema } from '../../src/config/sections/store.js';
import type { Config } from '../../src/config/schema.js';
import type { Logger } from '../../src/log.js';

export const BASE_MS = Date.parse('2026-11-01T00:00:00.000Z');

/** A UUIDv7-shaped id that sorts by ms then seq, like the real ones. */
export function idFor(ms: number, seq: number): string {
  const hex = ms.toString(16).padStart(12, '0');
  const tail = seq.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8)}-7000-8000-${tail}`;
}

let sequence = 0;

export function makeRecord(overrides: Partial<AuditRecord> & { ms?: number } = {}): AuditRecord {
  const { ms = BASE_MS + sequence, ...rest } = overrides;
  const seq = sequence++;
  return {
    id: idFor(ms, seq),
    requestId: `req-${seq}`,
    createdAt: new Date(ms).toISOString(),
    method: 'GET',
    path: '/v1/things',
    query: {},
    routePattern: '/v1/things',
    resourceType: 'thing',
    action: 'list',
    statusCode: 200,
    outcome: 'completed',
    durationMs: 3,
    ttfbMs: 2,
    requestBytes: 0,
    responseBytes: 10,
    clientIp: '10.0.0.1',
    country: null,
    userAgent: 'test',
    principalType: 'api_key',
    principalId: 'key-1',
    apiKeyId: 'key-1',
    serviceAccountId: null,
    userId: null,
    organizationId: 'org-a',
    workspaceId: null,
    authError: null,
    requestHeaders: {},
    requestBody: null,
    requestBodyTruncated: false,
    responseBody: null,
    upstream: 'http://upstream',
    ...rest,
  };
}

export function storeConfig(path: string, overrides: Record<string, unknown> = {}): Config['store'] {
  return storeSchema.parse({ path, ...overrides });
}

/** A pino logger whose lines land in `lines` as parsed objects. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, destination), lines };
}

export const ids = (records: AuditRecord[]): string[] => records.map((record) => record.id);

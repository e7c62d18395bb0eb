import type { AuditRecord } from '../../src/audit/record.js';
import { headerValues, type Arrival } from './witness.js';
import type { Observed } from './grammar.js';

/** Whom a set of forwarded headers names, judged independently of the proxy's code. */
export type Caller = { kind: 'known'; id: string } | { kind: 'nobody' } | { kind: 'ambiguous' };

export interface Knowns {
  /** API key value -> the key id the registry gives it. */
  keys: ReadonlyMap<string, string>;
  /** The user id every valid test JWT carries. */
  jwtUser: string;
  /** Says whether a bearer token is a JWT this proxy accepts. */
  isValidJwt: (token: string) => boolean;
}

/** The caller named by the credentials that actually reached the upstream. */
export function callerOf(rawHeaders: readonly string[], knowns: Knowns): Caller {
  const named = new Set<string>();
  const values = [...headerValues(rawHeaders, 'x-api-key'), ...headerValues(rawHeaders, 'x-portkey-api-key')];
  for (const bearer of headerValues(rawHeaders, 'authorization')) {
    const token = /^Bearer (\S+)$/.exec(bearer)?.[1];
    if (token && knowns.isValidJwt(token)) named.add(`user:${knowns.jwtUser}`);
    else if (token) values.push(token);
  }
  for (const value of values) {
    const key = knowns.keys.get(value);
    if (key) named.add(`key:${key}`);
  }
  if (named.size > 1) return { kind: 'ambiguous' };
  const [only] = named;
  return only ? { kind: 'known', id: only } : { kind: 'nobody' };
}

function recordCaller(record: AuditRecord): string | null {
  if (record.apiKeyId && record.organizationId) return `key:${record.apiKeyId}`;
  if (record.userId) return `user:${record.userId}`;
  return null;
}

/** The paths the proxy was told not to record (capture.exclude), as the upstream saw them. */
export type Excluded = (path: string) => boolean;

/**
 * The invariant of issue 10 for one request id: it was refused before reaching the upstream (and that refusal is
 * recorded), or the upstream received the method, target and credential its one record names, with the status the
 * client got. Returns the violations, empty when it holds.
 */
export function violations(arrivals: Arrival[], records: AuditRecord[], observed: Observed, knowns: Knowns, excluded: Excluded): string[] {
  const problems: string[] = [];
  if (arrivals.length > 1) problems.push(`reached the upstream ${arrivals.length} times`);
  const arrival = arrivals[0];
  const path = arrival?.target.split('?')[0];
  const expectedRecords = arrival && excluded(path!) ? 0 : 1;
  if (records.length !== expectedRecords) problems.push(`${records.length} records, expected ${expectedRecords}`);
  const record = records[0];
  if (!record) return problems;
  if (observed.status !== null && observed.status !== 100 && record.statusCode !== observed.status) {
    problems.push(`record says status ${record.statusCode}, the client got ${observed.status}`);
  }
  if (!arrival) {
    if (record.outcome === 'completed' && record.statusCode < 400 && record.resourceType !== 'audit_logs') {
      problems.push(`never reached the upstream, yet recorded as ${record.statusCode} completed`);
    }
    return problems;
  }
  if (record.method !== arrival.method) problems.push(`record method ${record.method}, upstream got ${arrival.method}`);
  if (record.path !== path) problems.push(`record path ${record.path}, upstream got ${path}`);
  const caller = callerOf(arrival.rawHeaders, knowns);
  if (caller.kind === 'ambiguous') problems.push('forwarded with credentials naming two different known callers');
  const named = recordCaller(record);
  const expected = caller.kind === 'known' ? caller.id : null;
  if (named !== expected) problems.push(`record names ${named ?? 'nobody'}, the upstream got credentials of ${expected ?? 'nobody'}`);
  return problems;
}

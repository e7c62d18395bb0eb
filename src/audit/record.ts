import type { PrincipalType } from '../principal/principal-type.js';

/** How a request ended, from the client's point of view. */
export type Outcome = 'completed' | 'upstream_error' | 'upstream_timeout' | 'client_aborted' | 'rejected';

/** One audited request: the product. Every field is plain data; nothing here holds a raw credential. */
export interface AuditRecord {
  /** UUIDv7: unique and time-ordered. */
  id: string;
  /** Commit sequence number, set by the store when the record is committed (absent before, and in old stores). */
  seq?: number;
  requestId: string;
  /** ISO 8601 with milliseconds: time of arrival. */
  createdAt: string;
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string | string[]>;
  routePattern: string;
  resourceType: string;
  action: string;
  /** What the client received; 0 when the client left before any status was sent. */
  statusCode: number;
  outcome: Outcome;
  /** Why, for upstream errors and timeouts; absent in records written before it was kept. */
  outcomeDetail?: string | null;
  durationMs: number;
  /** Arrival to the upstream's response headers; null when there were none. */
  ttfbMs: number | null;
  requestBytes: number;
  responseBytes: number;
  clientIp: string;
  country: string | null;
  userAgent: string | null;
  principalType: PrincipalType;
  principalId: string | null;
  apiKeyId: string | null;
  serviceAccountId: string | null;
  userId: string | null;
  organizationId: string | null;
  workspaceId: string | null;
  authError: string | null;
  /** Credential headers present besides the one that named the principal (absent when there were none). */
  otherCredentials?: string[];
  /** Request headers with every credential masked to a hint. */
  requestHeaders: Record<string, string>;
  /** Captured request body text (redacted, capped); null when not captured. */
  requestBody: string | null;
  requestBodyTruncated: boolean;
  /** Captured error-response body when capture.responseBody.onError is on. */
  responseBody: string | null;
  /**
   * In the stored form only: a body of store.bodiesApartBytes or more is stored apart, and its field is null and this names it by
   * SHA-256 (store/bodies.ts); the store's reads put the body back.
   */
  requestBodyRef?: string;
  responseBodyRef?: string;
  /** Target origin. */
  upstream: string;
}

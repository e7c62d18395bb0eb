import { isAscii } from 'node:buffer';
import type { AuditRecord } from './record.js';
import type { BodyRedactor } from './redact.js';

/**
 * A captured body as it came: the store's writer decodes and redacts it (settleBodies), off the request path. Its bytes
 * own their ArrayBuffer, so a batch moves them to the writer thread instead of copying them.
 */
export interface RawBody {
  bytes: Uint8Array<ArrayBuffer>;
  /** The byte length captured: bytes moved to a writer thread that then died are told apart from an empty body. */
  readonly size: number;
  readonly contentType: string | undefined;
}

export interface RawBodies {
  request?: RawBody;
  response?: RawBody;
}

/** A record as the proxy appends it: requestBody and responseBody are null until its raw bodies are settled. */
export interface AppendedRecord extends AuditRecord {
  rawBodies?: RawBodies;
}

/** Stored for a body whose bytes were lost with a writer thread that died while writing them (docs/store.md). */
export const BODY_LOST = '[body lost: the store\'s writer thread died while writing it]';

/** UTF-8 text of the bytes; ASCII (most JSON) as Latin-1, which is the same text without the decoder's cost. */
export function bodyText(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.toString(isAscii(buffer) ? 'latin1' : 'utf8');
}

/** The record as it is stored: raw bodies decoded and redacted, and no rawBodies key. */
export function settleBodies(record: AppendedRecord, redactor: BodyRedactor): AuditRecord {
  const raw = record.rawBodies;
  if (!raw) return record;
  const { rawBodies: _raw, ...settled } = record;
  if (raw.request) settled.requestBody = settledText(raw.request, redactor);
  if (raw.response) settled.responseBody = settledText(raw.response, redactor);
  return settled;
}

function settledText(body: RawBody, redactor: BodyRedactor): string {
  return body.bytes.byteLength === body.size ? redactor.redact(bodyText(body.bytes), body.contentType) : BODY_LOST;
}

/**
 * The raw bodies of these records whose bytes can move to another thread, in record order. A body whose bytes were
 * already moved and not given back (its thread died) gets an empty buffer: it is settled as BODY_LOST, and a detached
 * buffer would make the whole batch fail to post.
 */
export function movableBodies(records: readonly AppendedRecord[]): RawBody[] {
  const movable: RawBody[] = [];
  for (const record of records) {
    const raw = record.rawBodies;
    if (!raw) continue;
    for (const body of [raw.request, raw.response]) {
      if (!body || body.size === 0) continue;
      if (body.bytes.byteLength === body.size) movable.push(body);
      else body.bytes = new Uint8Array(0);
    }
  }
  return movable;
}

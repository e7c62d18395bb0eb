import { isAscii } from 'node:buffer';
import type { AuditRecord } from './record.js';
import type { BodyRedactor } from './redact.js';

/**
 * A captured body as it came: the store's writer decodes and redacts it (settleBodies), off the request path. Its bytes
 * are in shared memory, so posting a batch to the writer thread copies none of them, and the main thread keeps them
 * for the batch's retry should that thread die.
 */
export interface RawBody {
  readonly bytes: Uint8Array<SharedArrayBuffer>;
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

/** UTF-8 text of the bytes; ASCII (most JSON) as Latin-1, which is the same text without the decoder's cost. */
export function bodyText(bytes: Uint8Array<ArrayBufferLike>): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.toString(isAscii(buffer) ? 'latin1' : 'utf8');
}

/** The record as it is stored: raw bodies decoded and redacted, and no rawBodies key. */
export function settleBodies(record: AppendedRecord, redactor: BodyRedactor): AuditRecord {
  const raw = record.rawBodies;
  if (!raw) return record;
  const { rawBodies: _raw, ...settled } = record;
  if (raw.request) settled.requestBody = redactor.redact(bodyText(raw.request.bytes), raw.request.contentType);
  if (raw.response) settled.responseBody = redactor.redact(bodyText(raw.response.bytes), raw.response.contentType);
  return settled;
}

import { isAscii, isUtf8 } from 'node:buffer';
import type { AuditRecord } from './record.js';
import type { BodyRedactor } from './redact.js';

/**
 * A captured body as it came: the store's writer decodes and redacts it (settleBody), off the request path. Its bytes
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

/** A raw body decoded and redacted; `utf8` is the text's UTF-8 when that is the raw bytes as they came, else null. */
export interface SettledBody {
  text: string;
  utf8: Buffer | null;
}

/**
 * Decodes (as UTF-8; ASCII, most JSON, as Latin-1: the same text without the decoder's cost) and redacts a raw body.
 * When redaction changed nothing and the bytes were ASCII or valid UTF-8, they are the text's UTF-8 already: handed
 * back as `utf8`, so that storing them apart costs no encoding.
 */
export function settleBody(raw: RawBody, redactor: BodyRedactor): SettledBody {
  const buffer = Buffer.from(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength);
  const ascii = isAscii(buffer);
  const text = buffer.toString(ascii ? 'latin1' : 'utf8');
  const redacted = redactor.redact(text, raw.contentType);
  return { text: redacted, utf8: redacted === text && (ascii || isUtf8(buffer)) ? buffer : null };
}

/** The record without its rawBodies key (a copy). */
export function withoutRawBodies(record: AppendedRecord): AuditRecord {
  const { rawBodies: _raw, ...rest } = record;
  return rest;
}

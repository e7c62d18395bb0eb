import { uuidv7 } from './uuid7.js';

/** Printable ASCII (no spaces or controls), 1 to 128 characters. */
const SANE_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** The incoming X-Request-Id when it is sane, otherwise a new one. */
export function requestIdFor(incoming: string | string[] | undefined): string {
  if (typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming)) return incoming;
  return uuidv7(Date.now());
}

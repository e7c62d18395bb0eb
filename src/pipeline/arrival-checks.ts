import type { IncomingMessage } from 'node:http';

/** Transfer codings the proxy decodes before forwarding (undici sends only chunked); anything else is a 501. */
const DECODED_TRANSFER_CODINGS = new Set(['gzip', 'x-gzip', 'deflate']);

export interface ArrivalProblem {
  status: number;
  message: string;
}

/**
 * What is wrong with a request's head before anyone is identified: a Host line more than once (RFC 9112 3.2), a
 * transfer coding whose last step is not chunked (RFC 9112 6.3) or that the proxy cannot pass on, or a credential
 * header more than once (the proxy would read one, the upstream might honour another).
 */
export function arrivalProblem(req: IncomingMessage, repeatedCredential: (raw: readonly string[]) => string | null): ArrivalProblem | null {
  if (countHeader(req.rawHeaders, 'host') > 1) return { status: 400, message: 'the Host header is repeated: send exactly one' };
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    const codings = te.split(',').map((c) => c.trim().toLowerCase());
    if (codings.at(-1) !== 'chunked') return { status: 400, message: 'Transfer-Encoding must end with chunked' };
    const unknown = codings.slice(0, -1).find((c) => !DECODED_TRANSFER_CODINGS.has(c));
    if (unknown !== undefined) return { status: 501, message: `transfer coding ${JSON.stringify(unknown)} is not supported` };
    if (codings.length > 2) return { status: 501, message: 'at most one transfer coding besides chunked is supported' };
  }
  const repeated = repeatedCredential(req.rawHeaders);
  if (repeated !== null) return { status: 400, message: `the ${repeated} header is repeated: send it once (it names the caller)` };
  return null;
}

function countHeader(rawHeaders: readonly string[], lower: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.length === lower.length && rawHeaders[i]!.toLowerCase() === lower) count++;
  return count;
}

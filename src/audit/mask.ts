import type { IncomingHttpHeaders } from 'node:http';

/** Credential headers masked in every record, whatever the config says. */
export const BUILT_IN_MASKED_HEADERS = [
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-portkey-api-key', 'x-auth-token',
];

const ELLIPSIS = '…';

/**
 * A hint that identifies a credential without revealing it: the scheme, the first three and last four
 * characters of a long secret (`Bearer sk_…a1b2`), nothing of a short one.
 */
export function credentialHint(value: string): string {
  const space = value.indexOf(' ');
  const scheme = space > 0 && space < 20 ? value.slice(0, space + 1) : '';
  const secret = value.slice(scheme.length).trim();
  if (secret.length < 16) return `${scheme}${ELLIPSIS}`;
  return `${scheme}${secret.slice(0, 3)}${ELLIPSIS}${secret.slice(-4)}`;
}

/** Cookie names stay (they say what was sent); every value becomes an ellipsis. */
export function cookieHint(value: string): string {
  return value.split(';').map((pair) => {
    const eq = pair.indexOf('=');
    return eq === -1 ? ELLIPSIS : `${pair.slice(0, eq).trim()}=${ELLIPSIS}`;
  }).join('; ');
}

/** Request headers as a flat record for storage, every credential header masked. */
export function maskHeaders(headers: IncomingHttpHeaders, masked: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    const raw = headers[name];
    if (raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    if (!masked.has(name)) out[name] = value;
    else out[name] = name === 'cookie' ? cookieHint(value) : credentialHint(value);
  }
  return out;
}

import type { IncomingHttpHeaders } from 'node:http';

/** Credential headers masked in every record, whatever the config says. */
export const BUILT_IN_MASKED_HEADERS = [
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-portkey-api-key', 'x-auth-token',
  'x-amz-security-token', 'x-goog-api-key', 'api-key', 'x-access-token',
];

/** Any header whose name, lowercase letters and digits only, ends so is masked too (`X-Vendor-Session-Token`). */
const SENSITIVE_NAME_ENDINGS = ['token', 'secret', 'password', 'passwd', 'apikey', 'credential', 'credentials', 'signature'];

/** Header names seen lately and whether they are sensitive: clients send the same few dozen names again and again. */
const verdicts = new Map<string, boolean>();
const VERDICTS_KEPT = 1_024;

function sensitiveHeaderName(name: string): boolean {
  let verdict = verdicts.get(name);
  if (verdict === undefined) {
    const normalized = name.replace(/[^a-z0-9]/g, '');
    verdict = SENSITIVE_NAME_ENDINGS.some((ending) => normalized.endsWith(ending));
    if (verdicts.size >= VERDICTS_KEPT) verdicts.clear();
    verdicts.set(name, verdict);
  }
  return verdict;
}

const ELLIPSIS = '…';

/**
 * A hint that identifies a credential without revealing it: the scheme, the first three and last four
 * characters of a long secret (`Bearer sk_…a1b2`), nothing of a short one. Basic credentials show the user only.
 */
export function credentialHint(value: string): string {
  const space = value.indexOf(' ');
  const scheme = space > 0 && space < 20 ? value.slice(0, space + 1) : '';
  const secret = value.slice(scheme.length).trim();
  if (scheme.toLowerCase() === 'basic ') return `${scheme}${basicUser(secret)}${ELLIPSIS}`;
  if (secret.length < 16) return `${scheme}${ELLIPSIS}`;
  return `${scheme}${secret.slice(0, 3)}${ELLIPSIS}${secret.slice(-4)}`;
}

/** `user:` of Basic credentials (at most 64 characters), or nothing when they do not decode to user:password. */
function basicUser(encoded: string): string {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 && colon <= 64 ? decoded.slice(0, colon + 1) : '';
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
    if (!masked.has(name) && !sensitiveHeaderName(name)) out[name] = value;
    else out[name] = name === 'cookie' ? cookieHint(value) : credentialHint(value);
  }
  return out;
}

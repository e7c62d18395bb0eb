import type { IncomingHttpHeaders } from 'node:http';

export type Credential = { kind: 'api_key' | 'jwt'; value: string };

/** Three base64url segments; the signature may be empty (alg none) so such tokens are refused as JWTs, not keys. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** Header names carrying API keys, besides Authorization: Bearer. */
const STANDARD_KEY_HEADERS = ['x-api-key', 'x-portkey-api-key'];

export type CredentialReader = (headers: IncomingHttpHeaders) => Credential | null;

/**
 * Picks the credential of a request: a non-JWT bearer token or an API-key header first, then a bearer JWT.
 * With no JWT verification configured, a JWT-shaped bearer token is treated as an API key.
 */
export function createCredentialReader(extraKeyHeaders: readonly string[], jwtEnabled: boolean): CredentialReader {
  const keyHeaders = [...new Set([...STANDARD_KEY_HEADERS, ...extraKeyHeaders.map((h) => h.toLowerCase())])];
  return (headers) => {
    const bearer = bearerToken(headers.authorization);
    const bearerIsJwt = bearer !== null && jwtEnabled && JWT_SHAPE.test(bearer);
    if (bearer !== null && !bearerIsJwt) return { kind: 'api_key', value: bearer };
    for (const name of keyHeaders) {
      const key = headerValue(headers[name]);
      if (key !== null) return { kind: 'api_key', value: key };
    }
    return bearer !== null ? { kind: 'jwt', value: bearer } : null;
  };
}

/**
 * The credential headers the resolver reads (Authorization and the API-key headers), checked for repeats: the
 * resolver reads the first, an upstream may read the last, so a repeated one could be audited as one caller and
 * served as another. Returns the repeated header's name (lowercase), or null.
 */
export function createRepeatedCredentialCheck(extraKeyHeaders: readonly string[]): (rawHeaders: readonly string[]) => string | null {
  const names = new Set(['authorization', ...STANDARD_KEY_HEADERS, ...extraKeyHeaders.map((h) => h.toLowerCase())]);
  return (rawHeaders) => {
    let seen: Set<string> | null = null;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!.toLowerCase();
      if (!names.has(name)) continue;
      if (seen?.has(name)) return name;
      (seen ??= new Set()).add(name);
    }
    return null;
  };
}

function bearerToken(authorization: string | undefined): string | null {
  if (authorization === undefined) return null;
  const match = BEARER.exec(authorization);
  return match ? match[1]! : null;
}

/** First non-empty value of a header, trimmed; repeated headers arrive as arrays. */
export function headerValue(value: string | string[] | undefined): string | null {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return null;
  const trimmed = first.trim();
  return trimmed === '' ? null : trimmed;
}

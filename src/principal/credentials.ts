import type { IncomingHttpHeaders } from 'node:http';

/** `malformed`: an Authorization: Bearer whose value is not one token (an upstream may still take a part of it). */
export type Credential = { kind: 'api_key' | 'jwt' | 'malformed'; value: string; header: string };

/** Three base64url segments; the signature may be empty (alg none) so such tokens are refused as JWTs, not keys. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const BEARER_SCHEME = /^Bearer[ \t]+\S/i;

/** Header names carrying API keys, besides Authorization: Bearer, in order of precedence. */
const STANDARD_KEY_HEADERS = ['x-portkey-api-key', 'x-api-key'];

export type CredentialReader = (headers: IncomingHttpHeaders) => Credential[];

/**
 * Every credential a request presents, in order of precedence: the API-key headers (x-portkey-api-key, X-Api-Key,
 * then auth.apiKeyHeaders as configured), then Authorization: Bearer. Dedicated key headers come first because
 * they exist to name the caller to a gateway, while Authorization often carries a credential meant for the API
 * behind it (Portkey clients send their provider's key there). A bearer token is a JWT when JWT verification is
 * configured and it has a JWT's shape, else an API key.
 */
export function createCredentialReader(extraKeyHeaders: readonly string[], jwtEnabled: boolean): CredentialReader {
  const keyHeaders = credentialKeyHeaders(extraKeyHeaders);
  return (headers) => {
    const found: Credential[] = [];
    for (const name of keyHeaders) {
      const key = headerValue(headers[name]);
      if (key !== null) found.push({ kind: 'api_key', value: key, header: name });
    }
    const { authorization } = headers;
    const bearer = bearerToken(authorization);
    if (bearer !== null) {
      const kind = jwtEnabled && JWT_SHAPE.test(bearer) ? 'jwt' : 'api_key';
      found.push({ kind, value: bearer, header: 'authorization' });
    } else if (authorization !== undefined && BEARER_SCHEME.test(authorization)) {
      found.push({ kind: 'malformed', value: authorization, header: 'authorization' });
    }
    return found;
  };
}

/** The API-key headers, lowercase, in order of precedence (Authorization comes after all of them). */
export function credentialKeyHeaders(extraKeyHeaders: readonly string[]): string[] {
  return [...new Set([...STANDARD_KEY_HEADERS, ...extraKeyHeaders.map((h) => h.toLowerCase())])];
}

/**
 * The headers that name the caller (Authorization, the API-key headers, and the identity headers an auth layer in
 * front sets), checked for repeats: the resolver reads the first (or joins them), an upstream may read the last, so a
 * repeated one could be audited as one caller and served as another. Returns the repeated header's name
 * (lowercase), or null.
 */
export function createRepeatedCredentialCheck(extraKeyHeaders: readonly string[], identityHeaders: readonly string[]): (rawHeaders: readonly string[]) => string | null {
  const names = new Set(['authorization', ...STANDARD_KEY_HEADERS, ...[...extraKeyHeaders, ...identityHeaders].map((h) => h.toLowerCase())]);
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

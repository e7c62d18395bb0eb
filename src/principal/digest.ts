import { createHash, createHmac } from 'node:crypto';

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Cache key for a credential: caches never hold the raw token. */
export function cacheKey(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** Stable, non-reversible id of a key the proxy does not know: fp_ + 16 hex of HMAC-SHA256 under the installation secret. */
export function fingerprint(key: string, secret: string): string {
  return `fp_${createHmac('sha256', secret).update(key).digest('hex').slice(0, 16)}`;
}

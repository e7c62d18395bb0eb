import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { request } from 'undici';
import type { Logger } from '../log.js';
import { maskUrl } from '../net/url-mask.js';

export interface JwksOptions {
  url: string;
  timeoutMs: number;
  maxAgeMs: number;
  cooldownMs: number;
}

/** No key set could be fetched yet: tokens cannot be verified. */
export class JwksUnavailable extends Error {
  readonly code = 'ERR_JWKS_UNAVAILABLE';
}

/**
 * The issuer's JWKS, fetched with undici and kept. A stale set is refreshed in the background; an unknown kid
 * triggers a refetch, at most once per cooldown, so a flood of bogus kids cannot hammer the JWKS server.
 */
export class JwksSource {
  private keySet: JWTVerifyGetKey | null = null;
  private fetchedAt = 0;
  private lastAttemptAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<boolean> | null = null;

  constructor(private readonly options: JwksOptions, private readonly logger: Logger) {}

  /** The key set, fetching it first when there is none yet. */
  async current(): Promise<JWTVerifyGetKey> {
    if (this.keySet === null) await this.refresh();
    if (this.keySet === null) throw new JwksUnavailable('no JWKS could be fetched');
    if (Date.now() - this.fetchedAt > this.options.maxAgeMs) void this.refresh();
    return this.keySet;
  }

  /** Refetches unless one is under way or the cooldown has not passed; true when a new set was loaded. */
  refresh(): Promise<boolean> {
    if (this.inflight) return this.inflight;
    if (Date.now() - this.lastAttemptAt < this.options.cooldownMs) return Promise.resolve(false);
    this.lastAttemptAt = Date.now();
    this.inflight = this.load().finally(() => { this.inflight = null; });
    return this.inflight;
  }

  private async load(): Promise<boolean> {
    const { url, timeoutMs } = this.options;
    try {
      const { statusCode, body } = await request(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (statusCode !== 200) {
        await body.dump();
        throw new Error(`HTTP ${statusCode}`);
      }
      this.keySet = createLocalJWKSet((await body.json()) as JSONWebKeySet);
      this.fetchedAt = Date.now();
      this.logger.debug({ url: maskUrl(url) }, 'JWKS fetched');
      return true;
    } catch (err) {
      this.logger.warn({ url: maskUrl(url), problem: (err as Error).message }, 'JWKS fetch failed');
      return false;
    }
  }
}

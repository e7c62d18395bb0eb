import { Pool } from 'undici';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { claimedPrincipal, claimScopes, claimString, unknownKeyPrincipal } from './build.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { cacheKey } from './digest.js';
import type { Principal } from './principal.js';
import { TtlCache } from './ttl-cache.js';

type IntrospectionConfig = Config['auth']['introspection'];
type Answer = Record<string, unknown>;

/**
 * Asks the backend's RFC 7662 endpoint about keys the registry does not know. Answers are cached (keyed by a
 * hash of the key); a timeout, error or open breaker yields an unknown key with authError introspection_unavailable,
 * so a slow or dead endpoint never stalls or fails proxied traffic.
 */
export class IntrospectionClient {
  private readonly active: TtlCache<Principal>;
  private readonly inactive: TtlCache<Principal>;
  private readonly inflight = new Map<string, Promise<Principal>>();
  private readonly breaker: CircuitBreaker;
  private readonly pool: Pool;
  private readonly path: string;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly config: IntrospectionConfig & { url: string },
    private readonly fingerprintOf: (key: string) => string,
    private readonly logger: Logger,
  ) {
    const url = new URL(config.url);
    this.path = `${url.pathname}${url.search}`;
    this.pool = new Pool(url.origin, { connect: { timeout: config.timeoutMs } });
    this.headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (config.clientId !== null) {
      const basic = Buffer.from(`${encodeURIComponent(config.clientId)}:${encodeURIComponent(config.clientSecret ?? '')}`);
      this.headers.authorization = `Basic ${basic.toString('base64')}`;
    }
    this.active = new TtlCache(config.cacheSize);
    this.inactive = new TtlCache(config.cacheSize);
    this.breaker = new CircuitBreaker(config.failureThreshold, config.resetMs);
  }

  /** Synchronous for a cached answer or an open breaker; a promise that never rejects otherwise. */
  resolve(key: string): Principal | Promise<Principal> {
    const hash = cacheKey(key);
    const cached = this.active.get(hash) ?? this.inactive.get(hash) ?? this.inflight.get(hash);
    if (cached !== undefined) return cached;
    if (!this.breaker.allowRequest()) return this.unavailable(key);
    const pending = this.introspect(key, hash).finally(() => this.inflight.delete(hash));
    this.inflight.set(hash, pending);
    return pending;
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async introspect(key: string, hash: string): Promise<Principal> {
    let answer: Answer;
    try {
      answer = await this.call(key);
    } catch (err) {
      if (this.breaker.recordFailure()) this.logger.warn({ problem: (err as Error).message }, 'introspection breaker opened');
      else this.logger.debug({ problem: (err as Error).message }, 'introspection call failed');
      return this.unavailable(key);
    }
    if (this.breaker.recordSuccess()) this.logger.info('introspection breaker closed');
    const now = Date.now();
    if (answer.active !== true) {
      const principal = unknownKeyPrincipal(this.fingerprintOf(key), 'unknown_key', 'introspection');
      this.inactive.set(hash, principal, now + this.config.negativeTtlMs);
      return principal;
    }
    const principal = this.principalOf(answer, key);
    const exp = typeof answer.exp === 'number' ? answer.exp * 1000 : Number.POSITIVE_INFINITY;
    this.active.set(hash, principal, Math.min(now + this.config.positiveTtlMs, exp));
    return principal;
  }

  private async call(key: string): Promise<Answer> {
    const { statusCode, body } = await this.pool.request({
      path: this.path,
      method: 'POST',
      headers: this.headers,
      body: `token=${encodeURIComponent(key)}&token_type_hint=api_key`,
      signal: AbortSignal.timeout(this.config.timeoutMs),
    });
    if (statusCode !== 200) {
      await body.dump();
      throw new Error(`introspection answered HTTP ${statusCode}`);
    }
    const answer: unknown = await body.json();
    if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) throw new Error('introspection answer is not an object');
    return answer as Answer;
  }

  private principalOf(answer: Answer, key: string): Principal {
    const claims = this.config.claims;
    return claimedPrincipal({
      apiKeyId: claimString(answer[claims.apiKeyId]) ?? this.fingerprintOf(key),
      userId: claimString(answer[claims.userId]),
      organizationId: claimString(answer[claims.organizationId]),
      workspaceId: claimString(answer[claims.workspaceId]),
      serviceAccountId: claimString(answer[claims.serviceAccountId]),
      scopes: claimScopes(answer, [claims.scopes]),
    }, 'introspection');
  }

  private unavailable(key: string): Principal {
    return unknownKeyPrincipal(this.fingerprintOf(key), 'introspection_unavailable', 'introspection');
  }
}

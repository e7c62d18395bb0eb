import { decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { claimedPrincipal, claimScopes, claimString, rejectedTokenPrincipal, type AuthError } from './build.js';
import { cacheKey } from './digest.js';
import { JwksSource } from './jwks.js';
import type { Principal } from './principal.js';
import { TtlCache } from './ttl-cache.js';

type JwtConfig = Config['auth']['jwt'];

/** Pinned per key type, so a token can never pick its own verification method (alg none, HS-with-public-key). */
const HMAC_ALGS = ['HS256', 'HS384', 'HS512'];
const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** Verifies bearer JWTs (HS* with the shared secret, asymmetric with the JWKS) and remembers verified ones briefly. */
export class JwtVerifier {
  private readonly cache: TtlCache<Principal>;
  private readonly secret: Uint8Array | null;
  private readonly jwks: JwksSource | null;
  private readonly options: JWTVerifyOptions;

  constructor(private readonly config: JwtConfig, private readonly logger: Logger) {
    this.cache = new TtlCache(config.cacheSize);
    this.secret = config.secret ? new TextEncoder().encode(config.secret) : null;
    this.jwks = config.jwksUrl ? new JwksSource({
      url: config.jwksUrl, timeoutMs: config.jwksTimeoutMs, maxAgeMs: config.jwksMaxAgeMs, cooldownMs: config.jwksCooldownMs,
    }, logger) : null;
    this.options = {
      clockTolerance: config.clockToleranceSec,
      ...(config.issuer !== null && { issuer: config.issuer }),
      ...(config.audience !== null && { audience: config.audience }),
    };
    void this.jwks?.refresh();
  }

  /** Synchronous for a token verified recently; otherwise a promise that never rejects. */
  verify(token: string): Principal | Promise<Principal> {
    if (this.config.cacheTtlMs === 0) return this.verifyUncached(token, null);
    const key = cacheKey(token);
    return this.cache.get(key) ?? this.verifyUncached(token, key);
  }

  private async verifyUncached(token: string, key: string | null): Promise<Principal> {
    let payload: JWTPayload;
    try {
      payload = await this.verifySignatureAndClaims(token);
    } catch (err) {
      return rejectedTokenPrincipal(authErrorOf(err, this.logger));
    }
    const principal = this.principalOf(payload);
    if (key !== null) {
      const expiresAt = Date.now() + this.config.cacheTtlMs;
      this.cache.set(key, principal, payload.exp === undefined ? expiresAt : Math.min(expiresAt, payload.exp * 1000));
    }
    return principal;
  }

  private async verifySignatureAndClaims(token: string): Promise<JWTPayload> {
    const { alg } = decodeProtectedHeader(token);
    if (this.secret && alg !== undefined && HMAC_ALGS.includes(alg)) {
      return (await jwtVerify(token, this.secret, { ...this.options, algorithms: HMAC_ALGS })).payload;
    }
    if (this.jwks && alg !== undefined && ASYMMETRIC_ALGS.includes(alg)) return this.verifyWithJwks(token);
    throw new UnsupportedAlgorithm();
  }

  /** An unknown kid may be a freshly rotated key: refetch the set (subject to the cooldown) and try once more. */
  private async verifyWithJwks(token: string): Promise<JWTPayload> {
    const options = { ...this.options, algorithms: ASYMMETRIC_ALGS };
    try {
      return (await jwtVerify(token, await this.jwks!.current(), options)).payload;
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY' || !(await this.jwks!.refresh())) throw err;
      return (await jwtVerify(token, await this.jwks!.current(), options)).payload;
    }
  }

  private principalOf(payload: JWTPayload): Principal {
    const claims = this.config.claims;
    return claimedPrincipal({
      userId: claimString(payload[claims.userId]),
      organizationId: claimString(payload[claims.organizationId]),
      workspaceId: claimString(payload[claims.workspaceId]),
      serviceAccountId: claimString(payload[claims.serviceAccountId]),
      scopes: claimScopes(payload, claims.scopes),
    }, 'jwt');
  }
}

class UnsupportedAlgorithm extends Error {
  readonly code = 'ERR_JOSE_ALG_NOT_ALLOWED';
}

function authErrorOf(err: unknown, logger: Logger): AuthError {
  const { code, claim } = err as { code?: string; claim?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED': return 'expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': return claim === 'nbf' ? 'not_yet_valid' : 'bad_claims';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': return 'bad_signature';
    case 'ERR_JWKS_NO_MATCHING_KEY': return 'unknown_kid';
    case 'ERR_JOSE_ALG_NOT_ALLOWED': case 'ERR_JOSE_NOT_SUPPORTED': return 'unsupported_alg';
    case 'ERR_JWKS_UNAVAILABLE': return 'jwks_unavailable';
    case 'ERR_JWS_INVALID': case 'ERR_JWT_INVALID': case 'ERR_JWK_INVALID': return 'malformed_token';
    default:
      logger.debug({ problem: (err as Error).message }, 'unexpected JWT verification error');
      return 'malformed_token';
  }
}

import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { createTrustMatcher } from '../net/trust.js';
import { unknownKeyPrincipal } from './build.js';
import { createCredentialReader } from './credentials.js';
import { fingerprint } from './digest.js';
import { loadFingerprintSecret } from './fingerprint-secret.js';
import { createIdentityReader } from './identity-headers.js';
import { IntrospectionClient } from './introspection.js';
import { JwtVerifier } from './jwt.js';
import { ANONYMOUS, type Principal, type PrincipalResolver } from './principal.js';
import { KeyRegistry } from './registry.js';

export interface ResolverDeps {
  logger: Logger;
  /** Where the generated fingerprint secret is kept when auth.fingerprintSecret is not set. */
  dataDir: string;
}

export interface ClosablePrincipalResolver extends PrincipalResolver {
  close(): Promise<void>;
}

/**
 * Resolves who is calling: API key (registry, then introspection), else bearer JWT, else trusted identity
 * headers, else ANONYMOUS. Synchronous unless a network call is needed (introspection or JWKS miss, first JWT).
 * Construction reads the keys file and fingerprint secret synchronously and throws a message naming any problem.
 */
export function createPrincipalResolver(config: Config, deps: ResolverDeps): ClosablePrincipalResolver {
  const auth = config.auth;
  const secret = loadFingerprintSecret(auth.fingerprintSecret, deps.dataDir);
  const registry = new KeyRegistry(auth.keys, auth.keysFile, deps.logger);
  const fingerprintOf = (key: string) => fingerprint(key, secret);
  const { url } = auth.introspection;
  const introspection = url ? new IntrospectionClient({ ...auth.introspection, url }, fingerprintOf, deps.logger) : null;
  const jwt = auth.jwt.secret || auth.jwt.jwksUrl ? new JwtVerifier(auth.jwt, deps.logger) : null;
  const readCredential = createCredentialReader(auth.apiKeyHeaders, jwt !== null);
  const readIdentity = createIdentityReader(auth.identityHeaders, createTrustMatcher(config.trustProxy));

  const resolveApiKey = (key: string): Principal | Promise<Principal> =>
    registry.lookup(key) ?? introspection?.resolve(key) ?? unknownKeyPrincipal(fingerprintOf(key), 'unknown_key', 'api_key');

  return {
    resolve(headers, peerIp) {
      const credential = readCredential(headers);
      if (credential?.kind === 'api_key') return resolveApiKey(credential.value);
      if (credential?.kind === 'jwt') return jwt!.verify(credential.value);
      return readIdentity(headers, peerIp) ?? ANONYMOUS;
    },
    async close() {
      registry.close();
      await introspection?.close();
    },
  };
}

import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { createTrustMatcher } from '../net/trust.js';
import { ambiguousPrincipal, unknownKeyPrincipal, withOtherCredentials } from './build.js';
import { createCredentialReader, type Credential } from './credentials.js';
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
 * Resolves who is calling: every credential presented (API keys by registry, then introspection; bearer JWTs), a
 * known one naming the caller (choosePrincipal); with none, trusted identity headers, else ANONYMOUS. Synchronous unless a network call is needed (introspection or JWKS miss, first JWT).
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

  const resolveOne = (credential: Credential): Principal | Promise<Principal> => {
    if (credential.kind === 'api_key') return resolveApiKey(credential.value);
    if (credential.kind === 'jwt') return jwt!.verify(credential.value);
    return unknownKeyPrincipal(fingerprintOf(credential.value), 'malformed_token', 'api_key');
  };

  return {
    resolve(headers, peerIp) {
      const credentials = readCredential(headers);
      if (credentials.length === 0) return readIdentity(headers, peerIp) ?? ANONYMOUS;
      if (credentials.length === 1) return resolveOne(credentials[0]!);
      const principals = credentials.map(resolveOne);
      if (principals.some((p) => p instanceof Promise)) {
        return Promise.all(principals).then((settled) => choosePrincipal(credentials, settled));
      }
      return choosePrincipal(credentials, principals as Principal[]);
    },
    async close() {
      registry.close();
      await introspection?.close();
    },
  };
}

/**
 * Several credentials: a known (accepted) one names the caller, and the others are noted on the principal; two known
 * ones naming different principals make the caller ambiguous. When none is accepted, the first in precedence does.
 */
function choosePrincipal(credentials: readonly Credential[], principals: readonly Principal[]): Principal {
  const known = principals.findIndex((p) => p.authenticated);
  const chosen = known === -1 ? 0 : known;
  const principal = principals[chosen]!;
  const conflicting = principals.find((p, i) => i !== chosen && p.authenticated && !samePrincipal(p, principal));
  const headers = credentials.map((c) => c.header);
  if (conflicting) return ambiguousPrincipal(headers);
  return withOtherCredentials(principal, headers.filter((_, i) => i !== chosen));
}

function samePrincipal(a: Principal, b: Principal): boolean {
  return a.principalType === b.principalType && a.principalId === b.principalId && a.organizationId === b.organizationId;
}

import type { Config } from '../config/schema.js';
import { credentialKeyHeaders } from './credentials.js';
import type { Principal } from './principal.js';

export interface Rejection {
  status: 401;
  message: string;
  wwwAuthenticate: string;
}

/** What each authError tells the client; never echoes the credential. */
const PROBLEMS: Record<string, string> = {
  unknown_key: 'the API key is not recognised',
  introspection_unavailable: 'the API key could not be verified right now (introspection unavailable)',
  expired: 'the token has expired',
  not_yet_valid: 'the token is not valid yet (nbf is in the future)',
  bad_signature: 'the token signature is invalid',
  bad_claims: 'the token issuer or audience is not accepted',
  unknown_kid: 'the token is signed by an unknown key (kid)',
  malformed_token: 'the token is malformed',
  unsupported_alg: 'the token algorithm is not accepted',
  jwks_unavailable: 'the token could not be verified right now (JWKS unavailable)',
  ambiguous_caller: 'the credentials name different callers',
};

/** The 401 to send when auth.enforce is on and the request carries no accepted credential; null to let it through. */
export function rejection(principal: Principal, auth: Pick<Config['auth'], 'enforce' | 'realm' | 'apiKeyHeaders'>): Rejection | null {
  if (!auth.enforce || principal.authenticated) return null;
  const realm = `Bearer realm="${auth.realm}"`;
  if (principal.authError === null) {
    return { status: 401, message: authenticationRequired(auth.apiKeyHeaders), wwwAuthenticate: realm };
  }
  const problem = PROBLEMS[principal.authError] ?? 'the credential was not accepted';
  return {
    status: 401,
    message: `${problem} (${principal.authError})`,
    wwwAuthenticate: `${realm}, error="invalid_token", error_description="${principal.authError}"`,
  };
}

/** May read the audit endpoints of its own organization. */
export function canReadAudit(principal: Principal): boolean {
  return principal.authenticated && (principal.scopes.includes('audit:read') || principal.scopes.includes('audit:read:all'));
}

/** May read the audit records of every organization. */
export function canReadAllOrganizations(principal: Principal): boolean {
  return principal.authenticated && principal.scopes.includes('audit:read:all');
}

/** The 401 message: names every header that can carry an accepted credential. */
export function authenticationRequired(apiKeyHeaders: readonly string[]): string {
  const headers = ['Authorization: Bearer', ...credentialKeyHeaders(apiKeyHeaders)];
  return `authentication required: send an API key (${headers.slice(0, -1).join(', ')} or ${headers.at(-1)}) or a bearer token`;
}

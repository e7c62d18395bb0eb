import type { KeyEntry } from '../config/sections/auth.js';
import { ANONYMOUS, type AuthScheme, type Principal } from './principal.js';

/** The authError catalogue: why a presented credential was not accepted. */
export type AuthError =
  | 'unknown_key' | 'introspection_unavailable'
  | 'expired' | 'not_yet_valid' | 'bad_signature' | 'bad_claims' | 'unknown_kid'
  | 'malformed_token' | 'unsupported_alg' | 'jwks_unavailable' | 'ambiguous_caller';

export function registryPrincipal(entry: KeyEntry): Principal {
  return Object.freeze({
    principalType: 'api_key',
    principalId: entry.id,
    apiKeyId: entry.id,
    serviceAccountId: entry.serviceAccountId ?? null,
    userId: entry.userId ?? null,
    organizationId: entry.organizationId,
    workspaceId: entry.workspaceId ?? null,
    scopes: Object.freeze([...entry.scopes]),
    authScheme: 'api_key',
    authError: null,
    authenticated: true,
  });
}

/** A key nobody vouched for: recorded under its fingerprint, with no organization. */
export function unknownKeyPrincipal(keyFingerprint: string, authError: AuthError, authScheme: AuthScheme): Principal {
  return Object.freeze({
    ...ANONYMOUS,
    principalType: 'api_key',
    principalId: keyFingerprint,
    apiKeyId: keyFingerprint,
    authScheme,
    authError,
  });
}

/** Two credentials naming different known principals: nobody is named, and the request is refused with 400. */
export function ambiguousPrincipal(headers: readonly string[]): Principal {
  return Object.freeze({ ...ANONYMOUS, authError: 'ambiguous_caller', otherCredentials: Object.freeze([...headers]) });
}

/** The principal of the credential that identified the caller, noting the other credential headers present. */
export function withOtherCredentials(principal: Principal, headers: readonly string[]): Principal {
  return Object.freeze({ ...principal, otherCredentials: Object.freeze([...headers]) });
}

/** A token that failed verification: its claims are not believed, so nobody is named. */
export function rejectedTokenPrincipal(authError: AuthError): Principal {
  return Object.freeze({ ...ANONYMOUS, authScheme: 'jwt', authError });
}

export interface ClaimedIdentity {
  apiKeyId?: string | null;
  userId: string | null;
  organizationId: string | null;
  workspaceId: string | null;
  serviceAccountId: string | null;
  scopes: readonly string[];
}

/** A verified identity: a service account when the service-account claim is present, else a user. */
export function claimedPrincipal(identity: ClaimedIdentity, authScheme: AuthScheme): Principal {
  const apiKeyId = identity.apiKeyId ?? null;
  const principalType = apiKeyId ? 'api_key' : identity.serviceAccountId ? 'service_account' : 'user';
  return Object.freeze({
    principalType,
    principalId: apiKeyId ?? identity.serviceAccountId ?? identity.userId,
    apiKeyId,
    serviceAccountId: identity.serviceAccountId,
    userId: identity.userId,
    organizationId: identity.organizationId,
    workspaceId: identity.workspaceId,
    scopes: Object.freeze([...identity.scopes]),
    authScheme,
    authError: null,
    authenticated: true,
  });
}

/** A claim as an id: strings and numbers only, anything else is absent. */
export function claimString(value: unknown): string | null {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/** Scopes from the first claim present: "a b c" or ["a", "b"]. */
export function claimScopes(claims: Record<string, unknown>, names: readonly string[]): string[] {
  for (const name of names) {
    const value = claims[name];
    if (typeof value === 'string') return value.split(' ').filter(Boolean);
    if (Array.isArray(value)) return value.filter((s): s is string => typeof s === 'string');
  }
  return [];
}

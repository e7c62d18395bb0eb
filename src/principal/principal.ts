import type { PrincipalType } from './principal-type.js';

export type { PrincipalType };

/** How the principal was established. */
export type AuthScheme = 'api_key' | 'jwt' | 'introspection' | 'identity_header' | 'none';

export interface Principal {
  readonly principalType: PrincipalType;
  readonly principalId: string | null;
  readonly apiKeyId: string | null;
  readonly serviceAccountId: string | null;
  readonly userId: string | null;
  readonly organizationId: string | null;
  readonly workspaceId: string | null;
  readonly scopes: readonly string[];
  readonly authScheme: AuthScheme;
  /** Why a presented credential was not accepted (expired, bad_signature, unknown_key, ...); null when accepted or absent. */
  readonly authError: string | null;
  /** True when a credential was presented and accepted. */
  readonly authenticated: boolean;
  /** Credential headers the request also carried that did not name the caller (e.g. a provider key beside a known key). */
  readonly otherCredentials?: readonly string[];
}

export const ANONYMOUS: Principal = Object.freeze({
  principalType: 'anonymous',
  principalId: null,
  apiKeyId: null,
  serviceAccountId: null,
  userId: null,
  organizationId: null,
  workspaceId: null,
  scopes: Object.freeze([]) as readonly string[],
  authScheme: 'none',
  authError: null,
  authenticated: false,
});

/** The seam the request pipeline calls: synchronous when the answer is at hand, a promise when it needs I/O. */
export interface PrincipalResolver {
  resolve(headers: import('node:http').IncomingHttpHeaders, peerIp: string): Principal | Promise<Principal>;
  close?(): Promise<void> | void;
}

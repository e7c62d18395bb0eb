import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/schema.js';
import type { TrustMatcher } from '../net/trust.js';
import { claimedPrincipal } from './build.js';
import { headerValue } from './credentials.js';
import type { Principal } from './principal.js';

type IdentityHeaderConfig = Config['auth']['identityHeaders'];

export type IdentityReader = (headers: IncomingHttpHeaders, peerIp: string) => Principal | null;

/** The user named by an auth layer in front; believed only when the peer is a trusted proxy. */
export function createIdentityReader(config: IdentityHeaderConfig, isTrusted: TrustMatcher): IdentityReader {
  const user = [...config.user, ...config.email].map((h) => h.toLowerCase());
  const organization = config.organization.map((h) => h.toLowerCase());
  const workspace = config.workspace.map((h) => h.toLowerCase());
  return (headers, peerIp) => {
    const userId = firstHeader(headers, user);
    if (userId === null || !isTrusted(peerIp)) return null;
    return claimedPrincipal({
      userId,
      organizationId: firstHeader(headers, organization),
      workspaceId: firstHeader(headers, workspace),
      serviceAccountId: null,
      scopes: [],
    }, 'identity_header');
  };
}

function firstHeader(headers: IncomingHttpHeaders, names: readonly string[]): string | null {
  for (const name of names) {
    const value = headerValue(headers[name]);
    if (value !== null) return value;
  }
  return null;
}

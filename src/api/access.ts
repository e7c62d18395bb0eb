import type { Config } from '../config/schema.js';
import { canReadAllOrganizations, canReadAudit, rejection } from '../principal/enforcement.js';
import type { Principal } from '../principal/principal.js';

/** Why a read is refused: the status, the message, and headers such as WWW-Authenticate. */
export interface Denial {
  status: 400 | 401 | 403;
  message: string;
  headers?: Record<string, string>;
}

/** 401 without an accepted credential, 403 without audit:read or audit:read:all; null when the caller may read. */
export function denyReader(principal: Principal, auth: Pick<Config['auth'], 'realm' | 'apiKeyHeaders'>): Denial | null {
  if (!principal.authenticated) {
    // The same wording and header as the auth gate gives forwarded requests under auth.enforce.
    const refused = rejection(principal, { ...auth, enforce: true })!;
    return { status: 401, message: refused.message, headers: { 'www-authenticate': refused.wwwAuthenticate } };
  }
  if (!canReadAudit(principal)) {
    return { status: 403, message: 'the credential lacks the audit:read scope needed to read audit records' };
  }
  return null;
}

/**
 * The organization the results are confined to; undefined means every organization (audit:read:all only).
 * A caller with audit:read naming another organization is refused rather than silently shown its own records.
 */
export function organizationScope(principal: Principal, requested: string | undefined, paramName: string): { organizationId: string | undefined } | Denial {
  if (canReadAllOrganizations(principal)) return { organizationId: requested };
  const own = principal.organizationId;
  if (own === null) return { status: 403, message: 'the credential belongs to no organization, so it has no audit records to read' };
  if (requested !== undefined && requested !== own) {
    return { status: 403, message: `${paramName} names another organization; reading other organizations needs the audit:read:all scope` };
  }
  return { organizationId: own };
}

export function isDenial(value: object): value is Denial {
  return 'status' in value;
}

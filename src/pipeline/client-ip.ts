import type { TrustMatcher } from '../net/trust.js';

/**
 * The client's address: the socket peer, or, when the peer is a trusted proxy, the right-most
 * X-Forwarded-For address that is not itself trusted. Never the header from an untrusted peer.
 */
export function clientIpFor(peer: string, forwardedFor: string | string[] | undefined, isTrusted: TrustMatcher): string {
  if (forwardedFor === undefined || !isTrusted(peer)) return normalise(peer);
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!.trim();
    if (hop && !isTrusted(hop)) return isPlausibleIp(hop) ? normalise(hop) : normalise(peer);
  }
  return normalise(peer);
}

/** ::ffff:127.0.0.1 -> 127.0.0.1, so one client has one spelling. */
function normalise(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function isPlausibleIp(value: string): boolean {
  return value.length <= 45 && /^[0-9a-fA-F:.]+$/.test(value);
}

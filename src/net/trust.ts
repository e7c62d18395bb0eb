import ipaddr from 'ipaddr.js';

export type TrustMatcher = (ip: string) => boolean;

/** A predicate telling whether a peer address is one of the trusted proxies (trustProxy CIDRs or single addresses). */
export function createTrustMatcher(cidrs: readonly string[]): TrustMatcher {
  if (cidrs.length === 0) return () => false;
  const ranges = cidrs.map(parseRange);
  const cache = new Map<string, boolean>();
  return (ip) => {
    let hit = cache.get(ip);
    if (hit === undefined) {
      hit = matches(ranges, ip);
      if (cache.size > 10_000) cache.clear();
      cache.set(ip, hit);
    }
    return hit;
  };
}

/** Throws a message naming the bad entry; config validation turns it into a config error. */
export function parseRange(cidr: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  try {
    if (cidr.includes('/')) return ipaddr.parseCIDR(cidr);
    const addr = ipaddr.parse(cidr);
    return [addr, addr.kind() === 'ipv4' ? 32 : 128];
  } catch {
    throw new Error(`"${cidr}" is not an IP address or CIDR range`);
  }
}

function matches(ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][], ip: string): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip); // IPv4-mapped IPv6 (::ffff:1.2.3.4) becomes IPv4
  } catch {
    return false;
  }
  return ranges.some(([range, bits]) => addr.kind() === range.kind() && addr.match(range, bits));
}

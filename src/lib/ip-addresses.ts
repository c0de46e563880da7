/**
 * Which IP addresses are public (globally reachable unicast), for anything that connects where a user points it
 * (URL previews): loopback, private, carrier-grade NAT, link-local, multicast, broadcast, unspecified, reserved and
 * documentation ranges, unique-local and site-local IPv6, and the IPv6 forms that embed an IPv4 address
 * (IPv4-mapped ::ffff:a.b.c.d, which is judged as that IPv4 address; NAT64, 6to4, Teredo, IPv4-compatible) are not.
 * The classification is ipaddr.js's `range()`: only `unicast` is public.
 */
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** The address, an IPv4-mapped IPv6 one as its IPv4 address; undefined when it is not an IP address. */
function parse(ip: string): Address | undefined {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  // Only the canonical textual forms: ipaddr.js also reads "0x7f.1" or "127.1", which WHATWG URLs normalise anyway.
  if (!ipaddr.IPv4.isValidFourPartDecimal(bare) && !ipaddr.IPv6.isValid(bare)) return undefined;
  const addr = ipaddr.parse(bare);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) return (addr as ipaddr.IPv6).toIPv4Address();
  return addr;
}

export function isIpAddress(ip: string): boolean {
  return parse(ip) !== undefined;
}

/** Whether `ip` is a public unicast address (false for anything that is not an IP address). */
export function isPublicAddress(ip: string): boolean {
  const addr = parse(ip);
  if (!addr) return false;
  if (addr.range() !== 'unicast') return false;
  // ipaddr.js names the IPv6 forms with an IPv4 inside (6to4, teredo, rfc6052 NAT64, rfc6145); IPv4-compatible
  // ::a.b.c.d falls in its 'reserved' ::/8 range. Anything unicast outside 2000::/3 is not globally routed either.
  if (addr.kind() === 'ipv6' && !addr.match(ipaddr.parseCIDR('2000::/3'))) return false;
  return true;
}

/** An address (a.b.c.d, an IPv6 address) or a network in CIDR notation. */
export function isCidr(s: string): boolean {
  try {
    if (s.includes('/')) ipaddr.parseCIDR(s);
    else if (!parse(s)) return false;
    return true;
  } catch {
    return false;
  }
}

/** Whether `ip` is in one of `networks` (addresses or CIDR networks; an IPv4-mapped address counts as IPv4). */
export function inNetworks(ip: string, networks: readonly string[]): boolean {
  const addr = parse(ip);
  if (!addr) return false;
  for (const n of networks) {
    const [net, bits] = n.includes('/') ? ipaddr.parseCIDR(n) : [ipaddr.parse(n), ipaddr.parse(n).kind() === 'ipv4' ? 32 : 128];
    if (net.kind() === addr.kind() && addr.match(net, bits)) return true;
  }
  return false;
}

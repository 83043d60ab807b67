/**
 * Which tenant a request's source address belongs to: parsed dispatcher destinations compared exactly
 * (10.0.1.1 never matches 10.0.1.10). IP alone decides when one tenant has that IP; when several do, the
 * source port must single one out; otherwise the answer is "ambiguous", never a guess.
 */
import type { Address } from "../../../contract/v1";
import type { Tenant } from "../store/store";
import { parseDestination } from "../tenants/destination-uri";

export type SourceTenant =
  | { readonly kind: "tenant"; readonly tenant: Tenant }
  | { readonly kind: "unknown" }
  | { readonly kind: "ambiguous"; readonly domains: readonly string[] };

/** IPv4 as is; IPv6 lower-cased without brackets or zone; IPv4-mapped IPv6 as IPv4. */
export function normaliseIp(ip: string): string {
  let s = ip.trim().toLowerCase();
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (mapped?.[1]) return mapped[1];
  return s.includes(":") ? expandIpv6(s) : s;
}

/** Full, zero-padded form, so that "::1" and "0:0:0:0:0:0:0:1" compare equal. */
function expandIpv6(s: string): string {
  const [head = "", tail] = s.split("::", 2) as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const fill = tail === undefined ? [] : new Array<string>(Math.max(0, 8 - h.length - t.length)).fill("0");
  return [...h, ...fill, ...t].map((g) => g.padStart(4, "0")).join(":");
}

/** Resolves the tenant of a source address. */
export function tenantOfSource(tenants: readonly Tenant[], source: Address): SourceTenant {
  const ip = normaliseIp(source.ip);
  const byIp = new Set<Tenant>();
  const byIpPort = new Set<Tenant>();
  for (const t of tenants) {
    for (const d of t.destinations) {
      const a = parseDestination(d.uri);
      if (!a || normaliseIp(a.ip) !== ip) continue;
      byIp.add(t);
      if (a.port === source.port) byIpPort.add(t);
    }
  }
  if (byIp.size === 0) return { kind: "unknown" };
  if (byIp.size === 1) return { kind: "tenant", tenant: [...byIp][0]! };
  if (byIpPort.size === 1) return { kind: "tenant", tenant: [...byIpPort][0]! };
  const pool = byIpPort.size > 1 ? byIpPort : byIp;
  return { kind: "ambiguous", domains: [...pool].map((t) => t.domain).sort() };
}

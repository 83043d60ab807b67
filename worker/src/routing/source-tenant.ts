/**
 * Which tenant a request's source address belongs to: parsed dispatcher destinations compared exactly
 * (10.0.1.1 never matches 10.0.1.10). IP alone decides when one tenant has that IP; when several do, the
 * source port must single one out; otherwise the answer is "ambiguous", never a guess. A destination with
 * `require_port=1` in its attrs matches only its own port, whatever the other tenants are.
 */
import type { Address } from "../../../contract/v1";
import type { Tenant } from "../store/store";
import { normalizeHost } from "../sip-uri";
import { parseDestination } from "../tenants/destination-uri";
import { requiresPort } from "./destination-attrs";

export type SourceTenant =
  | { readonly kind: "tenant"; readonly tenant: Tenant }
  | { readonly kind: "unknown" }
  | { readonly kind: "ambiguous"; readonly domains: readonly string[] };

/** The comparison form of an address: the grammar's RFC 5952 form, without an IPv6 zone. */
export function normaliseIp(ip: string): string {
  const s = ip.trim();
  const zone = s.indexOf("%");
  return normalizeHost(zone >= 0 ? s.slice(0, zone) : s);
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
      if (a.port !== source.port && requiresPort(d)) continue;
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

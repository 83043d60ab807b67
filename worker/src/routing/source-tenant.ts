/**
 * Which tenant a request's source address belongs to: parsed dispatcher destinations compared exactly
 * (10.0.1.1 never matches 10.0.1.10). IP alone decides when one tenant has that IP; when several do, the
 * source port must single one out; otherwise the answer is "ambiguous", never a guess. A destination with
 * `require_port=1` in its attrs matches only its own port, whatever the other tenants are.
 */
import type { Address } from "../../../contract/v1";
import type { Tenant } from "../store/store";
import { normalizeHost } from "../sip-uri";
import { destinationAddress } from "../tenants/destination-uri";
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

/** One destination as source matching reads it: parsed, and its `require_port` read, once per snapshot. */
interface SourceEntry {
  readonly tenant: Tenant;
  readonly port: number;
  readonly requirePort: boolean;
}

/** The tenants' destinations by address, built once per tenant snapshot (the tenant directory holds it). */
export interface SourceIndex {
  /** The tenant of a source address: the destinations at its IP only, never a scan of every tenant. */
  tenantOf(source: Address): SourceTenant;
}

/** Indexes every usable destination of `tenants` by its address in comparison form. */
export function indexSources(tenants: readonly Tenant[]): SourceIndex {
  const byAddress = new Map<string, SourceEntry[]>();
  for (const tenant of tenants) {
    for (const d of tenant.destinations) {
      const a = destinationAddress(d);
      if (!a) continue;
      const ip = normaliseIp(a.ip);
      let entries = byAddress.get(ip);
      if (!entries) byAddress.set(ip, (entries = []));
      entries.push({ tenant, port: a.port, requirePort: requiresPort(d) });
    }
  }
  return {
    tenantOf(source) {
      const entries = byAddress.get(normaliseIp(source.ip));
      if (!entries) return { kind: "unknown" };
      const byIp = new Set<Tenant>();
      const byIpPort = new Set<Tenant>();
      for (const e of entries) {
        if (e.port !== source.port && e.requirePort) continue;
        byIp.add(e.tenant);
        if (e.port === source.port) byIpPort.add(e.tenant);
      }
      if (byIp.size === 0) return { kind: "unknown" };
      if (byIp.size === 1) return { kind: "tenant", tenant: [...byIp][0]! };
      if (byIpPort.size === 1) return { kind: "tenant", tenant: [...byIpPort][0]! };
      const pool = byIpPort.size > 1 ? byIpPort : byIp;
      return { kind: "ambiguous", domains: [...pool].map((t) => t.domain).sort() };
    },
  };
}

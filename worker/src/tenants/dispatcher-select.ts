/**
 * Chooses a tenant's destination for a request: active destinations only, the highest priority group first,
 * then a weighted choice keyed by a stable hash (the AoR for REGISTER), so an AoR's refreshes keep going to
 * the same Asterisk while the set is unchanged.
 */
import type { Destination, Tenant } from "../store/store";
import { parseDestination, type DestinationAddress } from "./destination-uri";

/** FNV-1a, 32 bits: stable across isolates and runtimes. */
export function stableHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export interface SelectedDestination {
  readonly destination: Destination;
  readonly address: DestinationAddress;
}

/** The destination for `key` among the tenant's usable destinations; undefined when none is usable. */
export function selectDestination(tenant: Tenant, key: string): SelectedDestination | undefined {
  const usable: SelectedDestination[] = [];
  for (const d of tenant.destinations) {
    if (d.state !== 0 || d.weight <= 0) continue;
    const address = parseDestination(d.uri);
    if (address) usable.push({ destination: d, address });
  }
  if (usable.length === 0) return undefined;
  const top = Math.max(...usable.map((u) => u.destination.priority));
  const group = usable.filter((u) => u.destination.priority === top);
  const total = group.reduce((sum, u) => sum + u.destination.weight, 0);
  let point = stableHash(key) % total;
  for (const u of group) {
    if (point < u.destination.weight) return u;
    point -= u.destination.weight;
  }
  return group[group.length - 1];
}

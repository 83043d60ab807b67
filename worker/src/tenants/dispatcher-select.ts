/**
 * Chooses a tenant's destination for a request: active destinations only (never one a probe found
 * inactive, never one an operator disabled), the highest priority group first, then a weighted choice
 * keyed by a stable hash (the AoR for REGISTER), so an AoR's refreshes keep going to the same Asterisk
 * while the set of active destinations is unchanged, and move to another one when it fails over.
 */
import { STATE_ACTIVE } from "../destinations/destination-state";
import type { Destination, Tenant } from "../store/store";
import { destinationAddress, type DestinationAddress } from "./destination-uri";

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

/** The tenant's destinations a request may go to: active, weight above 0, a usable sip: URI. */
export function usableDestinations(tenant: Tenant): SelectedDestination[] {
  const usable: SelectedDestination[] = [];
  for (const d of tenant.destinations) {
    if (d.state !== STATE_ACTIVE || d.weight <= 0) continue;
    const address = destinationAddress(d);
    if (address) usable.push({ destination: d, address });
  }
  return usable;
}

/** The destination for `key` among the tenant's usable destinations; undefined when none is usable. */
export function selectDestination(tenant: Tenant, key: string): SelectedDestination | undefined {
  return orderedDestinations(tenant, key)[0];
}

/**
 * Every usable destination in the order a request for `key` should try them: the selected one first, then
 * the rest of its priority group (in configuration order after it), then the lower priority groups. The
 * tail is what the gateway fails over to within the transaction (`failoverTarget`).
 */
export function orderedDestinations(tenant: Tenant, key: string): SelectedDestination[] {
  const usable = usableDestinations(tenant);
  if (usable.length === 0) return [];
  const priorities = [...new Set(usable.map((u) => u.destination.priority))].sort((a, b) => b - a);
  const out: SelectedDestination[] = [];
  for (const [i, p] of priorities.entries()) {
    const group = usable.filter((u) => u.destination.priority === p);
    if (i > 0) {
      out.push(...group);
      continue;
    }
    const total = group.reduce((sum, u) => sum + u.destination.weight, 0);
    let point = stableHash(key) % total;
    let at = group.length - 1;
    for (const [j, u] of group.entries()) {
      if (point < u.destination.weight) {
        at = j;
        break;
      }
      point -= u.destination.weight;
    }
    out.push(...group.slice(at), ...group.slice(0, at));
  }
  return out;
}

/**
 * The next hop of a relay towards a tenant's Asterisk set, with the tenant's other active destinations as
 * its ordered `alternatives`: when the chosen box times out or answers 408 / 503, the gateway tries the next
 * one within the transaction (docs/operations.md, "Failover within a transaction"). Only this tenant's
 * usable destinations are ever listed, never another tenant's. Undefined when none is usable.
 */
export function failoverTarget(
  tenant: Tenant,
  key: string,
): { nextHop: DestinationAddress; alternatives?: DestinationAddress[] } | undefined {
  const [first, ...rest] = orderedDestinations(tenant, key);
  if (!first) return undefined;
  const nextHop = { ip: first.address.ip, port: first.address.port, transport: first.address.transport };
  if (rest.length === 0) return { nextHop };
  // The same box may be listed twice (two rows, one address): trying it again would not help.
  const seen = new Set([`${nextHop.ip}:${nextHop.port}`]);
  const alternatives: DestinationAddress[] = [];
  for (const r of rest) {
    const k = `${r.address.ip}:${r.address.port}`;
    if (seen.has(k)) continue;
    seen.add(k);
    alternatives.push({ ip: r.address.ip, port: r.address.port, transport: r.address.transport });
  }
  return alternatives.length > 0 ? { nextHop, alternatives } : { nextHop };
}

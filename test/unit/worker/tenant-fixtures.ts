// Tenants and dispatcher destinations as the store returns them, for the worker's unit tests.
import type { Destination, Tenant } from "../../../worker/src/store/store";
import { buildTenantDirectory } from "../../../worker/src/tenants/tenant-directory";
import type { Address } from "../../../contract/v1";
import type { SourceTenant } from "../../../worker/src/routing/source-tenant";

let nextId = 1;

/** An active destination of weight 1, priority 0, in set 1 unless `o` says otherwise; ids are unique. */
export function destination(uri: string, o: Partial<Destination> = {}): Destination {
  return { id: nextId++, setid: 1, uri, socket: null, state: 0, weight: 1, priority: 0, attrs: null, description: null, ...o };
}

/** A tenant of `domain` with these destinations, in their set. */
export function tenant(domain: string, destinations: Destination[], setid = destinations[0]?.setid ?? 1): Tenant {
  return { domain, setid, attrs: null, acceptSubdomain: false, destinations };
}

/** A set id of its own, for a tenant that must not share its destinations' set with another. */
export function newSetId(): number {
  return nextId++;
}

/** The tenant of a source address as the decisions resolve it: through the tenant directory's index. */
export function tenantOfSource(tenants: readonly Tenant[], source: Address): SourceTenant {
  return buildTenantDirectory(tenants).bySource(source);
}

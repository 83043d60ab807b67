/**
 * Tenant configuration as the decisions read it: domain -> tenant, built from one store snapshot and cached
 * in the isolate for a short TTL (the hot paths then cost no store round trip for configuration).
 */
import type { Store, Tenant } from "../store/store";

/** Read-only view of the tenants at one moment. */
export interface TenantDirectory {
  /** The tenant serving `domain` (case-insensitive; subdomains when the tenant accepts them). */
  byDomain(domain: string): Tenant | undefined;
  all(): readonly Tenant[];
}

/** Builds a directory from a snapshot of tenants. */
export function buildTenantDirectory(tenants: readonly Tenant[]): TenantDirectory {
  const exact = new Map<string, Tenant>();
  for (const t of tenants) exact.set(t.domain.toLowerCase(), t);
  return {
    byDomain(domain) {
      const d = domain.toLowerCase();
      const hit = exact.get(d);
      if (hit) return hit;
      // Subdomains: walk up the labels, only tenants that opted in.
      for (let i = d.indexOf("."); i >= 0; i = d.indexOf(".", i + 1)) {
        const parent = exact.get(d.slice(i + 1));
        if (parent?.acceptSubdomain) return parent;
      }
      return undefined;
    },
    all: () => tenants,
  };
}

interface CacheEntry {
  readonly at: number;
  readonly directory: TenantDirectory;
}

let cached: CacheEntry | undefined;

/**
 * The cached directory, reloaded from the store when older than `ttlMs` (0 = always reload). Only a loaded
 * directory is cached, never a pending load: a load belongs to the request that started it, and workerd may
 * cancel that request; another request must not wait on it.
 */
export async function getTenantDirectory(store: Store, now: number, ttlMs: number): Promise<TenantDirectory> {
  if (cached && ttlMs > 0 && now - cached.at < ttlMs) return cached.directory;
  const directory = buildTenantDirectory(await store.loadTenants());
  if (!cached || cached.at <= now) cached = { at: now, directory };
  return directory;
}

/** Drops the cached directory (after an admin change in this isolate). */
export function invalidateTenantDirectory(): void {
  cached = undefined;
}

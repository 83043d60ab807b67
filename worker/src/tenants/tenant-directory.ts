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
  readonly generation: number;
  readonly directory: TenantDirectory;
}

/** A directory cache: one per runtime instance (per env in the Workers runtime, per Node runtime). */
export interface TenantDirectoryCache {
  /**
   * The cached directory, reloaded from the store when older than `ttlMs` (0 = always reload) or after an
   * invalidation. Only a loaded directory is cached, never a pending load: a load belongs to the request
   * that started it, and workerd may cancel that request; another request must not wait on it.
   */
  get(store: Store, now: number, ttlMs: number): Promise<TenantDirectory>;
}

/** Bumped by every admin change in this isolate or process: every cache reloads on its next use. */
let generation = 0;

export function createTenantDirectoryCache(): TenantDirectoryCache {
  let cached: CacheEntry | undefined;
  return {
    async get(store, now, ttlMs) {
      if (cached && ttlMs > 0 && now - cached.at < ttlMs && cached.generation === generation) return cached.directory;
      const seen = generation;
      const directory = buildTenantDirectory(await store.loadTenants());
      if (!cached || cached.at <= now) cached = { at: now, generation: seen, directory };
      return directory;
    },
  };
}

/** Drops every cached directory (after an admin change in this isolate or process). */
export function invalidateTenantDirectory(): void {
  generation++;
}

/**
 * Tenant configuration as the decisions read it: domain -> tenant and source address -> tenant, built from one
 * store snapshot and cached in the isolate for a short TTL (the hot paths then cost no store round trip for
 * configuration). The snapshot's destinations are parsed when the directory is built, not per request.
 */
import type { Address } from "../../../contract/v1";
import { indexSources, type SourceTenant } from "../routing/source-tenant";
import type { Store, Tenant } from "../store/store";

/** Read-only view of the tenants at one moment. */
export interface TenantDirectory {
  /** The tenant serving `domain` (case-insensitive; subdomains when the tenant accepts them). */
  byDomain(domain: string): Tenant | undefined;
  /** The tenant a request from this address comes from (routing/source-tenant.ts: exact, never a guess). */
  bySource(source: Address): SourceTenant;
}

/** Builds a directory from a snapshot of tenants. */
export function buildTenantDirectory(tenants: readonly Tenant[]): TenantDirectory {
  const exact = new Map<string, Tenant>();
  for (const t of tenants) exact.set(t.domain.toLowerCase(), t);
  // Parses every destination of the snapshot once (destination-uri.ts keeps the parsed addresses with it).
  const sources = indexSources(tenants);
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
    bySource: (source) => sources.tenantOf(source),
  };
}

interface CacheEntry {
  readonly at: number;
  readonly generation: number;
  readonly directory: TenantDirectory;
}

/**
 * Keeps work that outlives the request alive (workerd: the request's `ctx.waitUntil`); without it the work
 * just runs on (Node).
 */
export type Defer = (work: Promise<unknown>) => void;

/** A directory cache: one per runtime instance (per env in the Workers runtime, per Node runtime). */
export interface TenantDirectoryCache {
  /**
   * The cached directory, never older than `ttlMs` (0 = always reload) nor from before an invalidation:
   * otherwise loaded from the store, and the request waits for it.
   *
   * Refresh ahead: once the directory is half its TTL old, the request that sees it starts a reload in the
   * background (kept alive by `defer`) and is answered from the cache at once; the reload replaces the cache
   * when it lands. Under steady traffic no request waits for a reload (before, one request per TTL did: a
   * store round trip more, 1 % of the requests at 100/s, the p99). Only a loaded directory is cached, never a
   * pending load: a load belongs to the request that started it, and workerd may cancel that request;
   * another request must not wait on it. A background reload that has not landed within a quarter of the TTL
   * counts as lost, and a later request starts another.
   */
  get(store: Store, now: number, ttlMs: number, defer?: Defer): Promise<TenantDirectory>;
}

/** Bumped by every admin change in this isolate or process: every cache reloads on its next use. */
let generation = 0;

export function createTenantDirectoryCache(): TenantDirectoryCache {
  let cached: CacheEntry | undefined;
  /** When the background reload in flight started (undefined: none). */
  let refreshingSince: number | undefined;
  const load = async (store: Store, now: number): Promise<TenantDirectory> => {
    const seen = generation;
    const directory = buildTenantDirectory(await store.loadTenants());
    if (!cached || cached.at <= now) cached = { at: now, generation: seen, directory };
    return directory;
  };
  return {
    async get(store, now, ttlMs, defer) {
      const fresh = cached !== undefined && ttlMs > 0 && now - cached.at < ttlMs && cached.generation === generation;
      if (!fresh) return load(store, now);
      const age = now - cached!.at;
      if (age >= ttlMs / 2 && (refreshingSince === undefined || now - refreshingSince >= ttlMs / 4)) {
        const started = now;
        refreshingSince = started;
        const refresh = load(store, started)
          .catch(() => undefined) // the next request past half the TTL tries again; at the TTL one waits
          .finally(() => {
            if (refreshingSince === started) refreshingSince = undefined;
          });
        defer?.(refresh);
      }
      return cached!.directory;
    },
  };
}

/** Drops every cached directory (after an admin change in this isolate or process). */
export function invalidateTenantDirectory(): void {
  generation++;
}

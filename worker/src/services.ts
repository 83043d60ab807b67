/**
 * Per-isolate services built from the bindings once: config, the store client, the signing key, how
 * contexts are sealed, a JSON logger. Handlers take them from here instead of re-reading env.
 *
 * A runtime that builds its own services (the Node runtime: an embedded store behind a thread, in-process
 * contexts) registers them for its env object with `provideServices`; the Hono app then uses them as they are.
 */
import { createClient } from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql/web";
import { importHmacKey, type HmacKey } from "../../contract/signing";
import { getConfig, type Config, type Env } from "./config/env";
import { hmacContexts } from "./decisions/contexts";
import type { DecisionServices } from "./decisions/decide";
import { createLibsqlStore } from "./store/libsql-store";
import type { Store } from "./store/store";
import { createTenantDirectoryCache, type TenantDirectoryCache } from "./tenants/tenant-directory";

export interface Services extends DecisionServices {
  readonly config: Config;
  readonly store: Store;
  /**
   * Keys that verify gateway signatures and open sealed contexts: the current one first, then, during a
   * rotation window, GATEWAY_SECRET_PREVIOUS's.
   */
  readonly gatewayKeys: Promise<readonly HmacKey[]>;
  readonly log: (obj: Record<string, unknown>) => void;
}

/**
 * One JSON line per event, on the runtime's console (Workers Logs / wrangler tail). An event marked
 * `level: "debug"` (the routine outcome of every decision: a REGISTER saved, a request routed) goes to
 * console.debug, which Workers Logs and wrangler tail show at the debug level; the rest to console.log.
 * Outcomes are counted by the gateway's per-tenant metrics either way.
 */
export function jsonLog(obj: Record<string, unknown>): void {
  const line = JSON.stringify({ t: new Date().toISOString(), ...obj });
  if (obj.level === "debug") console.debug(line);
  else console.log(line);
}

/** What does not touch the store: config, signing key, contexts, logger. */
export type SharedServices = Omit<Services, "store">;
const byEnv = new WeakMap<Env, SharedServices>();
const provided = new WeakMap<Env, Services>();

/**
 * The store a runtime provided, carried by the env object itself (an own enumerable symbol property): a
 * copy of the env with other bindings (`{ ...env, X: "y" }`, as Hono's `app.request(url, init, env)` takes
 * it) keeps the runtime's store, as long as it names the same LIBSQL_URL, and gets its config from its own
 * bindings.
 */
const RUNTIME_STORE = Symbol.for("edge-registrar.runtime-store");
type EnvWithStore = Env & { [RUNTIME_STORE]?: { readonly url: string; readonly store: Store } };

/** The keys a gateway signature or a sealed context may be made with: the current one, and the previous one during a rotation window. */
function acceptedGatewayKeys(config: Config, current: Promise<HmacKey>): Promise<readonly HmacKey[]> {
  const previous = config.gatewaySecretPrevious;
  return previous === undefined ? current.then((k) => [k]) : Promise.all([current, importHmacKey(previous)]);
}

/**
 * Everything but the store, for these settings: the gateway keys (the current secret seals; during a
 * rotation window the previous one still verifies and opens) and the sealed contexts made with them.
 */
export function buildSharedServices(config: Config, tenantCache: TenantDirectoryCache, log: Services["log"]): SharedServices {
  const gatewayKey = importHmacKey(config.gatewaySecret);
  const gatewayKeys = acceptedGatewayKeys(config, gatewayKey);
  return { config, gatewayKeys, contexts: hmacContexts(gatewayKey, gatewayKeys, config.registerContextMaxAgeS * 1000), tenantCache, log };
}

/** Registers ready-made services for an env object (a runtime that owns its store and contexts). */
export function provideServices(env: Env, services: Services): void {
  provided.set(env, services);
  (env as EnvWithStore)[RUNTIME_STORE] = { url: env.LIBSQL_URL, store: services.store };
}

/** Config, key and logger for these bindings, built once per env (what the auth checks need). */
export function getSharedServices(env: Env): SharedServices {
  const own = provided.get(env);
  if (own) return own;
  let shared = byEnv.get(env);
  if (!shared) {
    shared = buildSharedServices(getConfig(env), createTenantDirectoryCache(), jsonLog);
    byEnv.set(env, shared);
  }
  return shared;
}

/**
 * The services for these bindings. Config, key and logger are built once per env; the store client is new
 * for every call (every request): a client shared across requests would share its connection slots, and a
 * request that workerd cancels mid-call (the gateway gave up waiting) would hold its slot forever, until
 * every later request hangs. Creating a client is only configuration; workerd pools the connections.
 * (A shared client with its limiter off, `concurrency: 0`, was faster under load but still left the isolate
 * unable to answer after many cancelled requests: test/e2e/resilience.test.ts fails with it.)
 */
export function getServices(env: Env): Services {
  const own = provided.get(env);
  if (own) return own;
  const shared = getSharedServices(env);
  const runtime = (env as EnvWithStore)[RUNTIME_STORE];
  if (runtime && runtime.url === env.LIBSQL_URL) return { ...shared, store: runtime.store };
  const client = createClient({ url: shared.config.libsqlUrl, authToken: shared.config.libsqlAuthToken });
  return { ...shared, store: createLibsqlStore(drizzle(client)) };
}

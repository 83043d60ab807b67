/**
 * Per-isolate services built from the bindings once: config, the store client, the signing key, a JSON
 * logger. Handlers take them from here instead of re-reading env.
 */
import { createClient } from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql/web";
import { importHmacKey, type HmacKey } from "../../contract/signing";
import { getConfig, type Config, type Env } from "./config/env";
import { createLibsqlStore } from "./store/libsql-store";
import type { Store } from "./store/store";

export interface Services {
  readonly config: Config;
  readonly store: Store;
  /** HMAC key for gateway request signatures and sealed contexts (the current secret: it seals). */
  readonly gatewayKey: Promise<HmacKey>;
  /**
   * Keys that verify gateway signatures and open sealed contexts: the current one first, then, during a
   * rotation window, GATEWAY_SECRET_PREVIOUS's.
   */
  readonly gatewayKeys: Promise<readonly HmacKey[]>;
  readonly log: (obj: Record<string, unknown>) => void;
}

/** One JSON line per event, on the runtime's console (Workers Logs / wrangler tail). */
export function jsonLog(obj: Record<string, unknown>): void {
  console.log(JSON.stringify({ t: new Date().toISOString(), ...obj }));
}

/** What does not touch the store: config, signing key, logger. */
export type SharedServices = Omit<Services, "store">;
const byEnv = new WeakMap<Env, SharedServices>();

/** Config, key and logger for these bindings, built once per env (what the auth checks need). */
export function getSharedServices(env: Env): SharedServices {
  let shared = byEnv.get(env);
  if (!shared) {
    const config = getConfig(env);
    const gatewayKey = importHmacKey(config.gatewaySecret);
    const previous = config.gatewaySecretPrevious;
    const gatewayKeys = previous === undefined ? gatewayKey.then((k) => [k]) : Promise.all([gatewayKey, importHmacKey(previous)]);
    shared = { config, gatewayKey, gatewayKeys, log: jsonLog };
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
  const shared = getSharedServices(env);
  const client = createClient({ url: shared.config.libsqlUrl, authToken: shared.config.libsqlAuthToken });
  return { ...shared, store: createLibsqlStore(drizzle(client)) };
}

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
  /** HMAC key for gateway request signatures and sealed contexts. */
  readonly gatewayKey: Promise<HmacKey>;
  readonly log: (obj: Record<string, unknown>) => void;
}

/** One JSON line per event, on the runtime's console (Workers Logs / wrangler tail). */
export function jsonLog(obj: Record<string, unknown>): void {
  console.log(JSON.stringify({ t: new Date().toISOString(), ...obj }));
}

const byEnv = new WeakMap<Env, Services>();

/** The services for these bindings, built on first use. */
export function getServices(env: Env): Services {
  const hit = byEnv.get(env);
  if (hit) return hit;
  const config = getConfig(env);
  const client = createClient({ url: config.libsqlUrl, authToken: config.libsqlAuthToken });
  const services: Services = {
    config,
    store: createLibsqlStore(drizzle(client)),
    gatewayKey: importHmacKey(config.gatewaySecret),
    log: jsonLog,
  };
  byEnv.set(env, services);
  return services;
}

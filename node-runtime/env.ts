/**
 * The Node runtime's bindings from the process environment, by the worker's names (worker/src/config/env.ts):
 * the same variables configure the decisions in both runtimes. The one difference: LIBSQL_URL defaults to an
 * embedded file here, since the runtime can own one.
 */
import type { Env } from "../worker/src/config/env";

export const DEFAULT_NODE_LIBSQL_URL = "file:.data/edge-registrar.db";

/**
 * Every optional binding of the worker, by name: the `satisfies` makes a binding added to Env without being
 * listed here a compile error (five were missing, and so silently ignored by the node runtime).
 */
const OPTIONAL = {
  LIBSQL_AUTH_TOKEN: true,
  GATEWAY_SECRET_PREVIOUS: true,
  ADMIN_TOKEN_PREVIOUS: true,
  DEFAULT_EXPIRES: true,
  MIN_EXPIRES: true,
  MAX_EXPIRES: true,
  MAX_CONTACTS: true,
  REGISTER_CONTEXT_MAX_AGE_S: true,
  TENANT_CACHE_TTL_MS: true,
  SIGNATURE_WINDOW_S: true,
  SWEEP_BATCH: true,
  SWEEP_MAX_BATCHES: true,
  ANY_DOMAIN_LOOKUP: true,
} as const satisfies Record<Exclude<keyof Env, "LIBSQL_URL" | "GATEWAY_SECRET" | "ADMIN_TOKEN">, true>;
const NAMES = Object.keys(OPTIONAL) as (keyof typeof OPTIONAL)[];

/** The bindings of the Node runtime from `env` (process.env). Validation is getConfig's, once, at start. */
export function envFromProcess(env: NodeJS.ProcessEnv): Env {
  const out: Env = {
    LIBSQL_URL: env.LIBSQL_URL || DEFAULT_NODE_LIBSQL_URL,
    GATEWAY_SECRET: env.GATEWAY_SECRET ?? "",
    ADMIN_TOKEN: env.ADMIN_TOKEN ?? "",
  };
  for (const name of NAMES) {
    const v = env[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

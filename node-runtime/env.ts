/**
 * The Node runtime's bindings from the process environment, by the worker's names (worker/src/config/env.ts):
 * the same variables configure the decisions in both runtimes. The one difference: LIBSQL_URL defaults to an
 * embedded file here, since the runtime can own one.
 */
import type { Env } from "../worker/src/config/env";

export const DEFAULT_NODE_LIBSQL_URL = "file:.data/edge-registrar.db";

const NAMES = [
  "LIBSQL_AUTH_TOKEN",
  "GATEWAY_SECRET",
  "ADMIN_TOKEN",
  "DEFAULT_EXPIRES",
  "MIN_EXPIRES",
  "TENANT_CACHE_TTL_MS",
  "SIGNATURE_WINDOW_S",
  "SWEEP_BATCH",
  "SWEEP_MAX_BATCHES",
  "ANY_DOMAIN_LOOKUP",
] as const satisfies readonly (keyof Env)[];

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

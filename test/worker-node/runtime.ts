// The Node runtime under the worker suite: the worker's Hono app and cron handler on Node, over embedded
// libSQL owned by the store thread, exactly as `EDGE_RUNTIME=node` composes them (node-runtime/runtime.ts).
// One runtime per test file, on its own database file.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { inject } from "vitest";
import { startNodeRuntime } from "../../node-runtime/runtime";
import type { Env } from "../../worker/src/config/env";

/** The bindings the suite sees as `env` (the same names and values as the workers project's). */
export const env: Env = {
  LIBSQL_URL: `file:${join(inject("nodeStoreDir"), `${randomUUID()}.db`)}`,
  // The secrets of vitest.config.ts (TEST_GATEWAY_SECRET, TEST_ADMIN_TOKEN) that test/worker/support.ts signs with.
  GATEWAY_SECRET: "worker-test-gateway-secret-0123",
  ADMIN_TOKEN: "worker-test-admin-token",
  TENANT_CACHE_TTL_MS: "0",
};

export const runtime = await startNodeRuntime({
  env,
  adminListen: undefined,
  decisionTimeoutMs: 5000,
  sweepIntervalMs: 0,
  log: (obj) => console.log(JSON.stringify({ t: new Date().toISOString(), ...obj })),
});

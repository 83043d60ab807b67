import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

declare module "vitest" {
  /** What the worker project's global setup hands to the worker's bindings. */
  export interface ProvidedContext {
    storeUrl: string;
    storeToken: string;
    /** Folder of the worker-node project's database files. */
    nodeStoreDir: string;
  }
}

/** Secrets the worker tests sign and authenticate with. */
export const TEST_GATEWAY_SECRET = "worker-test-gateway-secret-0123";
export const TEST_ADMIN_TOKEN = "worker-test-admin-token";

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

// Four projects: plain Node unit tests; the worker suite twice, under the Workers runtime (miniflare) and
// under the Node runtime (the same files, "cloudflare:workers" and "cloudflare:test" resolved to a Node
// shim over the same Hono app and embedded libSQL); end-to-end tests over real UDP with sipp and Kamailio.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts", "test/store-server/**/*.test.ts", "test/cli/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            main: "./worker/src/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                LIBSQL_URL: inject("storeUrl"),
                LIBSQL_AUTH_TOKEN: inject("storeToken"),
                GATEWAY_SECRET: TEST_GATEWAY_SECRET,
                ADMIN_TOKEN: TEST_ADMIN_TOKEN,
                TENANT_CACHE_TTL_MS: "0",
              },
            },
          })),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          globalSetup: ["test/worker/global-setup.ts"],
          // A file's first request starts its workerd isolate (1-2 s alone); beside the other projects on a
          // busy 2-core machine it exceeded the 5 s default.
          testTimeout: 15_000,
        },
      },
      {
        resolve: {
          alias: [
            { find: "cloudflare:workers", replacement: here("./test/worker-node/cloudflare-workers.ts") },
            { find: "cloudflare:test", replacement: here("./test/worker-node/cloudflare-test.ts") },
            { find: /^\.\/store-client$/, replacement: here("./test/worker-node/store-client.ts") },
          ],
        },
        test: {
          name: "worker-node",
          include: ["test/worker/**/*.test.ts"],
          globalSetup: ["test/worker-node/global-setup.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/e2e/global-setup.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});

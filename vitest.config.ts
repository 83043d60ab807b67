import { defineConfig } from "vitest/config";

// Three projects: plain Node unit tests, the worker under the Workers runtime (miniflare), and
// end-to-end tests over real UDP with sipp and Kamailio.
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
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});

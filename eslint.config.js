// Lint guards structure more than style: no import cycles, type-only imports marked as such.
import tseslint from "typescript-eslint";
import importX, { createNodeResolver } from "eslint-plugin-import-x";
import { builtinModules } from "node:module";

const NEUTRAL = "runtime-neutral code imports nothing Node-only (the node runtime's adapters live in node-runtime/)";

export default tseslint.config(
  { ignores: ["node_modules/**", "dist/**", ".wrangler/**", "migrations/meta/**", "bin/**"] },
  {
    files: ["**/*.ts", "**/*.tsx"],
    languageOptions: { parser: tseslint.parser },
    plugins: { "@typescript-eslint": tseslint.plugin, "import-x": importX },
    settings: {
      "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".tsx", ".js", ".d.ts"] })],
      "import-x/extensions": [".ts", ".tsx", ".js"],
    },
    rules: {
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "no-console": "off",
      // The folders show the architecture: policy (worker) never imports the mechanism (edge-gateway), and
      // the rooms both import (sip grammar, contract) import neither.
      "import-x/no-restricted-paths": [
        "error",
        {
          zones: [
            { target: "./worker", from: "./edge-gateway", message: "the worker must not import the gateway" },
            { target: "./sip", from: ["./edge-gateway", "./worker", "./contract"], message: "the SIP grammar stands alone" },
            { target: "./contract", from: ["./edge-gateway", "./worker"], message: "the contract stands alone" },
          ],
        },
      ],
    },
  },
  {
    // Runtime-neutral code: it runs in workerd and in Node alike, so no Node built-in (with or without the
    // node: prefix) and no package that needs Node: the native libSQL driver, the Node entry points of the
    // libSQL client and drizzle's libsql driver (their /web entries are neutral; their types may be imported),
    // Hono's Node server, the gateway's HTTP client, logger and metrics.
    files: ["sip/**/*.ts", "contract/**/*.ts", "worker/src/**/*.ts", "worker/src/**/*.tsx"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          paths: [
            ...builtinModules.map((name) => ({ name, message: NEUTRAL })),
            { name: "@libsql/client", message: `${NEUTRAL}: use @libsql/client/web`, allowTypeImports: true },
            { name: "drizzle-orm/libsql", message: `${NEUTRAL}: use drizzle-orm/libsql/web`, allowTypeImports: true },
            ...["libsql", "@hono/node-server", "undici", "pino", "prom-client", "mysql2", "tsx"].map((name) => ({ name, message: NEUTRAL })),
          ],
          patterns: [{ group: ["node:*", "mysql2/*", "@hono/node-server/*"], message: NEUTRAL }],
        },
      ],
    },
  },
);

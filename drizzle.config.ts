import { defineConfig } from "drizzle-kit";

// `npm run db:generate` writes SQL migrations from the schema; scripts/db-migrate.ts applies them.
export default defineConfig({
  dialect: "turso",
  schema: "./worker/src/store/schema.ts",
  out: "./migrations",
  dbCredentials: {
    url: process.env.LIBSQL_URL ?? "file:.data/dev.db",
    authToken: process.env.LIBSQL_AUTH_TOKEN,
  },
});

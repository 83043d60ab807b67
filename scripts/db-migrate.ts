// `npm run db:migrate [-- --url <url> --token <token>]`: applies migrations/ to LIBSQL_URL (default: the
// local embedded file). Exit 0 when the store is up to date.
import { parseArgs } from "node:util";
import { applyMigrations } from "../migrations/apply";

const { values } = parseArgs({
  options: { url: { type: "string" }, token: { type: "string" } },
});
const url = values.url ?? process.env.LIBSQL_URL ?? "file:.data/dev.db";
const authToken = values.token ?? process.env.LIBSQL_AUTH_TOKEN;
try {
  await applyMigrations({ url, authToken });
  console.log(JSON.stringify({ msg: "migrations applied", url: url.replace(/\?.*$/, "") }));
} catch (err) {
  console.error(`db:migrate: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}

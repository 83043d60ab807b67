// `npm run db:backup -- --out <file> [--url <url>] [--token <t>]`: a consistent copy of the live store
// (default: LIBSQL_URL, else the local embedded file) into a new file (migrations/backup.ts). Restore: stop
// the writer, put the copy in place of the database file (or point LIBSQL_URL / --file at it), start again.
import { parseArgs } from "node:util";
import { backupStore } from "../migrations/backup";

const { values } = parseArgs({
  options: { url: { type: "string" }, token: { type: "string" }, out: { type: "string" } },
});
const url = values.url ?? process.env.LIBSQL_URL ?? "file:.data/dev.db";
const authToken = values.token ?? process.env.LIBSQL_AUTH_TOKEN;
if (!values.out) {
  console.error("db:backup: --out <file> is required");
  process.exitCode = 2;
} else {
  try {
    const result = await backupStore({ url, authToken, out: values.out });
    console.log(JSON.stringify({ msg: "backup written", url: url.replace(/\?.*$/, ""), ...result }));
  } catch (err) {
    console.error(`db:backup: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}

// test/worker/store-client.ts on Node: the full @libsql/client opens `file:` URLs (the Node runtime's
// embedded store) as well as http(s) ones.
export { createClient } from "@libsql/client";

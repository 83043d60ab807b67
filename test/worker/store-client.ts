// A libSQL client on the worker suite's store, for the few tests that write rows directly. Under the
// Workers runtime the store is served over HTTP (the web client); the worker-node project aliases this
// module to test/worker-node/store-client.ts, whose client also opens the embedded `file:` store.
export { createClient } from "@libsql/client/web";

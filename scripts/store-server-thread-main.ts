// The local store endpoint in its own thread (store-server-thread.ts): its synchronous libSQL engine then
// never runs on the gateway's event loop. The pipeline counter is published in shared memory after every
// response, so the parent reads it synchronously.
import dc from "node:diagnostics_channel";
import { parentPort, workerData } from "node:worker_threads";
import { startStoreServer, type StoreServerOptions } from "../store-server/src/server";

const port = parentPort;
if (!port) throw new Error("store-server-thread-main.ts runs only as a worker thread");
const { options, counter } = workerData as { options: StoreServerOptions; counter: SharedArrayBuffer };
const count = new Int32Array(counter);

startStoreServer(options).then(
  (server) => {
    dc.subscribe("http.server.response.finish", () => Atomics.store(count, 0, server.pipelineRequests()));
    port.on("message", (m: unknown) => {
      if (m === "close") void server.close().then(() => port.close());
    });
    port.postMessage({ ok: true, url: server.url, port: server.port });
  },
  (err: unknown) => port.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) }),
);

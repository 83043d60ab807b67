/**
 * The local store endpoint (store-server/) in a worker thread of this process. In the local Workers-runtime
 * stack the endpoint used to share the gateway's event loop, so every SQL statement the worker sent held
 * the gateway's SIP timers and retransmissions for its duration; in a thread it holds only the thread.
 */
import { Worker } from "node:worker_threads";
import type { StoreServer, StoreServerOptions } from "../store-server/src/server";

const ENTRY = new URL("./store-server-thread-entry.mjs", import.meta.url);

/** Starts the endpoint in its own thread; the same surface as startStoreServer. */
export async function startStoreServerThread(options: Omit<StoreServerOptions, "log">): Promise<StoreServer> {
  const counter = new SharedArrayBuffer(4);
  const count = new Int32Array(counter);
  const worker = new Worker(ENTRY, { workerData: { options, counter }, execArgv: [] });
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  const started = await new Promise<{ url: string; port: number }>((resolve, reject) => {
    worker.once("message", (m: { ok: true; url: string; port: number } | { ok: false; message: string }) =>
      m.ok ? resolve(m) : reject(new Error(`store endpoint: ${m.message}`)),
    );
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`store endpoint thread exited with code ${code}`)));
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  return {
    url: started.url,
    port: started.port,
    pipelineRequests: () => Atomics.load(count, 0),
    async close() {
      worker.postMessage("close");
      const timer = setTimeout(() => void worker.terminate(), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

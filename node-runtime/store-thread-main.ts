/**
 * A store thread: owns one connection to the embedded libSQL file and runs the worker's Store
 * (worker/src/store/libsql-store.ts, the same SQL as every runtime) on it. The `file:` driver is synchronous:
 * here it blocks only this thread, never the gateway's event loop with its SIP timers and retransmissions.
 */
import { parentPort, workerData } from "node:worker_threads";
import { drizzle } from "drizzle-orm/libsql";
import { createLibsqlStore } from "../worker/src/store/libsql-store";
import { StoreError, type Store } from "../worker/src/store/store";
import { configureWriter, createEmbeddedClient } from "./embedded-client";
import type { StoreCall, StoreReady, StoreReply, StoreThreadData } from "./store-protocol";

const port = parentPort;
if (!port) throw new Error("store-thread-main.ts runs only as a worker thread (see thread-store.ts)");
const data = workerData as StoreThreadData;

async function open(): Promise<{ store: Store; close: () => void }> {
  const client = createEmbeddedClient(data.url);
  // First: another process's writer (several gateways on one file) is waited for, in this thread only,
  // instead of failing at once, and that includes the journal_mode switch below.
  await client.execute("PRAGMA busy_timeout = 5000");
  if (data.role === "reader") {
    // The writer (started first) has put the file in WAL mode; this connection only reads.
    await client.execute("PRAGMA query_only = 1");
  } else {
    await configureWriter(client);
  }
  return { store: createLibsqlStore(drizzle(client)), close: () => client.close() };
}

function errorReply(id: number, op: string, err: unknown): StoreReply {
  if (err instanceof StoreError) {
    const cause = err.cause instanceof Error ? err.cause.message : String(err.cause);
    return { id, ok: false, name: err.name, operation: err.operation, message: cause };
  }
  return { id, ok: false, name: err instanceof Error ? err.name : "Error", operation: op, message: err instanceof Error ? err.message : String(err) };
}

open().then(
  ({ store, close }) => {
    // One operation at a time: the driver is synchronous anyway, and a batch's transaction never
    // interleaves with another's on the connection.
    let queue: Promise<unknown> = Promise.resolve();
    port.on("message", (msg: StoreCall | "close") => {
      if (msg === "close") {
        void queue.then(() => {
          close();
          port.close();
        });
        return;
      }
      const fn = (store as unknown as Record<string, unknown>)[msg.op];
      if (typeof fn !== "function") {
        port.postMessage(errorReply(msg.id, msg.op, new Error(`no store operation ${msg.op}`)));
        return;
      }
      queue = queue.then(() => {
        // Load shedding: a call whose caller has given up is not run. Under a flood of writes the queue then
        // drains at once instead of running work nobody waits for while newer calls time out behind it.
        if (msg.deadline !== undefined && Date.now() > msg.deadline) {
          port.postMessage(errorReply(msg.id, msg.op, new Error("expired in the store queue (the caller gave up)")));
          return;
        }
        return (fn as (...args: unknown[]) => Promise<unknown>)(...msg.args).then(
          (value) => port.postMessage({ id: msg.id, ok: true, value } satisfies StoreReply),
          (err: unknown) => port.postMessage(errorReply(msg.id, msg.op, err)),
        );
      });
    });
    port.postMessage({ ready: true } satisfies StoreReady);
  },
  (err: unknown) => port.postMessage({ ready: false, message: err instanceof Error ? err.message : String(err) } satisfies StoreReady),
);

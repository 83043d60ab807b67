/**
 * A store thread: owns one connection to the embedded libSQL file and runs the worker's Store
 * (worker/src/store/libsql-store.ts, the same SQL as every runtime) on it. The `file:` driver is synchronous:
 * here it blocks only this thread, never the gateway's event loop with its SIP timers and retransmissions.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { drizzle } from "drizzle-orm/libsql";
import { createLibsqlStore } from "../worker/src/store/libsql-store";
import { StoreError, type Store } from "../worker/src/store/store";
import { configureWriter, createEmbeddedClient, type EmbeddedClient } from "./embedded-client";
import { runCommitGroup, runEach } from "./group-commit";
import type { StoreCall, StoreReady, StoreReplies, StoreReply, StoreThreadData } from "./store-protocol";

if (!parentPort) throw new Error("store-thread-main.ts runs only as a worker thread (see thread-store.ts)");
const port: MessagePort = parentPort;
const data = workerData as StoreThreadData;

async function open(): Promise<{ store: Store; client: EmbeddedClient; close: () => void }> {
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
  return { store: createLibsqlStore(drizzle(client)), client, close: () => client.close() };
}

function errorReply(id: number, op: string, err: unknown): StoreReply {
  if (err instanceof StoreError) {
    const cause = err.cause instanceof Error ? err.cause.message : String(err.cause);
    return { id, ok: false, name: err.name, operation: err.operation, message: cause };
  }
  return { id, ok: false, name: err instanceof Error ? err.name : "Error", operation: op, message: err instanceof Error ? err.message : String(err) };
}

/** The operations whose calls, waiting together in the writer's queue, share one commit (group-commit.ts). */
const GROUPED: ReadonlySet<string> = new Set(["applySave"]);
/**
 * At most this many calls share a commit (the writer) or a reply message (the reader): it bounds how long the
 * first one's reply waits for the others.
 */
const MAX_GROUP = 32;

open().then(
  ({ store, client, close }) => {
    const queue: StoreCall[] = [];
    let draining = false;
    let closing = false;
    const reader = data.role === "reader";

    // Load shedding: a call whose caller has given up is not run. Under a flood of writes the queue then
    // drains at once instead of running work nobody waits for while newer calls time out behind it.
    const expired = (msg: StoreCall): boolean => msg.deadline !== undefined && Date.now() > msg.deadline;

    function opOf(msg: StoreCall): (() => Promise<unknown>) | undefined {
      const fn = (store as unknown as Record<string, unknown>)[msg.op];
      if (typeof fn !== "function") return undefined;
      return () => (fn as (...args: unknown[]) => Promise<unknown>).apply(store, msg.args as unknown[]);
    }

    async function runCalls(calls: readonly StoreCall[], shareCommit: boolean): Promise<StoreReplies> {
      const replies: StoreReply[] = [];
      const runnable: { msg: StoreCall; op: () => Promise<unknown> }[] = [];
      for (const msg of calls) {
        const op = opOf(msg);
        if (!op) replies.push(errorReply(msg.id, msg.op, new Error(`no store operation ${msg.op}`)));
        else if (expired(msg)) replies.push(errorReply(msg.id, msg.op, new Error("expired in the store queue (the caller gave up)")));
        else runnable.push({ msg, op });
      }
      const ops = runnable.map((r) => r.op);
      let committedTogether: number | undefined;
      const settled = shareCommit ? await runCommitGroup(client, ops, (n) => (committedTogether = n)) : await runEach(ops);
      settled.forEach((r, i) => {
        const { msg } = runnable[i]!;
        replies.push(r.ok ? { id: msg.id, ok: true, value: r.value } : errorReply(msg.id, msg.op, r.error));
      });
      return committedTogether === undefined ? { replies } : { replies, committedTogether };
    }

    // One operation (or one group) at a time: the driver is synchronous anyway, and a batch's transaction
    // never interleaves with another's on the connection. The queue is drained after the messages that
    // arrived together have all been read (setImmediate), so that saves arriving together share a commit.
    // The reader runs the lookups that arrived together one by one and answers them together.
    async function drain(): Promise<void> {
      while (queue.length > 0) {
        let n = 1;
        const shareCommit = !reader && GROUPED.has(queue[0]!.op);
        if (reader) n = Math.min(queue.length, MAX_GROUP);
        else if (shareCommit) while (n < queue.length && n < MAX_GROUP && GROUPED.has(queue[n]!.op)) n++;
        const answer = await runCalls(queue.splice(0, n), shareCommit);
        port.postMessage(answer.replies.length === 1 && answer.committedTogether === undefined ? answer.replies[0] : answer);
      }
      draining = false;
      if (closing) {
        close();
        port.close();
      }
    }

    port.on("message", (msg: StoreCall | "close") => {
      if (msg === "close") {
        closing = true;
        if (!draining) {
          close();
          port.close();
        }
        return;
      }
      queue.push(msg);
      if (!draining) {
        draining = true;
        setImmediate(() => void drain());
      }
    });
    port.postMessage({ ready: true } satisfies StoreReady);
  },
  (err: unknown) => port.postMessage({ ready: false, message: err instanceof Error ? err.message : String(err) } satisfies StoreReady),
);

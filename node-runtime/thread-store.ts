/**
 * The worker's Store interface, served by worker threads that own the embedded libSQL connections
 * (store-thread-main.ts): a writer, which runs every write one after another, and a reader, which serves the
 * lookups a routed request waits for. Under WAL the reader's queries never wait for the writer's transactions,
 * so the expiry sweep or a burst of saves never delays a call being routed (docs/benchmarks.md, "Scale").
 * A third thread checkpoints the WAL every 10 s, off the writer's commits.
 *
 * Every call is one message to the thread (structured clone of plain rows), and one back, except that saves
 * that waited together share one commit and one reply message (group-commit.ts); failures come back as the same
 * StoreError / StoreConflictError classes the decisions already handle. When a thread dies, its pending calls
 * fail with StoreError and the next call starts a fresh thread.
 */
import { Worker } from "node:worker_threads";
import { StoreConflictError, StoreError, type Store } from "../worker/src/store/store";
import { startCheckpointer } from "../store-server/src/checkpointer";
import { filePathOf } from "./embedded-client";
import type { StoreCall, StoreOp, StoreReady, StoreReplies, StoreReply, StoreThreadData, StoreThreadRole } from "./store-protocol";

const ENTRY = new URL("./store-thread.mjs", import.meta.url);

/**
 * Operations the reader serves: reads of committed state, each one statement or one read transaction.
 * Everything else (writes, and any operation not listed) goes to the writer.
 */
export const READER_OPS: ReadonlySet<string> = new Set<StoreOp>([
  "lookup",
  "lookupUsername",
  "loadTenants",
  "listBindings",
  "getBinding",
  "listDestinationRecords",
]);

export interface ThreadStore extends Store {
  /** Calls made so far (store round trips, for tests and metrics). */
  calls(): number;
  /** Calls made so far to each thread. */
  callsBy(): Record<StoreThreadRole, number>;
  /** The writer's COMMITs that closed two saves or more so far, and the saves they closed. */
  commitGroups(): { readonly groups: number; readonly saves: number };
  close(): Promise<void>;
}

interface Pending {
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

interface StoreThread {
  call(op: StoreOp, args: unknown[]): Promise<never>;
  calls(): number;
  groups(): { readonly groups: number; readonly saves: number };
  close(): Promise<void>;
}

function errorOf(r: Extract<StoreReply, { ok: false }>): StoreError {
  const cause = new Error(r.message);
  return r.name === "StoreConflictError" ? new StoreConflictError(r.operation, cause) : new StoreError(r.operation, cause);
}

/** One thread with its connection; waits until the connection is open, rejects when it cannot be. */
async function startStoreThread(data: StoreThreadData): Promise<StoreThread> {
  let nextId = 1;
  let count = 0;
  let groups = 0;
  let grouped = 0;
  let closed = false;
  const pending = new Map<number, Pending>();

  function spawn(): { worker: Worker; ready: Promise<void> } {
    // execArgv: [] so that a parent started with `--import tsx` does not load tsx twice (the entry registers it).
    const worker = new Worker(ENTRY, { workerData: data, execArgv: [] });
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => {
      const onFirst = (m: StoreReady | StoreReply): void => {
        if (!("ready" in m)) return;
        worker.off("message", onFirst);
        if (m.ready) resolve();
        else reject(new StoreError("open", new Error(m.message)));
      };
      worker.on("message", onFirst);
      worker.once("error", reject);
    });
    const settle = (m: StoreReply): void => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(errorOf(m));
    };
    worker.on("message", (m: StoreReady | StoreReply | StoreReplies) => {
      if ("replies" in m) {
        if (m.committedTogether !== undefined) {
          groups++;
          grouped += m.committedTogether;
        }
        for (const r of m.replies) settle(r);
      } else if (!("ready" in m)) settle(m);
    });
    const fail = (why: string): void => {
      if (current?.worker === worker) current = undefined;
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(new StoreError("store thread", new Error(why)));
      }
    };
    worker.on("error", (err) => fail(err.message));
    worker.on("exit", (code) => fail(`exited with code ${code}`));
    return { worker, ready };
  }

  let current: { worker: Worker; ready: Promise<void> } | undefined = spawn();
  await current.ready;

  return {
    call(op, args) {
      if (closed) return Promise.reject(new StoreError(op, new Error("store closed")));
      current ??= spawn();
      const { worker, ready } = current;
      const id = nextId++;
      count++;
      const deadline = data.opTimeoutMs === undefined ? undefined : Date.now() + data.opTimeoutMs;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        ready.then(
          () => worker.postMessage({ id, op, args, deadline } satisfies StoreCall),
          (err: unknown) => {
            pending.delete(id);
            reject(err instanceof StoreError ? err : new StoreError(op, err));
          },
        );
      });
    },
    calls: () => count,
    groups: () => ({ groups, saves: grouped }),
    async close() {
      if (closed) return;
      closed = true;
      const w = current?.worker;
      current = undefined;
      if (!w) return;
      const exited = new Promise<void>((resolve) => w.once("exit", () => resolve()));
      w.postMessage("close");
      const timer = setTimeout(() => void w.terminate(), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * How often the checkpointer runs a PASSIVE checkpoint, unless the data says otherwise. Each one ends with an
 * fsync of the database file, and on ext4 the writer's WAL appends can wait for that journal commit: every
 * second, that wait showed in the REGISTER p99 at 100/s (three alternating runs each, added p99 13.0 / 9.6 /
 * 14.2 ms every second vs 9.7 / 9.2 / 8.1 ms every 10 s). Between checkpoints the WAL grows; the writer's
 * own threshold (store-thread-main.ts) bounds it.
 */
const DEFAULT_CHECKPOINT_INTERVAL_MS = 10_000;

/**
 * Starts the writer (it puts the file in WAL mode), then the reader, and the store endpoint's checkpointer
 * thread (store-server/src/checkpointer.ts: its own connection, PASSIVE checkpoints on a timer).
 */
export async function startThreadStore(data: StoreThreadData): Promise<ThreadStore> {
  const writer = await startStoreThread({ ...data, role: "writer" });
  let reader: StoreThread;
  try {
    reader = await startStoreThread({ ...data, role: "reader" });
  } catch (err) {
    await writer.close();
    throw err;
  }
  const checkpointer = startCheckpointer(filePathOf(data.url), data.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS, () => undefined);
  const own = {
    calls: () => writer.calls() + reader.calls(),
    callsBy: () => ({ writer: writer.calls(), reader: reader.calls() }),
    commitGroups: () => writer.groups(),
    // Readiness asks both connections.
    ping: () => Promise.all([writer.call("ping", []), reader.call("ping", [])]).then(() => undefined),
    async close() {
      await Promise.all([writer.close(), reader.close(), checkpointer.close()]);
    },
  };
  // Every other Store method is one message to a thread, by name: a method added to the interface needs no
  // change here (the thread calls the real store's method of that name); it runs on the writer unless it is
  // listed as a read.
  return new Proxy(own, {
    get(target, key) {
      if (key in target) return target[key as keyof typeof target];
      if (typeof key !== "string" || key === "then") return undefined;
      const thread = READER_OPS.has(key) ? reader : writer;
      return (...args: unknown[]) => thread.call(key as StoreOp, args);
    },
  }) as ThreadStore;
}

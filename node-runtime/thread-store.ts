/**
 * The worker's Store interface, served by a worker thread that owns the embedded libSQL connection
 * (store-thread-main.ts). Every call is one message each way (structured clone of plain rows); failures come
 * back as the same StoreError / StoreConflictError classes the decisions already handle. When the thread
 * dies, its pending calls fail with StoreError and the next call starts a fresh thread.
 */
import { Worker } from "node:worker_threads";
import { StoreConflictError, StoreError, type Store } from "../worker/src/store/store";
import type { StoreCall, StoreOp, StoreReady, StoreReply, StoreThreadData } from "./store-protocol";

const ENTRY = new URL("./store-thread.mjs", import.meta.url);

export interface ThreadStore extends Store {
  /** Calls made so far (store round trips, for tests and metrics). */
  calls(): number;
  close(): Promise<void>;
}

interface Pending {
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

function errorOf(r: Extract<StoreReply, { ok: false }>): StoreError {
  const cause = new Error(r.message);
  return r.name === "StoreConflictError" ? new StoreConflictError(r.operation, cause) : new StoreError(r.operation, cause);
}

/** Starts the thread and waits until its connection is open; rejects when it cannot open the store. */
export async function startThreadStore(data: StoreThreadData): Promise<ThreadStore> {
  let nextId = 1;
  let count = 0;
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
    worker.on("message", (m: StoreReady | StoreReply) => {
      if ("ready" in m) return;
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(errorOf(m));
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

  function call(op: StoreOp, args: unknown[]): Promise<never> {
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
  }

  const own = {
    calls: () => count,
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
  // Every Store method is one message to the thread, by name: a method added to the interface needs no
  // change here (the thread calls the real store's method of that name).
  return new Proxy(own, {
    get(target, key) {
      if (key in target) return target[key as keyof typeof target];
      if (typeof key !== "string" || key === "then") return undefined;
      return (...args: unknown[]) => call(key as StoreOp, args);
    },
  }) as ThreadStore;
}

/**
 * WAL checkpoints off the server's thread. By default SQLite checkpoints on commit: the commit that takes
 * the WAL past `wal_autocheckpoint` pages (1000) copies them into the database file and fsyncs it, inside
 * the synchronous engine call. In the store endpoint that blocked the server's event loop for 4-10 ms (far
 * more on a busy machine) about every 140 REGISTERs, and every request queued behind it waited too
 * (docs/benchmarks.md, "Workers runtime tail at 100/s"). The pool's connections therefore run with
 * `wal_autocheckpoint = 0`, and this thread checkpoints PASSIVE on a timer with a connection of its own.
 */
import { Worker } from "node:worker_threads";

const ENTRY = new URL("./checkpoint-thread.mjs", import.meta.url);

/** The running checkpointer. */
export interface Checkpointer {
  /** Checkpoints run and WAL frames copied so far (for tests and diagnostics). */
  stats(): Promise<{ runs: number; frames: number }>;
  close(): Promise<void>;
}

/** Starts the checkpoint thread on `file` (a WAL database), checkpointing every `intervalMs`. */
export function startCheckpointer(file: string, intervalMs: number, log: (entry: Record<string, unknown>) => void): Checkpointer {
  const worker = new Worker(ENTRY, { workerData: { file, intervalMs }, execArgv: [] });
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  const statsWaiters: ((s: { runs: number; frames: number }) => void)[] = [];
  worker.on("message", (m: { type: "stats"; runs: number; frames: number } | { type: "error"; message: string }) => {
    if (m.type === "stats") statsWaiters.shift()?.({ runs: m.runs, frames: m.frames });
    else log({ event: "checkpoint_error", message: m.message });
  });
  worker.on("error", (error) => log({ event: "checkpoint_error", message: error.message }));
  let closed: Promise<void> | undefined;
  return {
    stats: () =>
      new Promise((resolve) => {
        statsWaiters.push(resolve);
        worker.postMessage("stats");
      }),
    close() {
      closed ??= (async () => {
        worker.postMessage("close");
        const timer = setTimeout(() => void worker.terminate(), 5000);
        await exited;
        clearTimeout(timer);
      })();
      return closed;
    },
  };
}

// The store endpoint's WAL checkpointer (checkpointer.ts), in a thread of its own: plain JavaScript so that
// it needs no TypeScript loader. One connection of its own, PASSIVE checkpoints on a timer: they copy
// committed WAL frames into the database file and fsync it without taking the writer's lock, so neither
// the server's writers nor its readers ever wait for them, and the server's thread never runs one.
import { parentPort, workerData } from "node:worker_threads";
import Database from "libsql";

const { file, intervalMs } = workerData;
const db = new Database(file, { timeout: 0 });
db.exec("PRAGMA busy_timeout = 0; PRAGMA wal_autocheckpoint = 0");
const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)").raw(true);

let runs = 0;
let frames = 0;
const timer = setInterval(() => {
  try {
    const row = checkpoint.get();
    runs++;
    frames += Number(row?.[2] ?? 0);
  } catch (error) {
    parentPort?.postMessage({ type: "error", message: String(error) });
  }
}, intervalMs);

parentPort?.on("message", (m) => {
  if (m === "stats") parentPort?.postMessage({ type: "stats", runs, frames });
  else if (m === "close") {
    clearInterval(timer);
    db.close();
    parentPort?.close();
  }
});

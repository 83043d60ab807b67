/**
 * The round trip of a message to an idle worker thread and back, as a store call makes it at a low rate
 * (the node runtime's store threads, node-runtime/thread-store.ts): one every GAP ms (default 10, as at
 * 100/s), N calls (default 3,000), then back to back for comparison. Prints the percentiles and the share
 * over 2.5 ms.
 *
 *   npx tsx bench/thread-wake.ts             (GAP=ms N=calls to change)
 */
import { Worker } from "node:worker_threads";

const N = Number(process.env.N ?? 3000);
const GAP = Number(process.env.GAP ?? 10);
const worker = new Worker(`require("node:worker_threads").parentPort.on("message", (m) => require("node:worker_threads").parentPort.postMessage(m));`, { eval: true });
await new Promise((resolve) => worker.once("online", resolve));

async function run(gapMs: number, n: number): Promise<void> {
  const rtts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise((resolve) => {
      worker.once("message", resolve);
      worker.postMessage(i);
    });
    rtts.push(performance.now() - t0);
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  rtts.sort((a, b) => a - b);
  const q = (p: number): string => (rtts[Math.floor(p * (n - 1))] ?? 0).toFixed(3);
  const over = (100 * rtts.filter((x) => x > 2.5).length) / n;
  console.log(`  every ${gapMs} ms, ${n} calls: p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} p99.9 ${q(0.999)} max ${(rtts[n - 1] ?? 0).toFixed(2)} ms; over 2.5 ms ${over.toFixed(2)} %`);
}

console.log("thread-wake: message round trip to a worker thread");
await run(GAP, N);
await run(0, N);
await worker.terminate();

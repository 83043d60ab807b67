/**
 * Mutation fuzzing of the gateway's receive path at volume: 1,000,000 mutated datagrams (COUNT=n to change)
 * through ProxyCore.onDatagram with the unit tests' core harness (fake listeners that parse back what is
 * sent, a scripted worker double, a manual clock). Reports crashes, unhandled rejections, contract-invalid
 * worker events, RSS at start / middle / end, and the time per datagram. Exits 1 when anything that must
 * never happen happened. Bounded: MAX_SECONDS (default 300) stops it early and reports the rate reached.
 *
 *   npm run bench:fuzz            (node --expose-gc, so RSS is read after a full GC)
 *   COUNT=200000 SEED=7 npm run bench:fuzz
 */
import { runFuzz } from "../test/unit/proxy/fuzz-driver";
import type { FuzzStats } from "../test/unit/proxy/fuzz-driver";

const count = Number(process.env.COUNT ?? 1_000_000);
const seed = Number(process.env.SEED ?? 1);
const maxSeconds = Number(process.env.MAX_SECONDS ?? 300);

function line(s: FuzzStats): string {
  return (
    `${s.datagrams.toLocaleString("en")} datagrams in ${s.seconds.toFixed(1)} s (${Math.round(s.datagrams / s.seconds).toLocaleString("en")}/s): ` +
    `thrown ${s.thrown}, internal errors ${s.internalErrors}, unhandled rejections ${s.unhandledRejections}, invalid events ${s.invalidEvents}; ` +
    `per datagram mean ${s.meanUs.toFixed(1)} µs, p99 ${s.p99Us.toFixed(0)} µs, max ${(s.maxUs / 1000).toFixed(1)} ms`
  );
}

console.log(`fuzz-receive: ${count.toLocaleString("en")} datagrams, seed ${seed}, at most ${maxSeconds} s${typeof (globalThis as { gc?: unknown }).gc === "function" ? "" : " (run with --expose-gc for RSS after GC)"}`);
const stats = await runFuzz({ count, seed, maxSeconds, onProgress: (s) => console.log(`  ${line(s)}`) });
console.log(line(stats));
console.log(`worker events ${stats.workerEvents.toLocaleString("en")}, datagrams sent ${stats.sent.toLocaleString("en")}`);
console.log(`RSS MB: start ${stats.rssMb[0]}, middle ${stats.rssMb[1]}, end ${stats.rssMb[2]}`);
console.log(`heap in use MB (after GC): start ${stats.heapMb[0]}, middle ${stats.heapMb[1]}, end ${stats.heapMb[2]}`);
console.log(`client transactions left after every timer ran out: ${stats.clientTransactionsLeft}`);
for (const f of stats.failures) console.log(`failure: ${f}`);
const bad = stats.thrown + stats.internalErrors + stats.unhandledRejections + stats.invalidEvents;
if (bad > 0) process.exitCode = 1;

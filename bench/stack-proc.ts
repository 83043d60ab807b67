/**
 * Our whole system for the benchmark, in a process of its own (started by bench/run.ts with an IPC channel):
 * the local stack exactly as `npm start` runs it (scripts/local-stack.ts), in either runtime:
 * - workers: store endpoint + gateway in this Node process, the worker in Miniflare's workerd child;
 * - node: gateway + decisions in this process, the libSQL file in its store thread;
 * with the bench tenants seeded through the admin API. Being its own process, its CPU time is this
 * process's (and workerd's), apart from the bench driver's.
 *
 * Store round trips are the stack's own count (LocalStack.storeRoundTrips): workers, the HTTP pipeline
 * requests the store endpoint received (one per Hrana client round trip); node, the calls to the store thread.
 *
 * BENCH_ALLOC_PROFILE=1: a sampling profile of everything the main thread allocates (collected objects
 * included, unlike node --heap-prof, which keeps only what is still alive at exit) from ready to stop, in
 * <dir>/alloc.heapprofile (Chrome DevTools' "Allocation sampling" reads it; `npx tsx bench/prof-top.ts`
 * summarises it).
 *
 * BENCH_HEAP_SNAPSHOT=1: a heap snapshot of the main thread when the stack is told to stop (the live set the
 * last steps left: transactions lingering for Timers J and K, bindings cached ...), in <dir>/stop.heapsnapshot;
 * `npx tsx bench/heap-top.ts` summarises it.
 *
 * IPC: sends {type:"ready", ...} once up; answers {type:"counts"} with the store counter; {type:"stop"}
 * (or the parent going away) closes the stack and exits.
 */
import { createWriteStream, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";
import v8 from "node:v8";
import { loadFloodConfig } from "../edge-gateway/src/config";
import { createLogger } from "../edge-gateway/src/observability/logger";
import type { EdgeRuntime } from "../node-runtime/runtime";
import { startLocalStack, type LocalStack } from "../scripts/local-stack";

/** What bench/run.ts passes as the one argument (JSON). */
export interface StackProcConfig {
  readonly dir: string;
  readonly runtime: EdgeRuntime;
  readonly sip: { readonly ip: string; readonly port: number };
  readonly tenants: readonly { readonly domain: string; readonly destinations: readonly string[] }[];
}

/** Messages this process sends to its parent. */
export type StackProcMessage =
  | { type: "ready"; pid: number; metricsUrl: string; workerUrl: string; storeUrl: string }
  | { type: "counts"; storeRequests: number }
  | { type: "error"; message: string };

const config = JSON.parse(process.argv[2] ?? "{}") as StackProcConfig;

const send = (m: StackProcMessage): void => {
  if (process.connected) process.send?.(m);
};

let stack: LocalStack | undefined;
let stopping = false;
/** The allocation sampling session (BENCH_ALLOC_PROFILE=1), from ready to stop. */
let allocations: Session | undefined;

function startAllocationSampling(): void {
  allocations = new Session();
  allocations.connect();
  allocations.post("HeapProfiler.startSampling", {
    samplingInterval: 16_384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
}

function writeAllocationProfile(): Promise<void> {
  const session = allocations;
  if (!session) return Promise.resolve();
  return new Promise((resolve) => {
    session.post("HeapProfiler.stopSampling", (err, result) => {
      if (!err) writeFileSync(join(config.dir, "alloc.heapprofile"), JSON.stringify(result.profile));
      session.disconnect();
      resolve();
    });
  });
}

/** BENCH_HEAP_SNAPSHOT=1: the main thread's heap as the stack stops. */
function writeHeapSnapshot(): void {
  if (process.env.BENCH_HEAP_SNAPSHOT === "1") v8.writeHeapSnapshot(join(config.dir, "stop.heapsnapshot"));
}

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await writeAllocationProfile();
  writeHeapSnapshot();
  await stack?.close().catch(() => undefined);
  process.exit(code);
}

async function main(): Promise<void> {
  const gatewayLog = createWriteStream(join(config.dir, "gateway.log"));
  const workerLog = createWriteStream(join(config.dir, "worker.log"));
  stack = await startLocalStack({
    runtime: config.runtime,
    dbFile: join(config.dir, "store.db"),
    sipListen: config.sip,
    metricsPort: 0,
    logLevel: "warn",
    // bench/run.ts passes FLOOD_LIMIT=off: one sipp drives all the load from one address.
    flood: loadFloodConfig(process.env),
    // The worker's variables over the local stack's (TENANT_CACHE_TTL_MS=1000, as `npm start`), as JSON.
    ...(process.env.BENCH_WORKER_VARS ? { workerVars: JSON.parse(process.env.BENCH_WORKER_VARS) as Record<string, string> } : {}),
    // The overload bound on the receive queue, as an operator sets it (edge-gateway/src/config.ts).
    ...(process.env.MAX_QUEUE_DELAY_MS ? { maxQueueDelayMs: Number(process.env.MAX_QUEUE_DELAY_MS) } : {}),
    logger: createLogger("warn", (l) => gatewayLog.write(l + "\n")),
    workerLog: (l) => workerLog.write(l + "\n"),
  });
  for (const t of config.tenants) {
    const res = await fetch(`${stack.workerUrl}/admin/v1/tenants`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(t),
    });
    if (res.status !== 201) throw new Error(`seeding ${t.domain}: HTTP ${res.status} ${await res.text()}`);
  }
  if (!stack.gateway.metricsUrl) throw new Error("gateway metrics endpoint did not start");
  if (process.env.BENCH_ALLOC_PROFILE === "1") startAllocationSampling();
  send({
    type: "ready",
    pid: process.pid,
    metricsUrl: stack.gateway.metricsUrl,
    workerUrl: stack.workerUrl,
    storeUrl: stack.storeUrl,
  });
}

process.on("message", (m: { type?: string }) => {
  if (m.type === "counts") send({ type: "counts", storeRequests: stack?.storeRoundTrips() ?? 0 });
  else if (m.type === "stop") void stop(0);
});
process.on("disconnect", () => void stop(0));
process.once("SIGTERM", () => void stop(0));
process.once("SIGINT", () => void stop(0));

main().catch((err: unknown) => {
  send({ type: "error", message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  void stop(1);
});

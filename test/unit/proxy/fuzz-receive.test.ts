// The CI-sized run of the receive-path fuzzer (bench/fuzz-receive.ts runs 1,000,000): 20,000 mutated
// datagrams through ProxyCore.onDatagram, and nothing that must never happen.
import { describe, expect, it } from "vitest";
import { runFuzz } from "./fuzz-driver";

describe("mutation fuzzing of the receive path", () => {
  it("20,000 mutated datagrams: no exception, no internal error, no unhandled rejection, every event valid", async () => {
    const stats = await runFuzz({ count: 20_000, seed: 4475 });
    expect(stats.failures).toEqual([]);
    expect(stats.datagrams).toBe(20_000);
    expect(stats.thrown).toBe(0);
    expect(stats.internalErrors).toBe(0);
    expect(stats.unhandledRejections).toBe(0);
    expect(stats.invalidEvents).toBe(0);
    expect(stats.workerEvents).toBeGreaterThan(100); // the mutations leave enough requests whole to reach the worker
    // Time per datagram stays small even for the hostile ones (a full GC can still land in one).
    expect(stats.p99Us).toBeLessThan(10_000);
    expect(stats.maxUs).toBeLessThan(500_000);
    // Memory: what the run holds is bounded (transactions end, logs and records are drained).
    expect(stats.heapMb[2] - stats.heapMb[1]).toBeLessThan(20);
  }, 120_000);
});

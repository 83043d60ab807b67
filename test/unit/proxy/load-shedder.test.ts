// The share of new requests refused while the event loop is saturated (proxy/overload.ts): how it follows
// the utilization samples.
import { describe, expect, it } from "vitest";
import { LoadShedder } from "../../../edge-gateway/src/proxy/overload";

describe("LoadShedder", () => {
  it("refuses nothing until a sample reaches the bound", () => {
    const s = new LoadShedder(0.95, () => 0);
    for (let i = 0; i < 100; i++) s.sample(0.94);
    expect(s.refusedShare).toBe(0);
    expect(s.refuse()).toBe(false);
  });

  it("one saturated sample (a long task, a full GC) refuses nothing; from the second on the share rises a step per sample, short of everything", () => {
    const s = new LoadShedder(0.9);
    s.sample(1);
    expect(s.refusedShare).toBe(0);
    s.sample(0.5);
    s.sample(1);
    expect(s.refusedShare).toBe(0);
    s.sample(0.95);
    expect(s.refusedShare).toBeCloseTo(LoadShedder.STEP_UP, 10);
    for (let i = 0; i < 100; i++) s.sample(1);
    expect(s.refusedShare).toBe(LoadShedder.MAX_SHARE);
  });

  it("holds the share inside the hysteresis band; below it falls to the share that fits the target, at least by half", () => {
    const s = new LoadShedder(0.95);
    for (let i = 0; i < 9; i++) s.sample(1);
    expect(s.refusedShare).toBeCloseTo(0.8, 10);
    s.sample(0.9);
    expect(s.refusedShare).toBeCloseTo(0.8, 10);
    // A fifth admitted keeps the loop 0.8 busy: 0.85 / 0.8 of that fits, a share of 1 - 0.2 * 0.85 / 0.8; but at least halved.
    s.sample(0.8);
    expect(s.refusedShare).toBeCloseTo(0.4, 10);
    s.sample(0.84);
    expect(s.refusedShare).toBeCloseTo(Math.min(0.2, 1 - (0.6 * 0.85) / 0.84), 10);
    // An idle loop: nothing refused within a few samples.
    for (let i = 0; i < 5; i++) s.sample(0.05);
    expect(s.refusedShare).toBe(0);
  });

  it("refuses about its share of requests", () => {
    let seed = 1;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const s = new LoadShedder(0.95, random);
    for (let i = 0; i < 6; i++) s.sample(1);
    let refused = 0;
    for (let i = 0; i < 10_000; i++) if (s.refuse()) refused++;
    expect(refused / 10_000).toBeCloseTo(s.refusedShare, 1);
  });

  it("a bound of 1 never refuses", () => {
    const s = new LoadShedder(1, () => 0);
    for (let i = 0; i < 100; i++) s.sample(1);
    expect(s.refuse()).toBe(false);
  });
});

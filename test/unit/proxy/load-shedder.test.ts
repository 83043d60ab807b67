// The share of new requests refused while the receive queue is too long (proxy/overload.ts): how it follows
// the samples of the queue's delay and of the event loop's utilization.
import { describe, expect, it } from "vitest";
import { LoadShedder } from "../../../edge-gateway/src/proxy/overload";

/** Samples as gateway.ts takes them: one every 100 ms of a fake clock (plus the lateness given). */
class Sampled extends LoadShedder {
  private readonly clock: { t: number };
  constructor(bound: number, random?: () => number) {
    const clock = { t: 0 };
    super(bound, random, () => clock.t);
    this.clock = clock;
  }
  override sample(queueDelayMs: number, utilization: number, lateMs = 0, probeMs?: number): void {
    this.clock.t += 100 + lateMs;
    super.sample(queueDelayMs, utilization, lateMs, probeMs);
  }
  /** A sample of the queue as it is now, the probe reading `probeMs` (by default, the same). */
  current(queueDelayMs: number, utilization: number, probeMs = queueDelayMs, lateMs = 0): void {
    this.sample(queueDelayMs, utilization, lateMs, probeMs);
  }
}

describe("LoadShedder", () => {
  it("refuses nothing while the queue stays under the bound, however busy the loop", () => {
    const s = new Sampled(150, () => 0);
    for (let i = 0; i < 100; i++) s.sample(149, 1);
    expect(s.refusedShare).toBe(0);
    expect(s.refuse()).toBe(false);
  });

  it("one sample over the bound is a pause (a full GC), not an overload: nothing refused", () => {
    const s = new Sampled(150);
    s.sample(400, 1);
    expect(s.refusedShare).toBe(0);
    s.sample(10, 0.5);
    s.sample(400, 1);
    expect(s.refusedShare).toBe(0);
  });

  it("after a pause of the loop (a late sample: a full GC), the backlog it left does not raise the share", () => {
    const s = new Sampled(150);
    // The pause: the sample comes 400 ms late and sees the probe that waited through it; the backlog then drains.
    s.sample(450, 1, 400);
    s.sample(300, 1);
    s.sample(200, 1);
    expect(s.refusedShare).toBe(0);
    // A queue that stays too long past the grace is an overload again.
    s.sample(200, 1);
    s.sample(250, 1);
    expect(s.refusedShare).toBeGreaterThan(0);
  });

  it("from the second sample running over the bound, not falling, cuts the admitted requests to bound / delay of them, by a step at least", () => {
    const s = new Sampled(150);
    s.sample(150, 1);
    // At the bound: a step.
    s.sample(150, 1);
    expect(s.refusedShare).toBeCloseTo(LoadShedder.STEP_UP, 10);
    // Held for the 150 ms the queue then took: the delays read meanwhile are the backlog from before the cut.
    s.sample(300, 0.5);
    expect(s.refusedShare).toBeCloseTo(LoadShedder.STEP_UP, 10);
    // Twice too long after the hold: half of the 0.9 admitted.
    s.sample(300, 0.5);
    expect(s.refusedShare).toBeCloseTo(1 - 0.9 * 0.5, 10);
    // Still too long, but draining: held.
    s.sample(200, 1);
    expect(s.refusedShare).toBeCloseTo(0.55, 10);
    // Not falling, but still within the 300 ms hold: held.
    s.sample(200, 1);
    expect(s.refusedShare).toBeCloseTo(0.55, 10);
    // Growing again just over the bound once the hold has passed: a step of what is admitted.
    s.sample(200, 1);
    expect(s.refusedShare).toBeCloseTo(1 - 0.45 * 0.75, 10);
    for (let i = 0; i < 100; i++) s.sample(2000, 1);
    expect(s.refusedShare).toBe(LoadShedder.MAX_SHARE);
  });

  it("holds a cut for as long as the queue's delay was when it was made, and cuts again if the queue is still too long after it", () => {
    const s = new Sampled(100);
    s.sample(150, 1);
    s.sample(250, 1);
    // Cut to 100 / 250 of the requests, held until 250 ms later.
    expect(s.refusedShare).toBeCloseTo(0.6, 10);
    // Still rising, but these are datagrams queued before the cut: it cannot have shortened them yet.
    s.sample(300, 1);
    s.sample(340, 1);
    expect(s.refusedShare).toBeCloseTo(0.6, 10);
    // Past the hold and still rising: the cut was too small.
    s.sample(360, 1);
    expect(s.refusedShare).toBeCloseTo(1 - (0.4 * 100) / 360, 10);
  });

  it("with the queue read as it is now: refuses from the second sample over the bound, the admitted work scaled down by the queue's growth and its distance from half the bound", () => {
    const s = new Sampled(100);
    s.current(80, 1);
    s.current(120, 1);
    // One sample over the bound: a burst, not yet an overload.
    expect(s.refusedShare).toBe(0);
    // Grown by 80 ms in 100 ms (the loop gets 1.8 times what it serves), and 150 ms over half the bound, to
    // be closed within DRAIN_MS: the work admitted is divided by 1 + 0.8 + 150 / DRAIN_MS.
    s.current(200, 1);
    const excess = 0.8 + 150 / LoadShedder.DRAIN_MS;
    expect(s.refusedShare).toBeCloseTo(1 - 1 / (1 + excess), 10);
    // Still over the bound but falling faster than the distance asks: the loop has room, more is admitted.
    const admitted = 1 - s.refusedShare;
    s.current(150, 1);
    expect(1 - s.refusedShare).toBeCloseTo(admitted / (1 - 0.5 + 100 / LoadShedder.DRAIN_MS), 10);
    // Held at the bound, not falling: cut a little further, towards half the bound.
    const before = 1 - s.refusedShare;
    s.current(150, 1);
    expect(1 - s.refusedShare).toBeCloseTo(before / (1 + 100 / LoadShedder.DRAIN_MS), 10);
  });

  it("with the queue read as it is now: at most doubles the admitted work per sample, and doubles it at least once the queue is empty and the loop has idle time", () => {
    const s = new Sampled(100);
    s.current(400, 1);
    s.current(800, 1);
    s.current(1600, 1);
    expect(s.refusedShare).toBe(LoadShedder.MAX_SHARE);
    // Emptied at once: the work admitted doubles, not more.
    s.current(0, 1);
    expect(1 - s.refusedShare).toBeCloseTo(2 * (1 - LoadShedder.MAX_SHARE), 10);
    // Empty, steady, and the loop idle half the time: doubles again (the queue's own terms alone would not).
    const admitted = 1 - s.refusedShare;
    s.current(0, 0.5);
    expect(1 - s.refusedShare).toBeCloseTo(2 * admitted, 10);
    // Busy again with a queue under half the bound: it grows by what the distance asks, up to all admitted.
    for (let i = 0; i < 200; i++) s.current(20, 1);
    expect(s.refusedShare).toBe(0);
  });

  it("with the queue read as it is now: a reading over the bound that the probe does not confirm starts no refusal", () => {
    const s = new Sampled(100);
    // A burst or a collection near capacity: the queue now reads long, the probe's datagram came out quickly.
    for (let i = 0; i < 5; i++) s.current(180, 1, 20);
    expect(s.refusedShare).toBe(0);
    // Both agree: an overload.
    s.current(180, 1, 150);
    s.current(200, 1, 160);
    expect(s.refusedShare).toBeGreaterThan(0);
    // Once refusing, the queue now steers alone, whatever the probe still reads.
    const share = s.refusedShare;
    s.current(300, 1, 0);
    expect(s.refusedShare).toBeGreaterThan(share);
  });

  it("with the queue read as it is now: the backlog a pause of the loop left raises nothing", () => {
    const s = new Sampled(100);
    s.current(450, 1, 450, 400);
    s.current(300, 1);
    s.current(200, 1);
    expect(s.refusedShare).toBe(0);
  });

  it("a reading under the bound ends the hold: a queue that drained and rises again is new load, cut at once", () => {
    const s = new Sampled(100);
    s.sample(400, 1);
    s.sample(400, 1);
    // Cut to a quarter, and held for 400 ms.
    expect(s.refusedShare).toBeCloseTo(0.75, 10);
    // Drained, then a new flood within those 400 ms (the share held meanwhile: under the bound, not yet short).
    s.sample(80, 1);
    s.sample(150, 1);
    s.sample(300, 1);
    expect(s.refusedShare).toBeCloseTo(1 - (0.25 * 100) / 300, 10);
  });

  it("holds the share while the queue is under the bound but not short; once short the admitted requests grow by a quarter, and to what fits when the loop has idle time", () => {
    const s = new Sampled(150);
    s.sample(750, 1);
    s.sample(750, 1);
    expect(s.refusedShare).toBeCloseTo(0.8, 10);
    // Under the bound but not yet short: held.
    s.sample(100, 0.5);
    expect(s.refusedShare).toBeCloseTo(0.8, 10);
    // Short, the loop busy: a quarter more admitted (a busy loop with a short queue is no overload).
    s.sample(10, 0.95);
    expect(s.refusedShare).toBeCloseTo(1 - 0.2 * LoadShedder.GROWTH, 10);
    // Short (not drained), the loop half busy with a fifth admitted: 0.85 / 0.5 of that fits, more than a step.
    const before = s.refusedShare;
    s.sample(20, 0.5);
    expect(s.refusedShare).toBeCloseTo(1 - ((1 - before) * 0.85) / 0.5, 10);
    // The overload has passed: an idle loop, nothing refused.
    s.sample(1, 0.05);
    expect(s.refusedShare).toBe(0);
    // A busy loop with a short queue brings a share down to zero in steps.
    for (let i = 0; i < 5; i++) s.sample(300, 1);
    for (let i = 0; i < 60; i++) s.sample(10, 0.99);
    expect(s.refusedShare).toBe(0);
  });

  it("drained, with the loop below the target, at least doubles the admitted requests per sample: the refusals' own cost hides the idle time from the fit", () => {
    const s = new Sampled(100);
    for (let i = 0; i < 30; i++) s.sample(2000, 1);
    expect(s.refusedShare).toBe(LoadShedder.MAX_SHARE);
    // The loop 70 % busy with 2 % admitted: the fit reads 0.85 / 0.7 of them, but nothing waits: twice.
    s.sample(1, 0.7);
    expect(s.refusedShare).toBeCloseTo(1 - 0.02 * LoadShedder.DRAINED_GROWTH, 10);
    // Short but not drained: a step (more than the fit's 0.85 / 0.7 here).
    s.sample(20, 0.7);
    expect(s.refusedShare).toBeCloseTo(1 - 0.04 - LoadShedder.STEP_DOWN, 10);
    // Drained but the loop busy: it has no time to spare, a step again.
    s.sample(1, 0.95);
    expect(s.refusedShare).toBeCloseTo(1 - 0.06 - LoadShedder.STEP_DOWN, 10);
  });

  it("after a cut to the most it refuses, a short queue brings the share to zero within two seconds of samples, by a step at least while few are admitted", () => {
    const s = new Sampled(150);
    // Cut every 2 s (the hold) to less than a tenth.
    for (let i = 0; i < 50; i++) s.sample(2000, 1);
    expect(s.refusedShare).toBe(LoadShedder.MAX_SHARE);
    // 2 % admitted: a quarter more would be 0.5 %, the step is 2 %.
    s.sample(10, 1);
    expect(s.refusedShare).toBeCloseTo(1 - (1 - LoadShedder.MAX_SHARE) - LoadShedder.STEP_DOWN, 10);
    let samples = 1;
    while (s.refusedShare > 0 && samples < 100) {
      s.sample(10, 1);
      samples++;
    }
    // Every 100 ms (gateway.ts): 1.5 s. A fixed step of 2 % would take 49 samples.
    expect(samples).toBeLessThanOrEqual(16);
    expect(samples).toBeGreaterThanOrEqual(10);
  });

  it("refuses about its share of requests", () => {
    let seed = 1;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const s = new Sampled(150, random);
    for (let i = 0; i < 5; i++) s.sample(1000, 1);
    let refused = 0;
    for (let i = 0; i < 10_000; i++) if (s.refuse()) refused++;
    expect(refused / 10_000).toBeCloseTo(s.refusedShare, 1);
  });

  it("a bound of 0 never refuses", () => {
    const s = new Sampled(0, () => 0);
    for (let i = 0; i < 100; i++) s.sample(5000, 1);
    expect(s.refuse()).toBe(false);
  });
});

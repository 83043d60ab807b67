// The named timers of one transaction: two slots for the two a machine runs at once, a Map past them.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../edge-gateway/src/transaction/clock";
import { TimerSet, type TimerName } from "../../../edge-gateway/src/transaction/timer-set";

function setup() {
  const clock = new ManualClock();
  const timers = new TimerSet(clock);
  const fired: TimerName[] = [];
  const start = (name: TimerName, ms: number): void => timers.start(name, ms, () => fired.push(name));
  return { clock, timers, fired, start };
}

describe("TimerSet", () => {
  it("fires each timer once, and a fired timer is no longer running", () => {
    const { clock, timers, fired, start } = setup();
    start("E", 500);
    start("F", 32_000);
    expect(timers.names().sort()).toEqual(["E", "F"]);
    clock.advance(500);
    expect(fired).toEqual(["E"]);
    expect(timers.names()).toEqual(["F"]);
    clock.advance(31_500);
    expect(fired).toEqual(["E", "F"]);
    expect(timers.names()).toEqual([]);
    expect(clock.pendingCount()).toBe(0);
  });

  it("starting a running name replaces it: only the new one fires", () => {
    const { clock, timers, fired, start } = setup();
    start("E", 500);
    start("F", 32_000);
    clock.advance(400);
    start("E", 1_000);
    expect(timers.names().sort()).toEqual(["E", "F"]);
    clock.advance(600);
    expect(fired).toEqual([]);
    clock.advance(400);
    expect(fired).toEqual(["E"]);
    expect(clock.pendingCount()).toBe(1);
  });

  it("a slot freed by a stop or a firing is taken again; a third timer at once still runs and stops", () => {
    const { clock, timers, fired, start } = setup();
    start("A", 500);
    start("B", 32_000);
    start("D", 1_000);
    expect(timers.names().sort()).toEqual(["A", "B", "D"]);
    timers.stop("A");
    start("M", 2_000);
    expect(timers.names().sort()).toEqual(["B", "D", "M"]);
    clock.advance(1_000);
    expect(fired).toEqual(["D"]);
    expect(timers.names().sort()).toEqual(["B", "M"]);
    timers.stop("B");
    timers.stop("B");
    clock.advance(40_000);
    expect(fired).toEqual(["D", "M"]);
    expect(timers.names()).toEqual([]);
  });

  it("stopAll clears every timer, slots and overflow, and nothing fires after it", () => {
    const { clock, timers, fired, start } = setup();
    start("G", 500);
    start("H", 32_000);
    start("I", 5_000);
    timers.stopAll();
    expect(timers.names()).toEqual([]);
    expect(clock.pendingCount()).toBe(0);
    clock.advance(60_000);
    expect(fired).toEqual([]);
    start("J", 32_000);
    expect(timers.names()).toEqual(["J"]);
  });
});

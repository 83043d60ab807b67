import { describe, expect, it } from "vitest";
import { ManualClock, RealClock } from "../../../edge-gateway/src/transaction";

describe("ManualClock", () => {
  it("fires due timers in due-time order, ties in creation order, with now() at each due time", () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push(`c@${clock.now()}`));
    clock.setTimer(10, () => fired.push(`a@${clock.now()}`));
    clock.setTimer(10, () => fired.push(`b@${clock.now()}`));
    clock.advance(29);
    expect(fired).toEqual(["a@10", "b@10"]);
    clock.advance(1);
    expect(fired).toEqual(["a@10", "b@10", "c@30"]);
    expect(clock.now()).toBe(30);
  });

  it("fires timers set by fired callbacks when they fall due within the same advance", () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    const tick = (): void => {
      fired.push(clock.now());
      clock.setTimer(100, tick);
    };
    clock.setTimer(100, tick);
    clock.advance(350);
    expect(fired).toEqual([100, 200, 300]);
    expect(clock.now()).toBe(350);
    expect(clock.pendingCount()).toBe(1);
  });

  it("does not fire cleared timers", () => {
    const clock = new ManualClock();
    let fired = false;
    const handle = clock.setTimer(5, () => {
      fired = true;
    });
    clock.clearTimer(handle);
    clock.clearTimer(handle);
    clock.advance(10);
    expect(fired).toBe(false);
    expect(clock.pendingCount()).toBe(0);
  });

  it("refuses to go backwards", () => {
    expect(() => new ManualClock().advance(-1)).toThrow(RangeError);
  });
});

describe("RealClock", () => {
  it("fires after the delay and not once cleared", async () => {
    const clock = new RealClock();
    const fired: string[] = [];
    const start = clock.now();
    clock.setTimer(5, () => fired.push("kept"));
    clock.clearTimer(clock.setTimer(5, () => fired.push("cleared")));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(fired).toEqual(["kept"]);
    expect(clock.now() - start).toBeGreaterThanOrEqual(5);
  });
});

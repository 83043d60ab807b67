import { describe, expect, it } from "vitest";
import { DEFAULT_TIMER_CONFIG, T1, T2, T4, nextInterval, timerDurations } from "../../../edge-gateway/src/transaction";

describe("RFC 3261 timers (Table 4, UDP)", () => {
  it("Table 4: T1 = 500 ms, T2 = 4 s, T4 = 5 s", () => {
    expect([T1, T2, T4]).toEqual([500, 4000, 5000]);
  });

  it("Table 4: defaults for UDP derive A..K from T1, T2 and T4; D is at least 32 s; C exceeds 3 minutes", () => {
    const t = timerDurations();
    expect(t).toMatchObject({ A: 500, B: 32_000, E: 500, F: 32_000, G: 500, H: 32_000, I: 5000, J: 32_000, K: 5000 });
    expect(t.D).toBeGreaterThanOrEqual(32_000);
    expect(t.C).toBeGreaterThan(180_000);
  });

  it("every timer follows a configured T1/T2/T4, Timer D and Timer C", () => {
    const t = timerDurations({ t1: 10, t2: 80, t4: 100, timerD: 320, timerC: 5000 });
    expect(t).toEqual({
      T1: 10, T2: 80, T4: 100, A: 10, B: 640, C: 5000, D: 320, E: 10, F: 640, G: 10, H: 640, I: 100, J: 640, K: 100,
      L: 640, M: 640,
    });
  });

  it("missing fields take the defaults", () => {
    expect(timerDurations({ t1: 100 }).K).toBe(DEFAULT_TIMER_CONFIG.t4);
  });

  it("rejects non-positive values and T2 below T1", () => {
    expect(() => timerDurations({ t1: 0 })).toThrow(RangeError);
    expect(() => timerDurations({ t4: Number.NaN })).toThrow(RangeError);
    expect(() => timerDurations({ t1: 600, t2: 500 })).toThrow(/t2/);
  });

  it("17.1.2.2: retransmission intervals double, capped at T2 when a cap applies", () => {
    expect(nextInterval(500, 4000)).toBe(1000);
    expect(nextInterval(4000, 4000)).toBe(4000);
    expect(nextInterval(3000, 4000)).toBe(4000);
    expect(nextInterval(8000)).toBe(16000);
  });
});

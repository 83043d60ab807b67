import { describe, expect, it } from "vitest";
import { SourceRateLimiter } from "../../../edge-gateway/src/ingress/rate-limiter";

const opts = { windowMs: 2000, density: 10, blockMs: 60_000, maxSources: 1000 };

/** Sends `n` datagrams from `key` spread over [from, from + spanMs); returns the verdicts. */
function send(l: SourceRateLimiter, key: string, n: number, from: number, spanMs = 0): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const now = from + (spanMs * i) / n;
    const v = l.hit(key, now);
    if (v === "over") l.block(key, now);
    out.push(v);
  }
  return out;
}

describe("SourceRateLimiter: window, density, block", () => {
  it("lets `density` datagrams per window through and says 'over' at the next one", () => {
    const l = new SourceRateLimiter(opts);
    const v = send(l, "a", 11, 0, 100);
    expect(v.slice(0, 10)).toEqual(new Array(10).fill("ok"));
    expect(v[10]).toBe("over");
  });

  it("a steady source just under the density never goes over, window after window", () => {
    const l = new SourceRateLimiter(opts);
    // 9 per 2 s, for a minute (10 evenly spaced would put 11 within a closed 2 s interval).
    const v = send(l, "phone", 270, 0, 60_000);
    expect(v.flatMap((x, i) => (x === "ok" ? [] : [i]))).toEqual([]);
  });

  it("a burst straddling a window boundary is not let through twice (sliding estimate)", () => {
    const l = new SourceRateLimiter(opts);
    // 10 at the very end of one window, 10 at the start of the next: 20 within 100 ms.
    const a = send(l, "b", 10, 1900, 50);
    const b = send(l, "b", 10, 2000, 50);
    expect(a.every((x) => x === "ok")).toBe(true);
    expect(b).toContain("over");
  });

  it("the count of an older window is forgotten: a quiet source starts again from zero", () => {
    const l = new SourceRateLimiter(opts);
    send(l, "c", 10, 0, 100);
    expect(send(l, "c", 10, 5000, 100).every((x) => x === "ok")).toBe(true);
  });

  it("a blocked source stays blocked while it keeps flooding, and is let in once it stopped for the block time", () => {
    const l = new SourceRateLimiter(opts);
    send(l, "f", 11, 0);
    expect(l.isBlocked("f", 1)).toBe(true);
    // Flooding on for 100 s: 100 per second, always over the density: the block is renewed.
    const during = send(l, "f", 10_000, 1, 100_000);
    expect(during.every((x) => x === "blocked")).toBe(true);
    // Quiet from 100 s on: still blocked just before 160 s, let in after.
    expect(l.isBlocked("f", 159_000)).toBe(true);
    expect(l.hit("f", 160_100)).toBe("ok");
    expect(l.isBlocked("f", 160_100)).toBe(false);
  });

  it("a blocked source that slows below the density is let in when the block runs out", () => {
    const l = new SourceRateLimiter(opts);
    send(l, "s", 11, 0);
    // One datagram every 2 s: under the density, so the block is not renewed.
    const v = send(l, "s", 40, 1000, 80_000);
    expect(v.slice(0, 29)).toEqual(new Array(29).fill("blocked"));
    expect(v.slice(31).every((x) => x === "ok")).toBe(true);
    expect(l.blockedCount(81_000)).toBe(0);
  });

  it("sources are counted apart; release() forgets one", () => {
    const l = new SourceRateLimiter(opts);
    send(l, "x", 11, 0);
    expect(send(l, "y", 10, 0).every((v) => v === "ok")).toBe(true);
    expect(l.blockedCount(1)).toBe(1);
    l.release("x");
    expect(l.hit("x", 2)).toBe("ok");
  });
});

describe("SourceRateLimiter: bounded memory under spoofed-source floods", () => {
  it("a million one-off spoofed sources keep at most maxSources entries, and the blocked flooder stays blocked", () => {
    const l = new SourceRateLimiter({ ...opts, maxSources: 10_000 });
    send(l, "203.0.113.66", 11, 0);
    let t = 10;
    let letIn = 0;
    const started = performance.now();
    for (let i = 0; i < 1_000_000; i++) {
      // 100 000 spoofed datagrams per second, each from a new address ...
      t += 0.01;
      l.hit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, t);
      // ... while the real flooder keeps sending, 1000 per second.
      if (i % 100 === 0 && l.hit("203.0.113.66", t) !== "blocked") letIn++;
    }
    const elapsed = performance.now() - started;
    expect(l.size).toBeLessThanOrEqual(10_000);
    expect(letIn).toBe(0);
    expect(l.isBlocked("203.0.113.66", t)).toBe(true);
    // O(1) per datagram: half a second on an idle core; an O(entries) eviction would take minutes. The bound
    // is loose for a machine shared with other test runs.
    expect(elapsed).toBeLessThan(15_000);
  }, 30_000);
});

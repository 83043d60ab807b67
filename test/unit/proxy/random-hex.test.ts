// Branches and tags come from a pooled CSPRNG (proxy/random-hex.ts): the right length, never repeated, and
// still random across pool refills.
import { describe, expect, it } from "vitest";
import { randomHex } from "../../../edge-gateway/src/proxy/random-hex";
import { newBranch } from "../../../edge-gateway/src/proxy/via-routing";

describe("randomHex", () => {
  it("gives 2 x n hex characters, none repeated over many pool refills", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const h = randomHex(12);
      expect(h).toMatch(/^[0-9a-f]{24}$/);
      seen.add(h);
    }
    expect(seen.size).toBe(20_000);
  });

  it("uses every hex digit about equally (not a constant or a counter)", () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) for (const c of randomHex(8)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(16);
    for (const n of counts.values()) expect(Math.abs(n / 64_000 - 1 / 16)).toBeLessThan(0.01);
  });

  it("refuses sizes outside 1..256", () => {
    expect(() => randomHex(0)).toThrow(RangeError);
    expect(() => randomHex(257)).toThrow(RangeError);
  });

  it("new branches carry the magic cookie and 96 random bits", () => {
    expect(newBranch()).toMatch(/^z9hG4bK[0-9a-f]{24}$/);
    expect(newBranch("abc")).toMatch(/^z9hG4bKabc\.[0-9a-f]{24}$/);
  });
});

// The non-cryptographic 64-bit hash behind the loop-detection part of a branch and the To tag of a
// stateless reply (proxy/hash-hex.ts): the same text gives the same digits, different texts different ones.
import { describe, expect, it } from "vitest";
import { hashHex } from "../../../edge-gateway/src/proxy/hash-hex";

describe("hashHex", () => {
  it("is 16 lowercase hex digits, the same for the same text", () => {
    const a = hashHex("z9hG4bK-1\ncall-1@host");
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(hashHex("z9hG4bK-1\ncall-1@host")).toBe(a);
    expect(hashHex("")).toMatch(/^[0-9a-f]{16}$/);
  });

  it("a text differing in its last character differs in most of the digits", () => {
    const a = hashHex("z9hG4bK-abc\ncall@host-1");
    const b = hashHex("z9hG4bK-abc\ncall@host-2");
    let same = 0;
    for (let i = 0; i < 16; i++) if (a[i] === b[i]) same++;
    // Unrelated digits agree one time in 16 on average.
    expect(same).toBeLessThanOrEqual(5);
  });

  it("gives no collision over 200,000 texts of the shape it hashes, even cut to the 12 digits of a To tag", () => {
    const full = new Set<string>();
    const tag = new Set<string>();
    for (let i = 0; i < 200_000; i++) {
      const h = hashHex(`z9hG4bK-${i}-1\n${i}-1234@127.0.0.1`);
      full.add(h);
      tag.add(h.slice(0, 12));
    }
    expect(full.size).toBe(200_000);
    expect(tag.size).toBe(200_000);
  });

  it("tells apart texts that are permutations or repetitions of each other", () => {
    const texts = ["ab", "ba", "abab", "baba", "aabb", "a\nb", "b\na", "ab\n", "\nab"];
    expect(new Set(texts.map(hashHex)).size).toBe(texts.length);
  });
});

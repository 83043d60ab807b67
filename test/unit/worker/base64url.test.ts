// base64url without padding (worker/src/base64url.ts), against Node's own encoder.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fromBase64url, toBase64url } from "../../../worker/src/base64url";

describe("base64url", () => {
  it("encodes every length from 0 to 300 as Node does, and decodes back", () => {
    for (let n = 0; n <= 300; n++) {
      const bytes = new Uint8Array(randomBytes(n));
      const text = toBase64url(bytes);
      expect(text).toBe(Buffer.from(bytes).toString("base64url"));
      expect(fromBase64url(text)).toEqual(bytes);
    }
  });

  it("encodes the RFC 4648 test vectors (without padding)", () => {
    const cases: [string, string][] = [
      ["", ""],
      ["f", "Zg"],
      ["fo", "Zm8"],
      ["foo", "Zm9v"],
      ["foob", "Zm9vYg"],
      ["fooba", "Zm9vYmE"],
      ["foobar", "Zm9vYmFy"],
    ];
    for (const [plain, encoded] of cases) {
      expect(toBase64url(new TextEncoder().encode(plain))).toBe(encoded);
      expect(new TextDecoder().decode(fromBase64url(encoded))).toBe(plain);
    }
    // The two characters that differ from base64.
    expect(toBase64url(new Uint8Array([0xfb, 0xff]))).toBe("-_8");
  });

  it("refuses what is not base64url", () => {
    for (const bad of ["a", "abcde", "Zg==", "Zm9v+A", "Zm9v/A", "Zm 9v", "Zé", "Zm9\u0100", "Zm9v\n"]) {
      expect(fromBase64url(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });
});

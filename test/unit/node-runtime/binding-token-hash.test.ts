// The Node runtime hashes binding tokens with node:crypto (synchronous) instead of WebCrypto: the tokens must
// be the same, or a binding saved by one runtime would not be found by the other on a shared store.
import { describe, expect, it } from "vitest";
import { nodeSha256 } from "../../../node-runtime/runtime";
import { bindingToken, webCryptoSha256 } from "../../../worker/src/registrar/binding-token";

describe("binding tokens in the Node runtime", () => {
  it("node:crypto's hash gives the same tokens as WebCrypto's, for ASCII and non-ASCII identities", async () => {
    const cases: [string, string, string][] = [
      ["201", "tenant-a.example", "<urn:uuid:00000000-0000-1000-8000-000a95a0e128>;1"],
      ["202", "tenant-b.example", "sip:202@192.0.2.7:5070|198.51.100.9"],
      ["zoë", "tenant-ä.example", "sip:zoë@[2001:db8::1]:5060"],
      ["", "", ""],
    ];
    for (const [u, d, id] of cases) {
      const viaWebCrypto = await bindingToken(u, d, id);
      expect(await bindingToken(u, d, id, nodeSha256)).toBe(viaWebCrypto);
      expect(viaWebCrypto).toMatch(/^[0-9a-f]{20}$/);
    }
    // FIPS 180-2 appendix B.1: SHA-256("abc"), in both runtimes, synchronously in the Node one.
    const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    expect(nodeSha256("abc")).toBe(abc);
    expect(await webCryptoSha256("abc")).toBe(abc);
  });
});

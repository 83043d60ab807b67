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
    expect(nodeSha256("x")).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(await nodeSha256("abc")).toString("hex")).toBe(Buffer.from(await webCryptoSha256("abc")).toString("hex"));
  });
});

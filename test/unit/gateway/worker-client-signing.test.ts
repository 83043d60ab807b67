// The gateway signs its worker calls synchronously with node:crypto (worker-client.ts signRequestSync)
// instead of Web Crypto in the thread pool: the headers must be exactly contract/signing.ts's, and the
// worker's check (verifyRequest, Web Crypto) must accept them.
import { describe, expect, it } from "vitest";
import { importHmacKey, signRequest, verifyRequest } from "../../../contract/signing";
import { signRequestSync } from "../../../edge-gateway/src/worker-client/worker-client";

const SECRET = "worker-client-signing-secret-0123";
const headersOf = (h: Record<string, string>) => ({ get: (n: string) => h[n] ?? null });

describe("the gateway's synchronous request signature", () => {
  const bodies = ['{"kind":"request","method":"REGISTER"}', "", '{"displayName":"Zoë 東京 ☎"}'];

  it.each(bodies)("equals Web Crypto's signRequest for the same time and nonce (body %j)", async (body) => {
    const key = await importHmacKey(SECRET);
    const now = 1_796_400_000_123;
    const nonce = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    expect(signRequestSync(SECRET, "/v1/request", body, now, nonce)).toEqual(await signRequest(key, "/v1/request", body, now, nonce));
  });

  it("is accepted by the worker's verifyRequest, and only for the path and body it signed", async () => {
    const key = await importHmacKey(SECRET);
    const now = Date.now();
    const h = signRequestSync(SECRET, "/v1/response", bodies[2]!, now);
    expect(await verifyRequest([key], "/v1/response", bodies[2]!, headersOf(h), now, 30)).toMatchObject({ ok: true, keyIndex: 0 });
    expect(await verifyRequest([key], "/v1/request", bodies[2]!, headersOf(h), now, 30)).toMatchObject({ ok: false });
    expect(await verifyRequest([key], "/v1/response", bodies[0]!, headersOf(h), now, 30)).toMatchObject({ ok: false });
  });

  it("uses a fresh nonce per call", () => {
    const a = signRequestSync(SECRET, "/v1/request", "{}", 0);
    const b = signRequestSync(SECRET, "/v1/request", "{}", 0);
    expect(a["x-edge-nonce"]).not.toBe(b["x-edge-nonce"]);
  });
});

import { describe, expect, it } from "vitest";
import { NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../../contract/signing";
import { registerEvent, self, signedPost } from "./support";

const ev = registerEvent({ user: "201", domain: "auth.example", contacts: ["sip:201@192.0.2.1"] });

describe("gateway endpoint authentication", () => {
  it("refuses an unsigned request with 401", async () => {
    const res = await self.fetch(new Request("http://worker/v1/request", { method: "POST", body: JSON.stringify(ev) }));
    expect(res.status).toBe(401);
    // The reason (no signature) is logged; the unauthenticated caller learns only "unauthorized".
    expect(((await res.json()) as { error: string }).error).toBe("unauthorized");
  });

  it("refuses a bad signature", async () => {
    const res = await signedPost("/v1/request", ev, (h) => {
      h[SIGNATURE_HEADER] = h[SIGNATURE_HEADER]!.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    });
    expect(res.status).toBe(401);
  });

  it("refuses a timestamp outside the window", async () => {
    const res = await signedPost("/v1/request", ev, (h) => {
      h[TIMESTAMP_HEADER] = String(Math.floor(Date.now() / 1000) - 3600);
    });
    expect(res.status).toBe(401);
  });

  it("refuses a replayed request (same nonce twice)", async () => {
    let nonce = "";
    const first = await signedPost("/v1/request", ev, (h) => {
      nonce = h[NONCE_HEADER]!;
    });
    expect(first.status).toBe(200);
    const body = JSON.stringify(ev);
    const { importHmacKey, signRequest } = await import("../../contract/signing");
    const headers = await signRequest(await importHmacKey("worker-test-gateway-secret-0123"), "/v1/request", body, Date.now(), nonce);
    const replay = await self.fetch(new Request("http://worker/v1/request", { method: "POST", body, headers }));
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { error: string }).error).toBe("unauthorized");
  });

  it("answers 400 with the first problem for a signed but malformed event", async () => {
    const res = await signedPost("/v1/request", { ...ev, method: undefined });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/^method:/);
  });

  it("ignores unknown fields", async () => {
    const res = await signedPost("/v1/request", { ...ev, somethingNew: 1 });
    expect(res.status).toBe(200);
  });
});

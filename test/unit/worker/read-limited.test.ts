// The worker reads a gateway call's body once, bounded (worker/src/gateway/gateway-auth.ts readLimited).
import { describe, expect, it } from "vitest";
import { readLimited } from "../../../worker/src/gateway/gateway-auth";

/** A POST whose body arrives in the given chunks, without a content-length. */
function chunked(chunks: Uint8Array[]): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
  return new Request("http://worker/v1/request", { method: "POST", body, duplex: "half" } as RequestInit);
}

describe("readLimited", () => {
  const text = '{"sip":"INVITE sip:201@tenant-a.example SIP/2.0","note":"é ü 你好"}';
  const bytes = new TextEncoder().encode(text);

  it("reads a body of one chunk", async () => {
    expect(await readLimited(chunked([bytes]), 1000)).toBe(text);
  });

  it("reads a body of several chunks, a UTF-8 character split between two", async () => {
    const split = bytes.indexOf(0xc3) + 1; // inside "é"
    expect(await readLimited(chunked([bytes.slice(0, split), bytes.slice(split, split + 5), bytes.slice(split + 5)]), 1000)).toBe(text);
  });

  it("reads an empty body", async () => {
    expect(await readLimited(new Request("http://worker/v1/request", { method: "POST" }), 10)).toBe("");
  });

  it("refuses a body over the limit with 413, declared or streamed", async () => {
    await expect(readLimited(chunked([bytes, bytes]), bytes.length + 1)).rejects.toMatchObject({ status: 413 });
    const declared = new Request("http://worker/v1/request", { method: "POST", body: text, headers: { "content-length": String(bytes.length) } });
    await expect(readLimited(declared, bytes.length - 1)).rejects.toMatchObject({ status: 413 });
  });
});

import { describe, expect, it } from "vitest";
import { ByteSlab, parseMessage, serializeMessage, textBody } from "../../../sip/index";
import type { SipResponse } from "../../../sip/index";

describe("ByteSlab", () => {
  it("hands out zero-filled views that never overlap, on 8-byte boundaries, from one shared buffer", () => {
    const slab = new ByteSlab(1024, 256);
    const views = [5, 8, 13, 1, 100].map((n) => slab.take(n));
    expect(views.map((v) => v.length)).toEqual([5, 8, 13, 1, 100]);
    for (const v of views) {
      expect(v.every((b) => b === 0)).toBe(true);
      expect(v.byteOffset % 8).toBe(0);
      expect(v.buffer).toBe(views[0]!.buffer);
    }
    views.forEach((v, i) => v.fill(i + 1));
    views.forEach((v, i) => expect(v.every((b) => b === i + 1)).toBe(true));
  });

  it("starts a new slab when the current one is full and never writes into the old one again", () => {
    const slab = new ByteSlab(64, 32);
    const a = slab.take(32).fill(0xaa);
    const b = slab.take(32).fill(0xbb);
    const c = slab.take(8);
    expect(b.buffer).toBe(a.buffer);
    expect(c.buffer).not.toBe(a.buffer);
    expect(c.every((x) => x === 0)).toBe(true);
    c.fill(0xcc);
    expect(a.every((x) => x === 0xaa) && b.every((x) => x === 0xbb)).toBe(true);
  });

  it("gives a request above maxPiece an array of its own, leaving the slab's room to the next one", () => {
    const slab = new ByteSlab(64, 16);
    const small = slab.take(8);
    const big = slab.take(40);
    const next = slab.take(8);
    expect(big.length).toBe(40);
    expect(big.buffer).not.toBe(small.buffer);
    expect(big.byteLength).toBe(big.buffer.byteLength);
    expect(next.buffer).toBe(small.buffer);
    expect(next.byteOffset).toBe(8);
  });

  it("refuses a maxPiece outside 1..slabBytes", () => {
    expect(() => new ByteSlab(64, 65)).toThrow(RangeError);
    expect(() => new ByteSlab(64, 0)).toThrow(RangeError);
  });
});

describe("serializeMessage into slabs", () => {
  const response = (n: number, reason = "OK"): SipResponse => ({
    kind: "response",
    status: 200,
    reason,
    headers: [
      { name: "Via", value: `SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK${n}` },
      { name: "From", value: "<sip:201@tenant-a.example>;tag=a" },
      { name: "To", value: "<sip:201@tenant-a.example>;tag=b" },
      { name: "Call-ID", value: `call-${n}@192.0.2.10` },
      { name: "CSeq", value: `${n + 1} REGISTER` },
    ],
    body: n % 2 === 0 ? textBody(`body ${n}`) : textBody(""),
  });
  const text = (b: Uint8Array): string => new TextDecoder().decode(b);

  it("keeps every earlier message's bytes intact while many more are written, by default and into a slab given", () => {
    const own = new ByteSlab(1024, 512);
    const kept = Array.from({ length: 600 }, (_, n) => ({ n, bytes: serializeMessage(response(n), n % 3 === 0 ? own : undefined) }));
    for (const { n, bytes } of kept) {
      expect(text(bytes)).toBe(text(serializeMessage(response(n))));
      const parsed = parseMessage(bytes);
      expect(parsed.ok && parsed.message.kind === "response" && parsed.message.headers.find((h) => h.name === "Call-ID")?.value).toBe(`call-${n}@192.0.2.10`);
    }
    expect(kept.filter((k) => k.n % 3 === 0).every((k) => k.bytes.buffer !== kept[1]!.bytes.buffer)).toBe(true);
  });

  it("writes a head wider than ASCII as UTF-8 with its body, whole", () => {
    const bytes = serializeMessage({ ...response(2, "Très bien ☎"), body: textBody("é") });
    expect(text(bytes)).toMatch(/^SIP\/2\.0 200 Très bien ☎\r\n/);
    expect(text(bytes)).toMatch(/Content-Length: 2\r\n\r\né$/);
    const noBody = serializeMessage(response(1, "Très bien"));
    expect(text(noBody)).toMatch(/^SIP\/2\.0 200 Très bien\r\n[\s\S]*Content-Length: 0\r\n\r\n$/);
  });
});

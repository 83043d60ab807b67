// The request event says which gateway socket a request arrived on, so that the worker can count a
// request as a tenant's Asterisk only when it came in on the Asterisk-side socket (docs/security.md).
import { describe, expect, it } from "vitest";
import { ASTERISK, decide, flush, setup } from "./core-harness";
import { request } from "./support";

const invite = (branch: string) =>
  request([
    "INVITE sip:201@192.0.2.1:5060 SIP/2.0",
    `Via: SIP/2.0/UDP ${ASTERISK.ip}:${ASTERISK.port};branch=${branch}`,
    "Max-Forwards: 70",
    "From: <sip:pbx@tenant-a.example>;tag=p1",
    "To: <sip:201@tenant-a.example>",
    `Call-ID: ${branch}@pbx`,
    "CSeq: 1 INVITE",
    "Content-Length: 0",
  ]);

describe("ProxyCore: the socket role in the request event", () => {
  it("one shared socket says 'shared'", async () => {
    const h = setup();
    h.worker.onRequest = () => decide({ action: "reply", status: 404, reason: "Not Found" });
    h.fromPbx(invite("z9hG4bK-role-1"));
    await flush();
    expect(h.worker.requests[0]?.localRole).toBe("shared");
  });

  it("with a separate PBX socket: 'pbx' for what arrived there, 'phones' for the phones' socket, whatever the source", async () => {
    const h = setup({ twoListeners: true });
    h.worker.onRequest = () => decide({ action: "reply", status: 404, reason: "Not Found" });
    h.fromPbx(invite("z9hG4bK-role-2"));
    h.fromPhone(invite("z9hG4bK-role-3"), ASTERISK);
    await flush();
    expect(h.worker.requests.map((r) => r.localRole)).toEqual(["pbx", "phones"]);
  });
});

describe("event builder: a huge Expires is clamped, not dropped", () => {
  it("Expires beyond 2^32-1 reaches the worker as 2^32-1; garbage is still absent", async () => {
    const h = setup();
    h.worker.onRequest = () => decide({ action: "reply", status: 423, reason: "Interval Too Brief" });
    const reg = (branch: string, expires: string) =>
      request([
        "REGISTER sip:tenant-a.example SIP/2.0",
        `Via: SIP/2.0/UDP 10.0.0.5:5060;branch=${branch}`,
        "Max-Forwards: 70",
        "From: <sip:401@tenant-a.example>;tag=r1",
        "To: <sip:401@tenant-a.example>",
        `Call-ID: ${branch}@10.0.0.5`,
        "CSeq: 1 REGISTER",
        "Contact: <sip:401@10.0.0.5:5060>",
        `Expires: ${expires}`,
        "Content-Length: 0",
      ]);
    h.fromPhone(reg("z9hG4bK-exp-1", "99999999999999999999"));
    h.fromPhone(reg("z9hG4bK-exp-2", "soon"));
    await flush();
    expect(h.worker.requests.map((r) => r.parsed.expires)).toEqual([0xffffffff, undefined]);
  });
});

// Failover to the next destination within the transaction (docs/operations.md, "Failover within a
// transaction"): a REGISTER or INVITE relayed to one box that times out, or gets 408 or 503, goes on to
// the target's next hop in the same response context (RFC 3261 16.6, 16.7: serial forking).
import { describe, expect, it } from "vitest";
import type { RequestDecisionInput } from "../../../contract/v1";
import type { SipRequest } from "../../../sip/message";
import type { Harness } from "./core-harness";
import { ASTERISK, decide, flush, forward, label, requestsOf, setup } from "./core-harness";
import { addr, answer, request, topBranch, value } from "./support";

/** The tenant's three boxes: BOX_1 is chosen first, BOX_2 and BOX_3 are its alternatives in that order. */
const BOX_1 = ASTERISK;
const BOX_2 = addr("198.51.100.11", 5060);
const BOX_3 = addr("198.51.100.12", 5070);
/** Default timers: T1 500 ms, so the request's deadline is 64*T1 = 32 s after it arrived. */
const F = 32_000;

function register(): SipRequest {
  return request([
    "REGISTER sip:tenant-a.example SIP/2.0",
    "Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK-fo-reg-1",
    "Max-Forwards: 70",
    "From: <sip:401@tenant-a.example>;tag=r1",
    "To: <sip:401@tenant-a.example>",
    "Call-ID: fo-reg-1@10.0.0.5",
    "CSeq: 7 REGISTER",
    "Contact: <sip:401@10.0.0.5:5060>;expires=3600",
    "Expires: 3600",
    "Content-Length: 0",
  ]);
}

function invite(): SipRequest {
  return request([
    "INVITE sip:100@tenant-a.example SIP/2.0",
    "Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK-fo-inv-1",
    "Max-Forwards: 70",
    "From: <sip:401@tenant-a.example>;tag=i1",
    "To: <sip:100@tenant-a.example>",
    "Call-ID: fo-inv-1@10.0.0.5",
    "CSeq: 1 INVITE",
    "Contact: <sip:401@10.0.0.5:5060>",
    "Content-Length: 0",
  ]);
}

const ALT_2 = { ip: BOX_2.ip, port: BOX_2.port };
const ALT_3 = { ip: BOX_3.ip, port: BOX_3.port, requestUri: "sip:100@198.51.100.12:5070" };
const toBox1 = { nextHop: { ip: BOX_1.ip, port: BOX_1.port }, side: "pbx" as const, alternatives: [ALT_2, ALT_3] };

const REGISTER_RELAY: RequestDecisionInput = {
  action: "relay",
  targets: [{ requestUri: "sip:tenant-a.example", ...toBox1, alternatives: [ALT_2], contacts: [{ user: "401", uriParams: { tok: "t1" } }] }],
  wantResponse: "2xx",
  context: "sealed-register-context",
};

const INVITE_RELAY: RequestDecisionInput = { action: "relay", targets: [{ requestUri: "sip:100@tenant-a.example", ...toBox1 }], recordRoute: true };

/** The requests of `method` sent to `box`, as `ip:port`-labelled copies. */
function sentTo(sent: ReturnType<Harness["take"]>, method: string, box: { ip: string; port: number }): SipRequest[] {
  return requestsOf(sent, method)
    .filter((r) => r.to.ip === box.ip && r.to.port === box.port)
    .map((r) => r.request);
}

function responsesToPhone(sent: ReturnType<Harness["take"]>): number[] {
  return sent.flatMap((s) => (s.message.kind === "response" && s.to.ip === "203.0.113.50" ? [s.message.status] : []));
}

describe("ProxyCore: failover to the target's next hop within the transaction", () => {
  it("a REGISTER unanswered by box 1 goes to box 2 within the request's time, and box 2's 200 is decided and reaches the phone", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(REGISTER_RELAY);
    h.worker.onResponse = () => forward();
    h.fromPhone(register());
    await flush();
    const first = sentTo(h.take(), "REGISTER", BOX_1);
    expect(first).toHaveLength(1);
    // Box 1 gets the first half of 64*T1 (one alternative left), retransmissions included (17.1.2.2).
    h.clock.advance(F / 2 - 1);
    expect(sentTo(h.take(), "REGISTER", BOX_2)).toEqual([]);
    h.clock.advance(1);
    const sent = h.take();
    const [second] = sentTo(sent, "REGISTER", BOX_2);
    expect(second).toBeDefined();
    // A new branch (16.6 step 8), the same request otherwise.
    expect(topBranch(second!)).not.toBe(topBranch(first[0]!));
    expect([second!.uri, value(second!, "Call-ID"), value(second!, "CSeq"), value(second!, "Contact")]).toEqual([
      first[0]!.uri,
      "fo-reg-1@10.0.0.5",
      "7 REGISTER",
      value(first[0]!, "Contact"),
    ]);
    expect(responsesToPhone(sent)).toEqual([]);
    expect(h.metrics.get("edge_gateway_failovers_total", { method: "REGISTER" })).toBe(1);

    h.fromPbx(answer(second!, 200, "OK", ["Contact: <sip:401@192.0.2.1:5060;tok=t1>;expires=3600"]), BOX_2);
    await flush();
    // Save-on-2xx: the worker sees the 200 from box 2 with the context it sealed for the request.
    expect(h.worker.responses).toHaveLength(1);
    expect(h.worker.responses[0]!.context).toBe("sealed-register-context");
    expect(h.worker.responses[0]!.source).toMatchObject({ ip: BOX_2.ip, port: BOX_2.port });
    const after = h.take();
    expect(responsesToPhone(after)).toEqual([200]);
    // Box 1's client transaction was ended: nothing more goes there.
    h.clock.advance(F);
    expect(sentTo(h.take(), "REGISTER", BOX_1)).toEqual([]);
  });

  it("an INVITE answered 503 by box 1 goes to box 2, whose 200 reaches the phone; the phone never sees the 503", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(INVITE_RELAY);
    h.fromPhone(invite());
    await flush();
    const [first] = sentTo(h.take(), "INVITE", BOX_1);
    h.fromPbx(answer(first!, 100, "Trying"), BOX_1);
    h.fromPbx(answer(first!, 503, "Service Unavailable"), BOX_1);
    const sent = h.take();
    // 17.1.1.3: the 503 is ACKed to box 1 by its client transaction; the INVITE goes on to box 2.
    expect(sent.map(label).sort()).toEqual(["ACK -> 198.51.100.10:5060", "INVITE -> 198.51.100.11:5060"]);
    const [second] = sentTo(sent, "INVITE", BOX_2);
    expect(second!.uri).toBe("sip:100@tenant-a.example");
    h.fromPbx(answer(second!, 180, "Ringing"), BOX_2);
    h.fromPbx(answer(second!, 200, "OK", ["Contact: <sip:100@198.51.100.11:5060>"]), BOX_2);
    expect(responsesToPhone(h.take())).toEqual([180, 200]);
  });

  it("an INVITE whose callee rang at box 1 (180) and then got 503 is not retried: the phone gets 500 (16.7 step 6)", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(INVITE_RELAY);
    h.fromPhone(invite());
    await flush();
    const [first] = sentTo(h.take(), "INVITE", BOX_1);
    h.fromPbx(answer(first!, 180, "Ringing"), BOX_1);
    h.fromPbx(answer(first!, 503, "Service Unavailable"), BOX_1);
    const sent = h.take();
    expect(requestsOf(sent, "INVITE")).toEqual([]);
    expect(responsesToPhone(sent)).toEqual([180, 500]);
    expect(h.metrics.get("edge_gateway_failovers_total", { method: "INVITE" })).toBe(0);
  });

  it("every hop in turn, the last one with its own Request-URI; all unanswered: the phone gets 408 within 64*T1", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(INVITE_RELAY);
    h.fromPhone(invite());
    await flush();
    const seen: string[] = requestsOf(h.take(), "INVITE").map((r) => `${r.to.ip}:${r.to.port} ${r.request.uri}`);
    let phone: number[] = [];
    for (let t = 0; t < F; t += 500) {
      h.clock.advance(500);
      const sent = h.take();
      for (const s of sent) if (s.message.kind === "request" && s.message.method === "INVITE" && !seen.includes(`${s.to.ip}:${s.to.port} ${s.message.uri}`)) seen.push(`${s.to.ip}:${s.to.port} ${s.message.uri}`);
      phone = [...phone, ...responsesToPhone(sent)];
      if (phone.length > 0) break;
    }
    expect(seen).toEqual(["198.51.100.10:5060 sip:100@tenant-a.example", "198.51.100.11:5060 sip:100@tenant-a.example", "198.51.100.12:5070 sip:100@198.51.100.12:5070"]);
    expect(phone).toEqual([408]);
    expect(h.clock.now()).toBeLessThanOrEqual(F);
  });

  it("all hops answer 503: the phone gets one 500 (16.7 step 6), after each box was tried once", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(INVITE_RELAY);
    h.fromPhone(invite());
    await flush();
    for (const box of [BOX_1, BOX_2, BOX_3]) {
      const sent = h.take();
      const [inv] = sentTo(sent, "INVITE", box);
      expect(inv, `${box.ip}:${box.port}`).toBeDefined();
      h.fromPbx(answer(inv!, 503, "Service Unavailable"), box);
    }
    expect(responsesToPhone(h.take())).toEqual([500]);
  });

  it("a 408 from box 1 fails over too; a 486 does not", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(INVITE_RELAY);
    h.fromPhone(invite());
    await flush();
    const [first] = sentTo(h.take(), "INVITE", BOX_1);
    h.fromPbx(answer(first!, 408, "Request Timeout"), BOX_1);
    const [second] = sentTo(h.take(), "INVITE", BOX_2);
    h.fromPbx(answer(second!, 486, "Busy Here"), BOX_2);
    const sent = h.take();
    expect(requestsOf(sent, "INVITE")).toEqual([]);
    // 16.7 step 6: 486 and 408 are both 4xx; the first one wins.
    expect(responsesToPhone(sent)).toEqual([408]);
  });

  it("an INVITE box 1 never answered (not even 100) is given up at its share of 64*T1; its late 180 is a stray, not relayed", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(INVITE_RELAY);
    h.fromPhone(invite());
    await flush();
    const [first] = sentTo(h.take(), "INVITE", BOX_1);
    // Three attempts share 64*T1: box 1 has a third of it.
    h.clock.advance(Math.floor(F / 3));
    const [second] = sentTo(h.take(), "INVITE", BOX_2);
    expect(second).toBeDefined();
    h.fromPbx(answer(first!, 180, "Ringing"), BOX_1);
    expect(h.take()).toEqual([]);
    expect(h.metrics.get("edge_gateway_stray_responses_total")).toBe(1);
    h.fromPbx(answer(second!, 180, "Ringing"), BOX_2);
    expect(responsesToPhone(h.take())).toEqual([180]);
    // Box 2 rang: its own silence from now on is Timer C's business, not a failover to box 3.
    h.clock.advance(F);
    expect(sentTo(h.take(), "INVITE", BOX_3)).toEqual([]);
  });

  it("a box the socket refuses at once (16.9: as a 503) is skipped for the next one", async () => {
    const h = setup();
    h.phones.failFor.add(`${BOX_1.ip}:${BOX_1.port}`);
    h.worker.onRequest = () => decide(INVITE_RELAY);
    h.fromPhone(invite());
    await flush();
    const sent = h.take();
    expect(sentTo(sent, "INVITE", BOX_2)).toHaveLength(1);
    expect(responsesToPhone(sent)).toEqual([100]);
  });

  it("a CANCEL from the phone stops the search: the next box is never tried", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(INVITE_RELAY);
    const inv = invite();
    h.fromPhone(inv);
    await flush();
    const [first] = sentTo(h.take(), "INVITE", BOX_1);
    h.fromPbx(answer(first!, 100, "Trying"), BOX_1);
    h.fromPhone(
      request([
        "CANCEL sip:100@tenant-a.example SIP/2.0",
        "Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK-fo-inv-1",
        "Max-Forwards: 70",
        "From: <sip:401@tenant-a.example>;tag=i1",
        "To: <sip:100@tenant-a.example>",
        "Call-ID: fo-inv-1@10.0.0.5",
        "CSeq: 1 CANCEL",
        "Content-Length: 0",
      ]),
    );
    const [cancel] = sentTo(h.take(), "CANCEL", BOX_1);
    expect(cancel).toBeDefined();
    h.fromPbx(answer(first!, 503, "Service Unavailable"), BOX_1);
    const sent = h.take();
    expect(sentTo(sent, "INVITE", BOX_2)).toEqual([]);
    expect(responsesToPhone(sent)).toContain(500);
  });

  it("a target without alternatives behaves as before: one box, its 503 relayed as 500, a timeout only at Timer F", async () => {
    const h = setup();
    const plain = { ...REGISTER_RELAY, targets: [{ ...REGISTER_RELAY.targets[0]!, alternatives: undefined }] } as RequestDecisionInput;
    h.worker.onRequest = () => decide(plain);
    h.fromPhone(register());
    await flush();
    const [first] = sentTo(h.take(), "REGISTER", BOX_1);
    h.fromPbx(answer(first!, 503, "Service Unavailable"), BOX_1);
    let sent = h.take();
    expect(requestsOf(sent, "REGISTER")).toEqual([]);
    expect(responsesToPhone(sent)).toEqual([500]);

    const h2 = setup();
    h2.worker.onRequest = () => decide(plain);
    h2.fromPhone(register());
    await flush();
    h2.take();
    h2.clock.advance(F - 1);
    sent = h2.take();
    expect(sentTo(sent, "REGISTER", BOX_2)).toEqual([]);
    expect(responsesToPhone(sent)).toEqual([]);
    h2.clock.advance(1);
    expect(responsesToPhone(h2.take())).toEqual([408]);
  });
});

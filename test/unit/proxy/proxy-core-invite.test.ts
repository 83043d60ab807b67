import { describe, expect, it } from "vitest";
import type { RequestDecisionInput } from "../../../contract/v1";
import { bodyText } from "../../../sip/message";
import type { SipRequest } from "../../../sip/message";
import type { Harness, Sent } from "./core-harness";
import { afterTrying, aliasParams, ASTERISK, decide, deferred, flush, label, onlyRequest, onlyResponse, ownRoute, PHONE_A, PHONE_B, requestsOf, setup } from "./core-harness";
import { answer, request, topBranch, value, values } from "./support";

const SDP = "v=0\r\no=- 1 1 IN IP4 198.51.100.10\r\ns=-\r\nc=IN IP4 198.51.100.10\r\nt=0 0\r\nm=audio 10000 RTP/AVP 0\r\n";
const UPSTREAM_VIA = "SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-inv-1";

function pbxInvite(via = UPSTREAM_VIA, maxForwards = "70"): SipRequest {
  return request(
    [
      "INVITE sip:401@192.0.2.1:5060 SIP/2.0",
      `Via: ${via}`,
      `Max-Forwards: ${maxForwards}`,
      'From: "PBX" <sip:100@tenant-a.example>;tag=pbx-1',
      "To: <sip:401@tenant-a.example>",
      "Call-ID: call-1@198.51.100.10",
      "CSeq: 101 INVITE",
      "Contact: <sip:100@198.51.100.10:5060>",
      "Content-Type: application/sdp",
    ],
    SDP,
  );
}

function pbxCancel(): SipRequest {
  return request([
    "CANCEL sip:401@192.0.2.1:5060 SIP/2.0",
    `Via: ${UPSTREAM_VIA}`,
    "Max-Forwards: 70",
    'From: "PBX" <sip:100@tenant-a.example>;tag=pbx-1',
    "To: <sip:401@tenant-a.example>",
    "Call-ID: call-1@198.51.100.10",
    "CSeq: 101 CANCEL",
    'Reason: SIP;cause=487;text="ORIGINATOR_CANCEL"',
    "Content-Length: 0",
  ]);
}

/** The ACK the upstream sends for a non-2xx final (17.1.1.3): same branch as the INVITE. */
function pbxAckFor(toWithTag: string): SipRequest {
  return request([
    "ACK sip:401@192.0.2.1:5060 SIP/2.0",
    `Via: ${UPSTREAM_VIA}`,
    "Max-Forwards: 70",
    'From: "PBX" <sip:100@tenant-a.example>;tag=pbx-1',
    `To: ${toWithTag}`,
    "Call-ID: call-1@198.51.100.10",
    "CSeq: 101 ACK",
    "Content-Length: 0",
  ]);
}

const TARGET_A = { requestUri: "sip:401@10.0.0.5:5060", nextHop: { ip: PHONE_A.ip, port: PHONE_A.port }, side: "phones" } as const;
const TARGET_B = { requestUri: "sip:401@10.0.0.6:5060", nextHop: { ip: PHONE_B.ip, port: PHONE_B.port }, side: "phones" } as const;
const FORK: RequestDecisionInput = { action: "relay", targets: [TARGET_A, TARGET_B], recordRoute: true };
const ONE: RequestDecisionInput = { action: "relay", targets: [TARGET_A], recordRoute: true };

/** What was sent where, in a stable order: responses first, then requests, each sorted. */
function labels(sent: readonly Sent[]): string[] {
  const by = (kind: string) => sent.filter((x) => x.message.kind === kind).map(label).sort();
  return [...by("response"), ...by("request")];
}

/** The INVITE from the PBX, the 100 Trying checked, and the forwarded INVITE of each branch. */
async function start(h: Harness, decision: RequestDecisionInput = FORK): Promise<{ a: SipRequest; b: SipRequest | undefined }> {
  h.worker.onRequest = () => decide(decision);
  h.fromPbx(pbxInvite());
  // 17.2.1: the 100 is held while the worker decides, and goes with the relay, before the INVITEs.
  expect(h.take()).toEqual([]);
  await flush();
  const sent = h.take();
  expect(label(sent[0]!)).toBe("100 -> 198.51.100.10:5060");
  const invites = requestsOf(sent, "INVITE");
  const a = invites.find((i) => i.to.ip === PHONE_A.ip)?.request;
  const b = invites.find((i) => i.to.ip === PHONE_B.ip)?.request;
  if (!a) throw new Error("no INVITE to phone A");
  return { a, b };
}

/** A phone's response to the INVITE it got: Record-Route echoed (12.1.1) and its own Contact. */
function fromPhoneTo(inv: SipRequest, status: number, reason: string, tag: string, contactHost = "10.0.0.5") {
  const rr = values(inv, "Record-Route").map((v) => `Record-Route: ${v}`);
  return answer(inv, status, reason, status < 300 ? [...rr, `Contact: <sip:401@${contactHost}:5060>`] : [], tag);
}

describe("ProxyCore: INVITE forking (RFC 3261 16.6, 16.7)", () => {
  it("17.2.1: while the worker decides, 100 Trying goes upstream after 200 ms, to received:rport", async () => {
    const h = setup();
    const pending = deferred<never>();
    h.worker.onRequest = () => pending.promise;
    h.fromPbx(pbxInvite());
    // The TU may answer within 200 ms: nothing yet.
    h.clock.advance(199);
    expect(h.take()).toEqual([]);
    h.clock.advance(1);
    const { to, response } = onlyResponse(h.take());
    expect(to).toEqual(ASTERISK);
    expect(response.status).toBe(100);
    expect(values(response, "Via")).toEqual(["SIP/2.0/UDP 198.51.100.10:5060;rport=5060;branch=z9hG4bK-inv-1;received=198.51.100.10"]);
    expect(value(response, "To")).toBe("<sip:401@tenant-a.example>");
  });

  it("16.6: a parallel fork sends one INVITE per target, each with its own branch, Record-Route and Max-Forwards 69", async () => {
    const h = setup();
    const { a, b } = await start(h);
    expect(b).toBeDefined();
    expect(a.uri).toBe("sip:401@10.0.0.5:5060");
    expect(b!.uri).toBe("sip:401@10.0.0.6:5060");
    expect(topBranch(a)).not.toBe(topBranch(b!));
    for (const inv of [a, b!]) {
      expect(values(inv, "Via")).toHaveLength(2);
      expect(values(inv, "Record-Route")).toEqual([ownRoute("192.0.2.1", "call-1@198.51.100.10", "pbx-1")]);
      expect(value(inv, "Max-Forwards")).toBe("69");
      expect(bodyText(inv.body)).toBe(SDP);
    }
  });

  it("16.7 step 5: a 180 is relayed upstream at once, our Via removed, the Contact given the NAT alias", async () => {
    const h = setup();
    const { a } = await start(h);
    h.fromPhone(fromPhoneTo(a, 180, "Ringing", "a-tag"), PHONE_A);
    const { to, response } = onlyResponse(h.take());
    expect(to).toEqual(ASTERISK);
    expect(response.status).toBe(180);
    expect(values(response, "Via")).toEqual(["SIP/2.0/UDP 198.51.100.10:5060;rport=5060;branch=z9hG4bK-inv-1;received=198.51.100.10"]);
    expect(values(response, "Contact")).toEqual([`<sip:401@10.0.0.5:5060${aliasParams("call-1@198.51.100.10", "203.0.113.50~40000~1")}>`]);
    expect(values(response, "Record-Route")).toEqual([ownRoute("192.0.2.1", "call-1@198.51.100.10", "pbx-1")]);
  });

  it("16.7 step 5: a 100 from a branch is not relayed", async () => {
    const h = setup();
    const { a } = await start(h);
    h.fromPhone(answer(a, 100, "Trying"), PHONE_A);
    expect(h.take()).toEqual([]);
  });

  it("16.7 step 10: the first 200 is relayed and the other, ringing, branch is CANCELled with a Reason", async () => {
    const h = setup();
    const { a, b } = await start(h);
    h.fromPhone(fromPhoneTo(b!, 180, "Ringing", "b-tag", "10.0.0.6"), PHONE_B);
    h.fromPhone(fromPhoneTo(a, 180, "Ringing", "a-tag"), PHONE_A);
    h.take();
    h.fromPhone(fromPhoneTo(a, 200, "OK", "a-tag"), PHONE_A);
    const sent = h.take();
    expect(labels(sent)).toEqual(["200 -> 198.51.100.10:5060", "CANCEL -> 203.0.113.60:41000"]);
    const cancel = requestsOf(sent, "CANCEL")[0]!.request;
    expect(cancel.uri).toBe(b!.uri);
    expect(values(cancel, "Via")).toEqual([values(b!, "Via")[0]]);
    expect(value(cancel, "CSeq")).toBe("101 CANCEL");
    expect(value(cancel, "Reason")).toBe('SIP;cause=200;text="Call completed elsewhere"');

    // The cancelled branch's 487 is ACKed downstream (17.1.1.3) and goes no further.
    h.fromPhone(answer(cancel, 200, "OK", [], "b-tag"), PHONE_B);
    h.fromPhone(fromPhoneTo(b!, 487, "Request Terminated", "b-tag"), PHONE_B);
    expect(h.take().map(label)).toEqual(["ACK -> 203.0.113.60:41000"]);
  });

  it("9.1: a branch with no provisional yet is CANCELled only once its provisional arrives, which is not relayed", async () => {
    const h = setup();
    const { a, b } = await start(h);
    h.fromPhone(fromPhoneTo(a, 200, "OK", "a-tag"), PHONE_A);
    expect(h.take().map(label)).toEqual(["200 -> 198.51.100.10:5060"]);
    h.fromPhone(fromPhoneTo(b!, 180, "Ringing", "b-tag", "10.0.0.6"), PHONE_B);
    expect(h.take().map(label)).toEqual(["CANCEL -> 203.0.113.60:41000"]);
  });

  it("16.7 step 5: every 2xx is relayed, a second branch's too", async () => {
    const h = setup();
    const { a, b } = await start(h);
    h.fromPhone(fromPhoneTo(a, 200, "OK", "a-tag"), PHONE_A);
    h.fromPhone(fromPhoneTo(b!, 200, "OK", "b-tag", "10.0.0.6"), PHONE_B);
    const oks = h.take().filter((s) => s.message.kind === "response");
    expect(oks.map(label)).toEqual(["200 -> 198.51.100.10:5060", "200 -> 198.51.100.10:5060"]);
    expect(oks.map((s) => value(s.message, "To"))).toEqual(["<sip:401@tenant-a.example>;tag=a-tag", "<sip:401@tenant-a.example>;tag=b-tag"]);
  });

  it("16.7 step 6: 486 from both branches gives one 486 upstream once both answered; each is ACKed downstream", async () => {
    const h = setup();
    const { a, b } = await start(h);
    h.fromPhone(fromPhoneTo(a, 486, "Busy Here", "a-tag"), PHONE_A);
    expect(h.take().map(label)).toEqual(["ACK -> 203.0.113.50:40000"]);
    h.fromPhone(fromPhoneTo(b!, 486, "Busy Here", "b-tag", "10.0.0.6"), PHONE_B);
    const sent = h.take();
    expect(labels(sent)).toEqual(["486 -> 198.51.100.10:5060", "ACK -> 203.0.113.60:41000"]);
    const busy = sent.find((x) => x.message.kind === "response")!.message;
    expect(values(busy, "Via")).toHaveLength(1);
    // The upstream's ACK for the 486 is absorbed by the server transaction (17.2.1), not forwarded.
    h.fromPbx(pbxAckFor(value(busy, "To")!));
    expect(h.take()).toEqual([]);
  });

  it("16.7 step 6: a 6xx from one branch CANCELs the others and wins", async () => {
    const h = setup();
    const { a, b } = await start(h);
    h.fromPhone(fromPhoneTo(b!, 180, "Ringing", "b-tag", "10.0.0.6"), PHONE_B);
    h.take();
    h.fromPhone(fromPhoneTo(a, 603, "Decline", "a-tag"), PHONE_A);
    expect(labels(h.take())).toEqual(["ACK -> 203.0.113.50:40000", "CANCEL -> 203.0.113.60:41000"]);
    h.fromPhone(fromPhoneTo(b!, 487, "Request Terminated", "b-tag"), PHONE_B);
    expect(labels(h.take())).toEqual(["603 -> 198.51.100.10:5060", "ACK -> 203.0.113.60:41000"]);
  });

  it("16.10: CANCEL from upstream: 200 for the CANCEL, CANCEL downstream on each ringing branch, then 487 upstream", async () => {
    const h = setup();
    const { a, b } = await start(h);
    h.fromPhone(fromPhoneTo(a, 180, "Ringing", "a-tag"), PHONE_A);
    h.fromPhone(fromPhoneTo(b!, 180, "Ringing", "b-tag", "10.0.0.6"), PHONE_B);
    h.take();
    h.fromPbx(pbxCancel());
    const sent = h.take();
    expect(sent.map(label)).toEqual(["200 -> 198.51.100.10:5060", "CANCEL -> 203.0.113.50:40000", "CANCEL -> 203.0.113.60:41000"]);
    expect(value(sent[0]!.message, "CSeq")).toBe("101 CANCEL");
    // RFC 3326: the upstream's Reason travels with the CANCEL.
    expect(value(sent[1]!.message, "Reason")).toBe('SIP;cause=487;text="ORIGINATOR_CANCEL"');
    h.fromPhone(fromPhoneTo(a, 487, "Request Terminated", "a-tag"), PHONE_A);
    expect(h.take().map(label)).toEqual(["ACK -> 203.0.113.50:40000"]);
    h.fromPhone(fromPhoneTo(b!, 487, "Request Terminated", "b-tag"), PHONE_B);
    expect(labels(h.take())).toEqual(["487 -> 198.51.100.10:5060", "ACK -> 203.0.113.60:41000"]);
  });

  it("16.10: a CANCEL while the worker is deciding: 200 and 487 at once; the late decision forwards nothing", async () => {
    const h = setup();
    const pending = deferred<ReturnType<typeof decide>>();
    h.worker.onRequest = () => pending.promise;
    h.fromPbx(pbxInvite());
    h.take();
    h.fromPbx(pbxCancel());
    expect(h.take().map(label)).toEqual(["200 -> 198.51.100.10:5060", "487 -> 198.51.100.10:5060"]);
    pending.resolve(decide(FORK));
    await flush();
    expect(h.take()).toEqual([]);
  });

  it("16.10: a CANCEL that matches no transaction gets 481", () => {
    const h = setup();
    h.fromPbx(pbxCancel());
    const { response } = onlyResponse(h.take());
    expect(response.status).toBe(481);
  });

  it("16.8: when Timer C fires on a branch that rang, the branch is CANCELled; upstream gets 408, not the 487 answering our CANCEL", async () => {
    const h = setup();
    const { a } = await start(h, ONE);
    h.fromPhone(fromPhoneTo(a, 180, "Ringing", "a-tag"), PHONE_A);
    h.take();
    h.clock.advance(180_000);
    expect(h.take()).toEqual([]);
    h.clock.advance(1_000);
    const { to, request: cancel } = onlyRequest(h.take());
    expect([cancel.method, to]).toEqual(["CANCEL", PHONE_A]);
    h.fromPhone(answer(cancel, 200, "OK", [], "a-tag"), PHONE_A);
    h.fromPhone(fromPhoneTo(a, 487, "Request Terminated", "a-tag"), PHONE_A);
    expect(labels(h.take())).toEqual(["408 -> 198.51.100.10:5060", "ACK -> 203.0.113.50:40000"]);
  });

  it("16.7 step 2: each provisional restarts Timer C", async () => {
    const h = setup();
    const { a } = await start(h, ONE);
    h.fromPhone(fromPhoneTo(a, 180, "Ringing", "a-tag"), PHONE_A);
    h.clock.advance(100_000);
    h.fromPhone(fromPhoneTo(a, 183, "Session Progress", "a-tag"), PHONE_A);
    h.take();
    h.clock.advance(100_000);
    expect(h.take()).toEqual([]);
    h.clock.advance(81_000);
    expect(h.take().map(label)).toEqual(["CANCEL -> 203.0.113.50:40000"]);
  });

  it("9.1: a CANCELled branch that never answers is given up after 64*T1; upstream gets 408 and every transaction ends", async () => {
    const h = setup();
    const { a } = await start(h, ONE);
    h.fromPhone(fromPhoneTo(a, 180, "Ringing", "a-tag"), PHONE_A);
    h.take();
    h.clock.advance(181_000); // Timer C: CANCEL
    expect(h.take().map(label)).toEqual(["CANCEL -> 203.0.113.50:40000"]);
    h.clock.advance(32_000);
    const finals = h.take().filter((s) => s.message.kind === "response");
    expect(finals.map(label)).toEqual(["408 -> 198.51.100.10:5060"]);
    h.fromPbx(pbxAckFor(value(finals[0]!.message, "To")!));
    h.clock.advance(60_000);
    expect(h.gauge("edge_gateway_transactions")).toBe(0);
    expect(h.gauge("edge_gateway_response_contexts")).toBe(0);
  });

  it("9.1: after an upstream CANCEL, a branch that never answers is given up after 64*T1 with 487", async () => {
    const h = setup();
    const { a } = await start(h, ONE);
    h.fromPhone(fromPhoneTo(a, 180, "Ringing", "a-tag"), PHONE_A);
    h.fromPbx(pbxCancel());
    h.take();
    h.clock.advance(32_000);
    expect(h.take().filter((s) => s.message.kind === "response").map(label)).toEqual(["487 -> 198.51.100.10:5060"]);
  });

  it("17.1.1.2: the INVITE is retransmitted on Timer A, and Timer B without any answer gives 408 upstream", async () => {
    const h = setup();
    await start(h, ONE);
    h.clock.advance(31_999);
    const retransmissions = h.take();
    expect(retransmissions.length).toBeGreaterThanOrEqual(5);
    expect(retransmissions.every((s) => label(s) === "INVITE -> 203.0.113.50:40000")).toBe(true);
    h.clock.advance(1);
    const { to, response } = onlyResponse(h.take());
    expect([response.status, to]).toEqual([408, ASTERISK]);
    expect(value(response, "To")).toMatch(/;tag=/);
  });

  it("16.9: a transport error on one branch is a 503 from it, and the fork waits for the other branch", async () => {
    const h = setup();
    h.phones.failFor.add(`${PHONE_A.ip}:${PHONE_A.port}`);
    h.worker.onRequest = () => decide(FORK);
    h.fromPbx(pbxInvite());
    await flush();
    const sent = afterTrying(h.take());
    expect(sent.map(label)).toEqual(["INVITE -> 203.0.113.60:41000"]);
    const b = sent[0]!.message as SipRequest;
    h.fromPhone(fromPhoneTo(b, 200, "OK", "b-tag", "10.0.0.6"), PHONE_B);
    expect(h.take().map(label)).toEqual(["200 -> 198.51.100.10:5060"]);
  });

  it("16.9 / 16.7 step 6: transport errors on every branch end as 500 upstream (a chosen 503 is not relayed)", async () => {
    const h = setup();
    h.phones.failFor.add(`${PHONE_A.ip}:${PHONE_A.port}`);
    h.phones.failFor.add(`${PHONE_B.ip}:${PHONE_B.port}`);
    h.worker.onRequest = () => decide(FORK);
    h.fromPbx(pbxInvite());
    await flush();
    const { response } = onlyResponse(afterTrying(h.take()));
    expect(response.status).toBe(500);
  });

  it("16.3 step 3: Max-Forwards 0 gets 483 at once, statelessly and once, without a worker call or a 100", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(FORK);
    h.fromPbx(pbxInvite(UPSTREAM_VIA, "0"));
    const { to, response } = onlyResponse(h.take());
    expect([to, response.status]).toEqual([ASTERISK, 483]);
    await flush();
    h.clock.advance(32_000);
    expect(h.take()).toEqual([]);
    expect(h.worker.requests).toEqual([]);
    expect(h.metrics.get("edge_gateway_rejections_total", { reason: "max_forwards" })).toBe(1);
    // A retransmission is refused again, 1:1, with the same To tag.
    h.fromPbx(pbxInvite(UPSTREAM_VIA, "0"));
    expect(value(onlyResponse(h.take()).response, "To")).toBe(value(response, "To"));
  });

  it("16.3 step 3: an OPTIONS to the gateway itself with Max-Forwards 0 is answered 200 locally", () => {
    const h = setup();
    h.fromPhone(
      request([
        "OPTIONS sip:192.0.2.1:5060 SIP/2.0",
        "Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK-opt-mf0",
        "Max-Forwards: 0",
        "From: <sip:401@tenant-a.example>;tag=o1",
        "To: <sip:192.0.2.1>",
        "Call-ID: opt-mf0",
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
      ]),
    );
    const { to, response } = onlyResponse(h.take());
    expect([to, response.status]).toEqual([PHONE_A, 200]);
    expect(h.worker.requests).toEqual([]);
  });

  it("16.7 / 18.2.2: a 2xx retransmission after the client transaction ended goes statelessly to the upstream's sent-by", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(ONE);
    // No rport, sent-by = source: the upstream Via gets no received (18.2.1).
    h.fromPbx(pbxInvite("SIP/2.0/UDP 198.51.100.10:5070;branch=z9hG4bK-inv-1"), { ...ASTERISK, port: 5070 });
    await flush();
    const { request: a } = onlyRequest(afterTrying(h.take()));
    const ok = fromPhoneTo(a, 200, "OK", "a-tag");
    h.fromPhone(ok, PHONE_A);
    expect(h.take().map(label)).toEqual(["200 -> 198.51.100.10:5070"]);
    h.fromPhone(ok, PHONE_A);
    const again = h.take();
    expect(again.map(label)).toEqual(["200 -> 198.51.100.10:5070"]);
    expect(values(again[0]!.message, "Via")).toEqual(["SIP/2.0/UDP 198.51.100.10:5070;branch=z9hG4bK-inv-1"]);
  });

  it("RFC 6026: an INVITE retransmitted after the 2xx went upstream is absorbed: no second worker call, no second fork", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(ONE);
    h.fromPbx(pbxInvite());
    await flush();
    const { request: a } = onlyRequest(afterTrying(h.take()));
    h.fromPhone(fromPhoneTo(a, 200, "OK", "a-tag"), PHONE_A);
    expect(h.take().map(label)).toEqual(["200 -> 198.51.100.10:5060"]);
    // The 200 was lost on its way: the upstream retransmits its INVITE.
    h.fromPbx(pbxInvite());
    await flush();
    expect(h.take()).toEqual([]);
    expect(h.worker.requests).toHaveLength(1);
  });
});

import { describe, expect, it } from "vitest";
import { EMPTY_BODY, headerValue, headerValues, textBody } from "../../../sip/message";
import type { SipRequest } from "../../../sip/message";
import { InviteClientTransaction, TransactionStateError, buildAck } from "../../../edge-gateway/src/transaction";
import type { TimerConfig } from "../../../edge-gateway/src/transaction";
import { BRANCH, DOWNSTREAM, harness, label, makeRequest, makeResponse, recordingUser } from "./sip-fixtures";

function setup(config: Partial<TimerConfig> = {}, request: SipRequest = makeRequest("INVITE")) {
  const h = harness(config);
  const tu = recordingUser<InviteClientTransaction>();
  const tx = new InviteClientTransaction({ request, branch: BRANCH, destination: DOWNSTREAM, context: h.context, user: tu.user });
  return { ...h, tu, request, tx };
}

describe("InviteClientTransaction (RFC 3261 17.1.1)", () => {
  it("17.1.1.2: the INVITE MUST be passed to the transport on entering Calling, with Timers A and B started", () => {
    const { tx, sent, request } = setup();
    tx.start();
    expect(tx.state).toBe("Calling");
    expect(sent).toEqual([{ at: 0, message: request, destination: DOWNSTREAM }]);
    expect(tx.activeTimers().sort()).toEqual(["A", "B"]);
  });

  it("17.1.1.2: Timer A retransmits the INVITE with intervals that double (T1, 2*T1, 4*T1 ...) without a T2 cap", () => {
    const { tx, clock, times } = setup();
    tx.start();
    clock.advance(31_999);
    expect(times()).toEqual([0, 500, 1500, 3500, 7500, 15_500, 31_500]);
  });

  it("17.1.1.2: Timer B times out an INVITE with no response", () => {
    const { tx, clock, tu } = setup();
    tx.start();
    clock.advance(31_999);
    expect(tx.state).toBe("Calling");
    clock.advance(1);
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["timeout", "terminated"]);
    expect(clock.pendingCount()).toBe(0);
  });

  it("17.1.1.2: a 1xx stops Timer A (and Timer B): the transaction moves to Proceeding and stops retransmitting", () => {
    const { tx, clock, tu, times, request } = setup();
    tx.start();
    clock.advance(600);
    expect(tx.receiveResponse(makeResponse(request, 100, null))).toBe("delivered");
    expect(tx.state).toBe("Proceeding");
    expect(tx.activeTimers()).toEqual([]);
    clock.advance(200_000);
    expect(times()).toEqual([0, 500]);
    expect(tx.state).toBe("Proceeding");
    expect(tu.events).toEqual(["response 100"]);
  });

  it("17.1.1.2: further provisional responses in Proceeding MUST be passed up to the TU", () => {
    const { tx, tu, request } = setup();
    tx.start();
    tx.receiveResponse(makeResponse(request, 100, null));
    expect(tx.receiveResponse(makeResponse(request, 180))).toBe("delivered");
    expect(tx.receiveResponse(makeResponse(request, 183))).toBe("delivered");
    expect(tu.events).toEqual(["response 100", "response 180", "response 183"]);
  });

  it("RFC 6026 7.2: a 2xx in Calling moves to Accepted (Timer M), is passed up, and no ACK is generated", () => {
    const { tx, tu, clock, request, sent } = setup();
    tx.start();
    expect(tx.receiveResponse(makeResponse(request, 200))).toBe("delivered");
    expect(tx.state).toBe("Accepted");
    expect(tx.activeTimers()).toEqual(["M"]);
    expect(tu.events).toEqual(["response 200"]);
    clock.advance(64 * 500 - 1);
    expect(tx.state).toBe("Accepted");
    clock.advance(1);
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["response 200", "terminated"]);
    expect(clock.pendingCount()).toBe(0);
    expect(sent.map((s) => label(s.message))).toEqual(["INVITE"]);
  });

  it("RFC 6026 7.2: in Accepted every 2xx (a retransmission, another fork's) is passed up; anything else is absorbed", () => {
    const { tx, tu, request } = setup();
    tx.start();
    tx.receiveResponse(makeResponse(request, 180));
    tx.receiveResponse(makeResponse(request, 200));
    expect(tx.state).toBe("Accepted");
    expect(tx.receiveResponse(makeResponse(request, 200))).toBe("delivered");
    expect(tx.receiveResponse(makeResponse(request, 200, "other-fork"))).toBe("delivered");
    expect(tx.receiveResponse(makeResponse(request, 486))).toBe("absorbed");
    expect(tx.receiveResponse(makeResponse(request, 180))).toBe("absorbed");
    expect(tu.events).toEqual(["response 180", "response 200", "response 200", "response 200"]);
  });

  it("17.1.1.3: the client transaction MUST generate an ACK for a 3xx-6xx final response, with the To tag of the response", () => {
    const request = makeRequest("INVITE", {
      cseq: 42,
      lowerVias: ["SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-lower"],
      routes: ["<sip:edge1.example;lr>", "<sip:edge2.example;lr>"],
      extra: [{ name: "Content-Type", value: "application/sdp" }],
    });
    const { tx, tu, sent } = setup({}, { ...request, body: textBody("v=0\r\n") });
    tx.start();
    const busy = makeResponse(request, 486, "callee-tag");
    expect(tx.receiveResponse(busy)).toBe("delivered");
    expect(tx.state).toBe("Completed");
    expect(tu.events).toEqual(["response 486"]);
    const ack = sent[1]?.message;
    expect(sent[1]?.destination).toEqual(DOWNSTREAM);
    expect(ack?.kind).toBe("request");
    if (ack?.kind !== "request") return;
    expect(ack.method).toBe("ACK");
    expect(ack.uri).toBe(request.uri);
    expect(headerValues(ack, "Via")).toEqual([`SIP/2.0/UDP 192.0.2.10:5060;branch=${BRANCH}`]);
    expect(headerValue(ack, "To")).toBe("<sip:bob@tenant-a.example>;tag=callee-tag");
    expect(headerValue(ack, "From")).toBe(headerValue(request, "From"));
    expect(headerValue(ack, "Call-ID")).toBe(headerValue(request, "Call-ID"));
    expect(headerValue(ack, "CSeq")).toBe("42 ACK");
    expect(headerValues(ack, "Route")).toEqual(["<sip:edge1.example;lr>", "<sip:edge2.example;lr>"]);
    expect(headerValue(ack, "Max-Forwards")).toBe("69");
    expect(headerValue(ack, "Content-Type")).toBeUndefined();
    expect(ack.body).toEqual(EMPTY_BODY);
    expect(tx.ack).toBe(ack);
  });

  it("17.1.1.3: the ACK carries only the top Via even when the INVITE's Via line holds several values", () => {
    const invite: SipRequest = {
      kind: "request",
      method: "INVITE",
      uri: "sip:bob@example.com",
      headers: [
        { name: "Via", value: 'SIP/2.0/UDP a.example;branch=z9hG4bK1;x="p,q" , SIP/2.0/UDP b.example;branch=z9hG4bK2' },
        { name: "CSeq", value: "7   INVITE" },
      ],
      body: EMPTY_BODY,
    };
    const ack = buildAck(invite, { kind: "response", status: 404, reason: "Not Found", headers: [{ name: "To", value: "<sip:bob@example.com>;tag=t" }], body: EMPTY_BODY });
    expect(headerValues(ack, "Via")).toEqual(['SIP/2.0/UDP a.example;branch=z9hG4bK1;x="p,q"']);
    expect(headerValue(ack, "CSeq")).toBe("7 ACK");
    expect(headerValue(ack, "Max-Forwards")).toBe("70");
  });

  it("17.1.1.2: a 3xx-6xx in Proceeding also moves to Completed and is ACKed", () => {
    const { tx, sent, request } = setup();
    tx.start();
    tx.receiveResponse(makeResponse(request, 180));
    tx.receiveResponse(makeResponse(request, 302));
    expect(tx.state).toBe("Completed");
    expect(sent.map((s) => label(s.message))).toEqual(["INVITE", "ACK"]);
  });

  it("17.1.1.2: a retransmitted final response in Completed MUST re-send the ACK and MUST NOT be passed up to the TU", () => {
    const { tx, tu, sent, clock, request } = setup();
    tx.start();
    tx.receiveResponse(makeResponse(request, 603));
    clock.advance(1000);
    expect(tx.receiveResponse(makeResponse(request, 603))).toBe("absorbed");
    expect(tx.receiveResponse(makeResponse(request, 603))).toBe("absorbed");
    expect(sent.map((s) => label(s.message))).toEqual(["INVITE", "ACK", "ACK", "ACK"]);
    expect(sent[2]?.message).toBe(sent[1]?.message);
    expect(tu.events).toEqual(["response 603"]);
  });

  it("a provisional or 2xx after a final response is ignored in Completed: absorbed, no ACK, no transition", () => {
    const { tx, tu, sent, request } = setup();
    tx.start();
    tx.receiveResponse(makeResponse(request, 486));
    expect(tx.receiveResponse(makeResponse(request, 180))).toBe("absorbed");
    expect(tx.receiveResponse(makeResponse(request, 200))).toBe("absorbed");
    expect(tx.state).toBe("Completed");
    expect(sent.map((s) => label(s.message))).toEqual(["INVITE", "ACK"]);
    expect(tu.events).toEqual(["response 486"]);
  });

  it("17.1.1.2: Timer D (>= 32 s on UDP) MUST move Completed to Terminated", () => {
    const { tx, tu, clock, request } = setup();
    tx.start();
    tx.receiveResponse(makeResponse(request, 404));
    expect(tx.activeTimers()).toEqual(["D"]);
    clock.advance(31_999);
    expect(tx.state).toBe("Completed");
    clock.advance(1);
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["response 404", "terminated"]);
    expect(clock.pendingCount()).toBe(0);
  });

  it("17.1.1.2: Timer D follows its configured value", () => {
    const { tx, clock, request } = setup({ timerD: 100 });
    tx.start();
    tx.receiveResponse(makeResponse(request, 500));
    clock.advance(100);
    expect(tx.state).toBe("Terminated");
  });

  it("17.1.1.2: a transport failure in Calling SHOULD move to Terminated and inform the TU", () => {
    const { tx, tu, clock, failSends } = setup();
    tx.start();
    failSends();
    clock.advance(500);
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["transport-error", "terminated"]);
    expect(clock.pendingCount()).toBe(0);
  });

  it("17.1.4: a failure to send the ACK terminates after the response reached the TU", () => {
    const { tx, tu, failSends, request } = setup();
    tx.start();
    failSends();
    expect(tx.receiveResponse(makeResponse(request, 486))).toBe("delivered");
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["response 486", "transport-error", "terminated"]);
  });

  it("starting twice is an illegal transition naming the state and event", () => {
    const { tx, request } = setup();
    tx.start();
    tx.receiveResponse(makeResponse(request, 180));
    expect(() => tx.start()).toThrow(new TransactionStateError("invite-client", "Proceeding", "start"));
  });

  it("dispose stops every timer without telling the TU", () => {
    const { tx, clock, tu } = setup();
    tx.start();
    tx.dispose();
    clock.advance(60_000);
    expect(tu.events).toEqual([]);
    expect(clock.pendingCount()).toBe(0);
  });

  it("refuses a request other than INVITE", () => {
    expect(() => setup({}, makeRequest("BYE"))).toThrow(TypeError);
  });
});

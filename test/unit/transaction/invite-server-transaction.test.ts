import { describe, expect, it } from "vitest";
import { headerValue, headerValues } from "../../../sip/message";
import type { SipRequest } from "../../../sip/message";
import { InviteServerTransaction, TransactionStateError } from "../../../edge-gateway/src/transaction";
import { UPSTREAM, harness, label, makeRequest, makeResponse, recordingUser, requestKey } from "./sip-fixtures";

function setup(options: { sendTrying?: boolean; tryingAfterMs?: number; request?: SipRequest } = {}) {
  const h = harness();
  const tu = recordingUser<InviteServerTransaction>();
  const request = options.request ?? makeRequest("INVITE");
  const tx = new InviteServerTransaction({
    request,
    key: requestKey(request),
    replyTo: UPSTREAM,
    context: h.context,
    user: tu.user,
    ...(options.sendTrying === undefined ? {} : { sendTrying: options.sendTrying }),
    ...(options.tryingAfterMs === undefined ? {} : { tryingAfterMs: options.tryingAfterMs }),
  });
  const labels = (): string[] => h.sent.map((s) => label(s.message));
  return { ...h, tu, request, tx, labels };
}

/** A server transaction that answered 486 at time 0. */
function completed() {
  const s = setup({ sendTrying: false });
  s.tx.start();
  s.tx.respond(makeResponse(s.request, 486));
  return s;
}

describe("InviteServerTransaction (RFC 3261 17.2.1)", () => {
  it("17.2.1: the server transaction MUST generate a 100 (Trying) response, sent at once on creation", () => {
    const request = makeRequest("INVITE", {
      lowerVias: ["SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK-lower;received=10.0.0.1"],
      extra: [{ name: "Timestamp", value: "54" }],
    });
    const { tx, sent } = setup({ request });
    tx.start();
    expect(tx.state).toBe("Proceeding");
    expect(sent).toHaveLength(1);
    const trying = sent[0]?.message;
    expect(sent[0]?.destination).toEqual(UPSTREAM);
    expect(trying?.kind).toBe("response");
    if (trying?.kind !== "response") return;
    expect(trying.status).toBe(100);
    // 8.2.6.2 Via values in order; From, To, Call-ID, CSeq copied; 8.2.6.1 Timestamp copied.
    expect(headerValues(trying, "Via")).toEqual(headerValues(request, "Via"));
    for (const name of ["From", "To", "Call-ID", "CSeq", "Timestamp"]) {
      expect(headerValue(trying, name)).toBe(headerValue(request, name));
    }
    expect(tx.lastResponse).toBe(trying);
  });

  it("17.2.1: with sendTrying false (the TU answers within 200 ms) no 100 is sent", () => {
    const { tx, sent } = setup({ sendTrying: false });
    tx.start();
    expect(sent).toEqual([]);
    expect(tx.state).toBe("Proceeding");
  });

  it("17.2.1: provisional responses from the TU in Proceeding MUST be passed to the transport", () => {
    const { tx, labels, request } = setup();
    tx.start();
    tx.respond(makeResponse(request, 180));
    tx.respond(makeResponse(request, 183));
    expect(tx.state).toBe("Proceeding");
    expect(labels()).toEqual(["100", "180", "183"]);
  });

  it("17.2.1: a retransmitted INVITE in Proceeding gets the most recent provisional response again", () => {
    const { tx, labels, sent, request } = setup();
    tx.start();
    expect(tx.receiveRequest(request)).toBe("absorbed");
    tx.respond(makeResponse(request, 180));
    expect(tx.receiveRequest(request)).toBe("absorbed");
    expect(labels()).toEqual(["100", "100", "180", "180"]);
    expect(sent[3]?.message).toBe(sent[2]?.message);
  });

  it("17.2.1: a retransmitted INVITE in Proceeding before any provisional is absorbed silently", () => {
    const { tx, sent, request } = setup({ sendTrying: false });
    tx.start();
    expect(tx.receiveRequest(request)).toBe("absorbed");
    expect(sent).toEqual([]);
  });

  it("a rejection sent with retransmit: false before any provisional goes out once (no Timer G); a retransmitted INVITE gets it again 1:1", () => {
    const { tx, labels, clock, request } = setup({ tryingAfterMs: 200 });
    tx.start();
    clock.advance(50);
    tx.respond(makeResponse(request, 403), { retransmit: false });
    expect(tx.state).toBe("Completed");
    expect(tx.activeTimers()).toEqual(["H"]);
    clock.advance(31_000);
    expect(labels()).toEqual(["403"]);
    expect(tx.receiveRequest(request)).toBe("absorbed");
    expect(labels()).toEqual(["403", "403"]);
    clock.advance(1000);
    expect(tx.state).toBe("Terminated");
  });

  it("after a provisional, a rejection is retransmitted on Timer G even with retransmit: false: the caller stopped resending its INVITE", () => {
    const { tx, labels, clock, request } = setup();
    tx.start();
    tx.respond(makeResponse(request, 403), { retransmit: false });
    expect(tx.activeTimers()).toEqual(["G", "H"]);
    clock.advance(500);
    expect(labels()).toEqual(["100", "403", "403"]);
  });

  it("17.2.1 with tryingAfterMs: the 100 is held until trying() or the deadline, and never follows another response", () => {
    const held = setup({ tryingAfterMs: 200 });
    held.tx.start();
    held.clock.advance(199);
    expect(held.labels()).toEqual([]);
    held.clock.advance(1);
    expect(held.labels()).toEqual(["100"]);
    held.tx.trying();
    expect(held.labels()).toEqual(["100"]);

    const asked = setup({ tryingAfterMs: 200 });
    asked.tx.start();
    asked.tx.trying();
    expect(asked.labels()).toEqual(["100"]);
    asked.clock.advance(1000);
    expect(asked.labels()).toEqual(["100"]);

    const ringing = setup({ tryingAfterMs: 200 });
    ringing.tx.start();
    ringing.tx.respond(makeResponse(ringing.request, 180));
    ringing.tx.trying();
    ringing.clock.advance(1000);
    expect(ringing.labels()).toEqual(["180"]);

    const off = setup({ sendTrying: false, tryingAfterMs: 200 });
    off.tx.start();
    off.tx.trying();
    off.clock.advance(1000);
    expect(off.labels()).toEqual([]);
  });


  it("RFC 6026 8.5: a 2xx from the TU MUST be passed to the transport and the transaction MUST enter Accepted with Timer L", () => {
    const { tx, tu, labels, request } = setup();
    tx.start();
    tx.respond(makeResponse(request, 200));
    expect(tx.state).toBe("Accepted");
    expect(labels()).toEqual(["100", "200"]);
    expect(tu.events).toEqual([]);
    expect(tx.activeTimers()).toEqual(["L"]);
  });

  it("RFC 6026 8.7: in Accepted an INVITE retransmission is absorbed without any response, an ACK is passed to the TU", () => {
    const { tx, labels, request } = setup();
    tx.start();
    tx.respond(makeResponse(request, 200));
    expect(tx.receiveRequest(request)).toBe("absorbed");
    expect(tx.receiveRequest(makeRequest("ACK"))).toBe("pass");
    expect(labels()).toEqual(["100", "200"]);
  });

  it("RFC 6026 8.7: further 2xx from the TU in Accepted are sent; Timer L (64*T1) terminates the transaction", () => {
    const { tx, tu, labels, clock, request } = setup();
    tx.start();
    tx.respond(makeResponse(request, 200));
    tx.respond(makeResponse(request, 200));
    expect(labels()).toEqual(["100", "200", "200"]);
    clock.advance(64 * 500 - 1);
    expect(tx.state).toBe("Accepted");
    clock.advance(1);
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["terminated"]);
    expect(clock.pendingCount()).toBe(0);
    expect(tx.receiveRequest(request)).toBe("terminated");
  });

  it("17.2.1: a 3xx-6xx from the TU is sent and moves Proceeding to Completed with Timers G and H", () => {
    const { tx, labels, request } = setup();
    tx.start();
    tx.respond(makeResponse(request, 486));
    expect(tx.state).toBe("Completed");
    expect(labels()).toEqual(["100", "486"]);
    expect(tx.activeTimers().sort()).toEqual(["G", "H"]);
  });

  it("17.2.1: Timer G retransmits a final non-2xx response until ACK (T1, 2*T1, 4*T1, capped at T2)", () => {
    const { tx, clock, times, sent } = completed();
    clock.advance(12_000);
    expect(times()).toEqual([0, 500, 1500, 3500, 7500, 11_500]);
    expect(sent.every((s) => s.message === sent[0]?.message && s.destination === UPSTREAM)).toBe(true);
    tx.receiveRequest(makeRequest("ACK"));
    clock.advance(40_000);
    expect(times()).toHaveLength(6);
  });

  it("17.2.1: Timer H expiry (64*T1) moves Completed to Terminated and reports a timeout", () => {
    const { tx, clock, tu, times } = completed();
    clock.advance(31_999);
    expect(tx.state).toBe("Completed");
    clock.advance(1);
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["timeout", "terminated"]);
    expect(times()).toEqual([0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]);
    expect(clock.pendingCount()).toBe(0);
  });

  it("17.2.1: a retransmitted INVITE in Completed gets the final response again", () => {
    const { tx, clock, labels, request } = completed();
    clock.advance(100);
    expect(tx.receiveRequest(request)).toBe("absorbed");
    expect(labels()).toEqual(["486", "486"]);
  });

  it("17.2.1: ACK moves Completed to Confirmed and Timer I (T4) terminates", () => {
    const { tx, clock, tu } = completed();
    clock.advance(700);
    expect(tx.receiveRequest(makeRequest("ACK"))).toBe("absorbed");
    expect(tx.state).toBe("Confirmed");
    expect(tx.activeTimers()).toEqual(["I"]);
    clock.advance(4999);
    expect(tx.state).toBe("Confirmed");
    clock.advance(1);
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["terminated"]);
    expect(clock.pendingCount()).toBe(0);
  });

  it("17.2.1: the Confirmed state absorbs further ACKs and INVITE retransmissions without sending", () => {
    const { tx, sent, request } = completed();
    tx.receiveRequest(makeRequest("ACK"));
    expect(tx.receiveRequest(makeRequest("ACK"))).toBe("absorbed");
    expect(tx.receiveRequest(request)).toBe("absorbed");
    expect(tx.state).toBe("Confirmed");
    expect(sent).toHaveLength(1);
  });

  it("an ACK in Proceeding acknowledges nothing and is dropped", () => {
    const { tx, sent } = setup();
    tx.start();
    expect(tx.receiveRequest(makeRequest("ACK"))).toBe("absorbed");
    expect(tx.state).toBe("Proceeding");
    expect(sent).toHaveLength(1);
  });

  it("a provisional after a final response is an illegal transition naming the state and event", () => {
    const { tx, request } = completed();
    expect(() => tx.respond(makeResponse(request, 180))).toThrow(TransactionStateError);
    expect(() => tx.respond(makeResponse(request, 180))).toThrow('invite-server transaction: event "respond 180" is illegal in state "Completed"');
    tx.receiveRequest(makeRequest("ACK"));
    expect(() => tx.respond(makeResponse(request, 200))).toThrow(/"respond 200".*"Confirmed"/);
  });

  it("a non-2xx response after a 2xx (Accepted) is an illegal transition", () => {
    const { tx, request } = setup();
    tx.start();
    tx.respond(makeResponse(request, 200));
    let error: unknown;
    try {
      tx.respond(makeResponse(request, 486));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TransactionStateError);
    expect(error).toMatchObject({ transaction: "invite-server", state: "Accepted", event: "respond 486" });
  });

  it("rejects a status outside 100-699 and a second start", () => {
    const { tx, request } = setup();
    tx.start();
    expect(() => tx.respond(makeResponse(request, 99))).toThrow(RangeError);
    expect(() => tx.start()).toThrow(TransactionStateError);
  });

  it("17.2.4: a transport failure sending the final response terminates and informs the TU", () => {
    const { tx, tu, failSends, clock, request } = setup();
    tx.start();
    failSends();
    tx.respond(makeResponse(request, 486));
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["transport-error", "terminated"]);
    expect(clock.pendingCount()).toBe(0);
  });

  it("17.2.4: a transport failure on a Timer G retransmission terminates the transaction", () => {
    const { tx, tu, failSends, clock } = completed();
    failSends();
    clock.advance(500);
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["transport-error", "terminated"]);
  });

  it("17.2.4: an asynchronous transport error in Confirmed terminates the transaction", () => {
    const { tx, tu } = completed();
    tx.receiveRequest(makeRequest("ACK"));
    tx.transportError(new Error("ICMP"));
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["transport-error", "terminated"]);
  });

  it("dispose stops every timer without telling the TU", () => {
    const { tx, clock, tu } = completed();
    tx.dispose();
    clock.advance(60_000);
    expect(tu.events).toEqual([]);
    expect(clock.pendingCount()).toBe(0);
  });

  it("refuses a request other than INVITE", () => {
    expect(() => setup({ request: makeRequest("OPTIONS") })).toThrow(TypeError);
  });
});

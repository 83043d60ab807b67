import { describe, expect, it } from "vitest";
import { NonInviteServerTransaction, TransactionStateError } from "../../../edge-gateway/src/transaction";
import type { TimerConfig } from "../../../edge-gateway/src/transaction";
import { UPSTREAM, harness, label, makeRequest, makeResponse, recordingUser, requestKey } from "./sip-fixtures";

function setup(config: Partial<TimerConfig> = {}, method = "OPTIONS") {
  const h = harness(config);
  const tu = recordingUser<NonInviteServerTransaction>();
  const request = makeRequest(method);
  const tx = new NonInviteServerTransaction({ request, key: requestKey(request), replyTo: UPSTREAM, context: h.context, user: tu.user });
  const labels = (): string[] => h.sent.map((s) => label(s.message));
  return { ...h, tu, request, tx, labels };
}

describe("NonInviteServerTransaction (RFC 3261 17.2.2)", () => {
  it("17.2.2: a new server transaction starts in Trying and sends nothing by itself", () => {
    const { tx, sent, clock } = setup();
    expect(tx.state).toBe("Trying");
    expect(tx.method).toBe("OPTIONS");
    clock.advance(60_000);
    expect(sent).toEqual([]);
    expect(tx.state).toBe("Trying");
  });

  it("17.2.2: once in Trying, any further request retransmissions are discarded", () => {
    const { tx, sent, request } = setup();
    expect(tx.receiveRequest(request)).toBe("absorbed");
    expect(sent).toEqual([]);
  });

  it("17.2.2: a provisional from the TU in Trying MUST move to Proceeding and be sent", () => {
    const { tx, labels, sent, request } = setup();
    tx.respond(makeResponse(request, 100, null));
    expect(tx.state).toBe("Proceeding");
    expect(labels()).toEqual(["100"]);
    expect(sent[0]?.destination).toEqual(UPSTREAM);
  });

  it("17.2.2: a retransmission in Proceeding gets the most recently sent provisional again", () => {
    const { tx, labels, request } = setup();
    tx.respond(makeResponse(request, 100, null));
    tx.respond(makeResponse(request, 183));
    expect(tx.receiveRequest(request)).toBe("absorbed");
    expect(labels()).toEqual(["100", "183", "183"]);
    expect(tx.state).toBe("Proceeding");
  });

  it("17.2.2: a final response from the TU in Trying MUST move to Completed and be sent, with Timer J", () => {
    const { tx, labels, request } = setup();
    tx.respond(makeResponse(request, 200));
    expect(tx.state).toBe("Completed");
    expect(labels()).toEqual(["200"]);
    expect(tx.activeTimers()).toEqual(["J"]);
    expect(tx.lastStatus).toBe(200);
  });

  it("17.2.2: a final response from the TU in Proceeding MUST move to Completed", () => {
    const { tx, labels, request } = setup();
    tx.respond(makeResponse(request, 100, null));
    tx.respond(makeResponse(request, 404));
    expect(tx.state).toBe("Completed");
    expect(labels()).toEqual(["100", "404"]);
  });

  it("17.2.2: a retransmitted request in Completed gets the last final response again", () => {
    const { tx, labels, sent, request } = setup();
    tx.respond(makeResponse(request, 100, null));
    tx.respond(makeResponse(request, 401));
    expect(tx.receiveRequest(request)).toBe("absorbed");
    expect(tx.receiveRequest(request)).toBe("absorbed");
    expect(labels()).toEqual(["100", "401", "401", "401"]);
    expect(sent[3]?.message).toEqual(sent[1]?.message);
  });

  it("17.2.2: Timer J (64*T1) MUST move Completed to Terminated", () => {
    const { tx, tu, clock, request } = setup();
    tx.respond(makeResponse(request, 200));
    clock.advance(31_999);
    expect(tx.state).toBe("Completed");
    clock.advance(1);
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["terminated"]);
    expect(tx.receiveRequest(request)).toBe("terminated");
    expect(clock.pendingCount()).toBe(0);
  });

  it("17.2.2: Timer J follows a configured T1", () => {
    const { tx, clock, request } = setup({ t1: 5 });
    tx.respond(makeResponse(request, 200));
    clock.advance(320);
    expect(tx.state).toBe("Terminated");
  });

  it("a response after the final response is an illegal transition naming the state and event", () => {
    const { tx, request, clock } = setup();
    tx.respond(makeResponse(request, 200));
    expect(() => tx.respond(makeResponse(request, 180))).toThrow(
      new TransactionStateError("non-invite-server", "Completed", "respond 180"),
    );
    clock.advance(32_000);
    expect(() => tx.respond(makeResponse(request, 200))).toThrow(/"respond 200".*"Terminated"/);
  });

  it("rejects a status outside 100-699", () => {
    const { tx, request } = setup();
    expect(() => tx.respond(makeResponse(request, 700))).toThrow(RangeError);
  });

  it("17.2.4: a transport failure sending a response terminates and informs the TU", () => {
    const { tx, tu, failSends, clock, request } = setup();
    failSends();
    tx.respond(makeResponse(request, 200));
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["transport-error", "terminated"]);
    expect(clock.pendingCount()).toBe(0);
  });

  it("17.2.4: a final response that cannot be written fails as its send would: terminated, TU informed, nothing sent", () => {
    const { tx, tu, sent, request } = setup();
    const bad = makeResponse(request, 200);
    tx.respond({ ...bad, headers: [...bad.headers, { name: "X-Broken", value: "a\r\nInjected: yes" }] });
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["transport-error", "terminated"]);
    expect(sent).toEqual([]);
  });

  it("17.2.4: a transport failure resending the provisional in Proceeding terminates the transaction", () => {
    const { tx, tu, failSends, request } = setup();
    tx.respond(makeResponse(request, 100, null));
    failSends();
    tx.receiveRequest(request);
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["transport-error", "terminated"]);
  });

  it("dispose stops Timer J without telling the TU", () => {
    const { tx, tu, clock, request } = setup();
    tx.respond(makeResponse(request, 200));
    tx.dispose();
    clock.advance(60_000);
    expect(tu.events).toEqual([]);
    expect(clock.pendingCount()).toBe(0);
  });

  it("refuses INVITE and ACK", () => {
    expect(() => setup({}, "INVITE")).toThrow(TypeError);
    expect(() => setup({}, "ACK")).toThrow(TypeError);
  });
});

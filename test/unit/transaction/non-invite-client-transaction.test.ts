import { describe, expect, it } from "vitest";
import { NonInviteClientTransaction, TransactionStateError } from "../../../edge-gateway/src/transaction";
import type { TimerConfig } from "../../../edge-gateway/src/transaction";
import { BRANCH, DOWNSTREAM, harness, makeRequest, makeResponse, recordingUser } from "./sip-fixtures";

function setup(config: Partial<TimerConfig> = {}) {
  const h = harness(config);
  const tu = recordingUser<NonInviteClientTransaction>();
  const request = makeRequest("REGISTER");
  const tx = new NonInviteClientTransaction({ request, branch: BRANCH, destination: DOWNSTREAM, context: h.context, user: tu.user });
  return { ...h, tu, request, tx };
}

describe("NonInviteClientTransaction (RFC 3261 17.1.2)", () => {
  it("17.1.2.2: the request MUST be passed to the transport on entering Trying, with Timers E and F set", () => {
    const { tx, sent, request } = setup();
    tx.start();
    expect(tx.state).toBe("Trying");
    expect(sent).toEqual([{ at: 0, message: request, destination: DOWNSTREAM }]);
    expect(tx.activeTimers().sort()).toEqual(["E", "F"]);
  });

  it("17.1.2.2: Timer E retransmits the request at T1, 2*T1, 4*T1, capped at T2", () => {
    const { tx, clock, times, sent, request } = setup();
    tx.start();
    clock.advance(31_999);
    expect(times()).toEqual([0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]);
    expect(sent.every((s) => s.message === request && s.destination === DOWNSTREAM)).toBe(true);
  });

  it("17.1.2.2: Timer F fires 64*T1 after start and reports a timeout", () => {
    const { tx, clock, tu } = setup();
    tx.start();
    clock.advance(31_999);
    expect(tx.state).toBe("Trying");
    clock.advance(1);
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["timeout", "terminated"]);
    expect(clock.pendingCount()).toBe(0);
  });

  it("17.1.2.2: the timers follow a configured T1 and T2", () => {
    const { tx, clock, times, tu } = setup({ t1: 10, t2: 40 });
    tx.start();
    clock.advance(640);
    expect(times()).toEqual([0, 10, 30, 70, 110, 150, 190, 230, 270, 310, 350, 390, 430, 470, 510, 550, 590, 630]);
    expect(tu.events).toEqual(["timeout", "terminated"]);
  });

  it("17.1.2.2: a provisional response MUST be passed to the TU and moves Trying to Proceeding", () => {
    const { tx, tu, request } = setup();
    tx.start();
    expect(tx.receiveResponse(makeResponse(request, 100))).toBe("delivered");
    expect(tx.state).toBe("Proceeding");
    expect(tx.receiveResponse(makeResponse(request, 183))).toBe("delivered");
    expect(tx.state).toBe("Proceeding");
    expect(tu.events).toEqual(["response 100", "response 183"]);
  });

  it("17.1.2.2: in Proceeding Timer E MUST be reset to T2, so the request is retransmitted every T2", () => {
    const { tx, clock, times, request } = setup();
    tx.start();
    clock.advance(100);
    tx.receiveResponse(makeResponse(request, 100));
    clock.advance(16_000 - 100);
    expect(times()).toEqual([0, 500, 4500, 8500, 12_500]);
  });

  it("17.1.2.2: Timer F in Proceeding also reports a timeout", () => {
    const { tx, clock, tu, request } = setup();
    tx.start();
    tx.receiveResponse(makeResponse(request, 100));
    clock.advance(32_000);
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["response 100", "timeout", "terminated"]);
  });

  it("17.1.2.2: a final response in Trying MUST be passed to the TU and the transaction MUST move to Completed", () => {
    const { tx, clock, tu, times, request } = setup();
    tx.start();
    clock.advance(600);
    expect(tx.receiveResponse(makeResponse(request, 200))).toBe("delivered");
    expect(tx.state).toBe("Completed");
    expect(tx.activeTimers()).toEqual(["K"]);
    clock.advance(4000);
    expect(times()).toEqual([0, 500]);
    expect(tu.events).toEqual(["response 200"]);
  });

  it("17.1.2.2: a final response in Proceeding moves to Completed", () => {
    const { tx, tu, request } = setup();
    tx.start();
    tx.receiveResponse(makeResponse(request, 100));
    expect(tx.receiveResponse(makeResponse(request, 403))).toBe("delivered");
    expect(tx.state).toBe("Completed");
    expect(tu.events).toEqual(["response 100", "response 403"]);
  });

  it("17.1.2.2: response retransmissions in Completed are absorbed until Timer K (T4) terminates", () => {
    const { tx, clock, tu, request } = setup();
    tx.start();
    tx.receiveResponse(makeResponse(request, 200));
    expect(tx.receiveResponse(makeResponse(request, 200))).toBe("absorbed");
    clock.advance(4999);
    expect(tx.state).toBe("Completed");
    clock.advance(1);
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["response 200", "terminated"]);
    expect(clock.pendingCount()).toBe(0);
  });

  it("a provisional after a final response is ignored: absorbed, no transition", () => {
    const { tx, tu, request } = setup();
    tx.start();
    tx.receiveResponse(makeResponse(request, 200));
    expect(tx.receiveResponse(makeResponse(request, 180))).toBe("absorbed");
    expect(tx.state).toBe("Completed");
    expect(tu.events).toEqual(["response 200"]);
  });

  it("a response to a Terminated transaction is reported as not for it", () => {
    const { tx, clock, request } = setup();
    tx.start();
    clock.advance(32_000);
    expect(tx.receiveResponse(makeResponse(request, 200))).toBe("terminated");
  });

  it("17.1.4: a transport failure on the first send terminates the transaction and informs the TU", () => {
    const { tx, tu, failSends, clock } = setup();
    failSends();
    tx.start();
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["transport-error", "terminated"]);
    expect(clock.pendingCount()).toBe(0);
  });

  it("17.1.4: a transport failure on a retransmission terminates the transaction", () => {
    const { tx, tu, failSends, clock } = setup();
    tx.start();
    failSends();
    clock.advance(500);
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["transport-error", "terminated"]);
    expect(clock.pendingCount()).toBe(0);
  });

  it("17.1.4: an asynchronous transport error in Proceeding terminates the transaction; later ones are ignored", () => {
    const { tx, tu, request } = setup();
    tx.start();
    tx.receiveResponse(makeResponse(request, 100));
    tx.transportError(new Error("ICMP port unreachable"));
    tx.transportError(new Error("again"));
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["response 100", "transport-error", "terminated"]);
  });

  it("starting twice is an illegal transition naming the state and event", () => {
    const { tx } = setup();
    tx.start();
    expect(() => tx.start()).toThrow(TransactionStateError);
    expect(() => tx.start()).toThrow(/"start".*"Trying"/);
  });

  it("dispose stops every timer without telling the TU", () => {
    const { tx, clock, tu } = setup();
    tx.start();
    tx.dispose();
    clock.advance(60_000);
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual([]);
  });

  it("refuses INVITE and ACK, which have their own handling", () => {
    const h = harness();
    const tu = recordingUser<NonInviteClientTransaction>();
    for (const method of ["INVITE", "ACK"]) {
      const request = makeRequest(method);
      expect(
        () => new NonInviteClientTransaction({ request, branch: BRANCH, destination: DOWNSTREAM, context: h.context, user: tu.user }),
      ).toThrow(TypeError);
    }
  });
});

import { describe, expect, it } from "vitest";
import type { SipMessage, SipRequest } from "../../../sip/message";
import { ManualClock, TransactionLayer } from "../../../edge-gateway/src/transaction";
import type { ClientTransaction, Destination, ServerTransaction, Transaction } from "../../../edge-gateway/src/transaction";
import { BRANCH, DOWNSTREAM, SENT_BY, UPSTREAM, label, makeRequest, makeResponse, recordingUser, requestKey, sentMessage } from "./sip-fixtures";

function setup(options: { sendTrying?: boolean } = {}) {
  const clock = new ManualClock();
  const sent: { message: SipMessage; destination: Destination }[] = [];
  const server = recordingUser<ServerTransaction>();
  const terminated: Transaction[] = [];
  let failing = false;
  const layer = new TransactionLayer({
    clock,
    send: (message, destination) => {
      if (failing) throw new Error("EHOSTUNREACH");
      sent.push({ message: sentMessage(message), destination });
    },
    serverUser: server.user,
    onTerminated: (transaction) => terminated.push(transaction),
    ...options,
  });
  const labels = (): string[] => sent.map((s) => label(s.message));
  return { clock, sent, server, terminated, layer, labels, failSends: () => (failing = true) };
}

const OUT_BRANCH = "z9hG4bK-proxy-1";

describe("TransactionLayer: server side (RFC 3261 17.2.3)", () => {
  it("17.2.3: a new INVITE creates a server transaction and 100 Trying is sent at once", () => {
    const { layer, sent } = setup();
    const invite = makeRequest("INVITE");
    const result = layer.receiveRequest(invite, requestKey(invite), UPSTREAM);
    expect(result.kind).toBe("new");
    if (result.kind !== "new") return;
    expect(result.transaction.kind).toBe("invite-server");
    expect(result.transaction.state).toBe("Proceeding");
    expect(sent.map((s) => [label(s.message), s.destination])).toEqual([["100", UPSTREAM]]);
    expect(layer.size()).toBe(1);
    expect(layer.counts()).toEqual({ client: 0, server: 1 });
  });

  it("counts only server transactions still working on their request, and forgets the answered ones", () => {
    const { layer, clock } = setup();
    const started: ServerTransaction[] = [];
    const requests: SipRequest[] = [];
    for (let i = 0; i < 6; i++) {
      const branch = `z9hG4bK-count-${i}`;
      const req = makeRequest(i % 2 === 0 ? "OPTIONS" : "INVITE", { branch });
      const r = layer.receiveRequest(req, requestKey(req, branch), UPSTREAM);
      if (r.kind !== "new") throw new Error("expected a new transaction");
      started.push(r.transaction);
      requests.push(req);
    }
    expect(layer.serversInProgress()).toBe(6);
    // Answered: a non-INVITE waits in Completed for Timer J, an INVITE's error waits in Completed for its ACK.
    started[0]!.respond(makeResponse(requests[0]!, 200));
    started[1]!.respond(makeResponse(requests[1]!, 486));
    started[2]!.respond(makeResponse(requests[2]!, 180));
    expect(layer.counts().server).toBe(6);
    expect(layer.serversInProgress()).toBe(4);
    started[2]!.respond(makeResponse(requests[2]!, 200));
    expect(layer.serversInProgress()).toBe(3);
    // Timers end the answered ones; those in progress are unaffected.
    clock.advance(64 * 500 + 1);
    expect(layer.counts().server).toBeLessThan(6);
    expect(layer.serversInProgress()).toBe(3);
  });

  it("17.2.1: sendTrying false leaves the 100 Trying to the TU", () => {
    const { layer, sent } = setup({ sendTrying: false });
    const invite = makeRequest("INVITE");
    expect(layer.receiveRequest(invite, requestKey(invite), UPSTREAM).kind).toBe("new");
    expect(sent).toEqual([]);
  });

  it("17.2.3: a retransmission (same branch, sent-by and method) is absorbed by its transaction", () => {
    const { layer, labels } = setup();
    const invite = makeRequest("INVITE");
    const first = layer.receiveRequest(invite, requestKey(invite), UPSTREAM);
    const again = layer.receiveRequest(invite, requestKey(invite), UPSTREAM);
    expect(again.kind).toBe("absorbed");
    if (again.kind !== "absorbed" || first.kind !== "new") return;
    expect(again.transaction).toBe(first.transaction);
    expect(labels()).toEqual(["100", "100"]);
    expect(layer.size()).toBe(1);
  });

  it("17.2.3: the same branch from another sent-by is another transaction", () => {
    const { layer } = setup();
    const invite = makeRequest("INVITE");
    layer.receiveRequest(invite, requestKey(invite), UPSTREAM);
    const other = layer.receiveRequest(invite, requestKey(invite, BRANCH, "203.0.113.9:5060"), UPSTREAM);
    expect(other.kind).toBe("new");
    expect(layer.size()).toBe(2);
  });

  it("7.3.1: branch and sent-by compare case-insensitively; the method does not", () => {
    const { layer } = setup();
    const options = makeRequest("OPTIONS");
    layer.receiveRequest(options, requestKey(options), UPSTREAM);
    expect(layer.receiveRequest(options, requestKey(options, "z9hG4bK-ABC123", SENT_BY.toUpperCase()), UPSTREAM).kind).toBe("absorbed");
    const lower = { ...makeRequest("options") };
    expect(layer.receiveRequest(lower, requestKey(lower), UPSTREAM).kind).toBe("new");
  });

  it("17.2.3: an ACK matching a Completed INVITE server transaction is absorbed and moves it to Confirmed", () => {
    const { layer, labels, clock } = setup();
    const invite = makeRequest("INVITE");
    const result = layer.receiveRequest(invite, requestKey(invite), UPSTREAM);
    if (result.kind !== "new" || result.transaction.kind !== "invite-server") throw new Error("expected an INVITE server transaction");
    result.transaction.respond(makeResponse(invite, 486));
    const ack = makeRequest("ACK");
    const acked = layer.receiveRequest(ack, requestKey(ack), UPSTREAM);
    expect(acked).toEqual({ kind: "absorbed", transaction: result.transaction });
    expect(result.transaction.state).toBe("Confirmed");
    clock.advance(5000);
    expect(layer.size()).toBe(0);
    expect(labels()).toEqual(["100", "486"]);
  });

  it("17.1.1.3 / RFC 6026 8.6: the ACK for a 2xx, with its own branch or the INVITE's, is passed to the core", () => {
    const { layer } = setup();
    const invite = makeRequest("INVITE");
    const result = layer.receiveRequest(invite, requestKey(invite), UPSTREAM);
    if (result.kind !== "new") throw new Error("expected a new transaction");
    result.transaction.respond(makeResponse(invite, 200));
    expect(result.transaction.state).toBe("Accepted");
    const ack = makeRequest("ACK", { branch: "z9hG4bK-ack-2xx" });
    expect(layer.receiveRequest(ack, requestKey(ack, "z9hG4bK-ack-2xx"), UPSTREAM)).toEqual({ kind: "ack" });
    const sameBranch = makeRequest("ACK");
    expect(layer.receiveRequest(sameBranch, requestKey(sameBranch), UPSTREAM)).toEqual({ kind: "ack" });
    expect(layer.size()).toBe(1);
  });

  it("RFC 6026 8.7: an INVITE retransmitted after the 2xx is absorbed until Timer L (64*T1) ends the transaction", () => {
    const { layer, clock } = setup();
    const invite = makeRequest("INVITE");
    const result = layer.receiveRequest(invite, requestKey(invite), UPSTREAM);
    if (result.kind !== "new") throw new Error("expected a new transaction");
    result.transaction.respond(makeResponse(invite, 200));
    expect(layer.receiveRequest(invite, requestKey(invite), UPSTREAM).kind).toBe("absorbed");
    clock.advance(64 * 500);
    expect(result.transaction.state).toBe("Terminated");
    expect(layer.size()).toBe(0);
    expect(layer.receiveRequest(invite, requestKey(invite), UPSTREAM).kind).toBe("new");
  });

  it("17.2.3: CANCEL is its own transaction with the INVITE's branch, and findCancelTarget finds the INVITE", () => {
    const { layer } = setup();
    const invite = makeRequest("INVITE");
    const inviteResult = layer.receiveRequest(invite, requestKey(invite), UPSTREAM);
    const cancel = makeRequest("CANCEL");
    const cancelResult = layer.receiveRequest(cancel, requestKey(cancel), UPSTREAM);
    expect(cancelResult.kind).toBe("new");
    if (cancelResult.kind !== "new" || inviteResult.kind !== "new") return;
    expect(cancelResult.transaction.kind).toBe("non-invite-server");
    expect(cancelResult.transaction.method).toBe("CANCEL");
    expect(layer.findCancelTarget(requestKey(cancel))).toBe(inviteResult.transaction);
    expect(layer.findServerTransaction(requestKey(cancel))).toBe(cancelResult.transaction);
    expect(layer.size()).toBe(2);
  });

  it("9.2: a CANCEL for no known INVITE finds no target", () => {
    const { layer } = setup();
    const cancel = makeRequest("CANCEL", { branch: "z9hG4bK-unknown" });
    expect(layer.findCancelTarget(requestKey(cancel, "z9hG4bK-unknown"))).toBeUndefined();
    const options = makeRequest("OPTIONS");
    layer.receiveRequest(options, requestKey(options), UPSTREAM);
    expect(layer.findCancelTarget({ ...requestKey(options), method: "CANCEL" })).toBeUndefined();
  });

  it("17.2.3: a branch without the magic cookie (RFC 2543) is reported as unsupported and creates nothing", () => {
    const { layer, sent } = setup();
    const invite = makeRequest("INVITE", { branch: "1234abcd" });
    expect(layer.receiveRequest(invite, requestKey(invite, "1234abcd"), UPSTREAM)).toEqual({ kind: "rfc2543" });
    expect(layer.receiveRequest(invite, requestKey(invite, ""), UPSTREAM)).toEqual({ kind: "rfc2543" });
    expect(layer.size()).toBe(0);
    expect(sent).toEqual([]);
  });

  it("refuses a key whose method differs from the request's", () => {
    const { layer } = setup();
    const invite = makeRequest("INVITE");
    expect(() => layer.receiveRequest(invite, { ...requestKey(invite), method: "BYE" }, UPSTREAM)).toThrow(RangeError);
  });

  it("17.2.1: a Timer H timeout reaches the server TU and the transaction leaves the layer", () => {
    const { layer, server, clock, terminated } = setup();
    const invite = makeRequest("INVITE");
    const result = layer.receiveRequest(invite, requestKey(invite), UPSTREAM);
    if (result.kind !== "new") throw new Error("expected a new transaction");
    result.transaction.respond(makeResponse(invite, 480));
    clock.advance(32_000);
    expect(server.events).toEqual(["timeout", "terminated"]);
    expect(terminated).toEqual([result.transaction]);
    expect(layer.size()).toBe(0);
  });

  it("17.2.2: a non-INVITE server transaction leaves the layer after Timer J", () => {
    const { layer, clock } = setup();
    const register = makeRequest("REGISTER");
    const result = layer.receiveRequest(register, requestKey(register), UPSTREAM);
    if (result.kind !== "new") throw new Error("expected a new transaction");
    result.transaction.respond(makeResponse(register, 200));
    expect(layer.receiveRequest(register, requestKey(register), UPSTREAM).kind).toBe("absorbed");
    clock.advance(32_000);
    expect(layer.size()).toBe(0);
    expect(layer.receiveRequest(register, requestKey(register), UPSTREAM).kind).toBe("new");
  });

  it("17.2.4: a synchronous send failure of the 100 Trying is reported and the transaction removed", () => {
    const { layer, server, failSends } = setup();
    failSends();
    const invite = makeRequest("INVITE");
    const result = layer.receiveRequest(invite, requestKey(invite), UPSTREAM);
    expect(result.kind).toBe("new");
    if (result.kind === "new") expect(result.transaction.state).toBe("Terminated");
    expect(server.events).toEqual(["transport-error", "terminated"]);
    expect(layer.size()).toBe(0);
  });
});

describe("TransactionLayer: client side (RFC 3261 17.1.3)", () => {
  it("creates the client transaction the request needs and sends it to the destination", () => {
    const { layer, sent } = setup();
    const tu = recordingUser<ClientTransaction>();
    const invite = makeRequest("INVITE", { branch: OUT_BRANCH });
    const tx = layer.sendRequest(invite, { branch: OUT_BRANCH, destination: DOWNSTREAM, user: tu.user });
    expect(tx.kind).toBe("invite-client");
    expect(sent).toEqual([{ message: invite, destination: DOWNSTREAM }]);
    const bye = makeRequest("BYE", { branch: "z9hG4bK-proxy-2" });
    expect(layer.sendRequest(bye, { branch: "z9hG4bK-proxy-2", destination: DOWNSTREAM, user: tu.user }).kind).toBe("non-invite-client");
    expect(layer.counts()).toEqual({ client: 2, server: 0 });
  });

  it("9.1: a client transaction the TU abandons is Terminated and leaves the layer, without a transport error", () => {
    const { layer } = setup();
    const tu = recordingUser<ClientTransaction>();
    const invite = makeRequest("INVITE", { branch: OUT_BRANCH });
    const tx = layer.sendRequest(invite, { branch: OUT_BRANCH, destination: DOWNSTREAM, user: tu.user });
    layer.receiveResponse(makeResponse(invite, 180), { branch: OUT_BRANCH, method: "INVITE" });
    tx.abandon("given up after CANCEL");
    expect(tx.state).toBe("Terminated");
    expect(tx.activeTimers()).toEqual([]);
    expect(tu.events).toEqual(["response 180", "terminated"]);
    expect(layer.size()).toBe(0);
    expect(layer.receiveResponse(makeResponse(invite, 487), { branch: OUT_BRANCH, method: "INVITE" })).toEqual({ kind: "stray" });
  });

  it("17.1.3: a response is matched by its top Via branch and CSeq method and delivered to the TU", () => {
    const { layer } = setup();
    const tu = recordingUser<ClientTransaction>();
    const invite = makeRequest("INVITE", { branch: OUT_BRANCH });
    const tx = layer.sendRequest(invite, { branch: OUT_BRANCH, destination: DOWNSTREAM, user: tu.user });
    expect(layer.receiveResponse(makeResponse(invite, 180), { branch: OUT_BRANCH, method: "INVITE" })).toEqual({ kind: "delivered", transaction: tx });
    expect(tu.events).toEqual(["response 180"]);
    expect(layer.findClientTransaction({ branch: OUT_BRANCH, method: "INVITE" })).toBe(tx);
  });

  it("17.1.3: a CANCEL shares the INVITE's branch but its response matches the CANCEL transaction by CSeq method", () => {
    const { layer } = setup();
    const inviteTu = recordingUser<ClientTransaction>();
    const cancelTu = recordingUser<ClientTransaction>();
    const invite = makeRequest("INVITE", { branch: OUT_BRANCH });
    const cancel = makeRequest("CANCEL", { branch: OUT_BRANCH });
    layer.sendRequest(invite, { branch: OUT_BRANCH, destination: DOWNSTREAM, user: inviteTu.user });
    const cancelTx = layer.sendRequest(cancel, { branch: OUT_BRANCH, destination: DOWNSTREAM, user: cancelTu.user });
    const result = layer.receiveResponse(makeResponse(cancel, 200), { branch: OUT_BRANCH, method: "CANCEL" });
    expect(result).toEqual({ kind: "delivered", transaction: cancelTx });
    expect(cancelTu.events).toEqual(["response 200"]);
    expect(inviteTu.events).toEqual([]);
  });

  it("a response with a branch we never sent is handed to the core as stray", () => {
    const { layer } = setup();
    const invite = makeRequest("INVITE", { branch: "z9hG4bK-never-sent" });
    expect(layer.receiveResponse(makeResponse(invite, 200), { branch: "z9hG4bK-never-sent", method: "INVITE" })).toEqual({ kind: "stray" });
  });

  it("RFC 6026 7.2: after a 2xx the INVITE client transaction stays (Accepted) and its retransmissions are delivered until Timer M", () => {
    const { layer, terminated, clock } = setup();
    const tu = recordingUser<ClientTransaction>();
    const invite = makeRequest("INVITE", { branch: OUT_BRANCH });
    const tx = layer.sendRequest(invite, { branch: OUT_BRANCH, destination: DOWNSTREAM, user: tu.user });
    const ok = makeResponse(invite, 200);
    expect(layer.receiveResponse(ok, { branch: OUT_BRANCH, method: "INVITE" }).kind).toBe("delivered");
    expect(layer.receiveResponse(ok, { branch: OUT_BRANCH, method: "INVITE" }).kind).toBe("delivered");
    expect(layer.size()).toBe(1);
    clock.advance(64 * 500);
    expect(layer.size()).toBe(0);
    expect(terminated).toEqual([tx]);
    expect(layer.receiveResponse(ok, { branch: OUT_BRANCH, method: "INVITE" })).toEqual({ kind: "stray" });
    expect(tu.events).toEqual(["response 200", "response 200", "terminated"]);
  });

  it("17.1.1.2: a retransmitted 3xx-6xx is absorbed and the ACK re-sent", () => {
    const { layer, labels } = setup();
    const tu = recordingUser<ClientTransaction>();
    const invite = makeRequest("INVITE", { branch: OUT_BRANCH });
    layer.sendRequest(invite, { branch: OUT_BRANCH, destination: DOWNSTREAM, user: tu.user });
    const busy = makeResponse(invite, 486);
    layer.receiveResponse(busy, { branch: OUT_BRANCH, method: "INVITE" });
    expect(layer.receiveResponse(busy, { branch: OUT_BRANCH, method: "INVITE" }).kind).toBe("absorbed");
    expect(labels()).toEqual(["INVITE", "ACK", "ACK"]);
  });

  it("17.1.2.2: Timer F reports a timeout and the transaction leaves the layer", () => {
    const { layer, clock } = setup();
    const tu = recordingUser<ClientTransaction>();
    const options = makeRequest("OPTIONS", { branch: OUT_BRANCH });
    layer.sendRequest(options, { branch: OUT_BRANCH, destination: DOWNSTREAM, user: tu.user });
    clock.advance(32_000);
    expect(tu.events).toEqual(["timeout", "terminated"]);
    expect(layer.size()).toBe(0);
  });

  it("17.1.4: a synchronous send failure is reported and the transaction removed", () => {
    const { layer, failSends } = setup();
    const tu = recordingUser<ClientTransaction>();
    failSends();
    const tx = layer.sendRequest(makeRequest("OPTIONS", { branch: OUT_BRANCH }), { branch: OUT_BRANCH, destination: DOWNSTREAM, user: tu.user });
    expect(tx.state).toBe("Terminated");
    expect(tu.events).toEqual(["transport-error", "terminated"]);
    expect(layer.size()).toBe(0);
  });

  it("refuses ACK, a branch without the magic cookie, and a duplicate branch and method", () => {
    const { layer } = setup();
    const tu = recordingUser<ClientTransaction>();
    expect(() => layer.sendRequest(makeRequest("ACK"), { branch: OUT_BRANCH, destination: DOWNSTREAM, user: tu.user })).toThrow(TypeError);
    expect(() => layer.sendRequest(makeRequest("OPTIONS"), { branch: "abc", destination: DOWNSTREAM, user: tu.user })).toThrow(/magic cookie/);
    layer.sendRequest(makeRequest("OPTIONS"), { branch: OUT_BRANCH, destination: DOWNSTREAM, user: tu.user });
    expect(() => layer.sendRequest(makeRequest("OPTIONS"), { branch: OUT_BRANCH, destination: DOWNSTREAM, user: tu.user })).toThrow(/already exists/);
    expect(layer.size()).toBe(1);
  });
});

describe("TransactionLayer: lifecycle", () => {
  it("exposes the resolved timers, Timer C included, for the proxy core", () => {
    const layer = new TransactionLayer({ send: () => undefined, clock: new ManualClock(), timers: { t1: 100, timerC: 200_000 } });
    expect(layer.timers.B).toBe(6400);
    expect(layer.timers.C).toBe(200_000);
  });

  it("close() disposes every transaction: no timers left, no TU callbacks", () => {
    const { layer, clock, server } = setup();
    const tu = recordingUser<ClientTransaction>();
    layer.sendRequest(makeRequest("INVITE", { branch: OUT_BRANCH }), { branch: OUT_BRANCH, destination: DOWNSTREAM, user: tu.user });
    const register = makeRequest("REGISTER");
    layer.receiveRequest(register, requestKey(register), UPSTREAM);
    layer.close();
    expect(layer.size()).toBe(0);
    expect(clock.pendingCount()).toBe(0);
    clock.advance(60_000);
    expect(tu.events).toEqual([]);
    expect(server.events).toEqual([]);
  });
});

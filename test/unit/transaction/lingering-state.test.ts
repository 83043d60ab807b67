// What an answered non-INVITE transaction still holds while it lingers (Timer J: 32 s for a server
// transaction, Timer K: 5 s for a client one). Under load these lingering transactions are most of the
// gateway's live memory: they must keep only what their remaining job needs, and let the rest be collected.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import type { SipMessage, SipRequest, SipResponse } from "../../../sip/message";
import { serializeMessage } from "../../../sip/serializer";
import { ManualClock, TransactionLayer } from "../../../edge-gateway/src/transaction";
import type { ClientTransactionUser, Destination, ClientTransaction } from "../../../edge-gateway/src/transaction";
import { DOWNSTREAM, UPSTREAM, makeRequest, makeResponse, requestKey, sentMessage } from "./sip-fixtures";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** A full collection once the current job is over (a WeakRef's target is kept alive until then). */
async function collect(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  gc();
}

/** A layer whose transport keeps a parsed copy of what went out, not the message objects themselves. */
function setup() {
  const clock = new ManualClock();
  const sent: { message: SipMessage; destination: Destination }[] = [];
  const copy = (m: SipMessage): SipMessage => structuredClone(m);
  const layer = new TransactionLayer({ clock, send: (message, destination) => sent.push({ message: copy(sentMessage(message)), destination }) });
  return { clock, sent, layer };
}

describe("an answered non-INVITE transaction keeps only what it still needs", () => {
  it("server: the final response it keeps shares a slab with other kept responses, not with messages sent at once", () => {
    // A kept view keeps its whole slab (sip/byte-slab.ts): in the slab of sent-and-dropped messages, each
    // final response would keep 64 KiB of them alive for Timer J.
    const kept: Uint8Array[] = [];
    const layer = new TransactionLayer({
      clock: new ManualClock(),
      send: (message) => {
        if ("bytes" in message) kept.push(message.bytes);
      },
    });
    for (const branch of ["z9hG4bK-slab-1", "z9hG4bK-slab-2"]) {
      const request = makeRequest("REGISTER", { branch });
      const r = layer.receiveRequest(request, requestKey(request, branch), UPSTREAM);
      if (r.kind !== "new" || r.transaction.kind !== "non-invite-server") throw new Error("expected a new non-INVITE server transaction");
      r.transaction.respond(makeResponse(request, 200));
    }
    const sentAtOnce = serializeMessage(makeResponse(makeRequest("OPTIONS", { branch: "z9hG4bK-slab-3" }), 200));
    expect(kept).toHaveLength(2);
    expect(kept[1]!.buffer).toBe(kept[0]!.buffer);
    expect(kept[0]!.buffer).not.toBe(sentAtOnce.buffer);
  });

  it("server (17.2.2): the request and the parsed final are let go; a retransmission still gets the same response", async () => {
    const { clock, sent, layer } = setup();
    const branch = "z9hG4bK-linger-server";
    let request: SipRequest | undefined = makeRequest("REGISTER", { branch });
    const key = requestKey(request, branch);
    const r = layer.receiveRequest(request, key, UPSTREAM);
    if (r.kind !== "new" || r.transaction.kind !== "non-invite-server") throw new Error("expected a new non-INVITE server transaction");
    const tx = r.transaction;
    expect(tx.request).toBe(request);
    let final: SipResponse | undefined = makeResponse(request, 200);
    tx.respond(final);
    const requestRef = new WeakRef(request);
    const finalRef = new WeakRef(final);
    request = undefined;
    final = undefined;
    await collect();

    expect(tx.state).toBe("Completed");
    expect(tx.request).toBeUndefined();
    expect(requestRef.deref()).toBeUndefined();
    expect(finalRef.deref()).toBeUndefined();
    // A retransmitted request (a fresh copy, as the wire would bring it) still gets the final response.
    const again = makeRequest("REGISTER", { branch });
    expect(layer.receiveRequest(again, key, UPSTREAM).kind).toBe("absorbed");
    expect(sent).toHaveLength(2);
    expect(sent[1]!.message).toEqual(sent[0]!.message);
    expect(sent[1]!.destination).toEqual(UPSTREAM);
    expect(tx.lastStatus).toBe(200);
    clock.advance(64 * 500);
    expect(tx.state).toBe("Terminated");
    expect(layer.counts().server).toBe(0);
  });

  it("client (17.1.2.2): the TU and the request are let go on the final response; Timer K still ends it", async () => {
    const { clock, sent, layer } = setup();
    const branch = "z9hG4bK-linger-client";
    const responses: number[] = [];
    let user: ClientTransactionUser<ClientTransaction> | undefined = { onResponse: (res) => responses.push(res.status) };
    let request: SipRequest | undefined = makeRequest("OPTIONS", { branch });
    const tx = layer.sendRequest(request, { branch, destination: DOWNSTREAM, user });
    const userRef = new WeakRef(user);
    const requestRef = new WeakRef(request);
    const answer = makeResponse(request, 200);
    user = undefined;
    request = undefined;
    expect(layer.receiveResponse(answer, { branch, method: "OPTIONS" }).kind).toBe("delivered");
    await collect();

    expect(responses).toEqual([200]);
    expect(tx.state).toBe("Completed");
    expect(userRef.deref()).toBeUndefined();
    expect(requestRef.deref()).toBeUndefined();
    // A retransmitted final is absorbed, not passed up; nothing is resent.
    expect(layer.receiveResponse(answer, { branch, method: "OPTIONS" }).kind).toBe("absorbed");
    expect(responses).toEqual([200]);
    expect(sent).toHaveLength(1);
    clock.advance(5000);
    expect(tx.state).toBe("Terminated");
    expect(layer.counts().client).toBe(0);
  });

  it("client: a TU that asked to hear of the end is kept, and told at Timer K", async () => {
    const { clock, layer } = setup();
    const branch = "z9hG4bK-linger-told";
    const ended: string[] = [];
    let user: ClientTransactionUser<ClientTransaction> | undefined = {
      onResponse: () => undefined,
      onTerminated: (t) => ended.push(`${t.method} ${t.state}`),
    };
    const request = makeRequest("OPTIONS", { branch });
    const tx = layer.sendRequest(request, { branch, destination: DOWNSTREAM, user });
    const userRef = new WeakRef(user);
    user = undefined;
    layer.receiveResponse(makeResponse(request, 404), { branch, method: "OPTIONS" });
    await collect();

    expect(userRef.deref()).toBeDefined();
    expect(ended).toEqual([]);
    clock.advance(5000);
    expect(tx.state).toBe("Terminated");
    expect(ended).toEqual(["OPTIONS Terminated"]);
  });
});

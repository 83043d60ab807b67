// The hardening of the proxy core: CANCEL after a 100 (9.1, 16.10), gated 2xx never bypassed, no open relay,
// no reflection or amplification, loops, overload bounds and the screening hook. Each case fails on the core
// before the restructure (noted per test).
import { describe, expect, it } from "vitest";
import type { RequestDecision, RequestDecisionInput, ResponseDecision } from "../../../contract/v1";
import { ProxyStateError } from "../../../edge-gateway/src/proxy/proxy-state";
import { ResponseContext } from "../../../edge-gateway/src/proxy/response-context";
import type { ServerTransaction } from "../../../edge-gateway/src/transaction/transaction-layer";
import type { WorkerAnswer } from "../../../edge-gateway/src/worker-client/worker-client";
import type { SipRequest } from "../../../sip/message";
import { headerTag } from "../../../sip/core-headers";
import type { Harness } from "./core-harness";
import { afterTrying, aliasParams, ASTERISK, decide, deferred, flush, forward, label, onlyRequest, onlyResponse, ownRoute, PHONE_A, PHONE_B, requestsOf, setup } from "./core-harness";
import { addr, answer, request, response, value } from "./support";

const VIA = "SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-h-1";
const CALL = "h-call@198.51.100.10";

function pbxInvite(options: { via?: string; uri?: string; callId?: string; ua?: string } = {}): SipRequest {
  return request([
    `INVITE ${options.uri ?? "sip:401@192.0.2.1:5060"} SIP/2.0`,
    `Via: ${options.via ?? VIA}`,
    "Max-Forwards: 70",
    'From: "PBX" <sip:100@tenant-a.example>;tag=pbx-1',
    "To: <sip:401@tenant-a.example>",
    `Call-ID: ${options.callId ?? CALL}`,
    "CSeq: 101 INVITE",
    "Contact: <sip:100@198.51.100.10:5060>",
    ...(options.ua ? [`User-Agent: ${options.ua}`] : []),
    "Content-Length: 0",
  ]);
}

function pbxCancel(via = VIA): SipRequest {
  return request([
    "CANCEL sip:401@192.0.2.1:5060 SIP/2.0",
    `Via: ${via}`,
    "Max-Forwards: 70",
    'From: "PBX" <sip:100@tenant-a.example>;tag=pbx-1',
    "To: <sip:401@tenant-a.example>",
    `Call-ID: ${CALL}`,
    "CSeq: 101 CANCEL",
    "Content-Length: 0",
  ]);
}

const TARGET_A = { requestUri: "sip:401@10.0.0.5:5060", nextHop: { ip: PHONE_A.ip, port: PHONE_A.port }, side: "phones" } as const;
const TARGET_B = { requestUri: "sip:401@10.0.0.6:5060", nextHop: { ip: PHONE_B.ip, port: PHONE_B.port }, side: "phones" } as const;
const ONE: RequestDecisionInput = { action: "relay", targets: [TARGET_A], recordRoute: true };

async function start(h: Harness, decision: RequestDecisionInput = ONE): Promise<SipRequest[]> {
  h.worker.onRequest = () => decide(decision);
  h.fromPbx(pbxInvite());
  // 17.2.1: the 100 is held while the worker decides, and goes with the relay, before the INVITE.
  expect(h.take()).toEqual([]);
  await flush();
  return requestsOf(afterTrying(h.take()), "INVITE").map((i) => i.request);
}

describe("CANCEL when the callee sent only 100 Trying (RFC 3261 9.1, 16.10)", () => {
  it("a 100 is a provisional response: the CANCEL goes downstream at once and the callee's 487 reaches the caller", async () => {
    // Old core: the CANCEL was held forever (a 100 did not count), the caller got 408 after Timer C.
    const h = setup();
    const [a] = await start(h);
    h.fromPhone(answer(a!, 100, "Trying"), PHONE_A);
    expect(h.take()).toEqual([]);
    h.fromPbx(pbxCancel());
    const sent = h.take();
    expect(sent.map(label).sort()).toEqual(["200 -> 198.51.100.10:5060", "CANCEL -> 203.0.113.50:40000"]);
    const cancel = requestsOf(sent, "CANCEL")[0]!.request;
    h.fromPhone(answer(cancel, 200, "OK"), PHONE_A);
    h.fromPhone(answer(a!, 487, "Request Terminated", [], "a-tag"), PHONE_A);
    expect(h.take().map(label).sort()).toEqual(["487 -> 198.51.100.10:5060", "ACK -> 203.0.113.50:40000"]);
  });

  it("a callee that goes silent after 100 and the CANCEL: given up after 64*T1, the caller gets 487 and the transaction ends", async () => {
    // Old core: nothing ever happened (no CANCEL, no timer) until Timer C's 408.
    const h = setup();
    const [a] = await start(h);
    h.fromPhone(answer(a!, 100, "Trying"), PHONE_A);
    h.fromPbx(pbxCancel());
    h.take();
    h.clock.advance(32_000);
    const sent = h.take().filter((s) => s.message.kind === "response");
    expect(sent.map(label)).toEqual(["487 -> 198.51.100.10:5060"]);
    h.clock.advance(64_000);
    expect(h.gauge("edge_gateway_response_contexts")).toBe(0);
  });

  it("a CANCEL before any provisional is held, and sent as soon as a 100 arrives", async () => {
    const h = setup();
    const [a] = await start(h);
    h.fromPbx(pbxCancel());
    expect(h.take().map(label)).toEqual(["200 -> 198.51.100.10:5060"]);
    h.fromPhone(answer(a!, 100, "Trying"), PHONE_A);
    expect(h.take().map(label)).toEqual(["CANCEL -> 203.0.113.50:40000"]);
  });

  it("a CANCEL before any provisional, and none ever comes: the caller still ends with 487 (not 408) when Timer B gives up", async () => {
    // Old core: 408 Request Timeout.
    const h = setup();
    await start(h);
    h.fromPbx(pbxCancel());
    h.take();
    h.clock.advance(32_000);
    const finals = h.take().filter((s) => s.message.kind === "response");
    expect(finals.map(label)).toEqual(["487 -> 198.51.100.10:5060"]);
    expect(requestsOf(h.take(), "CANCEL")).toEqual([]);
  });
});

describe("a worker-gated 2xx is never bypassed", () => {
  const GATED: RequestDecisionInput = { action: "relay", targets: [TARGET_A, TARGET_B], recordRoute: true, wantResponse: "2xx", context: "ctx" };
  const okFrom = (inv: SipRequest, tag: string) => answer(inv, 200, "OK", [`Contact: <sip:401@10.0.0.5:5060>`], tag);

  it("a retransmitted 2xx while its decision is pending is absorbed; once decided, the shaped 2xx goes up, retransmissions too", async () => {
    // Old core: the retransmission took the stateless path and reached the caller undecided.
    const h = setup();
    const pending = deferred<WorkerAnswer<ResponseDecision>>();
    h.worker.onResponse = () => pending.promise;
    const [a] = await start(h, { ...GATED, targets: [TARGET_A] });
    h.fromPhone(okFrom(a!, "a-tag"), PHONE_A);
    h.fromPhone(okFrom(a!, "a-tag"), PHONE_A);
    expect(h.take()).toEqual([]);
    expect(h.worker.responses).toHaveLength(1);
    pending.resolve(forward({ action: "forward", headers: { add: [["X-Decided", "yes"]] } }));
    await flush();
    const up = onlyResponse(h.take());
    expect([up.response.status, value(up.response, "X-Decided")]).toEqual([200, "yes"]);
    h.fromPhone(okFrom(a!, "a-tag"), PHONE_A);
    const again = onlyResponse(h.take());
    expect(value(again.response, "X-Decided")).toBe("yes");
    expect(h.worker.responses).toHaveLength(1);
  });

  it("two branches' 2xx are decided each on its own: the second waits for its own decision, not the first's", async () => {
    // Old core: one "deciding" flag for the context; the second 2xx went out with the first decision's state.
    const h = setup();
    const answers = [deferred<WorkerAnswer<ResponseDecision>>(), deferred<WorkerAnswer<ResponseDecision>>()];
    let n = 0;
    h.worker.onResponse = () => answers[n++]!.promise;
    const [a, b] = await start(h, GATED);
    h.fromPhone(okFrom(a!, "a-tag"), PHONE_A);
    h.fromPhone(okFrom(b!, "b-tag"), PHONE_B);
    expect(h.take().filter((s) => s.message.kind === "response")).toEqual([]);
    expect(h.worker.responses).toHaveLength(2);
    answers[0]!.resolve(forward());
    await flush();
    expect(h.take().filter((s) => s.message.kind === "response").map((s) => value(s.message, "To"))).toEqual(["<sip:401@tenant-a.example>;tag=a-tag"]);
    answers[1]!.resolve(forward({ action: "drop", reason: "test" }));
    await flush();
    expect(h.take().filter((s) => s.message.kind === "response")).toEqual([]);
    h.fromPhone(okFrom(b!, "b-tag"), PHONE_B);
    expect(h.take()).toEqual([]);
  });
});

describe("no open relay (in-dialog requests need the gateway's dialog proof)", () => {
  const bye = (routes: readonly string[], uri = "sip:100@198.51.100.10:5060", callId = CALL): SipRequest =>
    request([
      `BYE ${uri} SIP/2.0`,
      "Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK-h-bye",
      ...routes.map((r) => `Route: ${r}`),
      "Max-Forwards: 70",
      "From: <sip:401@tenant-a.example>;tag=a-tag",
      "To: <sip:100@tenant-a.example>;tag=pbx-1",
      `Call-ID: ${callId}`,
      "CSeq: 2 BYE",
      "Content-Length: 0",
    ]);

  it("a To-tagged request whose Route names the gateway without a proof is refused 403, once, and relayed nowhere", () => {
    // Old core: relayed to the Request-URI (any address the stranger chose).
    const h = setup();
    h.fromPhone(bye(["<sip:192.0.2.1:5060;lr>"], "sip:victim@198.51.100.66:5060"));
    const { to, response } = onlyResponse(h.take());
    expect([to, response.status]).toEqual([PHONE_A, 403]);
    h.clock.advance(64_000);
    expect(h.take()).toEqual([]);
    expect(h.metrics.get("edge_gateway_rejections_total", { reason: "dialog_proof" })).toBe(1);
  });

  it("a proof made for another Call-ID, or by another secret, does not open this dialog", () => {
    const h = setup();
    h.fromPhone(bye([ownRoute("192.0.2.1", "other-call", "pbx-1")]));
    expect(onlyResponse(h.take()).response.status).toBe(403);
    h.fromPhone(bye(["<sip:192.0.2.1:5060;lr;dp=000000000000000000000000>"]));
    expect(onlyResponse(h.take()).response.status).toBe(403);
  });

  it("a proof checks against either tag, and survives a restart (the key comes from the configured secret)", () => {
    const first = setup();
    first.fromPhone(bye([ownRoute("192.0.2.1", CALL, "pbx-1")]));
    expect(onlyRequest(first.take()).to).toEqual(ASTERISK);
    const restarted = setup();
    restarted.fromPhone(bye([ownRoute("192.0.2.1", CALL, "a-tag")]));
    expect(onlyRequest(restarted.take()).to).toEqual(ASTERISK);
  });

  it("a NAT alias is a destination only with the gateway's proof: a stranger's alias is refused 403", () => {
    // Old core: sent the BYE to whatever the alias named.
    const h = setup();
    const route = ownRoute("192.0.2.1", CALL, "pbx-1");
    h.fromPbx(bye([route], "sip:401@10.0.0.5:5060;alias=198.51.100.66~5060~1"), ASTERISK);
    expect(onlyResponse(h.take()).response.status).toBe(403);
    h.fromPbx(bye([route], "sip:401@10.0.0.5:5060;alias=198.51.100.66~5060~1;amac=ffffffffffffffffffffffff"), ASTERISK);
    expect(onlyResponse(h.take()).response.status).toBe(403);
    h.fromPbx(bye([route], `sip:401@10.0.0.5:5060${aliasParams(CALL, "203.0.113.50~40000~1")}`), ASTERISK);
    const { to, request: relayed } = onlyRequest(h.take());
    expect(to).toEqual(PHONE_A);
    expect(relayed.uri).toBe("sip:401@10.0.0.5:5060");
  });

  it("an initial request's preloaded foreign Route does not choose the next hop: the worker's decision does", async () => {
    // Old core: the Route after ours (a stranger's) was the next hop when the decision named none.
    const h = setup();
    h.worker.onRequest = () => decide({ action: "relay", targets: [{ requestUri: "sip:100@198.51.100.10:5060", side: "pbx" }], recordRoute: true });
    h.fromPhone(
      request([
        "INVITE sip:100@tenant-a.example SIP/2.0",
        "Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK-h-preload",
        "Route: <sip:192.0.2.1:5060;lr>, <sip:198.51.100.66:5060;lr>",
        "Max-Forwards: 70",
        "From: <sip:401@tenant-a.example>;tag=a-tag",
        "To: <sip:100@tenant-a.example>",
        "Call-ID: preload-1",
        "CSeq: 1 INVITE",
        "Contact: <sip:401@10.0.0.5:5060>",
        "Content-Length: 0",
      ]),
    );
    await flush();
    const invites = requestsOf(h.take(), "INVITE");
    expect(invites.map((i) => i.to)).toEqual([ASTERISK]);
  });

  it("an ACK without the proof is dropped, never relayed", () => {
    // Old core: relayed statelessly to the Request-URI.
    const h = setup();
    const ack = request([
      "ACK sip:victim@198.51.100.66:5060 SIP/2.0",
      "Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK-h-ack",
      "Route: <sip:192.0.2.1:5060;lr>",
      "Max-Forwards: 70",
      "From: <sip:401@tenant-a.example>;tag=a-tag",
      "To: <sip:100@tenant-a.example>;tag=pbx-1",
      `Call-ID: ${CALL}`,
      "CSeq: 1 ACK",
      "Content-Length: 0",
    ]);
    h.fromPhone(ack);
    expect(h.take()).toEqual([]);
  });
});

describe("no reflection, no amplification (RFC 3261 18.2.1, RFC 3581; stateless refusals)", () => {
  it("a client's own received/rport does not steer responses: the 100 goes to the observed source", () => {
    // Old core (received given, sent-by = source, no rport asked): the 100 went to 198.51.100.66.
    const h = setup();
    h.worker.onRequest = () => deferred<never>().promise;
    h.fromPbx(pbxInvite({ via: "SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-h-refl;received=198.51.100.66" }));
    // Undecided for 200 ms: the 100 goes.
    h.clock.advance(200);
    expect(onlyResponse(h.take()).to).toEqual(ASTERISK);
  });

  it("the worker's rejection of an INVITE, decided within 200 ms, is sent alone and once (no 100, no Timer G); a retransmitted INVITE gets it again 1:1", async () => {
    // Old core: 403 then Timer G retransmissions until Timer H (about a dozen datagrams); then 100 and 403.
    const h = setup();
    h.worker.onRequest = () => decide({ action: "reply", status: 403, reason: "Forbidden" });
    h.fromPbx(pbxInvite());
    await flush();
    expect(h.take().map(label)).toEqual(["403 -> 198.51.100.10:5060"]);
    h.clock.advance(31_000);
    expect(h.take()).toEqual([]);
    h.fromPbx(pbxInvite());
    expect(h.take().map(label)).toEqual(["403 -> 198.51.100.10:5060"]);
    expect(h.worker.requests).toHaveLength(1);
  });

  it("a rejection decided after the 100 went (200 ms) is retransmitted on Timer G until the ACK: the caller no longer resends its INVITE", async () => {
    // Old core: sent once after the 100, so a lost rejection left the caller waiting for its Timer B.
    const h = setup();
    const pending = deferred<WorkerAnswer<RequestDecision>>();
    h.worker.onRequest = () => pending.promise;
    h.fromPbx(pbxInvite());
    h.clock.advance(200);
    expect(h.take().map(label)).toEqual(["100 -> 198.51.100.10:5060"]);
    pending.resolve(decide({ action: "reply", status: 403, reason: "Forbidden" }));
    await flush();
    const rejection = h.take();
    expect(rejection.map(label)).toEqual(["403 -> 198.51.100.10:5060"]);
    // Timer G: T1, then doubling.
    h.clock.advance(500);
    expect(h.take().map(label)).toEqual(["403 -> 198.51.100.10:5060"]);
    h.clock.advance(1_000);
    expect(h.take().map(label)).toEqual(["403 -> 198.51.100.10:5060"]);
    const ack = request([
      "ACK sip:401@tenant-a.example SIP/2.0",
      "Via: SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-h-1",
      "Max-Forwards: 70",
      "From: <sip:100@tenant-a.example>;tag=pbx-1",
      `To: <sip:401@tenant-a.example>;tag=${headerTag(rejection[0]!.message, "To") ?? ""}`,
      `Call-ID: ${CALL}`,
      "CSeq: 101 ACK",
      "Content-Length: 0",
    ]);
    h.fromPbx(ack);
    h.clock.advance(10_000);
    expect(h.take()).toEqual([]);
  });

  it("a response with our Via on top that matches no client transaction is dropped, 2xx included", () => {
    // Old core: a stray INVITE 2xx was forwarded statelessly along the next Via (any address).
    const h = setup();
    h.fromPhone(
      response([
        "SIP/2.0 200 OK",
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-never-sent",
        "Via: SIP/2.0/UDP 198.51.100.66:5060;branch=z9hG4bK-victim",
        "From: <sip:a@x>;tag=1",
        "To: <sip:b@y>;tag=2",
        "Call-ID: stray-1",
        "CSeq: 1 INVITE",
        "Content-Length: 0",
      ]),
    );
    expect(h.take()).toEqual([]);
    expect(h.metrics.get("edge_gateway_stray_responses_total")).toBe(1);
  });

  it("after Timer M the INVITE client transaction is gone and a late 2xx retransmission is dropped", async () => {
    const h = setup();
    const [a] = await start(h);
    const ok = answer(a!, 200, "OK", ["Contact: <sip:401@10.0.0.5:5060>"], "a-tag");
    h.fromPhone(ok, PHONE_A);
    expect(h.take().map(label)).toEqual(["200 -> 198.51.100.10:5060"]);
    h.clock.advance(32_000);
    h.fromPhone(ok, PHONE_A);
    expect(h.take()).toEqual([]);
  });
});

describe("loops (RFC 3261 16.3 step 4, 16.6 step 8)", () => {
  it("a request that comes back unchanged through the gateway is answered 482, without a worker call", async () => {
    // Old core: no loop detection; the worker was asked again and the request forwarded again.
    const h = setup();
    const loopTarget = { requestUri: "sip:401@192.0.2.1:5060", nextHop: { ip: "198.51.100.20", port: 5060 }, side: "pbx" } as const;
    h.worker.onRequest = () => decide({ action: "relay", targets: [loopTarget], recordRoute: false });
    h.fromPbx(pbxInvite());
    await flush();
    const { request: forwarded } = onlyRequest(afterTrying(h.take()));
    // The next hop sends it straight back.
    const back = request([
      `INVITE ${forwarded.uri} SIP/2.0`,
      "Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-next-hop",
      ...forwarded.headers.filter((x) => x.name !== "Content-Length").map((x) => `${x.name}: ${x.value}`),
      "Content-Length: 0",
    ]);
    h.fromPbx(back, addr("198.51.100.20", 5060));
    const { response: r } = onlyResponse(h.take());
    expect(r.status).toBe(482);
    expect(h.worker.requests).toHaveLength(1);
  });
});

describe("overload control (bounded state)", () => {
  it("past MAX_TRANSACTIONS a new request gets 503 with a jittered Retry-After, once; the request in progress still absorbs its retransmissions", () => {
    // Old core: no bound at all.
    const h = setup({ limits: { maxTransactions: 1 }, random: () => 0.5 });
    h.worker.onRequest = () => deferred<never>().promise;
    h.fromPbx(pbxInvite());
    // Taken: the worker is asked, and its 100 is held while it decides.
    expect(h.take()).toEqual([]);
    expect(h.worker.requests).toHaveLength(1);
    h.fromPbx(pbxInvite({ via: "SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-h-2", callId: "second" }));
    const { response: r } = onlyResponse(h.take());
    expect(r.status).toBe(503);
    expect(value(r, "Retry-After")).toBe("11"); // 7 + floor(0.5 * 8)
    h.clock.advance(32_000);
    expect(h.take().filter((s) => s.message.kind === "response" && s.message.status === 503)).toEqual([]);
    h.fromPbx(pbxInvite());
    expect(h.take().map(label)).toEqual(["100 -> 198.51.100.10:5060"]);
    expect(h.metrics.get("edge_gateway_rejections_total", { reason: "overload_transactions" })).toBe(1);
    expect(h.worker.requests).toHaveLength(1);
  });

  it("past MAX_PENDING_DECISIONS a new out-of-dialog request gets 503; the pending decisions are a gauge", () => {
    const h = setup({ limits: { maxPendingDecisions: 1 } });
    h.worker.onRequest = () => deferred<never>().promise;
    h.fromPbx(pbxInvite());
    h.take();
    expect(h.gauge("edge_gateway_pending_decisions")).toBe(1);
    h.fromPbx(pbxInvite({ via: "SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-h-3", callId: "third" }));
    expect(onlyResponse(h.take()).response.status).toBe(503);
    expect(h.metrics.get("edge_gateway_rejections_total", { reason: "overload_pending_decisions" })).toBe(1);
    expect(h.worker.requests).toHaveLength(1);
  });
});

describe("overload control counts work in progress, and bounds how long decisions queue", () => {
  it("answered server transactions waiting out their timers do not count against MAX_TRANSACTIONS", async () => {
    // Old core: every live server transaction counted, so at a sustained rate above MAX_TRANSACTIONS / 32 s
    // (Timer J) the gateway refused everything.
    const h = setup({ limits: { maxTransactions: 1 } });
    h.worker.onRequest = () => decide({ action: "reply", status: 404, reason: "Not Found" });
    h.fromPbx(pbxInvite({ callId: "answered" }));
    await flush();
    expect(h.take().map((s) => (s.message.kind === "response" ? s.message.status : 0))).toContain(404);
    h.fromPbx(pbxInvite({ via: "SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-h-9", callId: "next" }));
    await flush();
    const statuses = h.take().map((s) => (s.message.kind === "response" ? s.message.status : 0));
    expect(statuses).not.toContain(503);
    expect(h.worker.requests).toHaveLength(2);
  });

  it("while the oldest decision in flight stays older than MAX_DECISION_WAIT_MS for an interval, a new request gets 503; a burst does not", () => {
    const h = setup({ limits: { maxDecisionWaitMs: 100 } });
    h.worker.onRequest = () => deferred<never>().promise;
    h.fromPbx(pbxInvite());
    h.take();
    h.clock.advance(50);
    h.fromPbx(pbxInvite({ via: "SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-h-10", callId: "young" }));
    expect(h.take()).toEqual([]);
    expect(h.worker.requests).toHaveLength(2);
    // Too old for the first time: a burst, still admitted.
    h.clock.advance(100);
    h.fromPbx(pbxInvite({ via: "SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-h-12", callId: "burst" }));
    expect(h.take()).toEqual([]);
    expect(h.worker.requests).toHaveLength(3);
    // Still too old a whole interval (4 x the bound) later: refused. (The three undecided INVITEs got their 100s.)
    h.clock.advance(400);
    expect(h.take().map(label)).toEqual(Array(3).fill("100 -> 198.51.100.10:5060"));
    h.fromPbx(pbxInvite({ via: "SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-h-11", callId: "old-queue" }));
    expect(onlyResponse(h.take()).response.status).toBe(503);
    expect(h.metrics.get("edge_gateway_rejections_total", { reason: "overload_decision_wait" })).toBe(1);
    expect(h.worker.requests).toHaveLength(3);
  });
});

describe("overload control: the receive queue's delay (the queue no count sees)", () => {
  const bye = (): SipRequest =>
    request([
      "BYE sip:100@198.51.100.10:5060 SIP/2.0",
      "Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK-h-load-bye",
      `Route: ${ownRoute("192.0.2.1", CALL, "pbx-1")}`,
      "Max-Forwards: 70",
      "From: <sip:401@tenant-a.example>;tag=a-tag",
      "To: <sip:100@tenant-a.example>;tag=pbx-1",
      `Call-ID: ${CALL}`,
      "CSeq: 2 BYE",
      "Content-Length: 0",
    ]);

  it("while the queue is too long a share of new requests gets 503 at no decision cost; in-dialog requests are still relayed; a short queue lets them in again", () => {
    // Old core: no load signal; at twice capacity every request was read past T1 and retransmitted.
    const h = setup({ random: () => 0.5 });
    h.worker.onRequest = () => deferred<never>().promise;
    for (let i = 0; i < 10; i++) h.core.overload.load.sample(500, 1);
    expect(h.gauge("edge_gateway_pending_decisions")).toBe(0);
    h.fromPbx(pbxInvite({ callId: "shed" }));
    const { response: r } = onlyResponse(h.take());
    expect(r.status).toBe(503);
    expect(value(r, "Retry-After")).toBeDefined();
    expect(h.metrics.get("edge_gateway_rejections_total", { reason: "overload_load" })).toBe(1);
    expect(h.worker.requests).toHaveLength(0);
    h.fromPhone(bye());
    expect(onlyRequest(h.take()).to).toEqual(ASTERISK);
    // A short queue and idle time again: the share falls until new requests are taken.
    for (let i = 0; i < 50; i++) h.core.overload.load.sample(5, 0.5);
    h.fromPbx(pbxInvite({ via: "SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-h-load-2", callId: "taken" }));
    expect(h.take()).toEqual([]);
    expect(h.worker.requests).toHaveLength(1);
  });

  /** An OPTIONS from phone A to `uri`, To `to`; its branch doubles as the Call-ID. */
  const phoneOptions = (uri: string, branch: string, to: string): SipRequest =>
    request([
      `OPTIONS ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=${branch}`,
      "Max-Forwards: 70",
      "From: <sip:401@tenant-a.example>;tag=ka",
      `To: <${to}>`,
      `Call-ID: ${branch}`,
      "CSeq: 1 OPTIONS",
      "Content-Length: 0",
    ]);

  it("while refusing, a keep-alive OPTIONS to the gateway itself is still answered 200; a routed OPTIONS is refused", () => {
    const h = setup({ random: () => 0.5 });
    for (let i = 0; i < 10; i++) h.core.overload.load.sample(500, 1);
    const options = (uri: string, branch: string): SipRequest => phoneOptions(uri, branch, "sip:192.0.2.1");
    h.fromPhone(options("sip:192.0.2.1:5060", "z9hG4bK-ka-1"));
    expect(onlyResponse(h.take()).response.status).toBe(200);
    h.fromPhone(options("sip:401@tenant-a.example", "z9hG4bK-ka-2"));
    expect(onlyResponse(h.take()).response.status).toBe(503);
    expect(h.worker.requests).toHaveLength(0);
  });

  it("while refusing, an OPTIONS is refused on one draw of the share, with or without a user part, unless it is to the gateway itself", () => {
    // Draws of the shedder (refuse() is its only use of `random` for a request it admits): 0.99 admits.
    let draws = 0;
    const h = setup({
      random: () => {
        draws++;
        return 0.99;
      },
    });
    h.worker.onRequest = () => deferred<never>().promise;
    for (let i = 0; i < 10; i++) h.core.overload.load.sample(500, 1);
    expect(h.core.overload.load.refusedShare).toBeGreaterThan(0);
    const options = (uri: string, branch: string): SipRequest => phoneOptions(uri, branch, uri);
    // To a user: refused (or admitted) before the checks of 16.3, on one draw.
    h.fromPhone(options("sip:401@tenant-a.example", "z9hG4bK-draw-1"));
    expect(draws).toBe(1);
    expect(h.worker.requests).toHaveLength(1);
    // No user part, not the gateway: routed, drawn once, after the keep-alive test.
    h.fromPhone(options("sip:198.51.100.77", "z9hG4bK-draw-2"));
    expect(draws).toBe(2);
    expect(h.worker.requests).toHaveLength(2);
    // The gateway itself: a keep-alive, never drawn.
    h.fromPhone(options("sip:192.0.2.1:5060", "z9hG4bK-draw-3"));
    expect(draws).toBe(2);
    h.take();
    // And with the draws refusing, both routed ones get 503 without a decision.
    const r = setup({ random: () => 0 });
    r.worker.onRequest = () => deferred<never>().promise;
    for (let i = 0; i < 10; i++) r.core.overload.load.sample(500, 1);
    r.fromPhone(options("sip:401@tenant-a.example", "z9hG4bK-draw-4"));
    r.fromPhone(options("sip:198.51.100.77", "z9hG4bK-draw-5"));
    expect(r.take().map((s) => (s.message.kind === "response" ? s.message.status : 0))).toEqual([503, 503]);
    expect(r.worker.requests).toHaveLength(0);
  });

  it("a short queue refuses nothing however busy the loop, and MAX_QUEUE_DELAY_MS=0 switches the bound off", () => {
    const busy = setup({ random: () => 0 });
    busy.worker.onRequest = () => deferred<never>().promise;
    for (let i = 0; i < 100; i++) busy.core.overload.load.sample(20, 1);
    busy.fromPbx(pbxInvite());
    expect(busy.take()).toEqual([]);
    expect(busy.worker.requests).toHaveLength(1);
    const off = setup({ random: () => 0, limits: { maxQueueDelayMs: 0 } });
    off.worker.onRequest = () => deferred<never>().promise;
    for (let i = 0; i < 100; i++) off.core.overload.load.sample(5000, 1);
    off.fromPbx(pbxInvite());
    expect(off.take()).toEqual([]);
    expect(off.worker.requests).toHaveLength(1);
  });
});

describe("overload control: response decisions", () => {
  it("a 2xx the worker should see while MAX_PENDING_DECISIONS calls are in flight is answered 500 with Retry-After, never forwarded undecided", async () => {
    const h = setup({ limits: { maxPendingDecisions: 1 } });
    const GATED: RequestDecisionInput = { action: "relay", targets: [TARGET_A], recordRoute: true, wantResponse: "2xx", context: "ctx" };
    const [a] = await start(h, GATED);
    // Another request's decision is pending and fills the bound.
    h.worker.onRequest = () => deferred<never>().promise;
    h.fromPbx(pbxInvite({ via: "SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-h-busy", callId: "busy" }));
    h.take();
    h.fromPhone(answer(a!, 200, "OK", ["Contact: <sip:401@10.0.0.5:5060>"], "a-tag"), PHONE_A);
    const { response: r } = onlyResponse(h.take());
    expect([r.status, value(r, "Retry-After")]).toEqual([500, "7"]);
    expect(h.worker.responses).toEqual([]);
  });
});

describe("the screening hook", () => {
  it("is called once per new out-of-dialog request; false drops it silently (counted), before any state or worker call", () => {
    const seen: string[] = [];
    const h = setup({
      screen: (req) => {
        seen.push(value(req, "Call-ID") ?? "");
        return value(req, "User-Agent") !== "friendly-scanner";
      },
    });
    h.worker.onRequest = () => deferred<never>().promise;
    h.fromPbx(pbxInvite({ ua: "friendly-scanner", callId: "scan" }));
    expect(h.take()).toEqual([]);
    expect(h.metrics.get("edge_gateway_dropped_total", { reason: "screen" })).toBe(1);
    expect(h.gauge("edge_gateway_server_transactions")).toBe(0);
    h.fromPbx(pbxInvite({ via: "SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-h-ok" }));
    h.fromPbx(pbxInvite({ via: "SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-h-ok" }));
    expect(seen).toEqual(["scan", CALL]);
    expect(h.worker.requests).toHaveLength(1);
  });
});

describe("response context states (a table; an illegal transition throws)", () => {
  it("Deciding -> Forking -> Proceeding -> Cancelling -> Answered is allowed; Answered -> Proceeding throws", () => {
    const ctx = new ResponseContext({} as ServerTransaction, pbxInvite(), ASTERISK, { local: ASTERISK, advertised: { host: "x", port: 1 }, send: () => undefined }, "");
    for (const s of ["Forking", "Proceeding", "Cancelling", "Answered"] as const) ctx.machine.to(s, "test");
    expect(() => ctx.machine.to("Proceeding", "late")).toThrow(ProxyStateError);
  });
});

describe("overload control: the answer to a relayed challenge is not refused for the load", () => {
  const REGISTER_RELAY: RequestDecisionInput = {
    action: "relay",
    targets: [{ requestUri: "sip:198.51.100.10:5060", nextHop: { ip: ASTERISK.ip, port: ASTERISK.port }, side: "pbx" }],
    wantResponse: "2xx",
  };
  /** A phone's REGISTER; `n` makes its branch and CSeq, `auth` adds credentials. */
  const register = (n: number, options: { callId?: string; fromTag?: string; auth?: "Authorization" | "Proxy-Authorization" } = {}): SipRequest =>
    request([
      "REGISTER sip:tenant-a.example SIP/2.0",
      `Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK-chal-${n}`,
      "Max-Forwards: 70",
      `From: <sip:401@tenant-a.example>;tag=${options.fromTag ?? "ft-1"}`,
      "To: <sip:401@tenant-a.example>",
      `Call-ID: ${options.callId ?? "chal-1@10.0.0.5"}`,
      `CSeq: ${n} REGISTER`,
      "Contact: <sip:401@10.0.0.5:5060>;expires=3600",
      ...(options.auth ? [`${options.auth}: Digest username="401", realm="tenant-a.example", nonce="n1", uri="sip:tenant-a.example", response="00"`] : []),
      "Content-Length: 0",
    ]);
  /** Sends `req` from `source`; the registrar answers `status`; returns the status the phone got. */
  async function answered(h: Harness, req: SipRequest, status: number, source = PHONE_A): Promise<number> {
    h.fromPhone(req, source);
    await flush();
    const { request: fwd } = onlyRequest(h.take());
    h.fromPbx(answer(fwd, status, status === 200 ? "OK" : "Unauthorized", [], "reg"));
    await flush();
    return onlyResponse(h.take()).response.status;
  }
  /** A harness whose load bound refuses every new request (the draw 0 is under any share). */
  function refusingAll(): Harness {
    const h = setup({ random: () => 0 });
    h.worker.onRequest = () => decide(REGISTER_RELAY);
    h.worker.onResponse = () => forward();
    return h;
  }
  /** The share cut high by a long queue (one cut: the later samples fall in its hold); then the queue under the bound (not yet short), so the share holds. */
  const overloaded = (h: Harness): void => {
    for (let i = 0; i < 10; i++) h.core.overload.load.sample(2000, 1);
    h.core.overload.load.sample(70, 1);
    expect(h.core.overload.load.refusedShare).toBeGreaterThan(0.9);
    expect(h.core.overload.load.queueLong).toBe(false);
  };
  const refusedAtOnce = (h: Harness, req: SipRequest, source = PHONE_A): number => {
    h.fromPhone(req, source);
    return onlyResponse(h.take()).response.status;
  };

  it("a REGISTER challenged before the load rose has its answer admitted once; a second answer, or one from elsewhere, gets 503", async () => {
    // Before: the answer was refused with the same share as new work, wasting the first request's relay.
    const h = refusingAll();
    expect(await answered(h, register(1), 401)).toBe(401);
    expect(h.gauge("edge_gateway_load_challenges_remembered")).toBe(1);
    overloaded(h);
    // A new registration is refused for the load...
    expect(refusedAtOnce(h, register(10, { callId: "other@10.0.0.5" }))).toBe(503);
    // ...the same call from another address, or without credentials, too.
    expect(refusedAtOnce(h, register(11, { auth: "Authorization" }), PHONE_B)).toBe(503);
    expect(refusedAtOnce(h, register(12))).toBe(503);
    expect(refusedAtOnce(h, register(13, { fromTag: "ft-2", auth: "Authorization" }))).toBe(503);
    // The answer to the challenge is relayed, and the phone registers.
    expect(await answered(h, register(2, { auth: "Authorization" }), 200)).toBe(200);
    expect(h.metrics.get("edge_gateway_load_challenge_answers_total")).toBe(1);
    expect(h.gauge("edge_gateway_load_challenges_remembered")).toBe(0);
    // One challenge admits one answer.
    expect(refusedAtOnce(h, register(3, { auth: "Authorization" }))).toBe(503);
    expect(h.metrics.get("edge_gateway_rejections_total", { reason: "overload_load" })).toBe(5);
  });

  it("while the receive queue is at or above the bound, an answer is refused like new work (admitting it would lengthen that queue)", async () => {
    const h = refusingAll();
    expect(await answered(h, register(1), 401)).toBe(401);
    for (let i = 0; i < 10; i++) h.core.overload.load.sample(500, 1);
    expect(h.core.overload.load.queueLong).toBe(true);
    expect(refusedAtOnce(h, register(2, { auth: "Authorization" }))).toBe(503);
    expect(h.metrics.get("edge_gateway_load_challenge_answers_total")).toBe(0);
  });

  it("a 407 answered with Proxy-Authorization is admitted too; none is remembered for a 403, or past its lifetime", async () => {
    // The first request got in while the share was lower: admitted before the samples.
    const fresh = refusingAll();
    expect(await answered(fresh, register(1), 407)).toBe(407);
    overloaded(fresh);
    expect(await answered(fresh, register(2, { auth: "Proxy-Authorization" }), 200)).toBe(200);
    // A 403 is no challenge: nothing to answer.
    const denied = refusingAll();
    expect(await answered(denied, register(1), 403)).toBe(403);
    expect(denied.gauge("edge_gateway_load_challenges_remembered")).toBe(0);
    overloaded(denied);
    expect(refusedAtOnce(denied, register(2, { auth: "Authorization" }))).toBe(503);
    // An answer that comes after two lifetimes (a password typed by hand) is new work like any other.
    const late = refusingAll();
    expect(await answered(late, register(1), 401)).toBe(401);
    overloaded(late);
    late.clock.advance(4_001);
    expect(refusedAtOnce(late, register(2, { auth: "Authorization" }))).toBe(503);
  });
});

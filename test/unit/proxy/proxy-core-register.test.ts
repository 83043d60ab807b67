import { describe, expect, it } from "vitest";
import type { RequestDecision, RequestDecisionInput } from "../../../contract/v1";
import type { WorkerAnswer } from "../../../edge-gateway/src/worker-client/worker-client";
import { parseVia } from "../../../sip/via";
import { ASTERISK, decide, deferred, flush, forward, label, onlyRequest, onlyResponse, PHONE_A, setup } from "./core-harness";
import { answer, request, value, values } from "./support";

function register(branch = "z9hG4bK-reg-1", extra: readonly string[] = []) {
  return request([
    "REGISTER sip:tenant-a.example SIP/2.0",
    `Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=${branch}`,
    "Max-Forwards: 70",
    "From: <sip:401@tenant-a.example>;tag=r1",
    "To: <sip:401@tenant-a.example>",
    "Call-ID: reg-1@10.0.0.5",
    "CSeq: 1 REGISTER",
    "Contact: <sip:401@10.0.0.5:5060>;expires=3600",
    "Expires: 3600",
    ...extra,
    "Content-Length: 0",
  ]);
}

const RELAY_TO_ASTERISK: RequestDecisionInput = {
  action: "relay",
  targets: [
    {
      requestUri: "sip:198.51.100.10:5060",
      nextHop: { ip: ASTERISK.ip, port: ASTERISK.port },
      contacts: [{ user: "401-tok", params: { expires: "3600" } }],
      side: "pbx",
    },
  ],
  wantResponse: "2xx",
  context: "ctx-reg",
};

describe("ProxyCore: REGISTER relayed to the registrar (mid-registrar)", () => {
  it("the worker sees the REGISTER with the parsed contacts and the real source", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(RELAY_TO_ASTERISK);
    h.fromPhone(register());
    await flush();
    expect(h.worker.requests).toHaveLength(1);
    const ev = h.worker.requests[0]!;
    expect(ev.method).toBe("REGISTER");
    expect(ev.source).toEqual(PHONE_A);
    expect(ev.parsed.contacts).toEqual([{ uri: "sip:401@10.0.0.5:5060", params: { expires: "3600" } }]);
    // RFC 3581: the worker already sees the stamped Via (received and rport).
    expect(ev.headers[0]).toEqual(["Via", "SIP/2.0/UDP 10.0.0.5:5060;rport=40000;branch=z9hG4bK-reg-1;received=203.0.113.50"]);
  });

  it("16.6: the REGISTER goes to the registrar with our Via on top, the phone's stamped Via below, Max-Forwards decremented and the Contact rewritten", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(RELAY_TO_ASTERISK);
    h.fromPhone(register());
    await flush();
    const { to, request: fwd } = onlyRequest(h.take());
    expect(to).toEqual(ASTERISK);
    expect(fwd.uri).toBe("sip:198.51.100.10:5060");
    const vias = values(fwd, "Via");
    expect(vias).toHaveLength(2);
    const ours = parseVia(vias[0]!)[0]!;
    expect([ours.host, ours.port, ours.branch?.startsWith("z9hG4bK")]).toEqual(["192.0.2.1", 5060, true]);
    expect(vias[1]).toBe("SIP/2.0/UDP 10.0.0.5:5060;rport=40000;branch=z9hG4bK-reg-1;received=203.0.113.50");
    expect(value(fwd, "Max-Forwards")).toBe("69");
    expect(values(fwd, "Contact")).toEqual(["<sip:401-tok@192.0.2.1:5060>;expires=3600"]);
    // No NAT alias on REGISTER: the worker stores the source itself.
    expect(values(fwd, "Contact").join()).not.toContain("alias");
  });

  it("wantResponse 2xx: the 200 goes to the worker, and the edited 200 reaches the phone without our Via", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(RELAY_TO_ASTERISK);
    h.worker.onResponse = () => forward({ action: "forward", headers: { set: [["Contact", ["<sip:401@10.0.0.5:5060>;expires=3600"]]] } });
    h.fromPhone(register());
    await flush();
    const { request: fwd } = onlyRequest(h.take());

    h.fromPbx(answer(fwd, 200, "OK", ["Contact: <sip:401-tok@192.0.2.1:5060>;expires=3600, <sip:other-tok@192.0.2.1:5060>;expires=100", "Expires: 3600"]));
    expect(h.take()).toEqual([]); // waiting for the worker
    await flush();

    expect(h.worker.responses).toHaveLength(1);
    const ev = h.worker.responses[0]!;
    expect(ev.status).toBe(200);
    expect(ev.context).toBe("ctx-reg");
    expect(ev.source).toEqual(ASTERISK);
    expect(ev.contacts?.map((c) => c.uri)).toEqual(["sip:401-tok@192.0.2.1:5060", "sip:other-tok@192.0.2.1:5060"]);

    const { to, response } = onlyResponse(h.take());
    // RFC 3581: back to the source address and port of the REGISTER.
    expect(to).toEqual(PHONE_A);
    expect(response.status).toBe(200);
    expect(values(response, "Via")).toEqual(["SIP/2.0/UDP 10.0.0.5:5060;rport=40000;branch=z9hG4bK-reg-1;received=203.0.113.50"]);
    expect(values(response, "Contact")).toEqual(["<sip:401@10.0.0.5:5060>;expires=3600"]);
  });

  it("a response edit the gateway refuses turns the 200 into a 500: the phone never sees the gateway's contacts", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(RELAY_TO_ASTERISK);
    h.worker.onResponse = () => forward({ action: "forward", headers: { set: [["Via", ["SIP/2.0/UDP evil"]]] } });
    h.fromPhone(register());
    await flush();
    const { request: fwd } = onlyRequest(h.take());
    h.fromPbx(answer(fwd, 200, "OK", ["Contact: <sip:401-tok@192.0.2.1:5060>;expires=3600"]));
    await flush();
    const { response } = onlyResponse(h.take());
    expect(response.status).toBe(500);
    expect(values(response, "Contact")).toEqual([]);
  });

  it("wantResponse 2xx: a 401 challenge is forwarded at once, without a worker call", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(RELAY_TO_ASTERISK);
    h.fromPhone(register());
    await flush();
    const { request: fwd } = onlyRequest(h.take());
    h.fromPbx(answer(fwd, 401, "Unauthorized", ['WWW-Authenticate: Digest realm="asterisk", nonce="abc", algorithm=MD5']));
    const { to, response } = onlyResponse(h.take());
    expect(to).toEqual(PHONE_A);
    expect(response.status).toBe(401);
    expect(values(response, "WWW-Authenticate")).toEqual(['Digest realm="asterisk", nonce="abc", algorithm=MD5']);
    expect(values(response, "Via")).toHaveLength(1);
    expect(h.worker.responses).toEqual([]);
  });

  it("17.2.2: the registrar's 200 retransmission is absorbed by the client transaction; the phone's REGISTER retransmission gets the 200 again", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(RELAY_TO_ASTERISK);
    h.fromPhone(register());
    await flush();
    const { request: fwd } = onlyRequest(h.take());
    const ok = answer(fwd, 200, "OK", ["Contact: <sip:401-tok@192.0.2.1:5060>;expires=3600"]);
    h.fromPbx(ok);
    await flush();
    expect(h.take().map(label)).toEqual(["200 -> 203.0.113.50:40000"]);
    h.fromPbx(ok);
    await flush();
    expect(h.take()).toEqual([]);
    h.fromPhone(register());
    expect(h.take().map(label)).toEqual(["200 -> 203.0.113.50:40000"]);
    expect(h.worker.requests).toHaveLength(1);
    expect(h.worker.responses).toHaveLength(1);
  });

  it("worker failure on the request: 503 with Retry-After", async () => {
    const h = setup({ retryAfterS: 9 });
    h.worker.onRequest = () => ({ ok: false, reason: "timeout", detail: "no answer within 2000 ms" });
    h.fromPhone(register());
    await flush();
    const { to, response } = onlyResponse(h.take());
    expect(to).toEqual(PHONE_A);
    expect([response.status, response.reason]).toEqual([503, "Service Unavailable"]);
    expect(values(response, "Retry-After")).toEqual(["9"]);
    expect(h.metrics.get("edge_gateway_worker_failures_total", { reason: "timeout" })).toBe(1);
  });

  it("worker failure on the 2xx: the phone gets a 5xx with Retry-After, never the 200", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(RELAY_TO_ASTERISK);
    h.worker.onResponse = () => ({ ok: false, reason: "unavailable", detail: "ECONNREFUSED" });
    h.fromPhone(register());
    await flush();
    const { request: fwd } = onlyRequest(h.take());
    h.fromPbx(answer(fwd, 200, "OK", ["Contact: <sip:401-tok@192.0.2.1:5060>;expires=3600"]));
    await flush();
    const { response } = onlyResponse(h.take());
    expect(response.status).toBe(500);
    expect(values(response, "Retry-After")).toEqual(["7"]);
  });

  it("a worker call that rejects, against its contract, still gets the phone a 503 (no unhandled rejection)", async () => {
    const h = setup();
    h.worker.onRequest = () => Promise.reject(new Error("socket hang up"));
    h.fromPhone(register());
    await flush();
    expect(onlyResponse(h.take()).response.status).toBe(503);
  });

  it("17.2.2: a REGISTER retransmitted while the worker is deciding is absorbed: one worker call, one relay", async () => {
    const h = setup();
    const pending = deferred<WorkerAnswer<RequestDecision>>();
    h.worker.onRequest = () => pending.promise;
    h.fromPhone(register());
    h.fromPhone(register());
    h.fromPhone(register());
    await flush();
    expect(h.worker.requests).toHaveLength(1);
    expect(h.take()).toEqual([]);
    expect(h.metrics.get("edge_gateway_retransmissions_absorbed_total")).toBe(2);
    pending.resolve(decide(RELAY_TO_ASTERISK));
    await flush();
    expect(h.take().map(label)).toEqual(["REGISTER -> 198.51.100.10:5060"]);
  });

  it("a reply decision is sent as the final response, with its headers", async () => {
    const h = setup();
    h.worker.onRequest = () => decide({ action: "reply", status: 403, reason: "Forbidden", headers: [["Warning", '399 gw "unknown domain"']] });
    h.fromPhone(register());
    await flush();
    const { response } = onlyResponse(h.take());
    expect([response.status, response.reason]).toEqual([403, "Forbidden"]);
    expect(values(response, "Warning")).toEqual(['399 gw "unknown domain"']);
    expect(value(response, "To")).toMatch(/;tag=/);
  });

  it("releases a REGISTER's response context once the final response is sent; its transaction alone absorbs retransmissions", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(RELAY_TO_ASTERISK);
    h.worker.onResponse = () => forward({ action: "forward" });
    const reg = register();
    h.fromPhone(reg);
    await flush();
    const { request: fwd } = onlyRequest(h.take());
    expect(h.gauge("edge_gateway_response_contexts")).toBe(1);
    h.fromPbx(answer(fwd, 200, "OK", ["Contact: <sip:401-tok@192.0.2.1:5060>;expires=3600"]));
    await flush();
    expect(onlyResponse(h.take()).response.status).toBe(200);
    // Answered: the context is gone at once, not after Timer J; the server transaction stays for Timer J.
    expect(h.gauge("edge_gateway_response_contexts")).toBe(0);
    expect(h.gauge("edge_gateway_server_transactions")).toBe(1);
    h.fromPhone(reg);
    await flush();
    expect(onlyResponse(h.take()).response.status).toBe(200);
    expect(h.worker.requests).toHaveLength(1);
  });

  it("a drop decision sends nothing; retransmissions cost no worker call; the transaction ends after 64*T1", async () => {
    const h = setup();
    h.worker.onRequest = () => decide({ action: "drop", reason: "scanner" });
    h.fromPhone(register());
    await flush();
    h.fromPhone(register());
    await flush();
    expect(h.take()).toEqual([]);
    expect(h.worker.requests).toHaveLength(1);
    expect(h.gauge("edge_gateway_transactions")).toBe(1);
    h.clock.advance(32_000);
    expect(h.gauge("edge_gateway_transactions")).toBe(0);
    expect(h.gauge("edge_gateway_response_contexts")).toBe(0);
    expect(h.logs.filter((l) => l.level === "warn")).toEqual([]);
  });

  it("a decision whose branch cannot be built is answered with the reason (no DNS: 404)", async () => {
    const h = setup();
    h.worker.onRequest = () => decide({ action: "relay", targets: [{ requestUri: "sip:pbx.example.com" }] });
    h.fromPhone(register());
    await flush();
    const { response } = onlyResponse(h.take());
    expect(response.status).toBe(404);
  });

  it("10.2.2: a Contact: * beside another Contact gets 400, and the worker is not asked", async () => {
    const h = setup();
    h.fromPhone(register("z9hG4bK-reg-star", ["Contact: *"]));
    await flush();
    const { response } = onlyResponse(h.take());
    expect(response.status).toBe(400);
    expect(response.reason).toBe("Invalid Wildcard Contact");
    expect(h.worker.requests).toHaveLength(0);
  });

  it("a decision with a header edit on a protected header is refused with 500", async () => {
    const h = setup();
    h.worker.onRequest = () => decide({ action: "relay", targets: [{ requestUri: "sip:198.51.100.10", headers: { remove: ["Via"] } }] });
    h.fromPhone(register());
    await flush();
    expect(onlyResponse(h.take()).response.status).toBe(500);
  });

  it("16.3 step 5: a Proxy-Require the gateway does not understand gets 420 with Unsupported, and no worker call", async () => {
    const h = setup();
    h.fromPhone(register("z9hG4bK-reg-pr", ["Proxy-Require: sec-agree, foo", "Proxy-Require: bar"]));
    await flush();
    const { response } = onlyResponse(h.take());
    expect([response.status, response.reason]).toEqual([420, "Bad Extension"]);
    expect(values(response, "Unsupported")).toEqual(["sec-agree, foo, bar"]);
    expect(h.worker.requests).toEqual([]);
  });

  it("16.4: our own preloaded Route is removed before the worker sees the request", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(RELAY_TO_ASTERISK);
    h.fromPhone(register("z9hG4bK-reg-2", ["Route: <sip:192.0.2.1;lr>"]));
    await flush();
    expect(h.worker.requests[0]!.headers.some(([n]) => n === "Route")).toBe(false);
    expect(values(onlyRequest(h.take()).request, "Route")).toEqual([]);
  });
});

describe("ProxyCore: defects while acting on a worker answer", () => {
  it("an exception while applying a decision is answered 500 and logged, not left as an unhandled rejection", async () => {
    const h = setup();
    // A lone surrogate cannot be percent-encoded: encodeURIComponent throws URIError while building the Contact.
    h.worker.onRequest = () => decide({ ...RELAY_TO_ASTERISK, targets: [{ requestUri: "sip:198.51.100.10", contacts: [{ user: "\uD800" }] }] });
    h.fromPhone(register());
    await flush();
    expect(onlyResponse(h.take()).response.status).toBe(500);
    expect(h.metrics.get("edge_gateway_internal_errors_total")).toBe(1);
    expect(h.logs.some((l) => l.level === "error")).toBe(true);
  });

  it("a response dropped by the worker is not relayed, and the transaction still ends", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(RELAY_TO_ASTERISK);
    h.worker.onResponse = () => forward({ action: "drop", reason: "test" });
    h.fromPhone(register());
    await flush();
    const { request: fwd } = onlyRequest(h.take());
    h.fromPbx(answer(fwd, 200, "OK", ["Contact: <sip:401-tok@192.0.2.1:5060>;expires=3600"]));
    await flush();
    expect(h.take()).toEqual([]);
    h.clock.advance(40_000);
    expect(h.gauge("edge_gateway_transactions")).toBe(0);
    expect(h.gauge("edge_gateway_response_contexts")).toBe(0);
  });
});

// What the gateway can answer by itself costs no decision call: an OPTIONS addressed to the gateway (no
// user, one of its addresses, no Route to follow) is answered 200 by the proxy core (RFC 3261 11, 16.4).
import { describe, expect, it } from "vitest";
import { ASTERISK, onlyResponse, PHONE_A, setup } from "./core-harness";
import { values, wire } from "./support";

function options(uri: string, extra: readonly string[] = [], maxForwards = 70) {
  return wire([
    `OPTIONS ${uri} SIP/2.0`,
    "Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK-ka-1",
    ...extra,
    `Max-Forwards: ${maxForwards}`,
    "From: <sip:401@tenant-a.example>;tag=ka",
    `To: <${uri}>`,
    "Call-ID: keepalive-1",
    "CSeq: 1 OPTIONS",
    "Content-Length: 0",
  ]);
}

describe("OPTIONS to the gateway itself", () => {
  it("a phone's keep-alive to the gateway's address is answered 200 without a worker call", () => {
    const h = setup();
    h.fromPhone(options("sip:192.0.2.1"));
    const { to, response } = onlyResponse(h.take());
    expect([to, response.status]).toEqual([PHONE_A, 200]);
    expect(h.worker.requests).toEqual([]);
    expect(h.metrics.get("edge_gateway_worker_calls_total", { kind: "request" })).toBe(0);
  });

  it("the 200 carries what RFC 3261 11.2 asks of a proxy: Accept, Accept-Encoding, Accept-Language, and no Allow", () => {
    const h = setup();
    h.fromPhone(options("sip:192.0.2.1"));
    const { response } = onlyResponse(h.take());
    expect(values(response, "Accept")).toEqual(["*/*"]);
    expect(values(response, "Accept-Encoding")).toEqual(["identity"]);
    expect(values(response, "Accept-Language")).toEqual(["en"]);
    expect(values(response, "Allow")).toEqual([]);
  });

  it("an option-tag in Require gets 420 Bad Extension listing every tag in Unsupported (RFC 3261 8.2.2.3), still without a worker call", () => {
    const h = setup();
    h.fromPhone(options("sip:192.0.2.1", ["Require: 100rel, timer", "Require: foo"]));
    const { to, response } = onlyResponse(h.take());
    expect([to, response.status, response.reason]).toEqual([PHONE_A, 420, "Bad Extension"]);
    expect(values(response, "Unsupported")).toEqual(["100rel, timer, foo"]);
    expect(h.worker.requests).toEqual([]);
  });

  it("with Max-Forwards 0 the gateway answers an OPTIONS about itself the same way (RFC 3261 16.3 step 3)", () => {
    for (const [extra, status] of [
      [[], 200],
      [["Require: foo"], 420],
    ] as const) {
      const h = setup();
      h.fromPhone(options("sip:192.0.2.1", extra, 0));
      expect(onlyResponse(h.take()).response.status).toBe(status);
      expect(h.worker.requests).toEqual([]);
    }
  });

  it("an Asterisk's qualify to the gateway's PBX-side address (explicit port) likewise", () => {
    const h = setup({ twoListeners: true });
    h.fromPbx(options("sip:198.51.100.1:5060"));
    const { to, response } = onlyResponse(h.take());
    expect([to, response.status]).toEqual([ASTERISK, 200]);
    expect(h.worker.requests).toEqual([]);
  });

  it("with a user, another host or port, or a Route to follow, the worker still decides", () => {
    for (const [uri, extra] of [
      ["sip:201@192.0.2.1", []],
      ["sip:tenant-a.example", []],
      ["sip:192.0.2.1:5070", []],
      ["sip:192.0.2.1", ["Route: <sip:198.51.100.10;lr>"]],
    ] as const) {
      const h = setup();
      h.fromPhone(options(uri, extra));
      expect(h.worker.requests.map((r) => r.requestUri)).toEqual([uri]);
    }
  });
});

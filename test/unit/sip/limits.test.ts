// ParseLimits: every limit binds, and over-limit input gets the answer RFC 3261 gives it (513 for a message
// too large, 414 for a Request-Line too long, 400 otherwise), or nothing when no reply can be routed.
import { describe, expect, it } from "vitest";
import { DEFAULT_PARSE_LIMITS, parseMessage } from "../../../sip/index";
import { Metrics } from "../../../edge-gateway/src/observability/metrics";
import { ProxyCore } from "../../../edge-gateway/src/proxy/proxy-core";
import { ManualClock } from "../../../edge-gateway/src/transaction/clock";
import type { Sent } from "../proxy/core-harness";
import { FakeListener, flush, PHONE_A, PHONES_SIDE, ScriptedWorker, SECRET, setup } from "../proxy/core-harness";
import { datagram, expectError, expectRequest, requestHeaders } from "./support";

const START = "OPTIONS sip:a@b.example SIP/2.0";

describe("ParseLimits", () => {
  it("has the documented defaults", () => {
    expect(DEFAULT_PARSE_LIMITS).toEqual({ maxMessageBytes: 16_384, maxHeaderLineBytes: 8_192, maxHeaders: 128, maxListValues: 64 });
  });

  it("maxMessageBytes: a datagram one byte over gets 513, one at the limit parses", () => {
    const head = datagram(START, requestHeaders("OPTIONS"));
    const fit = datagram(START, requestHeaders("OPTIONS"), "x".repeat(1_000 - head.length));
    expect(fit.length).toBe(1_000);
    expectRequest(parseMessage(fit, { maxMessageBytes: 1_000 }));
    const { error, partial } = expectError(parseMessage(datagram(START, requestHeaders("OPTIONS"), "x".repeat(1_001 - head.length)), { maxMessageBytes: 1_000 }));
    expect([error.status, error.reason, error.replyable, partial?.method]).toEqual([513, "Message Too Large", true, "OPTIONS"]);
  });

  it("maxHeaderLineBytes: a longer header gets 400 Header too long, folded lines counted together", () => {
    const limits = { maxHeaderLineBytes: 200 };
    expectRequest(parseMessage(datagram(START, [...requestHeaders("OPTIONS"), `Subject: ${"s".repeat(180)}`]), limits));
    for (const long of [`Subject: ${"s".repeat(200)}`, `Subject: ${"s ".repeat(40)}\r\n ${"t".repeat(60)}\r\n ${"u".repeat(60)}`]) {
      const { error } = expectError(parseMessage(datagram(START, [...requestHeaders("OPTIONS"), long]), limits));
      expect([error.status, error.reason, error.replyable]).toEqual([400, "Header too long", true]);
    }
  });

  it("maxHeaderLineBytes: a longer Request-Line gets 414 Request-URI Too Long (RFC 3261 21.4.12)", () => {
    const start = `OPTIONS sip:${"a".repeat(300)}@b.example SIP/2.0`;
    const { error, partial } = expectError(parseMessage(datagram(start, requestHeaders("OPTIONS")), { maxHeaderLineBytes: 200 }));
    expect([error.status, error.reason, partial?.method]).toEqual([414, "Request-URI Too Long", "OPTIONS"]);
  });

  it("maxListValues: counted over all lines of Via, Route, Record-Route, Contact and Path", () => {
    const limits = { maxListValues: 4 };
    const vias = ["Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK1, SIP/2.0/UDP p1;branch=z9hG4bK2", "Via: SIP/2.0/UDP p2;branch=z9hG4bK3, SIP/2.0/UDP p3;branch=z9hG4bK4"];
    expectRequest(parseMessage(datagram(START, [...vias, ...requestHeaders("OPTIONS", { Via: null })]), limits));
    const five = [...vias, "Via: SIP/2.0/UDP p4;branch=z9hG4bK5"];
    const { error } = expectError(parseMessage(datagram(START, [...five, ...requestHeaders("OPTIONS", { Via: null })]), limits));
    expect([error.status, error.reason, error.replyable]).toEqual([400, "Too many Via values", true]);
    for (const name of ["Route", "Record-Route", "Contact", "Path"]) {
      const lines = [`${name}: <sip:a@h1>, <sip:a@h2>,, <sip:a@h3>`, `${name}: <sip:a@h4>, <sip:a@h5>`];
      const r = expectError(parseMessage(datagram(START, [...requestHeaders("OPTIONS"), ...lines]), limits));
      expect(r.error.reason).toBe(`Too many ${name} values`);
    }
    // Commas inside quotes and angle brackets separate nothing.
    expectRequest(parseMessage(datagram(START, [...requestHeaders("OPTIONS"), 'Contact: "a, b, c, d, e" <sip:x@h;p=1>, <sip:y@h>']), limits));
  });

  it("maxHeaders: the 129th header field gets 400 by default", () => {
    const base = requestHeaders("OPTIONS");
    const filler = Array.from({ length: 129 - base.length }, (_, i) => `X-F${i}: ${i}`);
    expect(expectError(parseMessage(datagram(START, [...base, ...filler]))).error.reason).toBe("Too many headers");
  });
});

describe("over-limit datagrams at the gateway", () => {
  it("a 20 KB MESSAGE whose headers are readable is answered 513 Message Too Large", async () => {
    const h = setup();
    h.core.onDatagram(datagram("MESSAGE sip:a@b.example SIP/2.0", requestHeaders("MESSAGE"), "x".repeat(20_000)), PHONE_A, h.phones);
    await flush();
    const sent = h.take();
    expect(sent.map((s) => (s.message.kind === "response" ? [s.message.status, s.message.reason] : []))).toEqual([[513, "Message Too Large"]]);
    expect(h.worker.requests).toHaveLength(0);
  });

  it("a datagram whose headers do not fit under the limit is dropped: no Via to answer by", async () => {
    const h = setup();
    h.core.onDatagram(datagram("MESSAGE sip:a@b.example SIP/2.0", [`X-Pad: ${"p".repeat(20_000)}`, ...requestHeaders("MESSAGE")]), PHONE_A, h.phones);
    await flush();
    expect(h.take()).toEqual([]);
    expect(h.metrics.get("edge_gateway_bad_messages_total", { status: 513 })).toBe(1);
  });
});

describe("the gateway parses under the limits it is configured with", () => {
  it("ProxyCore's parseLimits bind (here 2 Vias): a third gets 400 where the default would accept it", async () => {
    const wire: Sent[] = [];
    const phones = new FakeListener("phones", PHONES_SIDE, wire);
    const worker = new ScriptedWorker();
    const log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const limits = { ...DEFAULT_PARSE_LIMITS, maxListValues: 2 };
    const core = new ProxyCore({ phones, pbx: phones, worker, log, metrics: new Metrics(), clock: new ManualClock(), secret: SECRET, parseLimits: limits });
    const vias = ["Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK1", "Via: SIP/2.0/UDP p1;branch=z9hG4bK2", "Via: SIP/2.0/UDP p2;branch=z9hG4bK3"];
    core.onDatagram(datagram(START, [...vias, ...requestHeaders("OPTIONS", { Via: null })]), PHONE_A, phones);
    await flush();
    expect(wire.map((s) => (s.message.kind === "response" ? [s.message.status, s.message.reason] : []))).toEqual([[400, "Too many Via values"]]);
    expect(worker.requests).toHaveLength(0);
    core.close();
  });
});

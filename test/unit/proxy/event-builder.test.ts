import { describe, expect, it } from "vitest";
import { parseRequestEvent, parseResponseEvent } from "../../../contract/v1";
import { contactsOf, hasMixedWildcard, requestEvent, responseEvent } from "../../../edge-gateway/src/proxy/event-builder";
import { addr, request, response } from "./support";

const SOURCE = addr("203.0.113.50", 40000);
const LOCAL = addr("192.0.2.1", 5060);

function register(extra: readonly string[], to = "<sip:401@tenant-a.example>") {
  return request([
    "REGISTER sip:tenant-a.example SIP/2.0",
    "Via: SIP/2.0/UDP 10.0.0.5:5060;rport=40000;received=203.0.113.50;branch=z9hG4bK-r1",
    "Max-Forwards: 70",
    'From: "Alice" <sip:401@tenant-a.example>;tag=a1',
    `To: ${to}`,
    "Call-ID: ev-1@10.0.0.5",
    "CSeq: 42 REGISTER",
    ...extra,
    "Content-Length: 0",
  ]);
}

describe("requestEvent: the worker never parses SIP text", () => {
  it("contacts from several Contact lines and comma lists, with their parameters, in order", () => {
    const req = register([
      'Contact: <sip:401@10.0.0.5:5060;transport=udp>;expires=3600;+sip.instance="<urn:uuid:1>", "Desk" <sip:401@10.0.0.6>;q=0.5',
      "Contact: sip:401@10.0.0.7;expires=60",
    ]);
    const ev = requestEvent(req, "z9hG4bK-r1", SOURCE, LOCAL, 1000);
    expect(ev.parsed.contacts).toEqual([
      { uri: "sip:401@10.0.0.5:5060;transport=udp", params: { expires: "3600", "+sip.instance": '"<urn:uuid:1>"' } },
      { uri: "sip:401@10.0.0.6", params: { q: "0.5" } },
      { uri: "sip:401@10.0.0.7", params: { expires: "60" } },
    ]);
    expect(contactsOf(req)).toEqual(ev.parsed.contacts);
  });

  it("10.2.2: the wildcard Contact is '*'", () => {
    const ev = requestEvent(register(["Contact: *", "Expires: 0"]), "b", SOURCE, LOCAL, 1);
    expect(ev.parsed.contacts).toBe("*");
    expect(ev.parsed.expires).toBe(0);
  });

  it("Expires, Allow (lists over several lines), User-Agent and Path are parsed", () => {
    const ev = requestEvent(
      register([
        "Contact: <sip:401@10.0.0.5>",
        "Expires: 600",
        "Allow: INVITE, ACK, CANCEL",
        "Allow: BYE,OPTIONS",
        "User-Agent: Phone/1.0",
        "Path: <sip:edge1.example;lr>, <sip:edge2.example;lr>",
        "Path: <sip:edge3.example;lr>",
      ]),
      "b",
      SOURCE,
      LOCAL,
      1,
    );
    expect(ev.parsed.expires).toBe(600);
    expect(ev.parsed.allow).toEqual(["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS"]);
    expect(ev.parsed.userAgent).toBe("Phone/1.0");
    expect(ev.parsed.path).toEqual(["<sip:edge1.example;lr>", "<sip:edge2.example;lr>", "<sip:edge3.example;lr>"]);
  });

  it("absent optional values are absent, not empty", () => {
    const ev = requestEvent(register([]), "b", SOURCE, LOCAL, 1);
    expect(ev.parsed.contacts).toEqual([]);
    expect("expires" in ev.parsed).toBe(false);
    expect("allow" in ev.parsed).toBe(false);
    expect("userAgent" in ev.parsed).toBe(false);
    expect(ev.parsed.path).toEqual([]);
  });

  it("an unparseable Expires is left out (the worker applies its default)", () => {
    expect("expires" in requestEvent(register(["Expires: soon"]), "b", SOURCE, LOCAL, 1).parsed).toBe(false);
  });

  it("inDialog is true exactly when To carries a tag", () => {
    expect(requestEvent(register([]), "b", SOURCE, LOCAL, 1).parsed.inDialog).toBe(false);
    expect(requestEvent(register([], "<sip:401@tenant-a.example>;tag=x"), "b", SOURCE, LOCAL, 1).parsed.inDialog).toBe(true);
  });

  it("carries the raw headers in order, the addresses, the From/To/CSeq/Call-ID conveniences, and validates against the contract", () => {
    const req = register(["Contact: <sip:401@10.0.0.5>"]);
    const ev = requestEvent(req, "z9hG4bK-r1", SOURCE, LOCAL, 1234);
    expect(ev.headers).toEqual(req.headers.map((h) => [h.name, h.value]));
    expect(ev.method).toBe("REGISTER");
    expect(ev.requestUri).toBe("sip:tenant-a.example");
    expect(ev.source).toEqual(SOURCE);
    expect(ev.local).toEqual(LOCAL);
    expect(ev.receivedAt).toBe(1234);
    expect(ev.parsed.callId).toBe("ev-1@10.0.0.5");
    expect(ev.parsed.cseq).toEqual({ seq: 42, method: "REGISTER" });
    expect(ev.parsed.from).toEqual({ uri: "sip:401@tenant-a.example", displayName: "Alice", params: { tag: "a1" } });
    expect(ev.parsed.to).toEqual({ uri: "sip:401@tenant-a.example", params: {} });
    expect(() => parseRequestEvent(JSON.parse(JSON.stringify(ev)))).not.toThrow();
  });
});

describe("responseEvent", () => {
  it("carries status, contacts (the wildcard never appears), Expires and the echoed context", () => {
    const res = response([
      "SIP/2.0 200 OK",
      "Via: SIP/2.0/UDP 10.0.0.5:5060;rport=40000;received=203.0.113.50;branch=z9hG4bK-r1",
      "From: <sip:401@tenant-a.example>;tag=a1",
      "To: <sip:401@tenant-a.example>;tag=reg",
      "Call-ID: ev-1@10.0.0.5",
      "CSeq: 42 REGISTER",
      "Contact: <sip:tok1@192.0.2.1:5060>;expires=3600, <sip:other@192.0.2.1:5060>;expires=120",
      "Expires: 3600",
      "Content-Length: 0",
    ]);
    const ev = responseEvent(res, "z9hG4bK-r1", addr("198.51.100.10", 5060), LOCAL, 5, "opaque-ctx");
    expect(ev.status).toBe(200);
    expect(ev.reason).toBe("OK");
    expect(ev.contacts).toEqual([
      { uri: "sip:tok1@192.0.2.1:5060", params: { expires: "3600" } },
      { uri: "sip:other@192.0.2.1:5060", params: { expires: "120" } },
    ]);
    expect(ev.expires).toBe(3600);
    expect(ev.context).toBe("opaque-ctx");
    expect(() => parseResponseEvent(JSON.parse(JSON.stringify(ev)))).not.toThrow();
  });
});

describe("hasMixedWildcard (RFC 3261 10.2.2)", () => {
  it("is false for a lone Contact: * and for ordinary contacts", () => {
    expect(hasMixedWildcard(register(["Contact: *", "Expires: 0"]))).toBe(false);
    expect(hasMixedWildcard(register(["Contact: <sip:401@10.0.0.5>", "Contact: <sip:401@10.0.0.6>"]))).toBe(false);
  });

  it("is true when * stands beside another contact, on its own line or in a list", () => {
    expect(hasMixedWildcard(register(["Contact: *", "Contact: <sip:401@10.0.0.5>", "Expires: 0"]))).toBe(true);
    expect(hasMixedWildcard(register(["Contact: <sip:401@10.0.0.5>, *", "Expires: 0"]))).toBe(true);
  });
});

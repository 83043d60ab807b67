// RFC 4475 (SIP torture test messages): all 49 messages, byte for byte, in test/fixtures/rfc4475/<name>.dat.
// Each one is parsed, then handed to the proxy core (the gateway's receive path) with a scripted worker;
// what the gateway answers is checked against what the RFC names, or against the documented gateway rule
// where the RFC leaves the choice to the element (see docs/architecture.md "Known limits").
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeEventBody } from "../../../contract/v1";
import { bodyText, headerValue, headerValues, parseContactHeader, parseMessage, parseNameAddr, parseSipUri, parseVia } from "../../../sip/index";
import type { SipMessage } from "../../../sip/index";
import { decide, flush, label, PHONE_A, setup } from "../proxy/core-harness";

function rfc4475(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../../fixtures/rfc4475/${name}.dat`, import.meta.url)));
}

/** What the grammar says: a message, or an error with its status and reason. */
type Parsed = "message" | readonly [status: number, reason: string];
/**
 * What the gateway does with the datagram: hands it to the worker (which answers 404 here), answers it
 * itself with a status, or sends nothing.
 */
type Outcome = "worker" | "nothing" | readonly [status: number, reason: string] | { readonly relayed: readonly [status: number, reason: string] };

const CASES: readonly (readonly [section: string, name: string, parsed: Parsed, outcome: Outcome])[] = [
  // 3.1.1 valid messages: all parse.
  ["3.1.1.1", "wsinv", "message", [400, "RFC 2543 Transactions Not Supported"]], // branch without z9hG4bK
  ["3.1.1.2", "intmeth", "message", "worker"],
  ["3.1.1.3", "esc01", "message", "worker"],
  ["3.1.1.4", "escnull", "message", "worker"],
  ["3.1.1.5", "esc02", "message", "worker"],
  ["3.1.1.6", "lwsdisp", "message", "worker"],
  ["3.1.1.7", "longreq", "message", [400, "Missing Via Branch"]], // top Via has no branch (RFC 2543 style)
  ["3.1.1.8", "dblreq", "message", "worker"],
  ["3.1.1.9", "semiuri", "message", "worker"],
  ["3.1.1.10", "transports", "message", "worker"],
  ["3.1.1.11", "mpart01", "message", "worker"],
  ["3.1.1.12", "unreason", "message", "nothing"], // a response to no transaction of ours: discarded (18.1.2)
  ["3.1.1.13", "noreason", "message", "nothing"],
  // 3.1.2 invalid messages.
  ["3.1.2.1", "badinv01", [400, "Bad Via"], "nothing"], // no usable Via: no way to route a reply (18.2.2)
  ["3.1.2.2", "clerr", [400, "Content-Length mismatch"], [400, "Content-Length mismatch"]],
  ["3.1.2.3", "ncl", [400, "Bad Content-Length"], [400, "Bad Content-Length"]],
  ["3.1.2.4", "scalar02", [400, "Bad CSeq"], [400, "Bad CSeq"]],
  ["3.1.2.5", "scalarlg", [400, "Bad CSeq"], "nothing"], // a response is never answered
  ["3.1.2.6", "quotbal", [400, "Bad To"], [400, "Bad To"]],
  ["3.1.2.7", "ltgtruri", [400, "Bad Request-URI"], [400, "Bad Request-URI"]],
  ["3.1.2.8", "lwsruri", [400, "Bad Request-Line"], [400, "Bad Request-Line"]],
  ["3.1.2.9", "lwsstart", [400, "Bad Request-Line"], [400, "Bad Request-Line"]],
  ["3.1.2.10", "trws", [400, "Bad Request-Line"], [400, "Bad Request-Line"]],
  ["3.1.2.11", "escruri", [400, "Bad Request-URI"], [400, "Bad Request-URI"]],
  ["3.1.2.12", "baddate", "message", "worker"], // the RFC allows ignoring a Date the element does not use
  ["3.1.2.13", "regbadct", [400, "Bad Contact"], [400, "Bad Contact"]],
  ["3.1.2.14", "badaspec", [400, "Bad To"], [400, "Bad To"]],
  ["3.1.2.15", "baddn", [400, "Bad From"], [400, "Bad From"]],
  ["3.1.2.16", "badvers", [505, "Version Not Supported"], [505, "Version Not Supported"]],
  ["3.1.2.17", "mismatch01", [400, "CSeq method mismatch"], [400, "CSeq method mismatch"]],
  ["3.1.2.18", "mismatch02", [400, "CSeq method mismatch"], [400, "CSeq method mismatch"]],
  ["3.1.2.19", "bigcode", [400, "Bad Status-Line"], "nothing"],
  // 3.2 transaction layer.
  ["3.2.1", "badbranch", [400, "Bad Via Branch"], [400, "Bad Via Branch"]],
  // 3.3 application layer.
  ["3.3.1", "insuf", [400, "Missing Call-ID"], [400, "Missing Call-ID"]],
  ["3.3.2", "unkscm", [416, "Unsupported URI Scheme"], [416, "Unsupported URI Scheme"]],
  ["3.3.3", "novelsc", [416, "Unsupported URI Scheme"], [416, "Unsupported URI Scheme"]],
  ["3.3.4", "unksm2", "message", "worker"], // a proxy relays it; the registrar refuses the non-SIP AoR
  ["3.3.5", "bext01", "message", [420, "Bad Extension"]],
  ["3.3.6", "invut", "message", "worker"],
  ["3.3.7", "regaut01", "message", "worker"],
  ["3.3.8", "multi01", [400, "Multiple Call-ID"], [400, "Multiple Call-ID"]],
  ["3.3.9", "mcl01", [400, "Bad Content-Length"], [400, "Bad Content-Length"]],
  ["3.3.10", "bcast", "message", "nothing"], // never forwarded towards 255.255.255.255
  // Max-Forwards 0 is checked when forwarding (16.3 step 3 lets an OPTIONS be answered locally first).
  ["3.3.11", "zeromf", "message", [483, "Too Many Hops"]], // answered before any worker call (RFC 3261 16.3 step 3)
  ["3.3.12", "cparam01", "message", "worker"],
  ["3.3.13", "cparam02", "message", "worker"],
  ["3.3.14", "regescrt", "message", "worker"],
  ["3.3.15", "sdp01", "message", "worker"],
  // 3.4 backward compatibility.
  ["3.4.1", "inv2543", "message", [400, "Missing Via Branch"]], // RFC 2543 transactions are refused
];

describe("RFC 4475: the fixture set", () => {
  it("holds all 49 messages", () => {
    expect(new Set(CASES.map(([, name]) => name)).size).toBe(49);
  });
});

describe.each(CASES)("RFC 4475 %s %s", (_section, name, parsed, outcome) => {
  it(`parses as ${parsed === "message" ? "a message" : parsed.join(" ")}`, () => {
    const r = parseMessage(rfc4475(name));
    if (parsed === "message") {
      expect(r.ok ? "message" : r.keepalive ? "keepalive" : `${r.error.status} ${r.error.reason}`).toBe("message");
    } else {
      expect(r.ok || r.keepalive ? "not an error" : [r.error.status, r.error.reason]).toEqual(parsed);
    }
  });

  const what =
    outcome === "worker" ? "asks the worker" : outcome === "nothing" ? "sends nothing" : "relayed" in outcome ? `answers ${outcome.relayed.join(" ")} when told to relay` : `answers ${outcome.join(" ")}`;
  it(`the gateway ${what}`, async () => {
    const h = setup();
    h.worker.onRequest = () =>
      typeof outcome === "object" && "relayed" in outcome
        ? decide({ action: "relay", targets: [{ requestUri: "sip:user@198.51.100.10", nextHop: { ip: "198.51.100.10", port: 5060 } }], recordRoute: false })
        : decide({ action: "reply", status: 404, reason: "Not Found" });
    h.core.onDatagram(rfc4475(name), PHONE_A, h.phones);
    await flush();
    const sent = h.take();
    const finals = sent.filter((s) => s.message.kind === "response" && s.message.status >= 200);
    expect(await h.metrics.render()).not.toMatch(/^edge_gateway_internal_errors_total [1-9]/m);
    if (outcome === "worker") {
      expect(h.worker.requests).toHaveLength(1);
      expect(finals.map((s) => (s.message.kind === "response" ? s.message.status : 0))).toEqual([404]);
    } else if (outcome === "nothing") {
      expect(h.worker.requests).toHaveLength(0);
      expect(sent.map(label)).toEqual([]);
    } else if ("relayed" in outcome) {
      expect(h.worker.requests).toHaveLength(1);
      expect(sent.filter((s) => s.message.kind === "request")).toEqual([]);
      expect(finals.map((s) => (s.message.kind === "response" ? [s.message.status, s.message.reason] : []))).toEqual([outcome.relayed]);
    } else {
      expect(h.worker.requests).toHaveLength(0);
      expect(finals.map((s) => (s.message.kind === "response" ? [s.message.status, s.message.reason] : []))).toEqual([outcome]);
    }
  });
});

function message(name: string): SipMessage {
  const r = parseMessage(rfc4475(name));
  if (!r.ok) throw new Error(`${name} did not parse`);
  return r.message;
}

describe("RFC 4475: values read from the valid messages", () => {
  it("3.1.1.2 intmeth: token characters in method, branch, tag; quoted NUL, BEL, DEL; UTF-8 values", () => {
    const m = message("intmeth");
    if (m.kind !== "request") throw new Error("request expected");
    expect(m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    expect(parseSipUri(m.uri)).toMatchObject({ user: "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*", password: "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)", host: "example.com" });
    expect(parseVia(headerValue(m, "Via") ?? "")[0]?.branch).toBe("z9hG4bK-.!%66*_+`'~");
    expect(parseNameAddr(headerValue(m, "To") ?? "")?.displayName).toBe("BEL:\u0007 NUL:\u0000 DEL:\u007f");
    const from = parseNameAddr(headerValue(m, "From") ?? "");
    expect(from?.displayName).toBe("token1~` token2'+_ token3*%!.-");
    expect(from?.params).toEqual({ "fromparam''~+*_!.-%": '"работающий"', tag: "_token~1'+`*%!-." });
    expect(headerValue(m, "Call-ID")).toBe("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
    expect(headerValue(m, "extensionHeader-!.%*+_`'~")).toBe("\ufeff大停電");
  });

  it("3.1.1.5 esc02: % in a method and a header name is no escape", () => {
    const m = message("esc02");
    expect(m.kind === "request" && m.method).toBe("RE%47IST%45R");
    expect(headerValues(m, "Contact")).toEqual(["<sip:alias1@host1.example.com>", "<sip:alias3@host3.example.com>"]);
    expect(headerValue(m, "C%6Fntact")).toBe("<sip:alias2@host2.example.com>");
  });

  it("3.1.1.7 longreq: 34 Vias over many spellings of the name, all in order", () => {
    const m = message("longreq");
    const vias = headerValues(m, "Via").flatMap((v) => parseVia(v));
    expect(vias).toHaveLength(34);
    expect(vias[0]?.host).toBe("sip33.example.com");
    expect(vias[33]?.received).toBe("192.0.2.5");
  });

  it("3.1.1.8 dblreq: only the REGISTER is read; the INVITE after Content-Length 0 is discarded", () => {
    const m = message("dblreq");
    expect(m.kind === "request" && m.method).toBe("REGISTER");
    expect(m.body.length).toBe(0);
  });

  it("3.1.1.11 mpart01: the 553-byte multipart body with its DER part stays bytes, and the worker gets it as base64", async () => {
    const m = message("mpart01");
    expect(m.body.length).toBe(553);
    expect(Array.from(m.body.subarray(187, 191))).toEqual([0x30, 0x82, 0x01, 0x52]);
    const h = setup();
    h.worker.onRequest = () => decide({ action: "reply", status: 404, reason: "Not Found" });
    h.core.onDatagram(rfc4475("mpart01"), PHONE_A, h.phones);
    await flush();
    const ev = h.worker.requests[0];
    expect(ev?.bodyEncoding).toBe("base64");
    expect(ev && decodeEventBody(ev)).toEqual(m.body);
  });

  it("3.1.1.12 unreason / 3.1.1.13 noreason: UTF-8 and empty reason phrases", () => {
    const a = message("unreason");
    expect(a.kind === "response" && a.reason).toBe("= 2**3 * 5**2 но сто девяносто девять - простое");
    const b = message("noreason");
    expect(b.kind === "response" && [b.status, b.reason]).toEqual([100, ""]);
  });

  it("3.3.5 bext01: the 420 lists the Proxy-Require options (RFC 3261 16.3 step 4)", async () => {
    const h = setup();
    h.core.onDatagram(rfc4475("bext01"), PHONE_A, h.phones);
    await flush();
    const [res] = h.take();
    expect(res && headerValue(res.message, "Unsupported")).toBe("noProxiesSupportThis, norDoAnyProxiesSupportThis");
  });

  it("3.3.12-14 cparam01/02, regescrt: the contact each REGISTER means", () => {
    const contact = (name: string) => parseContactHeader(headerValue(message(name), "Contact") ?? "");
    expect(contact("cparam01")).toEqual([{ uri: "sip:+19725552222@gw1.example.net", params: { unknownparam: null } }]);
    expect(contact("cparam02")).toEqual([{ uri: "sip:+19725552222@gw1.example.net;unknownparam", params: {} }]);
    expect(contact("regescrt")).toEqual([{ uri: "sip:user@example.com?Route=%3Csip:sip.example.com%3E", params: {} }]);
    expect(bodyText(message("invut").body)).toBe('<audio>\r\n <pcmu port="443"/>\r\n</audio>\r\n');
  });
});

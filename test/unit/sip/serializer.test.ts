import { describe, it, expect } from "vitest";
import {
  appendHeader,
  EMPTY_BODY,
  headerValues,
  parseMessage,
  prependHeader,
  removeFirstHeaderValue,
  removeHeaders,
  replaceHeaders,
  serializeMessage,
  textBody,
  withHeaders,
} from "../../../sip/index";
import type { SipRequest, SipResponse } from "../../../sip/index";
import { expectMessage, fixture } from "./support";

const decoder = new TextDecoder();

const request: SipRequest = {
  kind: "request",
  method: "MESSAGE",
  uri: "sip:301@tenant-a.example",
  headers: [
    { name: "v", value: "SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK1" },
    { name: "l", value: "999" },
    { name: "call-id", value: "abc@192.0.2.10" },
    { name: "X-Custom", value: "kept" },
    { name: "Content-Length", value: "7" },
  ],
  body: textBody("héllo ☎"),
};

describe("serializeMessage", () => {
  it("writes the start line, canonical names in order, Content-Length in bytes in place of the first, and the body", () => {
    expect(decoder.decode(serializeMessage(request))).toBe(
      [
        "MESSAGE sip:301@tenant-a.example SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK1",
        "Content-Length: 10",
        "Call-ID: abc@192.0.2.10",
        "X-Custom: kept",
        "",
        "héllo ☎",
      ].join("\r\n"),
    );
  });

  it("appends Content-Length when the message had none", () => {
    const res: SipResponse = { kind: "response", status: 100, reason: "Trying", headers: [{ name: "Call-ID", value: "x" }], body: EMPTY_BODY };
    expect(decoder.decode(serializeMessage(res))).toBe("SIP/2.0 100 Trying\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n");
  });

  it("counts surrogate pairs as four bytes", () => {
    const out = decoder.decode(serializeMessage({ ...request, headers: [], body: textBody("😀") }));
    expect(out).toContain("Content-Length: 4\r\n");
  });

  it("writes a binary body byte for byte and counts it in bytes (ff 00 80 41: 4, not 8 after a UTF-8 round trip)", () => {
    const body = Uint8Array.from([0xff, 0x00, 0x80, 0x41]);
    const out = serializeMessage({ ...expectMessage(parseMessage(fixture("register-valid.sip"))), body });
    expect(decoder.decode(out)).toContain("Content-Length: 4\r\n\r\n");
    expect(Array.from(out.subarray(out.length - 4))).toEqual([0xff, 0x00, 0x80, 0x41]);
    const again = expectMessage(parseMessage(out));
    expect(again.body).toEqual(body);
    expect(serializeMessage(again)).toEqual(out);
  });

  it("keeps every byte value 0-255 through parse and serialise", () => {
    const body = Uint8Array.from({ length: 256 }, (_, i) => i);
    const out = serializeMessage({ ...expectMessage(parseMessage(fixture("register-valid.sip"))), body });
    expect(expectMessage(parseMessage(out)).body).toEqual(body);
  });

  it("writes repeated headers as separate lines", () => {
    const res: SipResponse = {
      kind: "response",
      status: 401,
      reason: "Unauthorized",
      headers: [
        { name: "WWW-Authenticate", value: 'Digest realm="a", nonce="1", algorithm=SHA-256' },
        { name: "WWW-Authenticate", value: 'Digest realm="a", nonce="1", algorithm=MD5' },
      ],
      body: EMPTY_BODY,
    };
    const text = decoder.decode(serializeMessage(res));
    expect(text.match(/^WWW-Authenticate: /gm)).toHaveLength(2);
  });

  it.each([
    ["a line break in a header value (header injection)", { ...request, headers: [{ name: "Subject", value: "x\r\nVia: evil" }] }],
    ["a header name that is not a token", { ...request, headers: [{ name: "Bad Name", value: "x" }] }],
    ["a method that is not a token", { ...request, method: "IN VITE" }],
    ["whitespace in the Request-URI", { ...request, uri: "sip:a b" }],
    ["a status outside 100-699", { kind: "response", status: 42, reason: "x", headers: [], body: EMPTY_BODY } satisfies SipResponse],
    ["a line break in the reason phrase", { kind: "response", status: 200, reason: "OK\r\nX: y", headers: [], body: EMPTY_BODY } satisfies SipResponse],
  ])("throws RangeError for %s", (_name, msg) => {
    expect(() => serializeMessage(msg)).toThrow(RangeError);
  });
});

describe("parse, serialize, parse", () => {
  it.each([
    "register-valid.sip",
    "register-compact-forms-valid.sip",
    "invite-folded-headers-valid.sip",
    "response-401-two-www-authenticate-valid.sip",
    "invite-ipv6-valid.sip",
    "torture-odd-spacing-valid.sip",
    "torture-escaped-uri-valid.sip",
    "torture-escaped-null-valid.sip",
  ])("gives back the same message for %s", (name) => {
    const first = expectMessage(parseMessage(fixture(name)));
    const second = expectMessage(parseMessage(serializeMessage(first)));
    expect(second).toEqual(first);
    expect(serializeMessage(second)).toEqual(serializeMessage(first));
  });
});

describe("header edits", () => {
  const base: SipRequest = {
    kind: "request",
    method: "INVITE",
    uri: "sip:301@tenant-a.example",
    headers: [
      { name: "Record-Route", value: "<sip:p1.example;lr>" },
      { name: "Via", value: "SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/UDP b.example;branch=z9hG4bK2" },
      { name: "Via", value: "SIP/2.0/UDP c.example;branch=z9hG4bK3" },
      { name: "Contact", value: '"Doe, John" <sip:j@d.example>' },
      { name: "Contact", value: '"Doe, Jane" <sip:k@d.example>, <sip:l@d.example>' },
      { name: "Call-ID", value: "c1" },
    ],
    body: EMPTY_BODY,
  };

  it("prepends a Via above the existing ones (RFC 3261 16.6 step 8)", () => {
    const out = prependHeader(base, "v", "SIP/2.0/UDP proxy.example;branch=z9hG4bKp");
    expect(out.headers[1]).toEqual({ name: "Via", value: "SIP/2.0/UDP proxy.example;branch=z9hG4bKp" });
    expect(headerValues(out, "Via")).toHaveLength(3);
  });

  it("prepends at the very top when there is no header of that name", () => {
    expect(prependHeader(base, "Max-Forwards", "70").headers[0]).toEqual({ name: "Max-Forwards", value: "70" });
  });

  it("appends after all headers", () => {
    expect(appendHeader(base, "x-tenant", "a").headers.at(-1)).toEqual({ name: "x-tenant", value: "a" });
  });

  it("removes the top Via of a comma-joined line and keeps the rest of it (RFC 3261 16.7 step 3)", () => {
    const out = removeFirstHeaderValue(base, "Via");
    expect(headerValues(out, "Via")).toEqual(["SIP/2.0/UDP b.example;branch=z9hG4bK2", "SIP/2.0/UDP c.example;branch=z9hG4bK3"]);
    const again = removeFirstHeaderValue(out, "Via");
    expect(headerValues(again, "Via")).toEqual(["SIP/2.0/UDP c.example;branch=z9hG4bK3"]);
  });

  it("does not split on commas inside quoted display names", () => {
    const out = removeFirstHeaderValue(base, "Contact");
    expect(headerValues(out, "Contact")).toEqual(['"Doe, Jane" <sip:k@d.example>, <sip:l@d.example>']);
  });

  it("returns the message itself when there is nothing to remove", () => {
    expect(removeFirstHeaderValue(base, "Route")).toBe(base);
  });

  it("replaces every line of a header in place of the first, one line per value", () => {
    const out = replaceHeaders(base, "m", ["<sip:gw.example;tok=1>", "<sip:gw.example;tok=2>"]);
    expect(out.headers.map((h) => h.name)).toEqual(["Record-Route", "Via", "Via", "Contact", "Contact", "Call-ID"]);
    expect(headerValues(out, "Contact")).toEqual(["<sip:gw.example;tok=1>", "<sip:gw.example;tok=2>"]);
  });

  it("appends the values when replacing a header that is absent", () => {
    expect(replaceHeaders(base, "Path", ["<sip:gw.example;lr>"]).headers.at(-1)).toEqual({ name: "Path", value: "<sip:gw.example;lr>" });
  });

  it("removes every line of a header, by compact or long name", () => {
    expect(headerValues(removeHeaders(base, "v"), "Via")).toEqual([]);
    expect(removeHeaders(base, "CONTACT").headers).toHaveLength(4);
  });

  it("never changes the message it was given", () => {
    const snapshot = structuredClone(base);
    prependHeader(base, "Via", "x");
    removeFirstHeaderValue(base, "Via");
    replaceHeaders(base, "Contact", []);
    removeHeaders(base, "Call-ID");
    withHeaders(base, []);
    expect(base).toEqual(snapshot);
  });
});

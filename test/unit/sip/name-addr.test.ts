import { describe, it, expect } from "vitest";
import { formatNameAddr, parseContactHeader, parseNameAddr, splitHeaderList, unquote } from "../../../sip/index";

describe("parseNameAddr", () => {
  it("parses a quoted display name, the URI and header parameters", () => {
    expect(parseNameAddr('"Alice Liddell" <sip:alice@wonderland.example>;tag=88sja8x')).toEqual({
      displayName: "Alice Liddell",
      uri: "sip:alice@wonderland.example",
      params: { tag: "88sja8x" },
    });
  });

  it("parses a token display name, joining its words with single spaces", () => {
    expect(parseNameAddr("A.  G.\tBell <sip:a.g.bell@example.com>;tag=43")).toMatchObject({ displayName: "A. G. Bell" });
  });

  it("resolves quoted-pairs in the display name", () => {
    expect(parseNameAddr('"J Rosenberg \\\\\\"" <sip:jdrosen@example.com>')?.displayName).toBe('J Rosenberg \\"');
  });

  it("keeps an empty quoted display name as empty, and omits a missing one", () => {
    expect(parseNameAddr('"" <sip:a@b.example>')?.displayName).toBe("");
    expect(parseNameAddr("<sip:a@b.example>")).not.toHaveProperty("displayName");
  });

  it("reads parameters after an addr-spec as header parameters, not URI parameters (RFC 3261 20.10)", () => {
    expect(parseNameAddr("sip:bob@biloxi.example.com;tag=1928301774;expires=60")).toEqual({
      uri: "sip:bob@biloxi.example.com",
      params: { tag: "1928301774", expires: "60" },
    });
  });

  it("keeps URI parameters inside the angle brackets", () => {
    expect(parseNameAddr("<sip:201@192.0.2.10:5070;transport=udp;ob>;expires=3600;q=0.5")).toEqual({
      uri: "sip:201@192.0.2.10:5070;transport=udp;ob",
      params: { expires: "3600", q: "0.5" },
    });
  });

  it("keeps quoted parameter values with their quotes, valueless ones as null", () => {
    const na = parseNameAddr('<sip:201@192.0.2.10>;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>";reg-id=1;+sip.automata');
    expect(na?.params).toEqual({
      "+sip.instance": '"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"',
      "reg-id": "1",
      "+sip.automata": null,
    });
    expect(unquote(na?.params["+sip.instance"] ?? "")).toBe("<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>");
  });

  it("accepts whitespace around ; and = and lower-cases parameter names", () => {
    expect(parseNameAddr("<sip:a@b.example> ;  TAG = abc ; Expires=5")?.params).toEqual({ tag: "abc", expires: "5" });
  });

  it("tolerates unquoted UTF-8 display names, as phones send them", () => {
    expect(parseNameAddr("Jürgen <sip:j@b.example>")?.displayName).toBe("Jürgen");
  });

  it.each([
    ["an unterminated quote (RFC 4475 quotbal)", '"Mr. J. User <sip:j.user@example.com>'],
    ["a missing >", "<sip:a@b.example"],
    ["a comma in an unquoted display name (RFC 4475 baddn)", "Bell, Alexander <sip:a.g.bell@example.com>"],
    ["spaces inside the brackets (RFC 4475 badaspec)", "< sip:a@b.example >"],
    ["an addr-spec with headers (RFC 4475 regbadct)", "sip:user@example.com?Route=%3Csip:sip.example.com%3E"],
    ["no scheme", "<alice@example.com>"],
    ["an empty parameter", "<sip:a@b.example>;;tag=1"],
    ["an empty parameter value", "<sip:a@b.example>;tag="],
    ["text after the address", "<sip:a@b.example> trailing"],
    ["nothing", ""],
  ])("returns undefined for %s", (_name, value) => {
    expect(parseNameAddr(value)).toBeUndefined();
  });
});

describe("splitHeaderList", () => {
  it("splits on commas outside quotes and angle brackets", () => {
    expect(splitHeaderList('"Doe, John" <sip:j@a.example;x=a,b>;q=0.7, <sip:k@b.example>')).toEqual([
      '"Doe, John" <sip:j@a.example;x=a,b>;q=0.7',
      "<sip:k@b.example>",
    ]);
  });

  it("respects escaped quotes inside quoted strings", () => {
    expect(splitHeaderList('"a\\", b" <sip:a@x>, <sip:b@y>')).toEqual(['"a\\", b" <sip:a@x>', "<sip:b@y>"]);
  });

  it("splits Allow and Via lists and drops empty elements", () => {
    expect(splitHeaderList("INVITE, ACK,CANCEL ,, BYE,")).toEqual(["INVITE", "ACK", "CANCEL", "BYE"]);
    expect(splitHeaderList("SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK2")).toEqual([
      "SIP/2.0/UDP a.example;branch=z9hG4bK1",
      "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK2",
    ]);
  });

  it("returns an empty list for an empty value", () => {
    expect(splitHeaderList("  ")).toEqual([]);
  });
});

describe("parseContactHeader", () => {
  it("returns '*' for the wildcard (RFC 3261 10.2.2)", () => {
    expect(parseContactHeader(" * ")).toBe("*");
  });

  it("returns every address of a comma-separated Contact value", () => {
    const contacts = parseContactHeader('"Mr. Watson" <sip:watson@worcester.example.com>;q=0.7;expires=3600, "Mr. Watson" <mailto:watson@bell.example.com>;q=0.1');
    expect(contacts).toEqual([
      { displayName: "Mr. Watson", uri: "sip:watson@worcester.example.com", params: { q: "0.7", expires: "3600" } },
      { displayName: "Mr. Watson", uri: "mailto:watson@bell.example.com", params: { q: "0.1" } },
    ]);
  });

  it("returns undefined when any element is malformed", () => {
    expect(parseContactHeader("<sip:a@b.example>, <sip:broken")).toBeUndefined();
    expect(parseContactHeader("")).toBeUndefined();
  });
});

describe("formatNameAddr", () => {
  it("writes angle brackets, a quoted display name and parameters in order", () => {
    expect(formatNameAddr({ displayName: 'Say "hi"', uri: "sip:a@b.example", params: { tag: "1", lr: null } })).toBe(
      '"Say \\"hi\\"" <sip:a@b.example>;tag=1;lr',
    );
  });

  it("round-trips through parseNameAddr", () => {
    const text = '"Alice \\\\ Co" <sip:a@b.example;transport=udp>;tag=x;+sip.instance="<urn:uuid:1>"';
    const parsed = parseNameAddr(text);
    expect(parsed && formatNameAddr(parsed)).toBe(text);
    expect(parsed && parseNameAddr(formatNameAddr(parsed))).toEqual(parsed);
  });
});

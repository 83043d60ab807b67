import { describe, it, expect } from "vitest";
import { formatSipUri, normalizeHost, parseSipUri, sameHostPort } from "../../../sip/index";

describe("parseSipUri", () => {
  it("parses user, host, port, parameters in order and headers", () => {
    const uri = parseSipUri("sip:alice@atlanta.example.com:5061;transport=tcp;lr;maddr=239.255.255.1?subject=project%20x&priority=urgent");
    expect(uri).toEqual({
      scheme: "sip",
      user: "alice",
      host: "atlanta.example.com",
      port: 5061,
      params: { transport: "tcp", lr: null, maddr: "239.255.255.1" },
      headers: { subject: "project%20x", priority: "urgent" },
    });
    expect(Object.keys(uri?.params ?? {})).toEqual(["transport", "lr", "maddr"]);
  });

  it("parses a host-only URI, a sips: URI and scheme in any case", () => {
    expect(parseSipUri("sip:tenant-a.example")).toEqual({ scheme: "sip", host: "tenant-a.example", params: {}, headers: {} });
    expect(parseSipUri("SIPS:bob@biloxi.example.com")?.scheme).toBe("sips");
  });

  it("parses a password and a telephone-subscriber user (RFC 3261 19.1.3)", () => {
    const uri = parseSipUri("sip:+1-212-555-1212:1234@gateway.com;user=phone");
    expect(uri).toMatchObject({ user: "+1-212-555-1212", password: "1234", host: "gateway.com", params: { user: "phone" } });
  });

  it("percent-decodes the user part (RFC 4475 esc01, escnull)", () => {
    expect(parseSipUri("sip:sips%3Auser%40example.com@example.net")?.user).toBe("sips:user@example.com");
    expect(parseSipUri("sip:%75se%72@example.com")?.user).toBe("user");
    expect(parseSipUri("sip:null-%00-null@example.com")?.user).toBe("null-\u0000-null");
  });

  it("accepts user-unreserved characters such as ; and ? in the user part", () => {
    expect(parseSipUri("sip:alice;day=tuesday@atlanta.com")?.user).toBe("alice;day=tuesday");
  });

  it("parses IPv6 references with and without port", () => {
    expect(parseSipUri("sip:201@[2001:db8::10]:5062;transport=udp")).toMatchObject({ host: "[2001:db8::10]", port: 5062 });
    expect(parseSipUri("sip:[::1]")).toMatchObject({ host: "[::1]" });
    expect(parseSipUri("sip:[::ffff:192.0.2.1]:5060")).toMatchObject({ host: "[::ffff:192.0.2.1]", port: 5060 });
  });

  it.each([
    ["another scheme", "tel:+15551234567"],
    ["no host", "sip:alice@"],
    ["an empty user", "sip:@host.example"],
    ["a port above 65535", "sip:host.example:65536"],
    ["port 0", "sip:host.example:0"],
    ["a non-numeric port", "sip:host.example:abc"],
    ["a bad escape", "sip:a%zz@host.example"],
    ["an unbracketed IPv6 address", "sip:2001:db8::1"],
    ["an unclosed IPv6 bracket", "sip:[2001:db8::1"],
    ["an invalid IPv6 address", "sip:[2001:db8:::1]"],
    ["an IPv4 address with a large octet", "sip:192.0.2.256"],
    ["whitespace", "sip:alice @host.example"],
    ["angle brackets", "<sip:alice@host.example>"],
    ["an empty label", "sip:host..example"],
    ["an empty parameter name", "sip:host.example;=x"],
    ["a header without =", "sip:host.example?subject"],
    ["an empty header part", "sip:host.example?"],
  ])("returns undefined for %s", (_name, text) => {
    expect(parseSipUri(text)).toBeUndefined();
  });

  it("keeps the first of repeated parameters", () => {
    expect(parseSipUri("sip:host.example;transport=udp;transport=tcp")?.params).toEqual({ transport: "udp" });
  });

  it("treats a parameter named __proto__ as an ordinary parameter", () => {
    const uri = parseSipUri("sip:host.example;__proto__=x");
    expect(uri?.params["__proto__"]).toBe("x");
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
});

describe("formatSipUri", () => {
  it.each([
    "sip:alice@atlanta.example.com:5061;transport=tcp;lr",
    "sips:bob@biloxi.example.com",
    "sip:tenant-a.example",
    "sip:201@[2001:db8::10]:5062;transport=udp",
    "sip:+1-212-555-1212:1234@gateway.com;user=phone",
    "sip:alice@host.example?subject=project%20x&priority=urgent",
  ])("writes back %s as parsed", (text) => {
    const uri = parseSipUri(text);
    expect(uri && formatSipUri(uri)).toBe(text);
  });

  it("percent-encodes what the user part may not hold", () => {
    expect(formatSipUri({ scheme: "sip", user: "sips:user@example.com", host: "example.net", params: {}, headers: {} })).toBe(
      "sip:sips%3Auser%40example.com@example.net",
    );
    expect(formatSipUri({ scheme: "sip", user: "I have spaces", host: "h.example", params: {}, headers: {} })).toBe("sip:I%20have%20spaces@h.example");
    expect(formatSipUri({ scheme: "sip", user: "*67#", host: "h.example", params: {}, headers: {} })).toBe("sip:*67%23@h.example");
  });

  it("round-trips a decoded user through format and parse", () => {
    const user = "naïve user%@;x";
    const text = formatSipUri({ scheme: "sip", user, host: "h.example", params: {}, headers: {} });
    expect(parseSipUri(text)?.user).toBe(user);
  });
});

describe("sameHostPort", () => {
  it("matches equal hosts case-insensitively with the default port filled in", () => {
    expect(sameHostPort({ host: "Gateway.Example" }, { host: "gateway.example", port: 5060 })).toBe(true);
    expect(sameHostPort({ host: "gateway.example" }, { host: "gateway.example", port: 5080 })).toBe(false);
    expect(sameHostPort({ host: "gateway.example" }, { host: "gateway.example", port: 5061 }, 5061)).toBe(true);
  });

  it("never matches an address that merely starts with another (10.0.1.1 vs 10.0.1.10)", () => {
    expect(sameHostPort({ host: "10.0.1.1", port: 5060 }, { host: "10.0.1.10", port: 5060 })).toBe(false);
  });

  it("compares IPv6 addresses in normal form, bracketed or not", () => {
    expect(sameHostPort({ host: "[2001:DB8:0:0::1]" }, { host: "2001:db8::1" })).toBe(true);
    expect(sameHostPort({ host: "[2001:db8::1]" }, { host: "[2001:db8::2]" })).toBe(false);
  });

  it("treats an IPv4-mapped IPv6 address as the IPv4 address", () => {
    expect(sameHostPort({ host: "::ffff:192.0.2.1", port: 5060 }, { host: "192.0.2.1" })).toBe(true);
  });
});

describe("normalizeHost", () => {
  it.each([
    ["Example.COM", "example.com"],
    ["[2001:0db8:0000:0000:0000:0000:0000:0001]", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["[::]", "::"],
    ["[::1]", "::1"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"],
    ["2001:db8:0:1:2:3:4:5", "2001:db8:0:1:2:3:4:5"],
    ["[::FFFF:192.0.2.9]", "192.0.2.9"],
  ])("writes %s as %s (RFC 5952)", (host, normal) => {
    expect(normalizeHost(host)).toBe(normal);
  });
});

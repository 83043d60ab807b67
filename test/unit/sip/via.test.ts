import { describe, it, expect } from "vitest";
import { formatVia, parseMessage, parseVia, RFC3261_BRANCH_COOKIE, topVia, withViaParams } from "../../../sip/index";
import { expectRequest, fixture } from "./support";

describe("parseVia", () => {
  it("parses protocol, transport, sent-by and parameters", () => {
    expect(parseVia("SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK776asdhds;rport")).toEqual([
      {
        protocol: "SIP/2.0/UDP",
        transport: "UDP",
        host: "192.0.2.10",
        port: 5070,
        params: { branch: "z9hG4bK776asdhds", rport: null },
        branch: "z9hG4bK776asdhds",
        rport: null,
      },
    ]);
  });

  it("gives rport three states: absent, requested (null) and filled (RFC 3581)", () => {
    expect(parseVia("SIP/2.0/UDP h.example;branch=z9hG4bK1")[0]?.rport).toBeUndefined();
    expect(parseVia("SIP/2.0/UDP h.example;branch=z9hG4bK1;rport")[0]?.rport).toBeNull();
    expect(parseVia("SIP/2.0/UDP h.example;branch=z9hG4bK1;rport=40312;received=198.51.100.7")[0]).toMatchObject({
      rport: 40312,
      received: "198.51.100.7",
    });
  });

  it("parses several comma-separated Vias of one header line, top first", () => {
    const vias = parseVia("SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/TCP b.example:5080;branch=z9hG4bK2");
    expect(vias.map((v) => [v.transport, v.host, v.port, v.branch])).toEqual([
      ["UDP", "a.example", undefined, "z9hG4bK1"],
      ["TCP", "b.example", 5080, "z9hG4bK2"],
    ]);
  });

  it("parses IPv6 sent-by and an unbracketed IPv6 received (RFC 5118 4.5)", () => {
    expect(parseVia("SIP/2.0/UDP [2001:db8::9:1]:5070;branch=z9hG4bKv6;received=2001:db8::9:255")[0]).toMatchObject({
      host: "[2001:db8::9:1]",
      port: 5070,
      received: "2001:db8::9:255",
    });
    expect(parseVia("SIP/2.0/UDP [::1];branch=z9hG4bKv6")[0]).toMatchObject({ host: "[::1]" });
  });

  it("accepts whitespace inside sent-protocol and around the port colon, upper-casing the protocol", () => {
    expect(parseVia("sip / 2.0 / udp  host.example : 5060 ; branch = z9hG4bK9")[0]).toMatchObject({
      protocol: "SIP/2.0/UDP",
      transport: "UDP",
      host: "host.example",
      port: 5060,
      branch: "z9hG4bK9",
    });
  });

  it.each([
    ["a missing sent-by", "SIP/2.0/UDP"],
    ["a missing transport", "SIP/2.0 host.example"],
    ["no space before sent-by", "SIP/2.0/UDPhost.example"],
    ["empty parameters (RFC 4475 badinv01)", "SIP/2.0/UDP 192.0.2.15;;,;,,"],
    ["a bad port", "SIP/2.0/UDP host.example:99999"],
    ["a space inside sent-by", "SIP/2.0/UDP host.example 5060"],
    ["a bad rport", "SIP/2.0/UDP host.example;rport=x"],
    ["a branch without value", "SIP/2.0/UDP host.example;branch"],
    ["one bad Via among good ones", "SIP/2.0/UDP a.example;branch=z9hG4bK1, garbage"],
  ])("returns an empty list for %s", (_name, value) => {
    expect(parseVia(value)).toEqual([]);
  });
});

describe("formatVia", () => {
  it("writes protocol, sent-by and parameters in order", () => {
    const via = parseVia("SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1;rport;received=2001:db8::9")[0];
    expect(via && formatVia(via)).toBe("SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1;rport;received=2001:db8::9");
  });

  it("builds a proxy's own Via with a magic-cookie branch, bracketing a bare IPv6 host", () => {
    expect(formatVia({ protocol: "SIP/2.0/UDP", host: "2001:db8::5", port: 5060, params: { branch: `${RFC3261_BRANCH_COOKIE}abc`, rport: null } })).toBe(
      "SIP/2.0/UDP [2001:db8::5]:5060;branch=z9hG4bKabc;rport",
    );
  });
});

describe("withViaParams", () => {
  it("fills rport in place and appends received (RFC 3581 4)", () => {
    const via = parseVia("SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK1")[0];
    if (!via) throw new Error("no via");
    const updated = withViaParams(via, { rport: "40312", received: "198.51.100.7" });
    expect(formatVia(updated)).toBe("SIP/2.0/UDP 10.0.0.5:5060;rport=40312;branch=z9hG4bK1;received=198.51.100.7");
    expect(updated).toMatchObject({ rport: 40312, received: "198.51.100.7" });
    expect(via.rport).toBeNull();
  });

  it("removes a parameter given undefined", () => {
    const via = parseVia("SIP/2.0/UDP h.example;branch=z9hG4bK1;received=192.0.2.1")[0];
    if (!via) throw new Error("no via");
    expect(withViaParams(via, { received: undefined })).not.toHaveProperty("received");
  });

  it("throws RangeError on a value that would break the header", () => {
    const via = parseVia("SIP/2.0/UDP h.example;branch=z9hG4bK1")[0];
    if (!via) throw new Error("no via");
    expect(() => withViaParams(via, { received: "1.2.3.4;evil" })).toThrow(RangeError);
    expect(() => withViaParams(via, { rport: "not-a-port" })).toThrow(RangeError);
  });
});

describe("topVia", () => {
  it("is the first Via of the first Via line", () => {
    const req = expectRequest(parseMessage(fixture("torture-odd-spacing-valid.sip")));
    expect(topVia(req)).toMatchObject({ protocol: "SIP/2.0/UDP", host: "192.0.2.2", branch: "390skdjuw" });
  });

  it("is undefined without Via", () => {
    expect(topVia({ headers: [] })).toBeUndefined();
  });
});

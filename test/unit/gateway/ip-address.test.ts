import { describe, expect, it } from "vitest";
import { AddressList, ipBytes, sourceKey } from "../../../edge-gateway/src/ingress/ip-address";

describe("ipBytes", () => {
  it("parses IPv4, IPv6 (compressed, full, embedded IPv4, zone, brackets) and refuses the rest", () => {
    expect([...ipBytes("192.0.2.10")!]).toEqual([192, 0, 2, 10]);
    expect([...ipBytes("2001:db8::1")!]).toEqual([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]);
    expect(ipBytes("2001:db8:0:0:0:0:0:1")).toEqual(ipBytes("2001:db8::1"));
    expect(ipBytes("[2001:db8::1]")).toEqual(ipBytes("2001:db8::1"));
    expect(ipBytes("fe80::1%eth0")).toEqual(ipBytes("fe80::1"));
    expect(ipBytes("::")).toEqual(new Uint8Array(16));
    expect([...ipBytes("64:ff9b::192.0.2.1")!].slice(12)).toEqual([192, 0, 2, 1]);
    // RFC 4291 2.5.5.2: an IPv4-mapped address is the IPv4 address.
    expect([...ipBytes("::ffff:192.0.2.10")!]).toEqual([192, 0, 2, 10]);
    for (const bad of ["", "192.0.2", "192.0.2.256", "1.2.3.4.5", "2001:db8::1::2", "2001:db8:1:2:3:4:5:6:7", "g::1", "host.example"]) {
      expect(ipBytes(bad), bad).toBeUndefined();
    }
  });
});

describe("sourceKey: what the flood limit counts a source under", () => {
  it("an IPv4 address is itself, an IPv4-mapped IPv6 address its IPv4 address", () => {
    expect(sourceKey("198.51.100.7")).toBe("198.51.100.7");
    expect(sourceKey("::ffff:198.51.100.7")).toBe("198.51.100.7");
  });

  it("IPv6 addresses of one /64 are one source, of two /64s two", () => {
    expect(sourceKey("2001:db8:1:2::1")).toBe(sourceKey("2001:db8:1:2:ffff:eeee:dddd:cccc"));
    expect(sourceKey("2001:db8:1:2::1")).not.toBe(sourceKey("2001:db8:1:3::1"));
    expect(sourceKey("2001:db8:1:2::1")).toBe("20010db800010002::/64");
  });
});

describe("AddressList (FLOOD_EXEMPT)", () => {
  it("matches exact addresses and CIDR prefixes, IPv4 and IPv6", () => {
    const l = AddressList.parse("198.51.100.7, 203.0.113.0/24 10.0.0.0/8,2001:db8:a::/48,2001:db8:ff::5,192.0.2.128/25");
    expect(l.size).toBe(6);
    for (const ip of ["198.51.100.7", "203.0.113.0", "203.0.113.255", "10.200.3.4", "2001:db8:a:ffff::1", "2001:db8:ff::5", "192.0.2.200", "::ffff:10.1.1.1"]) {
      expect(l.has(ip), ip).toBe(true);
    }
    for (const ip of ["198.51.100.8", "203.0.114.1", "11.0.0.1", "2001:db8:b::1", "2001:db8:ff::6", "192.0.2.127", "not-an-ip"]) {
      expect(l.has(ip), ip).toBe(false);
    }
  });

  it("a /0 matches its whole family only; an empty list matches nothing", () => {
    const v4 = AddressList.parse("0.0.0.0/0");
    expect(v4.has("203.0.113.1")).toBe(true);
    expect(v4.has("2001:db8::1")).toBe(false);
    expect(AddressList.parse("").has("203.0.113.1")).toBe(false);
  });

  it("an IPv4-mapped prefix counts its length over the IPv6 address", () => {
    const l = AddressList.parse("::ffff:192.0.2.0/120");
    expect(l.has("192.0.2.99")).toBe(true);
    expect(l.has("192.0.3.1")).toBe(false);
  });

  it("refuses what is not an address or has a bad prefix length", () => {
    for (const bad of ["example.com", "192.0.2.0/33", "2001:db8::/129", "192.0.2.0/", "192.0.2.0/-1", "192.0.2.0/8x"]) {
      expect(() => AddressList.parse(bad), bad).toThrow();
    }
  });
});

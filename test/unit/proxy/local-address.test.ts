import { describe, expect, it } from "vitest";
import { hostPort, LocalAddresses } from "../../../edge-gateway/src/proxy/local-address";
import type { Listener } from "../../../edge-gateway/src/transport/transport";

function listener(ip: string, port: number, advertised = ip): Listener {
  return { local: { ip, port, transport: "udp" }, advertised: { host: advertised, port }, send: () => undefined };
}

describe("LocalAddresses (RFC 3261 16.4: does this Route / Request-URI name us?)", () => {
  const local = new LocalAddresses([listener("10.1.0.2", 5060, "192.0.2.1"), listener("2001:db8::1", 5070)], ["gw.example"]);

  it("the bound and the advertised address of each listener are ours, the port defaulting to 5060", () => {
    expect(local.isLocalUri("sip:192.0.2.1;lr")).toBe(true);
    expect(local.isLocalUri("sip:10.1.0.2:5060;lr")).toBe(true);
    expect(local.isLocalUri("sip:192.0.2.1:5070;lr")).toBe(false);
    expect(local.isLocalUri("sip:[2001:DB8:0::1]:5070;lr")).toBe(true);
    expect(local.isLocalUri("sip:[2001:db8::1];lr")).toBe(false);
  });

  it("extra host names are ours on the listeners' ports", () => {
    expect(local.isLocalUri("sip:token@GW.example;lr")).toBe(true);
    expect(local.isLocalUri("sip:gw.example:5070")).toBe(true);
  });

  it("other hosts and non-SIP URIs are not ours", () => {
    expect(local.isLocalUri("sip:198.51.100.10;lr")).toBe(false);
    expect(local.isLocalUri("tel:+4930")).toBe(false);
    expect(local.isLocalUri("sips:192.0.2.1")).toBe(false);
  });

  it("hostPort brackets IPv6 once", () => {
    expect(hostPort("2001:db8::1", 5060)).toBe("[2001:db8::1]:5060");
    expect(hostPort("[2001:db8::1]", 5060)).toBe("[2001:db8::1]:5060");
    expect(hostPort("192.0.2.1", 5060)).toBe("192.0.2.1:5060");
  });
});

// The routing decision with several gateways on one store (docs/routing.md, "Several gateways"): a binding
// saved through another gateway is relayed via that gateway, never straight to its NAT `received` address.
import { describe, expect, it } from "vitest";
import type { Address } from "../../../contract/v1";
import { parseSocket, peerGatewayOf } from "../../../worker/src/routing/peer-gateway";
import { branchFor } from "../../../worker/src/routing/route-request";
import type { Binding } from "../../../worker/src/store/store";

const udp = (ip: string, port: number): Address => ({ ip, port, transport: "udp" });
/** Gateway B asks (one socket); gateway A saved the binding. */
const B = [udp("127.0.31.2", 5060)];
/** A gateway with a phones' socket and an Asterisk-side socket: the binding was saved on its phones' socket. */
const B_TWO_SOCKETS = [udp("127.0.31.2", 5060), udp("127.0.31.3", 5060)];

function binding(socket: string | null, received: string | null = "sip:198.51.100.7:40312", path: string | null = null): Binding {
  return {
    id: 1,
    username: "401",
    domain: "tenant-a.example",
    contact: "sip:401@192.168.1.10:5070",
    received,
    path,
    expires: 2_000_000_000,
    q: 1,
    callid: "c",
    cseq: 1,
    lastModified: 0,
    flags: 0,
    cflags: null,
    userAgent: "",
    socket,
    methods: null,
    sipInstance: null,
    kvStore: null,
    attr: null,
    ruid: "r",
  };
}

describe("branchFor with several gateways", () => {
  it("a binding saved through another gateway: next hop that gateway's socket, the NAT address only as viaPeer", () => {
    const t = branchFor(binding("udp:127.0.31.1:5060"), B);
    expect(t.nextHop).toEqual(udp("127.0.31.1", 5060));
    expect(t.viaPeer).toEqual(udp("198.51.100.7", 40312));
    expect(t.requestUri).toBe("sip:401@192.168.1.10:5070");
    expect(t.side).toBe("phones");
  });

  it("keeps the stored Path as the route set behind the peer", () => {
    const t = branchFor(binding("udp:127.0.31.1:5060", "sip:198.51.100.7:40312", "<sip:198.51.100.200;lr>"), B);
    expect(t.route).toEqual(["<sip:198.51.100.200;lr>"]);
    expect(t.nextHop).toEqual(udp("127.0.31.1", 5060));
  });

  it("a binding without a NAT address is relayed via its gateway too, to its Contact", () => {
    const t = branchFor(binding("udp:127.0.31.1:5060", null), B);
    expect([t.nextHop, t.viaPeer]).toEqual([udp("127.0.31.1", 5060), udp("192.168.1.10", 5070)]);
  });

  it("a binding saved through this gateway (any of its sockets): straight to received, as before", () => {
    for (const own of [B, B_TWO_SOCKETS]) {
      const t = branchFor(binding("udp:127.0.31.2:5060"), own);
      expect([t.nextHop, t.viaPeer]).toEqual([udp("198.51.100.7", 40312), undefined]);
    }
    expect(branchFor(binding("udp:127.0.31.3:5060"), B_TWO_SOCKETS).viaPeer).toBeUndefined();
  });

  it("another port on the same address is another gateway", () => {
    expect(branchFor(binding("udp:127.0.31.2:5062"), B).nextHop).toEqual(udp("127.0.31.2", 5062));
  });

  it("no usable socket (legacy rows, a wildcard bind, garbage): straight to received, as before", () => {
    for (const socket of [null, "", "udp:0.0.0.0:5060", "udp:[::]:5060", "udp:gw.example:5060", "nonsense"]) {
      const t = branchFor(binding(socket), B);
      expect([socket, t.nextHop, t.viaPeer]).toEqual([socket, udp("198.51.100.7", 40312), undefined]);
    }
  });
});

describe("stored sockets", () => {
  it("parses IPv4 and bracketed IPv6 sockets, compares addresses in canonical form", () => {
    expect(parseSocket("udp:127.0.0.1:5060")).toEqual(udp("127.0.0.1", 5060));
    expect(parseSocket("udp:[2001:DB8::1]:5070")).toEqual(udp("2001:db8::1", 5070));
    expect(parseSocket("udp:127.0.0.1:70000")).toBeUndefined();
    expect(peerGatewayOf("udp:[2001:db8::1]:5060", [udp("2001:DB8:0::1", 5060)])).toBeUndefined();
  });
});

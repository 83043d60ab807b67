import { describe, expect, it } from "vitest";
import { derivedBranch, gatewayVia, isLooped, loopHash, newBranch, responseDestination, stampTopVia, stampVia } from "../../../edge-gateway/src/proxy/via-routing";
import { parseVia, topVia } from "../../../sip/via";
import { addr, request, values } from "./support";

function withVia(...vias: string[]) {
  return request([
    "OPTIONS sip:gw.example SIP/2.0",
    ...vias.map((v) => `Via: ${v}`),
    "Max-Forwards: 70",
    "From: <sip:a@example.com>;tag=1",
    "To: <sip:b@example.com>",
    "Call-ID: via-1",
    "CSeq: 1 OPTIONS",
    "Content-Length: 0",
  ]);
}

describe("stampTopVia (RFC 3261 18.2.1, RFC 3581 section 4)", () => {
  it("18.2.1 + force_rport: behind NAT (sent-by host is not the source) received and rport are stamped, unasked", () => {
    const req = stampTopVia(withVia("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa"), addr("203.0.113.50", 40312));
    const via = topVia(req);
    expect(via?.received).toBe("203.0.113.50");
    expect(via?.rport).toBe(40312);
    expect(via?.port).toBe(5060);
    // So the response goes back through the NAT binding, not to the private address.
    expect(responseDestination(via, addr("203.0.113.50", 40312))).toEqual(addr("203.0.113.50", 40312));
  });

  it("18.2.1: received is added when sent-by is a host name", () => {
    const via = topVia(stampTopVia(withVia("SIP/2.0/UDP phone.example;branch=z9hG4bKa"), addr("203.0.113.50", 5060)));
    expect(via?.received).toBe("203.0.113.50");
  });

  it("18.2.1: the request is left unchanged when sent-by is the source address and rport was not asked for", () => {
    const req = withVia("SIP/2.0/UDP 203.0.113.50:5070;branch=z9hG4bKa");
    expect(stampTopVia(req, addr("203.0.113.50", 5070))).toBe(req);
    const noPort = withVia("SIP/2.0/UDP 203.0.113.50;branch=z9hG4bKa");
    expect(stampTopVia(noPort, addr("203.0.113.50", 5060))).toBe(noPort);
  });

  it("force_rport: the same host but another source port (a port-mapping NAT) gets received and rport", () => {
    const via = topVia(stampTopVia(withVia("SIP/2.0/UDP 203.0.113.50:5070;branch=z9hG4bKa"), addr("203.0.113.50", 40000)));
    expect(via?.rport).toBe(40000);
    expect(via?.received).toBe("203.0.113.50");
  });

  it("RFC 3581: rport is filled with the source port and received added", () => {
    const via = topVia(stampTopVia(withVia("SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bKa"), addr("203.0.113.50", 40000)));
    expect(via?.rport).toBe(40000);
    expect(via?.received).toBe("203.0.113.50");
    expect(via?.branch).toBe("z9hG4bKa");
  });

  it("RFC 3581: received is added even when it equals the sent-by host", () => {
    const via = topVia(stampTopVia(withVia("SIP/2.0/UDP 203.0.113.50:5060;rport;branch=z9hG4bKa"), addr("203.0.113.50", 40000)));
    expect(via?.received).toBe("203.0.113.50");
    expect(via?.rport).toBe(40000);
  });

  it("RFC 5118: an IPv6 source gives an unbracketed received and the sent-by stays bracketed", () => {
    const req = stampTopVia(withVia("SIP/2.0/UDP [2001:db8::5]:5062;rport;branch=z9hG4bKa"), addr("2001:db8::9", 40000));
    expect(values(req, "Via")[0]).toBe("SIP/2.0/UDP [2001:db8::5]:5062;rport=40000;branch=z9hG4bKa;received=2001:db8::9");
  });

  it("RFC 5118: an IPv6 sent-by equal to the source in another spelling needs no received", () => {
    const req = withVia("SIP/2.0/UDP [2001:DB8:0::5]:5062;branch=z9hG4bKa");
    expect(stampTopVia(req, addr("2001:db8::5", 5062))).toBe(req);
  });

  it("7.3.1: only the first value of a multi-value Via line is stamped; the other values are kept", () => {
    const req = stampTopVia(
      withVia("SIP/2.0/UDP 10.0.0.5;rport;branch=z9hG4bKa, SIP / 2.0 / UDP 10.0.0.9:5080 ;branch=z9hG4bKb;received=192.0.2.9", "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKc"),
      addr("203.0.113.50", 40000),
    );
    const lines = values(req, "Via");
    expect(lines).toHaveLength(2);
    const first = parseVia(lines[0] ?? "");
    expect(first.map((v) => v.branch)).toEqual(["z9hG4bKa", "z9hG4bKb"]);
    expect(first[0]?.rport).toBe(40000);
    expect(first[1]?.received).toBe("192.0.2.9");
    expect(first[1]?.port).toBe(5080);
    // Other hops' values are kept as written.
    expect(lines[0]?.endsWith(", SIP / 2.0 / UDP 10.0.0.9:5080 ;branch=z9hG4bKb;received=192.0.2.9")).toBe(true);
    expect(lines[1]).toBe("SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKc");
  });

  it("other header lines and their order are untouched", () => {
    const req = withVia("SIP/2.0/UDP 10.0.0.5;rport;branch=z9hG4bKa");
    const stamped = stampTopVia(req, addr("203.0.113.50", 40000));
    expect(stamped.headers.map((h) => h.name)).toEqual(req.headers.map((h) => h.name));
    expect(stamped.headers.slice(1)).toEqual(req.headers.slice(1));
  });
});

describe("responseDestination (RFC 3261 18.2.2, RFC 3581 section 4)", () => {
  const source = addr("198.51.100.99", 7777);

  it("RFC 3581: a filled rport sends the response to received:rport", () => {
    const via = parseVia("SIP/2.0/UDP 10.0.0.5:5060;rport=40000;received=203.0.113.50;branch=z9hG4bKa")[0];
    expect(responseDestination(via, source)).toEqual(addr("203.0.113.50", 40000));
  });

  it("18.2.2: with received and no rport the response goes to received and the sent-by port", () => {
    const via = parseVia("SIP/2.0/UDP 10.0.0.5:5070;received=203.0.113.50;branch=z9hG4bKa")[0];
    expect(responseDestination(via, source)).toEqual(addr("203.0.113.50", 5070));
  });

  it("18.2.2: the sent-by port defaults to 5060", () => {
    const via = parseVia("SIP/2.0/UDP 10.0.0.5;received=203.0.113.50;branch=z9hG4bKa")[0];
    expect(responseDestination(via, source)).toEqual(addr("203.0.113.50", 5060));
  });

  it("18.2.2: without received the response goes to the sent-by address, not to where the message came from", () => {
    const via = parseVia("SIP/2.0/UDP 192.0.2.44:5080;branch=z9hG4bKa")[0];
    expect(responseDestination(via, source)).toEqual(addr("192.0.2.44", 5080));
  });

  it("18.2.2: an IPv6 sent-by without received is used without brackets", () => {
    const via = parseVia("SIP/2.0/UDP [2001:db8::7];branch=z9hG4bKa")[0];
    expect(responseDestination(via, source)).toEqual(addr("2001:db8::7", 5060));
  });

  it("18.2.2: a sent-by naming the source in another form keeps the source's spelling (dual-stack socket)", () => {
    const via = parseVia("SIP/2.0/UDP 192.0.2.44:5080;branch=z9hG4bKa")[0];
    expect(responseDestination(via, addr("::ffff:192.0.2.44", 6000))).toEqual(addr("::ffff:192.0.2.44", 5080));
  });

  it("no Via at all: back to the source", () => {
    expect(responseDestination(undefined, source)).toEqual(source);
  });
});

describe("branches (RFC 3261 8.1.1.7, 16.6 step 8, 16.11)", () => {
  it("8.1.1.7: a new branch begins with the magic cookie z9hG4bK and is unique", () => {
    const a = newBranch();
    const b = newBranch();
    expect(a.startsWith("z9hG4bK")).toBe(true);
    expect(a.length).toBeGreaterThan("z9hG4bK".length + 16);
    expect(a).not.toBe(b);
  });

  it("16.11: a derived branch is deterministic, carries the magic cookie, and differs per input", () => {
    const a = derivedBranch("z9hG4bKincoming", "call-1|ACK");
    expect(a).toBe(derivedBranch("z9hG4bKincoming", "call-1|ACK"));
    expect(a.startsWith("z9hG4bK")).toBe(true);
    expect(a).not.toBe(derivedBranch("z9hG4bKincoming2", "call-1|ACK"));
    expect(a).not.toBe(derivedBranch("z9hG4bKincoming", "call-2|ACK"));
    expect(a).not.toBe("z9hG4bKincoming");
  });

  it("16.6 step 8: the gateway's Via names UDP, its address, the branch, and asks for rport", () => {
    expect(gatewayVia("192.0.2.1", 5060, "z9hG4bKx")).toBe("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx;rport");
    expect(gatewayVia("2001:db8::1", 5062, "z9hG4bKx")).toBe("SIP/2.0/UDP [2001:db8::1]:5062;branch=z9hG4bKx;rport");
  });
});

describe("stampVia: no reflection (RFC 3261 18.2.1, RFC 3581 section 4: the gateway stamps what it observed)", () => {
  it("a client-supplied received and rport are replaced by the observed source, so responses go nowhere else", () => {
    const { request, via } = stampVia(withVia("SIP/2.0/UDP 203.0.113.50:5060;received=198.51.100.99;rport=9;branch=z9hG4bKa"), addr("203.0.113.50", 5060));
    expect(via?.received).toBe("203.0.113.50");
    expect(via?.rport).toBe(5060);
    expect(values(request, "Via")[0]).not.toContain("198.51.100.99");
    expect(responseDestination(via, addr("203.0.113.50", 5060))).toEqual(addr("203.0.113.50", 5060));
  });

  it("a client-supplied received without rport, from the sent-by address itself, is removed too", () => {
    const { via } = stampVia(withVia("SIP/2.0/UDP 203.0.113.50:5060;branch=z9hG4bKa;received=198.51.100.99"), addr("203.0.113.50", 5060));
    expect(responseDestination(via, addr("203.0.113.50", 5060))).toEqual(addr("203.0.113.50", 5060));
  });

  it("the top Via is parsed once: stampVia hands back the Via it stamped", () => {
    const { request, via } = stampVia(withVia("SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bKa"), addr("203.0.113.50", 40000));
    expect(via).toEqual(topVia(request));
  });
});

describe("loop detection (RFC 3261 16.3 step 4, 16.6 step 8)", () => {
  const mine = (host: string, port: number | undefined): boolean => host === "192.0.2.1" && (port ?? 5060) === 5060;
  const base = (uri: string, vias: string[]) =>
    request([`INVITE ${uri} SIP/2.0`, ...vias.map((v) => `Via: ${v}`), "Max-Forwards: 60", "From: <sip:a@x>;tag=f", "To: <sip:b@y>", "Call-ID: loop-1", "CSeq: 1 INVITE", "Content-Length: 0"]);

  it("a request that comes back unchanged below our own Via has looped; a changed Request-URI is a spiral", () => {
    const first = base("sip:b@y", ["SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKorig;received=203.0.113.50;rport=40000"]);
    const orig = topVia(first)!;
    const ours = `SIP/2.0/UDP 192.0.2.1:5060;branch=${newBranch(loopHash(first, orig))};rport`;
    const looped = base("sip:b@y", ["SIP/2.0/UDP 198.51.100.9:5060;branch=z9hG4bKother", ours, values(first, "Via")[0]!]);
    expect(isLooped(looped, mine)).toBe(true);
    const spiral = base("sip:b@z", ["SIP/2.0/UDP 198.51.100.9:5060;branch=z9hG4bKother", ours, values(first, "Via")[0]!]);
    expect(isLooped(spiral, mine)).toBe(false);
    expect(isLooped(first, mine)).toBe(false);
  });
});

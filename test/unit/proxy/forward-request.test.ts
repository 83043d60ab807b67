import { describe, expect, it } from "vitest";
import type { ForwardTarget } from "../../../edge-gateway/src/proxy/forward-request";
import { ForwardError, forwardRequest, recordRouteValue, resolveNextHop } from "../../../edge-gateway/src/proxy/forward-request";
import { HeaderEditError } from "../../../edge-gateway/src/proxy/header-edits";
import { bodyText } from "../../../sip/message";
import type { SipRequest } from "../../../sip/message";
import { parseVia } from "../../../sip/via";
import { addr, request, roundTrip, topBranch, value, values } from "./support";

const SIDE = { host: "192.0.2.1", port: 5060 };
const BRANCH = "z9hG4bK-out-1";
const SDP = "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

/** `maxForwards` null leaves the header out. */
function invite(extra: readonly string[] = [], maxForwards: string | null = "70"): SipRequest {
  return request(
    [
      "INVITE sip:402@tenant-a.example SIP/2.0",
      "Via: SIP/2.0/UDP 10.0.0.5:5060;rport=40000;received=203.0.113.50;branch=z9hG4bK-in-1",
      ...(maxForwards === null ? [] : [`Max-Forwards: ${maxForwards}`]),
      "From: \"Alice\" <sip:401@tenant-a.example>;tag=a1",
      "To: <sip:402@tenant-a.example>",
      "Call-ID: fwd-1@10.0.0.5",
      "CSeq: 7 INVITE",
      "Contact: <sip:401@10.0.0.5:5060>",
      "Content-Type: application/sdp",
      ...extra,
    ],
    SDP,
  );
}

function target(overrides: Partial<ForwardTarget> = {}): ForwardTarget {
  return { requestUri: "sip:402@198.51.100.10:5060", route: [], ...overrides };
}

describe("forwardRequest (RFC 3261 16.6)", () => {
  it("16.6 step 2: the Request-URI is replaced by the target's; method and body are kept", () => {
    const { request: out } = forwardRequest(invite(), target(), SIDE, BRANCH, []);
    expect(out.uri).toBe("sip:402@198.51.100.10:5060");
    expect(out.method).toBe("INVITE");
    expect(bodyText(out.body)).toBe(SDP);
    expect(bodyText(roundTrip(out).body)).toBe(SDP);
  });

  it("16.6 step 3: Max-Forwards is decremented", () => {
    const { request: out } = forwardRequest(invite([], "70"), target(), SIDE, BRANCH, []);
    expect(values(out, "Max-Forwards")).toEqual(["69"]);
  });

  it("16.6 step 3: Max-Forwards is added when absent, with the value 70", () => {
    const { request: out } = forwardRequest(invite([], null), target(), SIDE, BRANCH, []);
    expect(values(out, "Max-Forwards")).toEqual(["70"]);
  });

  it("16.3 step 2: a request with Max-Forwards 0 is not forwarded: 483 (Too Many Hops)", () => {
    expect(() => forwardRequest(invite([], "0"), target(), SIDE, BRANCH, [])).toThrow(ForwardError);
    try {
      forwardRequest(invite([], "0"), target(), SIDE, BRANCH, []);
    } catch (err) {
      expect(err).toBeInstanceOf(ForwardError);
      expect((err as ForwardError).status).toBe(483);
    }
  });

  it("16.3 step 2: Max-Forwards 1 is still forwarded, with 0", () => {
    const { request: out } = forwardRequest(invite([], "1"), target(), SIDE, BRANCH, []);
    expect(value(out, "Max-Forwards")).toBe("0");
  });

  it("16.6 step 8: the gateway's Via is on top with the branch; the received Vias follow unchanged", () => {
    const original = invite();
    const { request: out } = forwardRequest(original, target(), SIDE, BRANCH, []);
    const vias = values(out, "Via");
    expect(vias).toHaveLength(2);
    const ours = parseVia(vias[0] ?? "")[0];
    expect(ours?.host).toBe("192.0.2.1");
    expect(ours?.port).toBe(5060);
    expect(ours?.branch).toBe(BRANCH);
    expect(ours?.rport).toBeNull();
    expect(topBranch(out)).toBe(BRANCH);
    expect(vias[1]).toBe(values(original, "Via")[0]);
    expect(out.headers[0]?.name).toBe("Via");
  });

  it("16.6 step 4: Record-Route values are inserted in the order given, before existing ones", () => {
    const rr = [recordRouteValue({ host: "198.51.100.1", port: 5060 }), recordRouteValue(SIDE)];
    const { request: out } = forwardRequest(invite(["Record-Route: <sip:upstream.example;lr>"]), target(), SIDE, BRANCH, rr);
    expect(values(out, "Record-Route")).toEqual(["<sip:198.51.100.1:5060;lr>", "<sip:192.0.2.1:5060;lr>", "<sip:upstream.example;lr>"]);
  });

  it("16.6 step 4: a Record-Route URI carries lr and brackets an IPv6 host", () => {
    expect(recordRouteValue({ host: "2001:db8::1", port: 5070 })).toBe("<sip:[2001:db8::1]:5070;lr>");
  });

  it("16.6 step 6: the target's route set is prepended before the existing Route values", () => {
    const { request: out, destination } = forwardRequest(
      invite(["Route: <sip:198.51.100.30;lr>"]),
      target({ route: ["<sip:198.51.100.20:5070;lr>", "<sip:198.51.100.21;lr>"] }),
      SIDE,
      BRANCH,
      [],
    );
    expect(values(out, "Route")).toEqual(["<sip:198.51.100.20:5070;lr>", "<sip:198.51.100.21;lr>", "<sip:198.51.100.30;lr>"]);
    // 16.6 step 7 / 16.12: the next hop is the first Route (a loose router), not the Request-URI.
    expect(destination).toEqual(addr("198.51.100.20", 5070));
  });

  it("Contact rewrite: the request's Contacts are replaced by gateway contacts with URI and header parameters", () => {
    const { request: out } = forwardRequest(
      invite(["Contact: <sip:401@10.0.0.6:5060>"]),
      target({
        contacts: [
          { user: "401-tok", uriParams: { transport: "udp", ob: null }, params: { expires: "3600", "+sip.instance": '"<urn:uuid:00000000-0000-1000-8000-000000000001>"' } },
          { user: "+4930 1", uriParams: {}, params: {} },
        ],
      }),
      SIDE,
      BRANCH,
      [],
    );
    expect(values(out, "Contact")).toEqual([
      '<sip:401-tok@192.0.2.1:5060;transport=udp;ob>;expires=3600;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000000000001>"',
      "<sip:+4930%201@192.0.2.1:5060>",
    ]);
    expect(roundTrip(out).headers.filter((h) => h.name === "Contact")).toHaveLength(2);
  });

  it("Contact rewrite: an IPv6 advertised host is bracketed", () => {
    const { request: out } = forwardRequest(invite(), target({ contacts: [{ user: "u1", uriParams: {}, params: {} }] }), { host: "2001:db8::1", port: 5060 }, BRANCH, []);
    expect(values(out, "Contact")).toEqual(["<sip:u1@[2001:db8::1]:5060>"]);
    expect(values(out, "Via")[0]).toContain("SIP/2.0/UDP [2001:db8::1]:5060;");
  });

  it("Contact rewrite: without gateway contacts the request's Contact is kept as is", () => {
    const { request: out } = forwardRequest(invite(), target(), SIDE, BRANCH, []);
    expect(values(out, "Contact")).toEqual(["<sip:401@10.0.0.5:5060>"]);
  });

  it("header edits of the decision are applied to the copy", () => {
    const { request: out } = forwardRequest(
      invite(["X-Tenant: old", "User-Agent: Phone/1"]),
      target({ headers: { remove: ["User-Agent"], set: [["X-Tenant", ["a"]]], add: [["P-Asserted-Identity", "<sip:401@tenant-a.example>"]] } }),
      SIDE,
      BRANCH,
      [],
    );
    expect(values(out, "X-Tenant")).toEqual(["a"]);
    expect(values(out, "User-Agent")).toEqual([]);
    expect(values(out, "P-Asserted-Identity")).toEqual(["<sip:401@tenant-a.example>"]);
  });

  it("header edits may not touch the proxy's own headers (Via, Route, Max-Forwards ...)", () => {
    for (const edits of [
      { remove: ["Via"], set: [], add: [] },
      { remove: [], set: [["Route", ["<sip:evil;lr>"]]] as [string, string[]][], add: [] },
      { remove: [], set: [], add: [["Max-Forwards", "255"]] as [string, string][] },
      { remove: ["v"], set: [], add: [] },
    ]) {
      expect(() => forwardRequest(invite(), target({ headers: edits }), SIDE, BRANCH, [])).toThrow(HeaderEditError);
    }
  });

  it("the incoming request is not modified", () => {
    const original = invite();
    const before = JSON.stringify(original);
    forwardRequest(original, target({ contacts: [{ user: "x", uriParams: {}, params: {} }] }), SIDE, BRANCH, ["<sip:192.0.2.1;lr>"]);
    expect(JSON.stringify(original)).toBe(before);
  });
});

describe("resolveNextHop (RFC 3261 16.6 steps 6-7, no DNS)", () => {
  function statusOf(fn: () => unknown): number | undefined {
    try {
      fn();
    } catch (err) {
      if (err instanceof ForwardError) return err.status;
      throw err;
    }
    return undefined;
  }

  it("an explicit next hop wins over Route and Request-URI", () => {
    expect(resolveNextHop(addr("198.51.100.9", 5099), ["<sip:198.51.100.20;lr>"], "sip:x@198.51.100.30")).toEqual(addr("198.51.100.9", 5099));
  });

  it("16.12: a loose-routing first Route is the next hop", () => {
    expect(resolveNextHop(undefined, ["<sip:198.51.100.20:5070;lr>", "<sip:198.51.100.21;lr>"], "sip:x@198.51.100.30")).toEqual(addr("198.51.100.20", 5070));
  });

  it("a strict-routing first Route (no lr) is refused", () => {
    expect(statusOf(() => resolveNextHop(undefined, ["<sip:198.51.100.20>"], "sip:x@198.51.100.30"))).toBe(400);
  });

  it("without Route the Request-URI's IP and port are the next hop, the port defaulting to 5060", () => {
    expect(resolveNextHop(undefined, [], "sip:x@198.51.100.30:5080")).toEqual(addr("198.51.100.30", 5080));
    expect(resolveNextHop(undefined, [], "sip:x@198.51.100.30")).toEqual(addr("198.51.100.30", 5060));
    expect(resolveNextHop(undefined, [], "sip:x@198.51.100.30;transport=udp")).toEqual(addr("198.51.100.30", 5060));
  });

  it("an IPv6 Request-URI gives an unbracketed address", () => {
    expect(resolveNextHop(undefined, [], "sip:x@[2001:db8::30]:5062")).toEqual(addr("2001:db8::30", 5062));
  });

  it("a host name needs DNS, which the gateway does not do: 404", () => {
    expect(statusOf(() => resolveNextHop(undefined, [], "sip:x@pbx.example.com"))).toBe(404);
    expect(statusOf(() => resolveNextHop(undefined, ["<sip:proxy.example.com;lr>"], "sip:x@198.51.100.30"))).toBe(404);
    expect(statusOf(() => resolveNextHop(addr("pbx.example.com", 5060), [], "sip:x@198.51.100.30"))).toBe(404);
  });

  it("a numeric name that is not an IPv4 address is not sent to the resolver either: 404", () => {
    expect(statusOf(() => resolveNextHop(undefined, [], "sip:x@1.2.3"))).toBe(404);
    expect(statusOf(() => resolveNextHop(undefined, [], "sip:x@10.1"))).toBe(404);
  });

  it("transport=tcp is refused (UDP only)", () => {
    expect(statusOf(() => resolveNextHop(undefined, [], "sip:x@198.51.100.30;transport=tcp"))).toBe(503);
    expect(statusOf(() => resolveNextHop(undefined, ["<sip:198.51.100.20;lr;transport=TCP>"], "sip:x@198.51.100.30"))).toBe(503);
  });

  it("19.1 / 26.2.2: a sips: next hop is refused rather than reached over plain UDP", () => {
    expect(statusOf(() => resolveNextHop(undefined, [], "sips:x@198.51.100.30"))).toBe(503);
    expect(statusOf(() => resolveNextHop(undefined, ["<sips:198.51.100.20;lr>"], "sip:x@198.51.100.30"))).toBe(503);
  });

  it("a non-SIP Request-URI is refused with 416", () => {
    expect(statusOf(() => resolveNextHop(undefined, [], "tel:+4930123"))).toBe(416);
  });

  it("forwardRequest resolves the next hop of the copy and refuses what cannot be reached", () => {
    expect(forwardRequest(invite(), target({ requestUri: "sip:402@198.51.100.10:5090" }), SIDE, BRANCH, []).destination).toEqual(addr("198.51.100.10", 5090));
    expect(statusOf(() => forwardRequest(invite(), target({ requestUri: "sip:402@pbx.example" }), SIDE, BRANCH, []))).toBe(404);
  });
});

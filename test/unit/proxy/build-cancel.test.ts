import { describe, expect, it } from "vitest";
import { buildCancel } from "../../../edge-gateway/src/proxy/build-cancel";
import { request, roundTrip, value, values } from "./support";

const INVITE = request(
  [
    "INVITE sip:401@10.0.0.5:5060 SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-branch-a;rport, SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-up;received=198.51.100.10",
    "Via: SIP/2.0/UDP 198.51.100.99:5060;branch=z9hG4bK-older",
    "Record-Route: <sip:192.0.2.1:5060;lr>",
    "Route: <sip:203.0.113.7;lr>",
    "Route: <sip:203.0.113.8;lr>",
    "Max-Forwards: 69",
    'From: "PBX" <sip:100@tenant-a.example>;tag=from-1',
    "To: <sip:401@tenant-a.example>",
    "Call-ID: cancel-1@198.51.100.10",
    "CSeq: 4711 INVITE",
    "Contact: <sip:100@198.51.100.10:5060>",
    "Content-Type: application/sdp",
  ],
  "v=0\r\n",
);

describe("buildCancel (RFC 3261 9.1)", () => {
  const cancel = buildCancel(INVITE);

  it("9.1: method CANCEL with the same Request-URI", () => {
    expect(cancel.method).toBe("CANCEL");
    expect(cancel.uri).toBe(INVITE.uri);
  });

  it("9.1: Call-ID, From and To are identical to the INVITE's, tags included", () => {
    expect(value(cancel, "Call-ID")).toBe("cancel-1@198.51.100.10");
    expect(value(cancel, "From")).toBe('"PBX" <sip:100@tenant-a.example>;tag=from-1');
    expect(value(cancel, "To")).toBe("<sip:401@tenant-a.example>");
  });

  it("9.1: the CSeq number is the INVITE's and the method CANCEL", () => {
    expect(values(cancel, "CSeq")).toEqual(["4711 CANCEL"]);
  });

  it("9.1: a single Via equal to the INVITE's top Via (same branch)", () => {
    expect(values(cancel, "Via")).toEqual(["SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-branch-a;rport"]);
  });

  it("9.1: the INVITE's Route header fields are copied, in order", () => {
    expect(values(cancel, "Route")).toEqual(["<sip:203.0.113.7;lr>", "<sip:203.0.113.8;lr>"]);
  });

  it("no body, no Contact, no Record-Route; Max-Forwards present (8.1.1)", () => {
    expect(cancel.body.length).toBe(0);
    expect(values(cancel, "Contact")).toEqual([]);
    expect(values(cancel, "Record-Route")).toEqual([]);
    expect(values(cancel, "Content-Type")).toEqual([]);
    expect(value(cancel, "Max-Forwards")).toBe("70");
  });

  it("RFC 3326: a Reason is added when given", () => {
    const c = buildCancel(INVITE, 'SIP;cause=200;text="Call completed elsewhere"');
    expect(values(c, "Reason")).toEqual(['SIP;cause=200;text="Call completed elsewhere"']);
    expect(values(cancel, "Reason")).toEqual([]);
  });

  it("the CANCEL is a valid message on the wire", () => {
    const parsed = roundTrip(cancel);
    expect(parsed.method).toBe("CANCEL");
    expect(values(parsed, "CSeq")).toEqual(["4711 CANCEL"]);
  });
});

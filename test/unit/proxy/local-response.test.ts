import { describe, expect, it } from "vitest";
import { createResponse, newTag } from "../../../edge-gateway/src/proxy/local-response";
import { parseNameAddr } from "../../../sip/name-addr";
import { request, roundTrip, value, values } from "./support";

function req(to = "<sip:402@tenant-a.example>") {
  return request([
    "INVITE sip:402@tenant-a.example SIP/2.0",
    "Via: SIP/2.0/UDP 10.0.0.5:5060;rport=40000;received=203.0.113.50;branch=z9hG4bK-1, SIP/2.0/UDP 10.0.0.4;branch=z9hG4bK-0",
    "Via: SIP/2.0/UDP 10.0.0.3;branch=z9hG4bK-00",
    "Max-Forwards: 70",
    'From: "Alice" <sip:401@tenant-a.example>;tag=a1',
    `To: ${to}`,
    "Call-ID: local-1@10.0.0.5",
    "CSeq: 3 INVITE",
    "Contact: <sip:401@10.0.0.5>",
    "Timestamp: 54.3",
    "Content-Type: application/sdp",
  ], "v=0\r\n");
}

describe("createResponse (RFC 3261 8.2.6)", () => {
  it("8.2.6.2: every Via line is copied, in order; From, Call-ID and CSeq are equal to the request's", () => {
    const r = req();
    const res = createResponse(r, 486, "Busy Here");
    expect(values(res, "Via")).toEqual(values(r, "Via"));
    expect(value(res, "From")).toBe(value(r, "From"));
    expect(value(res, "Call-ID")).toBe("local-1@10.0.0.5");
    expect(value(res, "CSeq")).toBe("3 INVITE");
    expect(res.status).toBe(486);
    expect(res.reason).toBe("Busy Here");
    expect(res.body.length).toBe(0);
  });

  it("8.2.6.2: a To tag is added to a final response", () => {
    const res = createResponse(req(), 404, "Not Found", [], "t123");
    expect(value(res, "To")).toBe("<sip:402@tenant-a.example>;tag=t123");
  });

  it("8.2.6.2: a To tag is added to a provisional other than 100", () => {
    const res = createResponse(req(), 180, "Ringing");
    expect(parseNameAddr(value(res, "To") ?? "")?.params["tag"]).toMatch(/^[0-9a-f]{12}$/);
  });

  it("8.2.6.2: a 100 Trying gets no To tag, and 8.2.6.1: it copies Timestamp", () => {
    const res = createResponse(req(), 100, "Trying");
    expect(value(res, "To")).toBe("<sip:402@tenant-a.example>");
    expect(values(res, "Timestamp")).toEqual(["54.3"]);
    expect(values(createResponse(req(), 404, "Not Found"), "Timestamp")).toEqual([]);
  });

  it("an existing To tag is kept", () => {
    const res = createResponse(req("<sip:402@tenant-a.example>;tag=dialog-1"), 481, "Call/Transaction Does Not Exist", [], "other");
    expect(value(res, "To")).toBe("<sip:402@tenant-a.example>;tag=dialog-1");
  });

  it("extra headers are appended; Contact, Max-Forwards and the body are not copied", () => {
    const res = createResponse(req(), 503, "Service Unavailable", [{ name: "Retry-After", value: "5" }, { name: "Warning", value: '399 gw "x"' }]);
    expect(values(res, "Retry-After")).toEqual(["5"]);
    expect(values(res, "Warning")).toEqual(['399 gw "x"']);
    expect(values(res, "Contact")).toEqual([]);
    expect(values(res, "Max-Forwards")).toEqual([]);
    expect(roundTrip(res).status).toBe(503);
  });

  it("two tags are different", () => {
    expect(newTag()).not.toBe(newTag());
  });
});

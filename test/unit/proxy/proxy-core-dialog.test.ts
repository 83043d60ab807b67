import { describe, expect, it } from "vitest";
import type { RequestDecisionInput } from "../../../contract/v1";
import type { SipRequest } from "../../../sip/message";
import { parseVia } from "../../../sip/via";
import { aliasParams, ASTERISK, decide, flush, label, onlyRequest, onlyResponse, ownRoute, PHONE_A, setup } from "./core-harness";
import { answer, request, topBranch, value, values, wire } from "./support";

const CALL = "call-1@198.51.100.10";
/** Our Route entries for the dialog of CALL (the PBX called: its From tag pbx-1 is the initial From tag). */
const R1 = ownRoute("192.0.2.1", CALL, "pbx-1");
const R2 = ownRoute("198.51.100.1", CALL, "pbx-1");

/** An in-dialog request from phone A (To and From tagged) towards the PBX. */
function phoneInDialog(method: string, routes: readonly string[], options: { branch?: string; uri?: string; cseq?: number } = {}): SipRequest {
  return request([
    `${method} ${options.uri ?? "sip:100@198.51.100.10:5060"} SIP/2.0`,
    `Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=${options.branch ?? "z9hG4bK-bye-1"}`,
    ...routes.map((r) => `Route: ${r}`),
    "Max-Forwards: 70",
    "From: <sip:401@tenant-a.example>;tag=a-tag",
    'To: "PBX" <sip:100@tenant-a.example>;tag=pbx-1',
    "Call-ID: call-1@198.51.100.10",
    `CSeq: ${options.cseq ?? 1} ${method}`,
    "Content-Length: 0",
  ]);
}

/** An in-dialog request from the PBX towards phone A. */
function pbxInDialog(method: string, uri: string, routes: readonly string[]): SipRequest {
  return request([
    `${method} ${uri} SIP/2.0`,
    "Via: SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-pbx-bye",
    ...routes.map((r) => `Route: ${r}`),
    "Max-Forwards: 70",
    'From: "PBX" <sip:100@tenant-a.example>;tag=pbx-1',
    "To: <sip:401@tenant-a.example>;tag=a-tag",
    "Call-ID: call-1@198.51.100.10",
    "CSeq: 102 BYE",
    "Content-Length: 0",
  ]);
}

describe("ProxyCore: malformed input", () => {
  it("a malformed request gets 400 with the reason, sent to the source per received/rport", () => {
    const h = setup();
    h.fromPhone(
      wire([
        "INVITE sip:402@tenant-a.example SIP/2.0",
        "Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK-bad-1",
        "Max-Forwards: 70",
        "From: <sip:401@tenant-a.example>;tag=a1",
        "To: <sip:402@tenant-a.example>",
        "CSeq: 1 INVITE",
        "Content-Length: 0",
      ]),
    );
    const { to, response } = onlyResponse(h.take());
    expect(to).toEqual(PHONE_A);
    expect([response.status, response.reason]).toEqual([400, "Missing Call-ID"]);
    expect(values(response, "Via")).toEqual(["SIP/2.0/UDP 10.0.0.5:5060;rport=40000;branch=z9hG4bK-bad-1;received=203.0.113.50"]);
    expect(h.worker.requests).toEqual([]);
  });

  it("a request whose Via has no branch gets 400 (RFC 2543 matching is not supported)", () => {
    const h = setup();
    h.fromPhone(
      wire([
        "OPTIONS sip:192.0.2.1 SIP/2.0",
        "Via: SIP/2.0/UDP 10.0.0.5:5060;rport",
        "Max-Forwards: 70",
        "From: <sip:401@tenant-a.example>;tag=a1",
        "To: <sip:192.0.2.1>",
        "Call-ID: nb-1",
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
      ]),
    );
    const { to, response } = onlyResponse(h.take());
    expect([to, response.status]).toEqual([PHONE_A, 400]);
  });

  it("a malformed ACK is dropped, never answered (17.2.1)", () => {
    const h = setup();
    h.fromPhone(wire(["ACK sip:100@198.51.100.10 SIP/2.0", "Via: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK-a", "CSeq: 1 ACK", "Content-Length: 0"]));
    expect(h.take()).toEqual([]);
  });

  it("garbage that is only a response is dropped silently", () => {
    const h = setup();
    h.fromPbx(wire(["SIP/2.0 200 OK", "Via: not a via", "CSeq: x", "Content-Length: 0"]));
    h.fromPbx(wire(["SIP/2.0 200 OK", "Content-Length: 0"]));
    expect(h.take()).toEqual([]);
    expect(h.metrics.get("edge_gateway_bad_messages_total", { status: 400 })).toBe(2);
  });

  it("a response matching no transaction is dropped", () => {
    const h = setup();
    h.fromPbx(answer(phoneInDialog("OPTIONS", []), 200, "OK"));
    expect(h.take()).toEqual([]);
    expect(h.metrics.get("edge_gateway_stray_responses_total")).toBe(1);
  });

  it("RFC 5626 keep-alive (CRLF) is ignored without a reply or an error count", async () => {
    const h = setup();
    h.fromPhone(new TextEncoder().encode("\r\n\r\n"));
    h.fromPhone(new TextEncoder().encode("\r\n"));
    expect(h.take()).toEqual([]);
    expect(await h.metrics.render()).not.toContain("bad_messages");
  });
});

describe("ProxyCore: in-dialog requests, routed by Route without the worker (RFC 3261 16.4, 16.12)", () => {
  it("16.4: a BYE with our Route is relayed to the Request-URI with our Route popped; the 200 comes back", () => {
    const h = setup();
    h.fromPhone(phoneInDialog("BYE", [R1]));
    const { to, request: bye } = onlyRequest(h.take());
    expect(to).toEqual(ASTERISK);
    expect(bye.uri).toBe("sip:100@198.51.100.10:5060");
    expect(values(bye, "Route")).toEqual([]);
    expect(value(bye, "Max-Forwards")).toBe("69");
    expect(parseVia(values(bye, "Via")[0]!)[0]?.host).toBe("192.0.2.1");
    expect(h.worker.requests).toEqual([]);
    h.fromPbx(answer(bye, 200, "OK"));
    const { to: back, response } = onlyResponse(h.take());
    expect([back, response.status]).toEqual([PHONE_A, 200]);
    expect(values(response, "Via")).toEqual(["SIP/2.0/UDP 10.0.0.5:5060;rport=40000;branch=z9hG4bK-bye-1;received=203.0.113.50"]);
  });

  it("16.12: Route values after ours stay, and the next one (a loose router) is the next hop", () => {
    const h = setup();
    h.fromPhone(phoneInDialog("BYE", [`${R1}, <sip:198.51.100.20:5070;lr>`]));
    const { to, request: bye } = onlyRequest(h.take());
    expect(to).toEqual({ ip: "198.51.100.20", port: 5070, transport: "udp" });
    expect(values(bye, "Route")).toEqual(["<sip:198.51.100.20:5070;lr>"]);
  });

  it("NAT: a BYE to a Request-URI carrying our alias goes to the alias address, without the alias", () => {
    const h = setup();
    h.fromPbx(pbxInDialog("BYE", `sip:401@10.0.0.5:5060${aliasParams(CALL, "203.0.113.50~40000~1")}`, [R1]));
    const { to, request: bye } = onlyRequest(h.take());
    expect(to).toEqual(PHONE_A);
    expect(bye.uri).toBe("sip:401@10.0.0.5:5060");
  });

  it("an in-dialog request whose Route does not point at us gets 404", () => {
    const h = setup();
    h.fromPhone(phoneInDialog("BYE", ["<sip:198.51.100.77;lr>"]));
    expect(onlyResponse(h.take()).response.status).toBe(404);
    h.fromPhone(phoneInDialog("INFO", [], { branch: "z9hG4bK-info" }));
    expect(onlyResponse(h.take()).response.status).toBe(404);
    expect(h.worker.requests).toEqual([]);
  });

  it("a re-INVITE in the dialog is relayed, its Contact given the NAT alias", () => {
    const h = setup();
    const reinvite = request([
      ...wireLines(phoneInDialog("INVITE", [R1], { branch: "z9hG4bK-reinv", cseq: 2 })),
      "Contact: <sip:401@10.0.0.5:5060>",
    ]);
    h.fromPhone(reinvite);
    const sent = h.take();
    expect(sent.map(label)).toEqual(["100 -> 203.0.113.50:40000", "INVITE -> 198.51.100.10:5060"]);
    expect(values(sent[1]!.message, "Contact")).toEqual([`<sip:401@10.0.0.5:5060${aliasParams(CALL, "203.0.113.50~40000~1")}>`]);
  });

  it("16.11: the ACK for a 2xx is forwarded statelessly; a retransmission gets the same branch", () => {
    const h = setup();
    const ack = phoneInDialog("ACK", [R1], { branch: "z9hG4bK-ack-1" });
    h.fromPhone(ack);
    const first = onlyRequest(h.take());
    expect(first.to).toEqual(ASTERISK);
    expect(first.request.method).toBe("ACK");
    expect(values(first.request, "Route")).toEqual([]);
    expect(values(first.request, "Via")).toHaveLength(2);
    expect(topBranch(first.request)?.startsWith("z9hG4bK")).toBe(true);
    h.fromPhone(ack);
    const second = onlyRequest(h.take());
    expect(topBranch(second.request)).toBe(topBranch(first.request));
    // A different ACK (another branch) gets another branch.
    h.fromPhone(phoneInDialog("ACK", [R1], { branch: "z9hG4bK-ack-2" }));
    expect(topBranch(onlyRequest(h.take()).request)).not.toBe(topBranch(first.request));
    expect(h.worker.requests).toEqual([]);
  });

  it("an ACK that is not routed through us is dropped", () => {
    const h = setup();
    h.fromPhone(phoneInDialog("ACK", [], { branch: "z9hG4bK-ack-3" }));
    expect(h.take()).toEqual([]);
  });
});

describe("ProxyCore: Record-Route (RFC 3261 16.6 step 4)", () => {
  const DECISION: RequestDecisionInput = {
    action: "relay",
    targets: [{ requestUri: "sip:401@10.0.0.5:5060", nextHop: { ip: PHONE_A.ip, port: PHONE_A.port }, side: "phones" }],
    recordRoute: true,
  };
  const invite = request([
    "INVITE sip:401@198.51.100.1:5060 SIP/2.0",
    "Via: SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-rr-1",
    "Max-Forwards: 70",
    'From: "PBX" <sip:100@tenant-a.example>;tag=pbx-1',
    "To: <sip:401@tenant-a.example>",
    "Call-ID: rr-1@198.51.100.10",
    "CSeq: 1 INVITE",
    "Contact: <sip:100@198.51.100.10:5060>",
    "Content-Length: 0",
  ]);

  it("one listener: one Record-Route entry", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(DECISION);
    h.fromPbx(invite);
    await flush();
    const inv = h.take().find((s) => s.message.kind === "request")!.message;
    expect(values(inv, "Record-Route")).toEqual([ownRoute("192.0.2.1", "rr-1@198.51.100.10", "pbx-1")]);
  });

  it("two listeners: two entries, the outgoing side on top; the request leaves from the phones' socket", async () => {
    const h = setup({ twoListeners: true });
    h.worker.onRequest = () => decide(DECISION);
    h.fromPbx(invite);
    await flush();
    // The held 100 goes first, from the socket the INVITE came in on.
    const [trying, sent] = h.take();
    expect(`${trying?.from}: ${trying ? label(trying) : ""}`).toBe("pbx: 100 -> 198.51.100.10:5060");
    expect(sent?.from).toBe("phones");
    expect(values(sent!.message, "Record-Route")).toEqual([ownRoute("192.0.2.1", "rr-1@198.51.100.10", "pbx-1"), ownRoute("198.51.100.1", "rr-1@198.51.100.10", "pbx-1")]);
    expect(parseVia(values(sent!.message, "Via")[0]!)[0]?.host).toBe("192.0.2.1");
  });

  it("two listeners: an in-dialog request carrying both entries crosses to the other socket with both popped", () => {
    const h = setup({ twoListeners: true });
    // The phone (UAS) uses the Record-Route list in order as its route set (12.1.1).
    h.fromPhone(phoneInDialog("BYE", [R1, R2]));
    const [bye] = h.take();
    expect(bye?.from).toBe("pbx");
    expect(bye?.to).toEqual(ASTERISK);
    expect(values(bye!.message, "Route")).toEqual([]);
    expect(parseVia(values(bye!.message, "Via")[0]!)[0]?.host).toBe("198.51.100.1");
    // The PBX (UAC) uses it reversed (12.1.2).
    h.fromPbx(pbxInDialog("BYE", `sip:401@10.0.0.5:5060${aliasParams(CALL, "203.0.113.50~40000~1")}`, [R2, R1]));
    const [back] = h.take();
    expect([back?.from, back?.to]).toEqual(["phones", PHONE_A]);
    expect(values(back!.message, "Route")).toEqual([]);
  });
});

/** The header lines of a request, start line first, for building a variant of it. */
function wireLines(req: SipRequest): string[] {
  return [`${req.method} ${req.uri} SIP/2.0`, ...req.headers.filter((h) => h.name !== "Content-Length").map((h) => `${h.name}: ${h.value}`)];
}

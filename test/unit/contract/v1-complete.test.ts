// The in-process decisions complete events and decisions with the contract's defaults instead of parsing them
// (contract/v1-complete.ts). Completing must give what the schemas' parse gives, for every default: minimal
// values (every default missing), full ones (none missing), and the events the gateway really builds.
import { describe, expect, it } from "vitest";
import {
  parseRequestDecision,
  parseRequestEvent,
  parseResponseDecision,
  parseResponseEvent,
  type RequestDecisionInput,
  type RequestEventInput,
  type ResponseDecisionInput,
  type ResponseEventInput,
} from "../../../contract/v1";
import { completeRequestDecision, completeRequestEvent, completeResponseDecision, completeResponseEvent } from "../../../contract/v1-complete";
import { requestEvent, responseEvent } from "../../../edge-gateway/src/proxy/event-builder";
import { parseMessage } from "../../../sip/parser";
import type { SipRequest, SipResponse } from "../../../sip/message";

const SRC = { ip: "192.0.2.9", port: 5070 };
const LOCAL = { ip: "127.0.0.1", port: 5060 };

const minimalRequest: RequestEventInput = {
  kind: "request",
  transactionId: "z9hG4bK-1",
  method: "REGISTER",
  requestUri: "sip:tenant-a.example",
  headers: [["Via", "SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bK-1"]],
  source: SRC,
  local: LOCAL,
  receivedAt: 1,
  parsed: { callId: "c", cseq: { seq: 1, method: "REGISTER" }, from: { uri: "sip:201@tenant-a.example" }, to: { uri: "sip:201@tenant-a.example" } },
};

const fullRequest: RequestEventInput = {
  ...minimalRequest,
  body: "v=0",
  bodyEncoding: "utf8",
  source: { ...SRC, transport: "udp" },
  local: { ...LOCAL, transport: "udp" },
  localRole: "phones",
  gatewaySockets: [LOCAL, { ip: "127.0.0.2", port: 5060, transport: "udp" }],
  parsed: {
    callId: "c",
    cseq: { seq: 2, method: "REGISTER" },
    from: { uri: "sip:201@tenant-a.example", displayName: "Alice", params: { tag: "f" } },
    to: { uri: "sip:201@tenant-a.example", params: {} },
    contacts: [{ uri: "sip:201@192.0.2.9:5070", params: { expires: "60" } }, { uri: "sip:201@192.0.2.10" }],
    expires: 60,
    userAgent: "phone",
    allow: ["INVITE", "BYE"],
    path: ["<sip:edge.example;lr>"],
    inDialog: false,
  },
};

const wildcard: RequestEventInput = { ...minimalRequest, parsed: { ...minimalRequest.parsed, contacts: "*", expires: 0 } };

const minimalResponse: ResponseEventInput = {
  kind: "response",
  transactionId: "z9hG4bK-1",
  status: 200,
  reason: "OK",
  headers: [],
  source: { ip: "127.0.0.11", port: 5080 },
  local: LOCAL,
  receivedAt: 2,
  context: "ctx",
};
const fullResponse: ResponseEventInput = {
  ...minimalResponse,
  body: "AAE=",
  bodyEncoding: "base64",
  contacts: [{ uri: "sip:201@127.0.0.1;erb=abc", params: { expires: "60" } }, { uri: "sip:x@y" }],
  expires: 60,
};

const requestDecisions: RequestDecisionInput[] = [
  { action: "reply", status: 404, reason: "Not Found" },
  { action: "reply", status: 503, reason: "Busy", headers: [["Retry-After", "5"]], tenant: "tenant-a.example" },
  { action: "drop" },
  { action: "drop", reason: "scanner" },
  { action: "relay", targets: [{ requestUri: "sip:201@192.0.2.9:5070" }] },
  {
    action: "relay",
    targets: [
      {
        requestUri: "sip:127.0.0.11:5080",
        nextHop: { ip: "127.0.0.11", port: 5080 },
        route: ["<sip:p.example;lr>"],
        contacts: [{ user: "201" }, { user: "202", uriParams: { erb: "abc" }, params: { expires: "60" } }],
        headers: { set: [["Path", ["<sip:gw;lr>"]]] },
        side: "pbx",
        viaPeer: { ip: "192.0.2.9", port: 5070, transport: "udp" },
        alternatives: [{ ip: "127.0.0.12", port: 5080 }, { ip: "127.0.0.13", port: 5080, requestUri: "sip:127.0.0.13:5080" }],
      },
      { requestUri: "sip:201@192.0.2.10", headers: { remove: ["X-A"], set: [], add: [["X-B", "1"]] } },
    ],
    recordRoute: true,
    wantResponse: "2xx",
    context: "ctx",
    tenant: "tenant-a.example",
  },
];

const responseDecisions: ResponseDecisionInput[] = [
  { action: "forward" },
  { action: "forward", headers: { remove: ["Contact"] } },
  { action: "forward", headers: { remove: [], set: [["Contact", ["<sip:a@b>;expires=60"]]], add: [["X-A", "1"]] } },
  { action: "reply", status: 500, reason: "Server Error" },
  { action: "reply", status: 503, reason: "Busy", headers: [["Retry-After", "7"]] },
  { action: "drop" },
  { action: "drop", reason: "late" },
];

const sip = (lines: string[]): SipRequest | SipResponse => {
  const r = parseMessage(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
  if (!r.ok) throw new Error("unparseable test message");
  return r.message;
};

describe("completing v1 values gives what the schemas' parse gives", () => {
  it("request and response events: minimal, full, wildcard", () => {
    for (const ev of [minimalRequest, fullRequest, wildcard]) expect(completeRequestEvent(ev)).toEqual(parseRequestEvent(ev));
    for (const ev of [minimalResponse, fullResponse]) expect(completeResponseEvent(ev)).toEqual(parseResponseEvent(ev));
  });

  it("request and response decisions of every action, with and without each default", () => {
    for (const d of requestDecisions) expect(completeRequestDecision(d), JSON.stringify(d)).toEqual(parseRequestDecision(d));
    for (const d of responseDecisions) expect(completeResponseDecision(d), JSON.stringify(d)).toEqual(parseResponseDecision(d));
  });

  it("the events the gateway builds from SIP messages", () => {
    const reg = sip([
      "REGISTER sip:tenant-a.example SIP/2.0",
      "Via: SIP/2.0/UDP 192.0.2.9:5070;rport;branch=z9hG4bK-r1",
      "Max-Forwards: 70",
      'From: "Alice" <sip:201@tenant-a.example>;tag=a1',
      "To: <sip:201@tenant-a.example>",
      "Call-ID: reg-1",
      "CSeq: 7 REGISTER",
      "Contact: <sip:201@192.0.2.9:5070;ob>;expires=60;+sip.instance=\"<urn:uuid:1>\";reg-id=1",
      "Path: <sip:edge.example;lr>",
      "Allow: INVITE, ACK, BYE",
      "User-Agent: phone",
      "Expires: 60",
      "Content-Length: 0",
    ]) as SipRequest;
    const udp = (a: { ip: string; port: number }) => ({ ...a, transport: "udp" as const });
    const ev = requestEvent(reg, "z9hG4bK-r1", udp(SRC), udp(LOCAL), 3, "phones", [udp(LOCAL)]);
    expect(completeRequestEvent(ev)).toEqual(parseRequestEvent(ev));
    const ok = sip([
      "SIP/2.0 200 OK",
      "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-x",
      "From: <sip:201@tenant-a.example>;tag=a1",
      "To: <sip:201@tenant-a.example>;tag=r",
      "Call-ID: reg-1",
      "CSeq: 7 REGISTER",
      "Contact: <sip:201@127.0.0.1:5060;erb=abc>;expires=60",
      "Content-Length: 0",
    ]) as SipResponse;
    const rev = responseEvent(ok, "z9hG4bK-x", udp({ ip: "127.0.0.11", port: 5080 }), udp(LOCAL), 4, "ctx");
    expect(completeResponseEvent(rev)).toEqual(parseResponseEvent(rev));
  });

  it("an object that needs no default is not copied", () => {
    const full = parseRequestDecision(requestDecisions[1]!);
    expect(completeRequestDecision(full)).toEqual(full);
    const target = parseRequestDecision(requestDecisions[5]!) as Extract<ReturnType<typeof parseRequestDecision>, { action: "relay" }>;
    const again = completeRequestDecision(target) as typeof target;
    expect(again.targets[0]!.contacts).toBe(target.targets[0]!.contacts);
    expect(again.targets[0]!.headers).toBe(target.targets[0]!.headers);
  });
});

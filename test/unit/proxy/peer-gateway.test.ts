// Several gateways, one store (docs/routing.md, "Several gateways"): gateway B relays a call for a phone
// registered through gateway A via A, with a proven Route; A sends to the phone's NAT address only on a
// valid proof. Both sides run here in the real ProxyCore (the harness gateway plays B, then A).
import { describe, expect, it } from "vitest";
import type { RequestDecisionInput } from "../../../contract/v1";
import { DialogProof } from "../../../edge-gateway/src/proxy/dialog-proof";
import type { SipRequest } from "../../../sip/message";
import { decide, flush, label, onlyRequest, onlyResponse, ownRoute, PHONE_A, PHONES_SIDE, SECRET, setup } from "./core-harness";
import { addr, request, value, values } from "./support";

const CALL = "peer-1@198.51.100.10";
/** Gateway A of the deployment: the phone registered through it, so only it has the NAT pinhole. */
const GATEWAY_A = addr("192.0.2.77", 5060);
const PROOF = new DialogProof(SECRET);

function invite(routes: readonly string[] = [], method = "INVITE", callId = CALL): SipRequest {
  return request([
    `${method} sip:401@10.0.0.5:5060 SIP/2.0`,
    "Via: SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-peer-1",
    ...routes.map((r) => `Route: ${r}`),
    "Max-Forwards: 70",
    'From: "PBX" <sip:100@tenant-a.example>;tag=pbx-1',
    "To: <sip:401@tenant-a.example>",
    `Call-ID: ${callId}`,
    `CSeq: 101 ${method}`,
    "Contact: <sip:100@198.51.100.10:5060>",
    "Content-Length: 0",
  ]);
}

/** The peer Route gateway B writes to the harness gateway (playing A) for the phone at PHONE_A. */
function peerRoute(mac = PROOF.peerMac(CALL, "203.0.113.50~40000~1"), target = "203.0.113.50~40000~1", gateway = PHONES_SIDE): string {
  return `<sip:${gateway.ip}:${gateway.port};lr;pgw=${target};pmac=${mac}>`;
}

describe("several gateways: the gateway that received the request (B)", () => {
  it("says which sockets are its own, and relays a viaPeer branch to the peer with a proven Route, never to the phone", async () => {
    const h = setup({ twoListeners: true });
    const viaPeer: RequestDecisionInput = {
      action: "relay",
      recordRoute: true,
      targets: [{ requestUri: "sip:401@10.0.0.5:5060", nextHop: GATEWAY_A, viaPeer: PHONE_A, route: [], side: "phones" }],
    };
    h.worker.onRequest = () => decide(viaPeer);
    h.fromPbx(invite());
    await flush();
    expect(h.worker.requests[0]?.gatewaySockets).toEqual([addr("192.0.2.1", 5060), addr("198.51.100.1", 5060)]);
    const sent = h.take().filter((s) => s.message.kind === "request");
    const { to, request: fwd } = onlyRequest(sent);
    expect(to).toEqual(GATEWAY_A);
    expect(values(fwd, "Route")).toEqual([peerRoute(undefined, undefined, GATEWAY_A)]);
    // B Record-Routes as for any call (two entries: it crossed from its PBX side to its phones' side).
    expect(values(fwd, "Record-Route")).toEqual([ownRoute("192.0.2.1", CALL, "pbx-1"), ownRoute("198.51.100.1", CALL, "pbx-1")]);
    expect(fwd.uri).toBe("sip:401@10.0.0.5:5060");
  });

  it("a viaPeer branch without a next hop is refused as a bad decision, nothing sent to the phone", async () => {
    const h = setup();
    h.worker.onRequest = () =>
      decide({ action: "relay", recordRoute: true, targets: [{ requestUri: "sip:401@10.0.0.5:5060", viaPeer: PHONE_A, route: [] }] });
    h.fromPbx(invite());
    await flush();
    const sent = h.take();
    expect(sent.map(label)).toEqual(["100 -> 198.51.100.10:5060", "500 -> 198.51.100.10:5060"]);
  });
});

describe("several gateways: the gateway that holds the pinhole (A)", () => {
  it("a valid peer Route: relayed to the proven address, no worker call, Record-Routed, its own Route removed", () => {
    const h = setup();
    h.fromPbx(invite([peerRoute()]), addr("192.0.2.88", 5060));
    const sent = h.take().filter((s) => s.message.kind === "request");
    const { to, request: fwd } = onlyRequest(sent);
    expect(to).toEqual(PHONE_A);
    expect(values(fwd, "Route")).toEqual([]);
    expect(values(fwd, "Record-Route")).toEqual([ownRoute("192.0.2.1", CALL, "pbx-1")]);
    expect(value(fwd, "Contact")).toBe("<sip:100@198.51.100.10:5060>");
    expect(h.worker.requests).toEqual([]);
  });

  it("a Path after the peer Route stays in the message; the proven address is still the next hop", () => {
    const h = setup();
    h.fromPbx(invite([peerRoute(), "<sip:198.51.100.200:5060;lr>"]), addr("192.0.2.88", 5060));
    const { to, request: fwd } = onlyRequest(h.take().filter((s) => s.message.kind === "request"));
    expect(to).toEqual(PHONE_A);
    expect(values(fwd, "Route")).toEqual(["<sip:198.51.100.200:5060;lr>"]);
  });

  const forged: [string, string][] = [
    ["a made-up proof", peerRoute("0123456789abcdef01234567")],
    ["no proof", `<sip:${PHONES_SIDE.ip}:${PHONES_SIDE.port};lr;pgw=203.0.113.50~40000~1>`],
    ["the proof of another Call-ID", peerRoute(PROOF.peerMac("other-call", "203.0.113.50~40000~1"))],
    ["a proof for another address", peerRoute(PROOF.peerMac(CALL, "203.0.113.50~40000~1"), "198.51.100.66~5060~1")],
    ["the proof of another secret", peerRoute(new DialogProof("another-deployment-secret").peerMac(CALL, "203.0.113.50~40000~1"))],
    ["a dialog proof instead", `<sip:${PHONES_SIDE.ip}:${PHONES_SIDE.port};lr;pgw=203.0.113.50~40000~1;pmac=${PROOF.dialogMac(CALL, "pbx-1")}>`],
  ];
  for (const [what, route] of forged) {
    it(`${what}: 403 Forged Peer Route, sent once to the source, nothing else, no worker call`, () => {
      const h = setup();
      h.fromPbx(invite([route]), addr("192.0.2.88", 5060));
      const { to, response } = onlyResponse(h.take());
      expect(to).toEqual(addr("192.0.2.88", 5060)); // the stamped source (RFC 3581)
      expect([response.status, response.reason]).toEqual([403, "Forged Peer Route"]);
      expect(h.worker.requests).toEqual([]);
    });
  }

  it("a REGISTER never goes to a peer address, even with a valid proof", () => {
    const h = setup();
    h.fromPhone(invite([peerRoute()], "REGISTER"), addr("192.0.2.88", 5060));
    const { response } = onlyResponse(h.take());
    expect(response.status).toBe(403);
    expect(h.worker.requests).toEqual([]);
  });
});

describe("several gateways: the dialog's later requests", () => {
  const alias = `;alias=203.0.113.50~40000~1;amac=${PROOF.aliasMac(CALL, "203.0.113.50~40000~1")}`;
  function bye(routes: readonly string[]): SipRequest {
    return request([
      `BYE sip:401@10.0.0.5:5060${alias} SIP/2.0`,
      "Via: SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-peer-bye",
      ...routes.map((r) => `Route: ${r}`),
      "Max-Forwards: 70",
      'From: "PBX" <sip:100@tenant-a.example>;tag=pbx-1',
      "To: <sip:401@tenant-a.example>;tag=phone-1",
      `Call-ID: ${CALL}`,
      "CSeq: 102 BYE",
      "Content-Length: 0",
    ]);
  }

  it("B forwards a BYE to the next Route (A) with the NAT alias left in the Request-URI, never to the alias", () => {
    const h = setup();
    h.fromPbx(bye([ownRoute("192.0.2.1", CALL, "pbx-1"), ownRoute(GATEWAY_A.ip, CALL, "pbx-1")]));
    const { to, request: fwd } = onlyRequest(h.take().filter((s) => s.message.kind === "request"));
    expect(to).toEqual(GATEWAY_A);
    expect(fwd.uri).toBe(`sip:401@10.0.0.5:5060${alias}`);
    expect(values(fwd, "Route")).toEqual([ownRoute(GATEWAY_A.ip, CALL, "pbx-1")]);
  });

  it("A, the last Route, sends it to the alias and removes it", () => {
    const h = setup();
    h.fromPbx(bye([ownRoute("192.0.2.1", CALL, "pbx-1")]), addr("192.0.2.88", 5060));
    const { to, request: fwd } = onlyRequest(h.take().filter((s) => s.message.kind === "request"));
    expect(to).toEqual(PHONE_A);
    expect(fwd.uri).toBe("sip:401@10.0.0.5:5060");
  });
});

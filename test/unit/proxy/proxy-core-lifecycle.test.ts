// The proxy core's part of operations: draining for a graceful shutdown, and the dialog proofs across a
// secret rotation (docs/operations.md).
import { describe, expect, it } from "vitest";
import type { RequestDecisionInput, ResponseDecision } from "../../../contract/v1";
import type { WorkerAnswer } from "../../../edge-gateway/src/worker-client/worker-client";
import { DialogProof } from "../../../edge-gateway/src/proxy/dialog-proof";
import type { SipRequest } from "../../../sip/message";
import { ASTERISK, decide, deferred, flush, forward, label, onlyRequest, onlyResponse, PHONE_A, requestsOf, setup, type Harness } from "./core-harness";
import { answer, request, value, values } from "./support";

const CALL = "call-1@198.51.100.10";
const TARGET_A = { requestUri: "sip:401@10.0.0.5:5060", nextHop: { ip: PHONE_A.ip, port: PHONE_A.port }, side: "phones" } as const;
const ONE: RequestDecisionInput = { action: "relay", targets: [TARGET_A], recordRoute: true };

function pbxInvite(): SipRequest {
  return request([
    "INVITE sip:401@192.0.2.1:5060 SIP/2.0",
    "Via: SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-inv-1",
    "Max-Forwards: 70",
    'From: "PBX" <sip:100@tenant-a.example>;tag=pbx-1',
    "To: <sip:401@tenant-a.example>",
    `Call-ID: ${CALL}`,
    "CSeq: 101 INVITE",
    "Contact: <sip:100@198.51.100.10:5060>",
    "Content-Length: 0",
  ]);
}

function phoneRegister(branch = "z9hG4bK-reg-1"): SipRequest {
  return request([
    "REGISTER sip:tenant-a.example SIP/2.0",
    `Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=${branch}`,
    "Max-Forwards: 70",
    "From: <sip:401@tenant-a.example>;tag=r1",
    "To: <sip:401@tenant-a.example>",
    "Call-ID: reg-1@10.0.0.5",
    "CSeq: 1 REGISTER",
    "Contact: <sip:401@10.0.0.5:5060>",
    "Expires: 300",
    "Content-Length: 0",
  ]);
}

/** A BYE from phone A in the dialog of CALL, carrying `route`. */
function phoneBye(route: string): SipRequest {
  return request([
    "BYE sip:100@198.51.100.10:5060 SIP/2.0",
    "Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK-bye-1",
    `Route: ${route}`,
    "Max-Forwards: 70",
    "From: <sip:401@tenant-a.example>;tag=a-tag",
    'To: "PBX" <sip:100@tenant-a.example>;tag=pbx-1',
    `Call-ID: ${CALL}`,
    "CSeq: 1 BYE",
    "Content-Length: 0",
  ]);
}

/** The PBX's INVITE relayed to phone A, which rings: the INVITE as phone A got it. */
async function ringing(h: Harness): Promise<SipRequest> {
  h.worker.onRequest = () => decide(ONE);
  h.fromPbx(pbxInvite());
  await flush();
  const inv = requestsOf(h.take(), "INVITE")[0]!.request;
  h.fromPhone(answer(inv, 180, "Ringing", [], "a-tag"), PHONE_A);
  expect(h.take().map(label)).toEqual(["180 -> 198.51.100.10:5060"]);
  return inv;
}

describe("ProxyCore: draining (graceful shutdown)", () => {
  it("refuses a new REGISTER with 503 and Retry-After, without asking the worker", async () => {
    const h = setup({ retryAfterS: 7, random: () => 0 });
    h.core.startDraining();
    h.fromPhone(phoneRegister());
    const { to, response } = onlyResponse(h.take());
    expect(to).toEqual(PHONE_A);
    expect([response.status, value(response, "Retry-After")]).toEqual([503, "7"]);
    expect(h.worker.requests).toEqual([]);
    expect(await h.metrics.render()).toContain('edge_gateway_rejections_total{reason="draining"} 1');
  });

  it("lets a call in progress finish: its 200 goes upstream, and its in-dialog BYE is still relayed", async () => {
    const h = setup();
    const inv = await ringing(h);
    h.core.startDraining();
    expect(h.core.unansweredCount()).toBe(1);
    const rr = values(inv, "Record-Route");
    h.fromPhone(answer(inv, 200, "OK", [...rr.map((v) => `Record-Route: ${v}`), "Contact: <sip:401@10.0.0.5:5060>"], "a-tag"), PHONE_A);
    expect(h.take().map(label)).toEqual(["200 -> 198.51.100.10:5060"]);
    expect(h.core.unansweredCount()).toBe(0);
    h.fromPhone(phoneBye(rr[0]!));
    expect(onlyRequest(h.take()).to).toEqual(ASTERISK);
  });

  it("at the bound, a ringing INVITE is CANCELled downstream and answered 503 + Retry-After upstream", async () => {
    const h = setup({ retryAfterS: 7, random: () => 0 });
    const inv = await ringing(h);
    h.core.startDraining();
    expect(h.core.endUnanswered()).toBe(1);
    const sent = h.take();
    expect(sent.map(label)).toEqual(["CANCEL -> 203.0.113.50:40000", "503 -> 198.51.100.10:5060"]);
    expect(value(sent[0]!.message, "Reason")).toBe('SIP;cause=503;text="Proxy shutting down"');
    expect(value(sent[1]!.message, "Retry-After")).toBe("7");
    expect(h.core.unansweredCount()).toBe(0);
    // The phone's 487 for the CANCEL is ACKed downstream and goes no further.
    h.fromPhone(answer(inv, 487, "Request Terminated", [], "a-tag"), PHONE_A);
    expect(h.take().map(label)).toEqual(["ACK -> 203.0.113.50:40000"]);
  });

  it("at the bound, a request still with the worker is answered 503; the late decision relays nothing", async () => {
    const h = setup();
    const pending = deferred<ReturnType<typeof decide>>();
    h.worker.onRequest = () => pending.promise;
    h.fromPbx(pbxInvite());
    h.take();
    expect(h.core.endUnanswered()).toBe(1);
    expect(h.take().map(label)).toEqual(["503 -> 198.51.100.10:5060"]);
    pending.resolve(decide(ONE));
    await flush();
    expect(h.take()).toEqual([]);
  });
});

describe("ProxyCore: draining, a 2xx being decided", () => {
  it("at the bound, an INVITE whose 2xx is with the worker gets no 503: the decided 2xx goes up alone", async () => {
    const h = setup();
    const pending = deferred<WorkerAnswer<ResponseDecision>>();
    h.worker.onResponse = () => pending.promise;
    h.worker.onRequest = () => decide({ ...ONE, wantResponse: "2xx", context: "ctx" });
    h.fromPbx(pbxInvite());
    await flush();
    const inv = requestsOf(h.take(), "INVITE")[0]!.request;
    h.core.startDraining();
    h.fromPhone(answer(inv, 200, "OK", ["Contact: <sip:401@10.0.0.5:5060>"], "a-tag"), PHONE_A);
    expect(h.take()).toEqual([]);
    expect(h.core.unansweredCount()).toBe(1);
    expect(h.core.endUnanswered()).toBe(0);
    expect(h.take()).toEqual([]);
    pending.resolve(forward());
    await flush();
    expect(h.take().map(label)).toEqual(["200 -> 198.51.100.10:5060"]);
    expect(h.core.unansweredCount()).toBe(0);
  });
});

describe("ProxyCore: dialog proofs across a secret rotation", () => {
  const OLD = "rotation-old-secret-0123456789";
  const NEW = "rotation-new-secret-0123456789";
  const routeBy = (secret: string) => `<sip:192.0.2.1:5060;lr;dp=${new DialogProof(secret).dialogMac(CALL, "pbx-1")}>`;

  it("during the window a dialog Record-Routed under the previous secret is still relayed", () => {
    const h = setup({ secret: NEW, previousSecret: OLD });
    h.fromPhone(phoneBye(routeBy(OLD)));
    expect(onlyRequest(h.take()).to).toEqual(ASTERISK);
  });

  it("after the window it is refused with 403, as any unproven dialog", () => {
    const h = setup({ secret: NEW });
    h.fromPhone(phoneBye(routeBy(OLD)));
    expect(onlyResponse(h.take()).response.status).toBe(403);
  });

  it("new proofs are made with the current secret only", () => {
    const both = new DialogProof(NEW, OLD);
    expect(both.dialogMac(CALL, "pbx-1")).toBe(new DialogProof(NEW).dialogMac(CALL, "pbx-1"));
    expect(both.aliasMac(CALL, "203.0.113.50~40000~1")).toBe(new DialogProof(NEW).aliasMac(CALL, "203.0.113.50~40000~1"));
    expect(both.verifyAlias(new DialogProof(OLD).aliasMac(CALL, "a~1~1"), CALL, "a~1~1")).toBe(true);
    expect(new DialogProof(NEW).verifyAlias(new DialogProof(OLD).aliasMac(CALL, "a~1~1"), CALL, "a~1~1")).toBe(false);
  });
});

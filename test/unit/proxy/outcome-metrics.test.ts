// The rollback-trigger metrics observed by the proxy core: per-tenant REGISTER and routed outcomes, and the
// added-latency histogram, with the tenant label taken from the worker's decision only.
import { describe, expect, it } from "vitest";
import {
  MAX_TENANT_LABELS,
  OTHER_TENANTS,
  parsePrometheusText,
  registrationFailure,
  ROLLBACK_METRICS,
  routingFailure,
  histogramQuantile,
} from "../../../contract/metrics";
import type { RequestDecisionInput } from "../../../contract/v1";
import { Metrics } from "../../../edge-gateway/src/observability/metrics";
import { OutcomeMeter } from "../../../edge-gateway/src/proxy/outcome-meter";
import { ManualClock } from "../../../edge-gateway/src/transaction/clock";
import type { SipRequest } from "../../../sip/message";
import { ASTERISK, decide, deferred, flush, forward, onlyRequest, onlyResponse, PHONE_A, setup } from "./core-harness";
import type { Harness } from "./core-harness";
import type { RequestDecision } from "../../../contract/v1";
import type { WorkerAnswer } from "../../../edge-gateway/src/worker-client/worker-client";
import { answer, request } from "./support";

const { registers, routed, addedLatency } = ROLLBACK_METRICS;

function register(n: number, domain = "tenant-a.example"): SipRequest {
  return request([
    `REGISTER sip:${domain} SIP/2.0`,
    `Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK-reg-${n}`,
    "Max-Forwards: 70",
    `From: <sip:401@${domain}>;tag=r1`,
    `To: <sip:401@${domain}>`,
    "Call-ID: reg-1@10.0.0.5",
    `CSeq: ${n} REGISTER`,
    "Contact: <sip:401@10.0.0.5:5060>;expires=3600",
    "Content-Length: 0",
  ]);
}

function invite(n: number, maxForwards = 70): SipRequest {
  return request([
    "INVITE sip:401@192.0.2.1:5060 SIP/2.0",
    `Via: SIP/2.0/UDP 198.51.100.10:5060;rport;branch=z9hG4bK-inv-${n}`,
    `Max-Forwards: ${maxForwards}`,
    "From: <sip:100@tenant-a.example>;tag=pbx-1",
    "To: <sip:401@tenant-a.example>",
    `Call-ID: call-${n}@198.51.100.10`,
    `CSeq: ${n} INVITE`,
    "Contact: <sip:100@198.51.100.10:5060>",
    "Content-Length: 0",
  ]);
}

const REGISTER_RELAY: RequestDecisionInput = {
  action: "relay",
  targets: [{ requestUri: "sip:198.51.100.10:5060", nextHop: { ip: ASTERISK.ip, port: ASTERISK.port }, side: "pbx" }],
  wantResponse: "2xx",
  context: "ctx",
  tenant: "tenant-a.example",
};
const TO_PHONE: RequestDecisionInput = {
  action: "relay",
  targets: [{ requestUri: "sip:401@10.0.0.5:5060", nextHop: { ip: PHONE_A.ip, port: PHONE_A.port }, side: "phones" }],
  recordRoute: true,
  tenant: "Tenant-A.example",
};

/** Sends `req` from the phone, lets the registrar answer `status`, returns what the phone got. */
async function registerAnswered(h: Harness, n: number, status: number, reason: string): Promise<number> {
  h.fromPhone(register(n));
  await flush();
  const { request: fwd } = onlyRequest(h.take());
  h.fromPbx(answer(fwd, status, reason));
  await flush();
  return onlyResponse(h.take()).response.status;
}

/** An INVITE from the Asterisk relayed to phone A, which answers `status`. */
async function inviteAnswered(h: Harness, n: number, status: number, reason: string): Promise<void> {
  h.fromPbx(invite(n), ASTERISK);
  await flush();
  const sent = h.take().filter((s) => s.message.kind === "request");
  expect(sent).toHaveLength(1);
  h.fromPhone(answer(sent[0]!.message as SipRequest, status, reason, [], "ph"));
  await flush();
  h.take();
}

describe("rollback-trigger metrics: REGISTER outcomes", () => {
  it("a 401 challenge then a 200 is one challenge and one 2xx: no failure", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(REGISTER_RELAY);
    h.worker.onResponse = () => forward();
    expect(await registerAnswered(h, 1, 401, "Unauthorized")).toBe(401);
    expect(await registerAnswered(h, 2, 200, "OK")).toBe(200);
    const labels = (outcome: string) => ({ tenant: "tenant-a.example", outcome });
    expect(h.metrics.get(registers, labels("challenged"))).toBe(1);
    expect(h.metrics.get(registers, labels("2xx"))).toBe(1);
    expect(h.metrics.get(registers, labels("failed"))).toBe(0);
    const scrape = parsePrometheusText(await h.metrics.render());
    expect(registrationFailure(scrape, "tenant-a.example")).toEqual({ failed: 0, total: 1, pct: 0 });
  });

  it("the registrar's 403 (a wrong password) is a failure of the tenant the worker named", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(REGISTER_RELAY);
    await registerAnswered(h, 1, 401, "Unauthorized");
    await registerAnswered(h, 2, 403, "Forbidden");
    expect(h.metrics.get(registers, { tenant: "tenant-a.example", outcome: "failed" })).toBe(1);
    const scrape = parsePrometheusText(await h.metrics.render());
    expect(registrationFailure(scrape)).toEqual({ failed: 1, total: 1, pct: 100 });
  });

  it("a stranger's REGISTER refused by the worker's policy (no tenant in the decision) is 'none', refused, not a failure", async () => {
    const h = setup();
    h.worker.onRequest = () => decide({ action: "reply", status: 403, reason: "Unknown Tenant Domain" });
    h.fromPhone(register(1, "attacker-chosen.example"));
    await flush();
    expect(onlyResponse(h.take()).response.status).toBe(403);
    expect(h.metrics.get(registers, { tenant: "none", outcome: "refused" })).toBe(1);
    const text = await h.metrics.render();
    expect(text).not.toContain("attacker-chosen");
    expect(registrationFailure(parsePrometheusText(text)).total).toBe(0);
  });

  it("the worker unreachable: the phone's 503 is a failure, tenant 'none'", async () => {
    const h = setup();
    h.worker.onRequest = () => ({ ok: false, reason: "timeout", detail: "slow" });
    h.fromPhone(register(1));
    await flush();
    expect(onlyResponse(h.take()).response.status).toBe(503);
    expect(h.metrics.get(registers, { tenant: "none", outcome: "failed" })).toBe(1);
  });
});

describe("rollback-trigger metrics: routed outcomes", () => {
  it("classes by final status: 200 and 486 delivered, 404, 480, 503; the tenant label is the decision's, lower-cased", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(TO_PHONE);
    await inviteAnswered(h, 1, 200, "OK");
    await inviteAnswered(h, 2, 486, "Busy Here");
    await inviteAnswered(h, 3, 404, "Not Found");
    await inviteAnswered(h, 4, 480, "Temporarily Unavailable");
    await inviteAnswered(h, 5, 503, "Service Unavailable");
    const count = (outcome: string) => h.metrics.get(routed, { tenant: "tenant-a.example", outcome });
    expect([count("delivered"), count("404"), count("408_480"), count("5xx")]).toEqual([2, 1, 1, 1]);
    const scrape = parsePrometheusText(await h.metrics.render());
    expect(routingFailure(scrape, "tenant-a.example")).toEqual({ failed: 3, total: 5, pct: 60 });
  });

  it("a branch that times out (16.8: 408) is a 408_480 failure", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(TO_PHONE);
    h.fromPbx(invite(1), ASTERISK);
    await flush();
    h.clock.advance(200_000);
    await flush();
    expect(h.metrics.get(routed, { tenant: "tenant-a.example", outcome: "408_480" })).toBe(1);
  });

  it("the worker's 404 (no binding) counts for the tenant it named; a stateless 483 is 'none', refused", async () => {
    const h = setup();
    h.worker.onRequest = () => decide({ action: "reply", status: 404, reason: "Not Found", tenant: "tenant-a.example" });
    h.fromPbx(invite(1), ASTERISK);
    await flush();
    h.fromPbx(invite(2, 0), ASTERISK);
    await flush();
    expect(h.take().flatMap((s) => (s.message.kind === "response" && s.message.status >= 200 ? [s.message.status] : []))).toEqual([404, 483]);
    expect(h.metrics.get(routed, { tenant: "tenant-a.example", outcome: "404" })).toBe(1);
    expect(h.metrics.get(routed, { tenant: "none", outcome: "refused" })).toBe(1);
  });

  it("in-dialog requests and retransmissions are not counted again", async () => {
    const h = setup();
    h.worker.onRequest = () => decide(TO_PHONE);
    h.fromPbx(invite(1), ASTERISK);
    h.fromPbx(invite(1), ASTERISK);
    await flush();
    const fwd = h.take().find((s) => s.message.kind === "request")!.message as SipRequest;
    h.fromPhone(answer(fwd, 486, "Busy Here", [], "ph"));
    h.fromPhone(answer(fwd, 486, "Busy Here", [], "ph"));
    await flush();
    expect(h.metrics.get(routed, { tenant: "tenant-a.example", outcome: "delivered" })).toBe(1);
  });
});

describe("rollback-trigger metrics: added latency", () => {
  it("arrival to relay, the worker's decision time included, in the histogram of the decision's tenant", async () => {
    const h = setup();
    const pending = deferred<WorkerAnswer<RequestDecision>>();
    h.worker.onRequest = () => pending.promise;
    h.fromPbx(invite(1), ASTERISK);
    await flush();
    h.clock.advance(30);
    pending.resolve(decide(TO_PHONE));
    await flush();
    expect(h.metrics.get(`${addedLatency}_count`, { tenant: "tenant-a.example" })).toBe(1);
    expect(h.metrics.get(`${addedLatency}_sum`, { tenant: "tenant-a.example" })).toBeCloseTo(0.03);
    const scrape = parsePrometheusText(await h.metrics.render());
    const bucket = (le: string) => scrape.get(`${addedLatency}_bucket`)?.find((s) => s.labels["le"] === le)?.value;
    expect([bucket("0.025"), bucket("0.05")]).toEqual([0, 1]);
    // Interpolated within (0.025, 0.05]: p99 = 0.025 + 0.025 * 0.99.
    expect(histogramQuantile(scrape, addedLatency, 0.99)).toBeCloseTo(0.04975);
  });

  it("a request answered without a relay has no latency sample", async () => {
    const h = setup();
    h.worker.onRequest = () => decide({ action: "reply", status: 404, reason: "Not Found", tenant: "tenant-a.example" });
    h.fromPbx(invite(1), ASTERISK);
    await flush();
    expect(h.metrics.get(`${addedLatency}_count`, { tenant: "tenant-a.example" })).toBe(0);
  });
});

describe("OutcomeMeter: bounded tenant labels", () => {
  it(`past ${MAX_TENANT_LABELS} distinct tenants, further ones are '${OTHER_TENANTS}'; known ones keep their label`, () => {
    const metrics = new Metrics();
    const meter = new OutcomeMeter(metrics, new ManualClock());
    for (let i = 0; i <= MAX_TENANT_LABELS; i++) {
      const m = meter.arrived("INVITE");
      meter.attribute(m, `t${i}.example`);
      meter.answered(m, 200, false);
    }
    const again = meter.arrived("INVITE");
    meter.attribute(again, "t0.example");
    meter.answered(again, 200, false);
    expect(metrics.get(routed, { tenant: OTHER_TENANTS, outcome: "delivered" })).toBe(1);
    expect(metrics.get(routed, { tenant: "t0.example", outcome: "delivered" })).toBe(2);
    expect(metrics.get(routed, { tenant: `t${MAX_TENANT_LABELS}.example`, outcome: "delivered" })).toBe(0);
  });
});

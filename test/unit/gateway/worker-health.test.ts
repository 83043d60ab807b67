import { describe, expect, it } from "vitest";
import { Metrics } from "../../../edge-gateway/src/observability/metrics";
import { observeWorker } from "../../../edge-gateway/src/observability/worker-health";
import type { WorkerAnswer, WorkerClient } from "../../../edge-gateway/src/worker-client/worker-client";
import type { RequestDecision, RequestEventInput } from "../../../contract/v1";

function scripted(answers: WorkerAnswer<RequestDecision>[]): WorkerClient {
  return {
    request: async () => answers.shift()!,
    response: async () => ({ ok: false, reason: "unavailable", detail: "not used" }),
    close: async () => undefined,
  };
}

const ev = {} as RequestEventInput;
const ok: WorkerAnswer<RequestDecision> = { ok: true, decision: { action: "drop", reason: "" } };
const down: WorkerAnswer<RequestDecision> = { ok: false, reason: "timeout", detail: "no answer within 2000 ms" };

describe("worker health and call timing", () => {
  it("is ok before any call, degraded while the latest call failed, ok again after a success", async () => {
    let t = 0;
    const metrics = new Metrics();
    const w = observeWorker(scripted([ok, down, ok]), metrics, () => t);
    expect(w.health()).toEqual({ status: "ok", lastOkAgoMs: undefined, lastFailure: undefined });
    t = 10;
    await w.client.request(ev);
    t = 20;
    await w.client.request(ev);
    t = 25;
    expect(w.health()).toEqual({ status: "degraded", lastOkAgoMs: 15, lastFailure: "timeout: no answer within 2000 ms" });
    await w.client.request(ev);
    expect(w.health().status).toBe("ok");
    expect(metrics.get("edge_gateway_worker_call_seconds_count", { kind: "request" })).toBe(3);
  });

  it("adds each call's duration in seconds to the summary", async () => {
    let t = 0;
    const metrics = new Metrics();
    const slow: WorkerClient = { ...scripted([]), request: async () => ((t += 250), ok) };
    const w = observeWorker(slow, metrics, () => t);
    await w.client.request(ev);
    await w.client.request(ev);
    expect(metrics.get("edge_gateway_worker_call_seconds_sum", { kind: "request" })).toBeCloseTo(0.5);
    expect(metrics.render()).toMatch(/edge_gateway_worker_call_seconds_count\{kind="request"\} 2/);
  });
});

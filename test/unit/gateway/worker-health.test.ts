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

/** Runs the outcomes one call each, `stepMs` apart; returns the status after each call. */
async function statuses(outcomes: readonly ("ok" | "fail")[], stepMs = 100): Promise<string[]> {
  let t = 0;
  const w = observeWorker(scripted(outcomes.map((o) => (o === "ok" ? ok : down))), new Metrics(), () => t);
  const out: string[] = [];
  for (let i = 0; i < outcomes.length; i++) {
    t += stepMs;
    await w.client.request(ev);
    out.push(w.health().status);
  }
  return out;
}

describe("worker health: /health does not flap", () => {
  it("is ok before any call", () => {
    const w = observeWorker(scripted([]), new Metrics(), () => 0);
    expect(w.health()).toEqual({ status: "ok", lastOkAgoMs: undefined, lastFailure: undefined, consecutiveFailures: 0, recent: { calls: 0, failures: 0 } });
  });

  it("one failed call among successes leaves it ok (it was degraded at once before)", async () => {
    expect(await statuses(["ok", "fail", "ok", "fail", "ok", "ok"])).toEqual(new Array(6).fill("ok"));
  });

  it("three failures in a row make it degraded, with the last failure's reason", async () => {
    let t = 0;
    const w = observeWorker(scripted([ok, down, down, down]), new Metrics(), () => t);
    for (let i = 0; i < 4; i++) {
      t += 10;
      await w.client.request(ev);
    }
    t = 45;
    expect(w.health()).toEqual({
      status: "degraded",
      lastOkAgoMs: 35,
      lastFailure: "timeout: no answer within 2000 ms",
      consecutiveFailures: 3,
      recent: { calls: 4, failures: 3 },
    });
  });

  it("back to ok only after three successes in a row; a single success in between does not flap it", async () => {
    const s = await statuses(["fail", "fail", "fail", "ok", "fail", "ok", "ok", "ok", "ok"]);
    expect(s).toEqual(["ok", "ok", "degraded", "degraded", "degraded", "degraded", "degraded", "ok", "ok"]);
  });

  it("a worker failing every other call, never three in a row, is degraded by the failure ratio", async () => {
    const s = await statuses(new Array(12).fill(0).flatMap(() => ["ok", "fail"] as const));
    expect(s.slice(0, 9)).toEqual(new Array(9).fill("ok"));
    // The 10th call is the 5th failure of 10: a ratio of 0.5.
    expect(s[9]).toBe("degraded");
    expect(s.slice(10)).toEqual(new Array(14).fill("degraded"));
  });

  it("failures spread over more than the window do not add up", async () => {
    // One failure every 10 s among successes: never three in a row, never half of the last 30 s.
    const s = await statuses(new Array(10).fill(0).flatMap(() => ["ok", "ok", "fail"] as const), 3500);
    expect(s.every((x) => x === "ok")).toBe(true);
  });

  it("adds each call's duration in seconds to the summary", async () => {
    let t = 0;
    const metrics = new Metrics();
    const slow: WorkerClient = { ...scripted([]), request: async () => ((t += 250), ok) };
    const w = observeWorker(slow, metrics, () => t);
    await w.client.request(ev);
    await w.client.request(ev);
    expect(metrics.get("edge_gateway_worker_call_seconds_sum", { kind: "request" })).toBeCloseTo(0.5);
    expect(await metrics.render()).toMatch(/edge_gateway_worker_call_seconds_count\{kind="request"\} 2/);
  });
});

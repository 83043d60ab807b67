// The gateway's metrics facade over prom-client: what /metrics shows (types, help, labels), the synchronous
// reads, and one registry per gateway.
import { describe, expect, it } from "vitest";
import { Metrics } from "../../../edge-gateway/src/observability/metrics";

describe("Metrics on prom-client", () => {
  it("counters, scrape-time series and histograms in the exposition text, with their types", async () => {
    const m = new Metrics();
    m.inc("edge_gateway_received_total", { kind: "request" });
    m.inc("edge_gateway_received_total", { kind: "request" }, 2);
    m.inc("edge_gateway_retransmissions_absorbed_total");
    m.inc("edge_gateway_retransmissions_absorbed_total", { kind: "2xx" });
    let dropped = 4;
    m.gauge("edge_gateway_ingress_dropped_total", () => dropped, { reason: "rate" });
    m.gauge("edge_gateway_transactions", () => 9);
    m.observe("edge_gateway_added_latency_seconds", { tenant: "a.example" }, 0.003);
    const text = await m.render();
    expect(text).toMatch(/^# TYPE edge_gateway_received_total counter$/m);
    expect(text).toMatch(/^edge_gateway_received_total\{kind="request"\} 3$/m);
    // Two label shapes of one counter (its label names are declared once).
    expect(text).toMatch(/^edge_gateway_retransmissions_absorbed_total 1$/m);
    expect(text).toMatch(/^edge_gateway_retransmissions_absorbed_total\{kind="2xx"\} 1$/m);
    // A plain number read at scrape time: a counter when its name says so, else a gauge.
    expect(text).toMatch(/^# TYPE edge_gateway_ingress_dropped_total counter$/m);
    expect(text).toMatch(/^edge_gateway_ingress_dropped_total\{reason="rate"\} 4$/m);
    expect(text).toMatch(/^# TYPE edge_gateway_transactions gauge$/m);
    expect(text).toMatch(/^edge_gateway_transactions 9$/m);
    expect(text).toMatch(/^# TYPE edge_gateway_added_latency_seconds histogram$/m);
    expect(text).toMatch(/^edge_gateway_added_latency_seconds_bucket\{le="0.0025",tenant="a.example"\} 0$/m);
    expect(text).toMatch(/^edge_gateway_added_latency_seconds_bucket\{le="0.005",tenant="a.example"\} 1$/m);
    expect(text).toMatch(/^edge_gateway_added_latency_seconds_count\{tenant="a.example"\} 1$/m);
    dropped = 5;
    expect(await m.render()).toMatch(/^edge_gateway_ingress_dropped_total\{reason="rate"\} 5$/m);
  });

  it("synchronous reads: counters by any label order, histogram _sum/_count, scrape-time series", () => {
    const m = new Metrics();
    m.inc("edge_gateway_register_outcomes_total", { tenant: "a", outcome: "2xx" });
    expect(m.get("edge_gateway_register_outcomes_total", { outcome: "2xx", tenant: "a" })).toBe(1);
    m.observe("edge_gateway_worker_call_seconds", { kind: "request" }, 0.25);
    m.observe("edge_gateway_worker_call_seconds", { kind: "request" }, 0.5);
    expect(m.get("edge_gateway_worker_call_seconds_sum", { kind: "request" })).toBeCloseTo(0.75);
    expect(m.get("edge_gateway_worker_call_seconds_count", { kind: "request" })).toBe(2);
    m.gauge("edge_gateway_pending_decisions", () => 3);
    expect(m.value("edge_gateway_pending_decisions")).toBe(3);
    expect(m.value("absent")).toBe(0);
  });

  it("each gateway has its own registry: two in one process do not share series", async () => {
    const one = new Metrics();
    const two = new Metrics();
    one.inc("edge_gateway_internal_errors_total");
    expect(await two.render()).not.toContain("edge_gateway_internal_errors_total");
    expect(one.contentType).toMatch(/^text\/plain/);
  });
});

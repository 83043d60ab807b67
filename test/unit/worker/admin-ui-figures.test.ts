// The admin page's pure parts: the rollback-trigger figures from Prometheus text, and the WCAG contrast of
// every colour pair of its style sheet (the ratios docs/admin-ui.md states are recomputed here).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parsePrometheusText, sumSeries, triggerFigures } from "../../../worker/src/admin-ui/gateway-metrics";
import { COLOURS } from "../../../worker/src/admin-ui/style";
import { formatRemaining } from "../../../worker/src/admin-ui/format";
import { REPO_ROOT } from "../../support/paths";

/** WCAG 2.x relative luminance of `#rrggbb`. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG contrast ratio, (L1 + 0.05) / (L2 + 0.05). */
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

describe("rollback-trigger figures", () => {
  it("parses the gateway's exposition text, labels and all", () => {
    const s = parsePrometheusText(
      [
        "# HELP x y",
        'edge_gateway_worker_call_seconds_sum{kind="request"} 0.5',
        'edge_gateway_worker_call_seconds_sum{kind="response"} 0.25',
        'edge_gateway_worker_call_seconds_count{kind="request"} 40',
        'edge_gateway_worker_call_seconds_count{kind="response"} 10',
        'weird{a="x\\"y,z",b="2"} 3 1700000000',
        "broken{a=} 1",
        "edge_gateway_transactions 7",
      ].join("\n"),
    );
    expect(sumSeries(s, "edge_gateway_worker_call_seconds_sum")).toBeCloseTo(0.75);
    expect(sumSeries(s, "edge_gateway_worker_call_seconds_count", { kind: "request" })).toBe(40);
    expect(s.get("weird")?.[0]?.labels).toEqual({ a: 'x"y,z', b: "2" });
    expect(s.has("broken")).toBe(false);
    expect(sumSeries(s, "edge_gateway_transactions")).toBe(7);
    expect(sumSeries(s, "absent")).toBeUndefined();
  });

  it("reads the gateway's rollback-trigger series: added latency as the p99 of the histogram, summed over tenants", () => {
    const lat = (tenant: string, counts: number[]) =>
      ["0.001", "0.0025", "0.005", "+Inf"].map((le, i) => `edge_gateway_added_latency_seconds_bucket{le="${le}",tenant="${tenant}"} ${counts[i]}`);
    const f = triggerFigures(
      parsePrometheusText(
        [...lat("a", [0, 60, 60, 60]), ...lat("b", [0, 0, 40, 40]), 'edge_gateway_added_latency_seconds_count{tenant="a"} 60', 'edge_gateway_added_latency_seconds_count{tenant="b"} 40'].join("\n"),
      ),
    );
    // 100 requests, 60 within 2.5 ms: p99 in (2.5 ms, 5 ms] at rank 99, 39/40 of the way.
    expect(f.addedLatencyMs).toEqual({ available: true, value: expect.closeTo(4.9375, 6), unit: "ms", basis: "p99 of 100 relayed requests, arrival to relay" });
    expect(f.registrationFailurePct).toEqual({ available: false, why: "not available: no registrations counted yet" });
    expect(f.routingFailurePct).toEqual({ available: false, why: "not available: no routed requests counted yet" });
  });

  it("computes failure percentages over every tenant label; challenges and policy refusals are not counted", () => {
    const f = triggerFigures(
      parsePrometheusText(
        [
          'edge_gateway_register_outcomes_total{tenant="a",outcome="2xx"} 90',
          'edge_gateway_register_outcomes_total{tenant="b",outcome="2xx"} 5',
          'edge_gateway_register_outcomes_total{tenant="a",outcome="failed"} 5',
          'edge_gateway_register_outcomes_total{tenant="a",outcome="challenged"} 95',
          'edge_gateway_register_outcomes_total{tenant="none",outcome="refused"} 30',
          'edge_gateway_routed_outcomes_total{tenant="a",outcome="delivered"} 8',
          'edge_gateway_routed_outcomes_total{tenant="a",outcome="404"} 1',
          'edge_gateway_routed_outcomes_total{tenant="a",outcome="5xx"} 1',
          'edge_gateway_routed_outcomes_total{tenant="none",outcome="refused"} 7',
        ].join("\n"),
      ),
    );
    expect(f.registrationFailurePct).toEqual({ available: true, value: 5, unit: "%", basis: "5 of 100 registrations; challenges and refusals not counted" });
    expect(f.routingFailurePct).toEqual({ available: true, value: 20, unit: "%", basis: "2 of 10 routed requests; refusals not counted" });
    expect(f.addedLatencyMs).toEqual({ available: false, why: "not available: no relayed request timed yet" });
  });
});

describe("admin page text", () => {
  it("writes time to expiry in words", () => {
    expect(formatRemaining(1000, 1000)).toBe("expired (awaiting the sweep)");
    expect(formatRemaining(1059, 1000)).toBe("59 s");
    expect(formatRemaining(1000 + 299, 1000)).toBe("4 min 59 s");
    expect(formatRemaining(1000 + 3 * 3600 + 120, 1000)).toBe("3 h 2 min");
    expect(formatRemaining(1000 + 50 * 3600, 1000)).toBe("2 d 2 h");
  });
});

describe("admin page colours (WCAG 2.2 AA)", () => {
  const doc = readFileSync(join(REPO_ROOT, "docs", "admin-ui.md"), "utf8");
  for (const [role, { fg, bg }] of Object.entries(COLOURS)) {
    const ratio = contrast(fg, bg);
    const nonText = ["focus", "focusOnHeader", "inputBorder"].includes(role);
    it(`${role}: ${fg} on ${bg} is ${ratio.toFixed(2)}:1, at least ${nonText ? "3" : "4.5"}:1, as docs/admin-ui.md states`, () => {
      expect(ratio).toBeGreaterThanOrEqual(nonText ? 3 : 4.5);
      expect(doc).toContain(`| ${role} | \`${fg}\` | \`${bg}\` | ${ratio.toFixed(2)}:1 |`);
    });
  }
});

// The gateway's probe settings from the environment: defaults that meet the 30 s promise, bounds, PROBE=off.
import { describe, expect, it } from "vitest";
import { GatewayConfigError, loadGatewayConfig } from "../../../edge-gateway/src/config";

const base = { GATEWAY_SECRET: "0123456789abcdef" };

describe("probe configuration", () => {
  it("is on by default, with defaults that mark a dead box within 30 s and a live one within 30 s", () => {
    const p = loadGatewayConfig([], { ...base, GATEWAY_ID: "gw-1" }).probe!;
    expect(p).toMatchObject({ intervalMs: 10_000, timeoutMs: 5_000, failureThreshold: 2, successThreshold: 2, replyCodes: "any", gatewayId: "gw-1" });
    // Worst case down: the box dies just after a probe; failures are seen at interval+timeout, then every interval.
    expect(p.intervalMs + p.timeoutMs + (p.failureThreshold - 1) * p.intervalMs).toBeLessThanOrEqual(30_000);
    // Worst case up: it answers just after a probe; successes at interval, then every interval.
    expect(p.successThreshold * p.intervalMs).toBeLessThanOrEqual(30_000);
  });

  it("takes the Kamailio-like knobs and refuses bad values", () => {
    const p = loadGatewayConfig([], {
      ...base,
      PROBE_INTERVAL_MS: "1000",
      PROBE_TIMEOUT_MS: "400",
      PROBE_FAILURE_THRESHOLD: "3",
      PROBE_SUCCESS_THRESHOLD: "1",
      PROBE_REFRESH_MS: "2000",
      PROBE_REPLY_CODES: "2xx,404",
    }).probe!;
    expect(p).toMatchObject({ intervalMs: 1000, timeoutMs: 400, failureThreshold: 3, successThreshold: 1, refreshMs: 2000, replyCodes: ["2xx", "404"] });
    expect(loadGatewayConfig([], { ...base, PROBE: "off" }).probe).toBeUndefined();
    expect(() => loadGatewayConfig([], { ...base, PROBE: "maybe" })).toThrow(GatewayConfigError);
    expect(() => loadGatewayConfig([], { ...base, PROBE_TIMEOUT_MS: "20000" })).toThrow(/PROBE_TIMEOUT_MS/);
    expect(() => loadGatewayConfig([], { ...base, PROBE_REPLY_CODES: "ok" })).toThrow(/PROBE_REPLY_CODES/);
    expect(() => loadGatewayConfig([], { ...base, PROBE_FAILURE_THRESHOLD: "0" })).toThrow(/PROBE_FAILURE_THRESHOLD/);
  });
});

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GatewayConfigError, loadGatewayConfig } from "../../../edge-gateway/src/config";
import { REPO_ROOT } from "../../support/paths";

const SECRET = { GATEWAY_SECRET: "0123456789abcdef" };

describe("loadGatewayConfig: the addresses the proxy writes in Via and Record-Route", () => {
  it("without --advertise the bound address is used (advertisedHost undefined)", () => {
    const c = loadGatewayConfig(["--listen", "192.0.2.1:5080"], SECRET);
    expect(c.listen).toEqual({ ip: "192.0.2.1", port: 5080, advertisedHost: undefined });
    expect(c.listenPbx).toBeUndefined();
  });

  it("an empty SIP_ADVERTISE counts as unset, not as an empty host", () => {
    const c = loadGatewayConfig([], { ...SECRET, SIP_LISTEN: "192.0.2.1:5060", SIP_ADVERTISE: "", SIP_LISTEN_PBX: "198.51.100.1", SIP_ADVERTISE_PBX: " " });
    expect(c.listen.advertisedHost).toBeUndefined();
    expect(c.listenPbx?.advertisedHost).toBeUndefined();
  });

  it("flags win over the environment; IPv4, IPv6 (bare or bracketed) and host names are accepted", () => {
    expect(loadGatewayConfig(["--advertise", "203.0.113.1"], { ...SECRET, SIP_ADVERTISE: "203.0.113.2" }).listen.advertisedHost).toBe("203.0.113.1");
    expect(loadGatewayConfig(["--advertise", "2001:db8::1"], SECRET).listen.advertisedHost).toBe("2001:db8::1");
    expect(loadGatewayConfig(["--advertise", "[2001:db8::1]"], SECRET).listen.advertisedHost).toBe("[2001:db8::1]");
    expect(loadGatewayConfig(["--advertise", "sip.example.com"], SECRET).listen.advertisedHost).toBe("sip.example.com");
  });

  it("an advertised address with a port, or not an address at all, is refused", () => {
    for (const bad of ["203.0.113.1:5060", "[2001:db8::1]:5060", "a b", "203.0.113"]) {
      expect(() => loadGatewayConfig(["--advertise", bad], SECRET), bad).toThrow(GatewayConfigError);
    }
  });

  it("a wildcard bind needs an advertised address: 0.0.0.0 is no address to send to", () => {
    expect(() => loadGatewayConfig(["--listen", "0.0.0.0:5060"], SECRET)).toThrow(/SIP_ADVERTISE/);
    expect(() => loadGatewayConfig(["--listen", "[::]:5060"], SECRET)).toThrow(GatewayConfigError);
    expect(() => loadGatewayConfig(["--listen", "192.0.2.1", "--listen-pbx", "0.0.0.0:5070"], SECRET)).toThrow(/SIP_ADVERTISE_PBX/);
    expect(loadGatewayConfig(["--listen", "0.0.0.0:5060", "--advertise", "203.0.113.1"], SECRET).listen).toEqual({ ip: "0.0.0.0", port: 5060, advertisedHost: "203.0.113.1" });
  });
});

describe("loadGatewayConfig: overload bounds", () => {
  it("MAX_TRANSACTIONS and MAX_PENDING_DECISIONS default to 10000 and 1000 and are validated", () => {
    const c = loadGatewayConfig([], SECRET);
    expect([c.maxTransactions, c.maxPendingDecisions]).toEqual([10_000, 1_000]);
    const set = loadGatewayConfig([], { ...SECRET, MAX_TRANSACTIONS: "500", MAX_PENDING_DECISIONS: "50" });
    expect([set.maxTransactions, set.maxPendingDecisions]).toEqual([500, 50]);
    for (const bad of ["0", "-1", "1.5", "many"]) {
      expect(() => loadGatewayConfig([], { ...SECRET, MAX_TRANSACTIONS: bad }), bad).toThrow(/MAX_TRANSACTIONS/);
      expect(() => loadGatewayConfig([], { ...SECRET, MAX_PENDING_DECISIONS: bad }), bad).toThrow(/MAX_PENDING_DECISIONS/);
    }
  });

  it("WORKER_CONNECTIONS defaults to 64 (calls in flight at once), takes 1 to 1024 and refuses the rest", () => {
    expect(loadGatewayConfig([], SECRET).workerConnections).toBe(64);
    expect(loadGatewayConfig([], { ...SECRET, WORKER_CONNECTIONS: "8" }).workerConnections).toBe(8);
    for (const bad of ["0", "1025", "2.5", "many"]) {
      expect(() => loadGatewayConfig([], { ...SECRET, WORKER_CONNECTIONS: bad }), bad).toThrow(/WORKER_CONNECTIONS/);
    }
  });

  it("MAX_QUEUE_DELAY_MS defaults to 100, takes 0 (off) to 10000 and refuses the rest", () => {
    expect(loadGatewayConfig([], SECRET).maxQueueDelayMs).toBe(100);
    expect(loadGatewayConfig([], { ...SECRET, MAX_QUEUE_DELAY_MS: "80" }).maxQueueDelayMs).toBe(80);
    expect(loadGatewayConfig([], { ...SECRET, MAX_QUEUE_DELAY_MS: "0" }).maxQueueDelayMs).toBe(0);
    for (const bad of ["-1", "10001", "1.5", "busy"]) {
      expect(() => loadGatewayConfig([], { ...SECRET, MAX_QUEUE_DELAY_MS: bad }), bad).toThrow(/MAX_QUEUE_DELAY_MS/);
    }
  });
});

describe("loadGatewayConfig: the SIP grammar's size limits", () => {
  it("defaults to the grammar's defaults: 16 KiB datagrams, 8 KiB headers, 128 headers, 64 list values", () => {
    expect(loadGatewayConfig([], SECRET).parseLimits).toEqual({ maxMessageBytes: 16_384, maxHeaderLineBytes: 8_192, maxHeaders: 128, maxListValues: 64 });
  });

  it("reads flags over the environment", () => {
    const c = loadGatewayConfig(["--max-message-bytes", "4000", "--max-list-values", "8"], {
      ...SECRET,
      SIP_MAX_MESSAGE_BYTES: "9000",
      SIP_MAX_HEADER_BYTES: "2000",
      SIP_MAX_HEADERS: "40",
    });
    expect(c.parseLimits).toEqual({ maxMessageBytes: 4000, maxHeaderLineBytes: 2000, maxHeaders: 40, maxListValues: 8 });
  });

  it("refuses limits that would switch a check off or exceed a UDP datagram", () => {
    for (const [name, value] of [
      ["SIP_MAX_MESSAGE_BYTES", "65508"],
      ["SIP_MAX_MESSAGE_BYTES", "0"],
      ["SIP_MAX_HEADER_BYTES", "20000"],
      ["SIP_MAX_HEADERS", "-1"],
      ["SIP_MAX_LIST_VALUES", "many"],
    ] as const) {
      expect(() => loadGatewayConfig([], { ...SECRET, [name]: value }), `${name}=${value}`).toThrow(name);
    }
  });
});

describe("loadGatewayConfig: operations (docs/operations.md)", () => {
  it("SHUTDOWN_GRACE_MS defaults to 30000 (below the unit's TimeoutStopSec) and is validated", () => {
    expect(loadGatewayConfig([], SECRET).shutdownGraceMs).toBe(30_000);
    expect(loadGatewayConfig([], { ...SECRET, SHUTDOWN_GRACE_MS: "5000" }).shutdownGraceMs).toBe(5000);
    for (const bad of ["-1", "1.5", "x", "600001"]) {
      expect(() => loadGatewayConfig([], { ...SECRET, SHUTDOWN_GRACE_MS: bad }), bad).toThrow(/SHUTDOWN_GRACE_MS/);
    }
  });

  it("GATEWAY_SECRET_PREVIOUS is optional, empty counts as unset, and it must be 16+ characters", () => {
    expect(loadGatewayConfig([], SECRET).gatewaySecretPrevious).toBeUndefined();
    expect(loadGatewayConfig([], { ...SECRET, GATEWAY_SECRET_PREVIOUS: "" }).gatewaySecretPrevious).toBeUndefined();
    expect(loadGatewayConfig([], { ...SECRET, GATEWAY_SECRET_PREVIOUS: "fedcba9876543210" }).gatewaySecretPrevious).toBe("fedcba9876543210");
    expect(() => loadGatewayConfig([], { ...SECRET, GATEWAY_SECRET_PREVIOUS: "short" })).toThrow(/GATEWAY_SECRET_PREVIOUS/);
  });
});

describe("deploy/gateway.env.example", () => {
  const text = readFileSync(join(REPO_ROOT, "deploy/gateway.env.example"), "utf8");
  const entries = (withCommented: boolean): Record<string, string> => {
    const env: Record<string, string> = {};
    for (const line of text.split("\n")) {
      const m = (withCommented ? /^#?([A-Z][A-Z0-9_]*)=(.*)$/ : /^([A-Z][A-Z0-9_]*)=(.*)$/).exec(line);
      if (m) env[m[1]!] = m[2]!;
    }
    return env;
  };

  it("loads as it is, and its commented defaults are the gateway's defaults", () => {
    const plain = loadGatewayConfig([], entries(false));
    expect(plain.workerUrl).toMatch(/^https:/);
    const { SIP_LISTEN_PBX: _pbx, ...all } = entries(true);
    const uncommented = loadGatewayConfig([], all);
    for (const key of ["metricsListen", "logLevel", "shutdownGraceMs", "retryAfterS", "workerTimeoutMs", "workerConnections", "maxTransactions", "maxPendingDecisions", "flood", "t1", "t2", "t4", "timerC", "gatewaySecretPrevious"] as const) {
      expect(uncommented[key], key).toEqual(plain[key]);
    }
  });
});

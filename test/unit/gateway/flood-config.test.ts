import { describe, expect, it } from "vitest";
import { GatewayConfigError, loadGatewayConfig, USAGE } from "../../../edge-gateway/src/config";
import { DEFAULT_FLOOD_CONFIG, DEFAULT_UA_DENY } from "../../../edge-gateway/src/ingress/ingress-guard";

const SECRET = { GATEWAY_SECRET: "0123456789abcdef" };

describe("flood and log settings (config.ts)", () => {
  it("defaults: limit on, 200 datagrams per 2 s, 2 minutes' block, the scanner list", () => {
    const c = loadGatewayConfig([], SECRET);
    expect(c.flood).toEqual(DEFAULT_FLOOD_CONFIG);
    expect(c.flood).toMatchObject({ limit: true, windowMs: 2000, density: 200, blockMs: 120_000, exempt: [], uaDeny: DEFAULT_UA_DENY });
    expect(DEFAULT_UA_DENY).toEqual(expect.arrayContaining(["friendly-scanner", "sipvicious", "sipcli", "VaxSIPUserAgent"]));
  });

  it("environment and flags (flags win)", () => {
    const c = loadGatewayConfig(["--flood-density", "50", "--ua-deny", "off"], {
      ...SECRET,
      FLOOD_LIMIT: "off",
      FLOOD_WINDOW_S: "5",
      FLOOD_DENSITY: "80",
      FLOOD_BLOCK_S: "600",
      FLOOD_MAX_SOURCES: "5000",
      FLOOD_EXEMPT: "198.51.100.0/24, 2001:db8::/32 203.0.113.9",
      FLOOD_LEARNED_TTL_S: "120",
      UA_DENY: "friendly-scanner",
    });
    expect(c.flood).toEqual({
      limit: false,
      windowMs: 5000,
      density: 50,
      blockMs: 600_000,
      maxSources: 5000,
      exempt: ["198.51.100.0/24", "2001:db8::/32", "203.0.113.9"],
      learnedTtlMs: 120_000,
      uaDeny: [],
    });
    expect(loadGatewayConfig([], { ...SECRET, UA_DENY: "EvilDialer, sipvicious" }).flood?.uaDeny).toEqual(["EvilDialer", "sipvicious"]);
  });

  it("refuses bad values, naming the variable", () => {
    const bad: Record<string, string>[] = [
      { FLOOD_LIMIT: "maybe" },
      { FLOOD_DENSITY: "0" },
      { FLOOD_WINDOW_S: "1.5" },
      { FLOOD_BLOCK_S: "-1" },
      { FLOOD_MAX_SOURCES: "10" },
      { FLOOD_EXEMPT: "sbc.example.com" },
      { FLOOD_EXEMPT: "198.51.100.0/40" },
    ];
    for (const env of bad) {
      const name = Object.keys(env)[0]!;
      expect(() => loadGatewayConfig([], { ...SECRET, ...env }), name).toThrow(GatewayConfigError);
      expect(() => loadGatewayConfig([], { ...SECRET, ...env }), name).toThrow(new RegExp(name));
    }
  });

  it("--help lists every flood variable", () => {
    for (const v of ["FLOOD_LIMIT", "FLOOD_WINDOW_S", "FLOOD_DENSITY", "FLOOD_BLOCK_S", "FLOOD_MAX_SOURCES", "FLOOD_EXEMPT", "FLOOD_LEARNED_TTL_S", "UA_DENY", "LOG_LEVEL"]) {
      expect(USAGE).toContain(v);
    }
  });
});

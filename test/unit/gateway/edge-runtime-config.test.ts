import { describe, expect, it } from "vitest";
import { GatewayConfigError, loadEdgeRuntime, loadNodeRuntimeSettings } from "../../../edge-gateway/src/config";
import { DEFAULT_NODE_LIBSQL_URL, envFromProcess } from "../../../node-runtime/env";

describe("EDGE_RUNTIME", () => {
  it("is workers when unset or empty, node when asked, by variable or flag (the flag wins)", () => {
    expect(loadEdgeRuntime([], {})).toBe("workers");
    expect(loadEdgeRuntime([], { EDGE_RUNTIME: "" })).toBe("workers");
    expect(loadEdgeRuntime([], { EDGE_RUNTIME: "node" })).toBe("node");
    expect(loadEdgeRuntime(["--runtime", "workers"], { EDGE_RUNTIME: "node" })).toBe("workers");
    expect(loadEdgeRuntime(["--listen", "127.0.0.1:5060", "--runtime=node"], {})).toBe("node");
  });

  it("refuses anything else, naming the variable", () => {
    expect(() => loadEdgeRuntime([], { EDGE_RUNTIME: "Node" })).toThrow(GatewayConfigError);
    expect(() => loadEdgeRuntime([], { EDGE_RUNTIME: "bun" })).toThrow(/EDGE_RUNTIME/);
  });
});

describe("the node runtime's settings", () => {
  it("serve the admin API where edgectl looks by default, sweep every 60 s", () => {
    expect(loadNodeRuntimeSettings({})).toEqual({ adminListen: { ip: "127.0.0.1", port: 8787 }, sweepIntervalMs: 60_000 });
    expect(loadNodeRuntimeSettings({ ADMIN_LISTEN: "off", SWEEP_INTERVAL_S: "5" })).toEqual({ adminListen: undefined, sweepIntervalMs: 5000 });
    expect(() => loadNodeRuntimeSettings({ ADMIN_LISTEN: "localhost:8787" })).toThrow(/ADMIN_LISTEN/);
    expect(() => loadNodeRuntimeSettings({ SWEEP_INTERVAL_S: "0" })).toThrow(/SWEEP_INTERVAL_S/);
  });

  it("take the worker's bindings by the worker's names, the store defaulting to an embedded file", () => {
    const env = envFromProcess({ GATEWAY_SECRET: "s".repeat(16), ADMIN_TOKEN: "t".repeat(8), ANY_DOMAIN_LOOKUP: "on", PATH: "/bin" });
    expect(env).toEqual({ LIBSQL_URL: DEFAULT_NODE_LIBSQL_URL, GATEWAY_SECRET: "s".repeat(16), ADMIN_TOKEN: "t".repeat(8), ANY_DOMAIN_LOOKUP: "on" });
    expect(envFromProcess({ LIBSQL_URL: "libsql://db.example" }).LIBSQL_URL).toBe("libsql://db.example");
  });

  it("carries the registrar limits and the rotation secrets too (they were dropped before)", () => {
    const vars = { MAX_EXPIRES: "7200", MAX_CONTACTS: "3", REGISTER_CONTEXT_MAX_AGE_S: "50", GATEWAY_SECRET_PREVIOUS: "p".repeat(16), ADMIN_TOKEN_PREVIOUS: "q".repeat(8) };
    expect(envFromProcess(vars)).toMatchObject(vars);
  });
});

// What a REGISTER costs, measured on the running system: worker calls (the gateway's counters) and store
// round trips (the store endpoint's pipeline requests; in the node runtime, store operations), in both
// runtimes one after the other. Addresses: this file owns 127.0.14.x.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, TENANT_A_DOMAIN as A, type Upstream } from "../support/kamailio-upstream";
import { scenarioPath } from "../support/paths";
import { createTempDir, removeTempDir, stopAllStartedProcesses } from "../support/processes";
import { runSipp } from "../support/sipp";
import { RUNTIMES, startTestStack, type TestStack } from "../support/stack";

let work: string;
let upstream: Upstream;
let stack: TestStack;

function counters(): { requests: number; responses: number; store: number } {
  const m = stack.gateway.metrics;
  return {
    requests: m.get("edge_gateway_worker_calls_total", { kind: "request" }),
    responses: m.get("edge_gateway_worker_calls_total", { kind: "response" }),
    store: stack.storeRoundTrips(),
  };
}

function delta(before: ReturnType<typeof counters>): ReturnType<typeof counters> {
  const after = counters();
  return { requests: after.requests - before.requests, responses: after.responses - before.responses, store: after.store - before.store };
}

function register(ext: string, scenario: string, password?: string) {
  return runSipp({
    scenario: scenarioPath(scenario),
    target: "127.0.14.1:5060",
    bindIp: "127.0.14.21",
    bindPort: 5070,
    service: ext,
    keys: { domain: A, contact: "127.0.14.121:5070", expires: "300" },
    ...(password ? { auth: { user: ext, pass: password, uri: A } } : {}),
    workDir: work,
  });
}

describe.each(RUNTIMES)("%s runtime", (runtime) => {
  beforeAll(async () => {
    work = await createTempDir(`costs-${runtime}`);
    upstream = await startUpstream({ addrA: "127.0.14.11", addrB: "127.0.14.12", port: 5080 });
    // The production default: tenant configuration cached in the isolate for 5 s.
    stack = await startTestStack(work, { ip: "127.0.14.1", port: 5060 }, { runtime, workerVars: { TENANT_CACHE_TTL_MS: "5000" } });
    await stack.addTenant(A, `sip:${upstream.addrA}:${upstream.port}`);
    // Warm the isolate's tenant cache.
    await register("200", "phone-register-401-only.xml");
  });

  afterAll(async () => {
    await stack?.close();
    await upstream?.stop();
    await stopAllStartedProcesses();
    await removeTempDir(work);
  });

  describe("the cost of a REGISTER", () => {
    it("a REGISTER challenged with 401: one worker call, no store round trip", async () => {
      const before = counters();
      await register("201", "phone-register-401-only.xml");
      const d = delta(before);
      console.log(`cost of REGISTER -> 401: ${JSON.stringify(d)}`);
      expect(d).toEqual({ requests: 1, responses: 0, store: 0 });
    });

    it("a keep-alive OPTIONS to the gateway itself: no worker call, no store round trip", async () => {
      const before = counters();
      const r = await runSipp({
        scenario: scenarioPath("gateway-options-200.xml"),
        target: "127.0.14.1:5060",
        bindIp: "127.0.14.22",
        bindPort: 5070,
        workDir: work,
      });
      expect(r.statusLines.some((l) => l.startsWith("SIP/2.0 200"))).toBe(true);
      expect(delta(before)).toEqual({ requests: 0, responses: 0, store: 0 });
    });

    it("a digest registration (401, then 200): three worker calls in all, one store round trip for the save", async () => {
      const before = counters();
      await register("202", "phone-register-digest-200.xml", "secret");
      const d = delta(before);
      console.log(`cost of REGISTER -> 401 + REGISTER -> 200: ${JSON.stringify(d)}`);
      expect(d).toEqual({ requests: 2, responses: 1, store: 1 });
      expect(await stack.bindings(`202@${A}`)).toHaveLength(1);
    });
  });
});

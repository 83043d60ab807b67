// Dispatcher probing end to end (issue "Operations"): one tenant with two stand-in registrars, a third
// registrar for another tenant, a gateway that probes with short test intervals. One registrar is stopped
// mid-run: it is marked inactive within the configured time, registrations carry on through the other,
// calls from the tenant's boxes still reach the phone; after a restart it is active again; the other
// tenant's box never sees a request. The cases run in both runtimes (workers, then node), one after the
// other on the same addresses, each with registrars of its own (fresh bindings and request counters).
// Addresses: this file owns 127.0.30.x (see test/e2e/README.md):
//   .1:5060            the probing gateway under test, metrics off
//   .11:5080 / .13:5090   tenant-a's two registrars (stand-in-registrar.cfg instances 1 and 2, tenant-a socket);
//                      .12 / .14 their unused tenant-b sockets
//   .16:5100           tenant-b's registrar (instance 3; .15 its unused tenant-a socket)
//   .21:5070           the phone (its Contact says .121:5070); .11:5071 / .13:5071 tenant-a's boxes calling
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProbeSettings } from "../../edge-gateway/src/probe/probe-settings";
import { stableHash } from "../../worker/src/tenants/dispatcher-select";
import { startUpstream, TENANT_A_DOMAIN as A, TENANT_B_DOMAIN as B, UPSTREAM_PASSWORD, type Upstream } from "../support/kamailio-upstream";
import { scenarioPath } from "../support/paths";
import { createTempDir, removeTempDir, runningStartedPids, stopAllStartedProcesses, TIMED_OUT, waitAtMost } from "../support/processes";
import { registerWithDigest, runSipp, startSippUas } from "../support/sipp";
import { RUNTIMES, startTestStack, type TestStack } from "../support/stack";

const GW = { ip: "127.0.30.1", port: 5060 };
const GW_TARGET = `${GW.ip}:${GW.port}`;
const BOX1 = "sip:127.0.30.11:5080";
const BOX2 = "sip:127.0.30.13:5090";
const OTHER = "sip:127.0.30.16:5100";
const PHONE = { ip: "127.0.30.21", port: 5070, contact: "127.0.30.121:5070" };
const PROBE: ProbeSettings = {
  intervalMs: 300,
  timeoutMs: 250,
  failureThreshold: 2,
  successThreshold: 2,
  refreshMs: 500,
  replyCodes: "any",
  gatewayId: "e2e-probing",
};
/** Worst case from death to the report (interval + timeout + (failures - 1) * interval), plus slack for a busy machine. */
const DOWN_WITHIN_MS = PROBE.intervalMs + PROBE.timeoutMs + (PROBE.failureThreshold - 1) * PROBE.intervalMs + 2000;
/** Worst case from answering again to the report: refresh + successes * interval, plus the same slack. */
const UP_WITHIN_MS = PROBE.refreshMs + PROBE.successThreshold * PROBE.intervalMs + 2000;

const box1Args = { addrA: "127.0.30.11", addrB: "127.0.30.12", port: 5080 };
let work: string;
let stack: TestStack;
let box1: Upstream | undefined;
let box2: Upstream;
let other: Upstream;

/** A tenant-a extension that hashes to BOX1 while both boxes are active (the first of two equal weights). */
const EXT = ["201", "202", "203", "204", "205", "206", "207", "208"].find((e) => stableHash(`${e}@${A}`) % 2 === 0)!;

async function stateOf(uri: string): Promise<string | undefined> {
  const r = await stack.admin("GET", "/destinations");
  return (r.json as { destinations: { uri: string; state: string }[] }).destinations.find((d) => d.uri === uri)?.state;
}

/** Polls until `uri` has `state`; resolves to the milliseconds it took. */
async function waitForState(uri: string, state: string, withinMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if ((await stateOf(uri)) === state) return Date.now() - started;
    if (Date.now() - started > withinMs) throw new Error(`${uri} not ${state} within ${withinMs} ms (is ${await stateOf(uri)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function register(): Promise<void> {
  await registerWithDigest({ target: GW_TARGET, phone: PHONE, domain: A, password: UPSTREAM_PASSWORD, user: EXT, expires: 600, workDir: work });
}

/** A call from one of tenant-a's boxes (sipp on that box's address) to the phone, answered by it. */
async function callFrom(boxIp: string): Promise<void> {
  const phone = await startSippUas({
    scenario: scenarioPath("phone-uas-invite-answers.xml"),
    bindIp: PHONE.ip,
    bindPort: PHONE.port,
    service: EXT,
    keys: { contact: PHONE.contact },
    calls: 1,
    timeoutSec: 20,
    workDir: work,
  });
  try {
    const call = await runSipp({
      scenario: scenarioPath("pbx-invite-answered-then-bye.xml"),
      target: GW_TARGET,
      bindIp: boxIp,
      bindPort: 5071,
      service: EXT,
      workDir: work,
      timeoutSec: 15,
    });
    expect(call.log).toContain(`ANSWERED-BY ${PHONE.ip}:${PHONE.port}`);
    const done = await waitAtMost(phone.done, 10_000);
    expect(done).not.toBe(TIMED_OUT);
  } finally {
    await phone.stop();
  }
}

beforeAll(async () => {
  work = await createTempDir("dispatcher-probing");
});

afterAll(async () => {
  await stopAllStartedProcesses();
  expect(runningStartedPids()).toEqual([]);
  await removeTempDir(work);
});

describe.each(RUNTIMES)("%s runtime", (runtime) => {
  beforeAll(async () => {
    [box1, box2, other, stack] = await Promise.all([
      startUpstream(box1Args),
      startUpstream({ addrA: "127.0.30.13", addrB: "127.0.30.14", port: 5090 }),
      startUpstream({ addrA: "127.0.30.15", addrB: "127.0.30.16", port: 5100 }),
      startTestStack(work, GW, { runtime, probe: PROBE }),
    ]);
    await stack.addTenant(A, BOX1, BOX2);
    await stack.addTenant(B, OTHER);
    // The gateway probes from its start; it finds these two in its next list refresh.
    for (const uri of [BOX1, BOX2]) {
      const r = await stack.admin("POST", "/destinations/probe", { uri, probing: true });
      if (r.status !== 200) throw new Error(`probe on ${uri}: ${r.status} ${JSON.stringify(r.json)}`);
    }
  });

  afterAll(async () => {
    await Promise.allSettled([stack?.close(), box1?.stop(), box2?.stop(), other?.stop()]);
  });

  describe("dispatcher probing with two registrars in one tenant", () => {
    it("fails over when one stops and takes it back when it returns; the other tenant's box sees nothing", async () => {
      // Both answer their probes.
      const deadline = Date.now() + UP_WITHIN_MS;
      while (stack.gateway.prober?.viewOf("127.0.30.11", 5080) !== "up" || stack.gateway.prober?.viewOf("127.0.30.13", 5090) !== "up") {
        if (Date.now() > deadline) throw new Error("probes not answered");
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await stateOf(BOX1)).toBe("active");
      expect(await stateOf(BOX2)).toBe("active");

      await register();
      expect((await box1!.lookup(`${EXT}@${A}`)).length).toBe(1);
      expect((await box2.lookup(`${EXT}@${A}`)).length).toBe(0);

      // Box 1 dies.
      await box1!.stop();
      box1 = undefined;
      const downMs = await waitForState(BOX1, "inactive", DOWN_WITHIN_MS);
      expect(downMs).toBeLessThanOrEqual(DOWN_WITHIN_MS);
      expect(stack.gateway.metrics.get("edge_gateway_probe_state_changes_total", { state: "inactive" })).toBe(1);
      expect(await stack.gateway.metrics.render()).toMatch(/edge_gateway_probes_total\{result="timeout"\} [1-9]/);

      // The phone's refresh goes to the other box, and is granted.
      await register();
      expect((await box2.lookup(`${EXT}@${A}`)).length).toBe(1);
      // Calls from the tenant's boxes still reach the phone: the live one, and the dead one's address.
      await callFrom("127.0.30.13");
      await callFrom("127.0.30.11");

      // Box 1 returns.
      box1 = await startUpstream(box1Args);
      const upMs = await waitForState(BOX1, "active", UP_WITHIN_MS);
      expect(upMs).toBeLessThanOrEqual(UP_WITHIN_MS);
      expect(stack.gateway.metrics.get("edge_gateway_probe_state_changes_total", { state: "active" })).toBeGreaterThanOrEqual(1);
      await register();
      expect((await box1.lookup(`${EXT}@${A}`)).length).toBe(1);

      // The other tenant's registrar never received a request (it is not probed: probing is off for it).
      expect(await box2.requestsReceived()).toBeGreaterThan(0); // the counter counts
      expect(await other.requestsReceived()).toBe(0);
      expect(await stateOf(OTHER)).toBe("active");
    });

    it("an operator's disable holds against the probes and enable puts the box back", async () => {
      expect((await stack.admin("POST", "/destinations/disable", { uri: BOX2 })).status).toBe(200);
      // Several probe rounds and refreshes: the box answers, but stays disabled and unprobed.
      await new Promise((r) => setTimeout(r, PROBE.refreshMs * 3));
      expect(await stateOf(BOX2)).toBe("disabled");
      expect(stack.gateway.prober?.viewOf("127.0.30.13", 5090)).toBeUndefined();
      await register();
      expect((await box1!.lookup(`${EXT}@${A}`)).length).toBe(1);
      expect((await stack.admin("POST", "/destinations/enable", { uri: BOX2 })).status).toBe(200);
      expect(await stateOf(BOX2)).toBe("active");
    });
  });
});

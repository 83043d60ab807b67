// Failover within the transaction end to end (issue "Operations"): tenant-a has two boxes, the first one
// (the one the phone's AoR hashes to) dead: nothing listens on its address. A phone's single REGISTER
// transaction times out there and is carried on by the gateway to the second box, whose 200 is saved and
// reaches the phone, with no new REGISTER from the phone. A third registrar, tenant-b's, sees nothing.
// The case runs in both runtimes (workers, then node), one after the other on the same addresses, each
// with registrars of its own (fresh bindings and request counters).
// Addresses: this file owns 127.0.32.x (see test/e2e/README.md):
//   .1:5060            the gateway under test (T1 100 ms: the request's deadline is 64*T1 = 6.4 s)
//   .11:5080           tenant-a's first box: nothing listens there
//   .13:5090           tenant-a's second box (stand-in-registrar.cfg, tenant-a socket; .14 its tenant-b one)
//   .16:5100           tenant-b's registrar (stand-in-registrar.cfg, tenant-b socket; .15 its tenant-a one)
//   .21:5070           the phone (its Contact says .121:5070)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stableHash } from "../../worker/src/tenants/dispatcher-select";
import { startUpstream, TENANT_A_DOMAIN as A, TENANT_B_DOMAIN as B, type Upstream } from "../support/kamailio-upstream";
import { scenarioPath } from "../support/paths";
import { createTempDir, removeTempDir, runningStartedPids, stopAllStartedProcesses } from "../support/processes";
import { runSipp } from "../support/sipp";
import { RUNTIMES, startTestStack, type TestStack } from "../support/stack";

const GW = { ip: "127.0.32.1", port: 5060 };
const DEAD_BOX = "sip:127.0.32.11:5080";
const BOX2 = "sip:127.0.32.13:5090";
const OTHER = "sip:127.0.32.16:5100";
const PHONE = { ip: "127.0.32.21", port: 5070, contact: "127.0.32.121:5070" };
const T1 = 100;
/** 64*T1: the phone's own transaction time, which failover must stay within. */
const DEADLINE_MS = 64 * T1;

let work: string;
let stack: TestStack;
let box2: Upstream;
let other: Upstream;

/** A tenant-a user the stand-in registrar does not challenge (9xx) whose AoR hashes to the dead box (the first of two equal weights). */
const EXT = ["901", "902", "903", "904", "905", "906", "907", "908"].find((e) => stableHash(`${e}@${A}`) % 2 === 0)!;

beforeAll(async () => {
  work = await createTempDir("failover");
});

afterAll(async () => {
  await stopAllStartedProcesses();
  expect(runningStartedPids()).toEqual([]);
  await removeTempDir(work);
});

describe.each(RUNTIMES)("%s runtime", (runtime) => {
  beforeAll(async () => {
    [box2, other, stack] = await Promise.all([
      startUpstream({ addrA: "127.0.32.13", addrB: "127.0.32.14", port: 5090 }),
      startUpstream({ addrA: "127.0.32.15", addrB: "127.0.32.16", port: 5100 }),
      startTestStack(work, GW, { runtime, timers: { t1: T1, t2: 4 * T1 } }),
    ]);
    await stack.addTenant(A, DEAD_BOX, BOX2);
    await stack.addTenant(B, OTHER);
  });

  afterAll(async () => {
    await Promise.allSettled([stack?.close(), box2?.stop(), other?.stop()]);
  });

  describe("failover to the tenant's next box within the transaction", () => {
    it("a REGISTER unanswered by the first box gets its 200 from the second one in the same transaction; the other tenant's box sees nothing", async () => {
      const started = Date.now();
      const run = await runSipp({
        scenario: scenarioPath("phone-register-once-200.xml"),
        target: `${GW.ip}:${GW.port}`,
        bindIp: PHONE.ip,
        bindPort: PHONE.port,
        service: EXT,
        keys: { domain: A, contact: PHONE.contact, expires: "600" },
        workDir: work,
        timeoutSec: 15,
        recvTimeoutMs: DEADLINE_MS + 2000,
      });
      const tookMs = Date.now() - started;
      // One transaction: the phone sent one REGISTER (retransmissions of it aside) and got its 200.
      expect(run.log.join("\n")).toContain("200 after one transaction: cseq=1 REGISTER");
      expect(run.statusLines.filter((l) => !l.startsWith("SIP/2.0 100"))).toEqual(["SIP/2.0 200 OK"]);
      // The first box had half of the 64*T1 (one alternative after it); the whole stays within 64*T1.
      expect(tookMs).toBeGreaterThanOrEqual(DEADLINE_MS / 2 - 200);
      expect(tookMs).toBeLessThan(DEADLINE_MS + 1000);
      expect(stack.gateway.metrics.get("edge_gateway_failovers_total", { method: "REGISTER" })).toBe(1);

      // Saved on the 2xx of the second box, by the registrar that answered and by us.
      expect((await box2.lookup(`${EXT}@${A}`)).length).toBe(1);
      expect((await stack.bindings(`${EXT}@${A}`)).length).toBe(1);
      // Never another tenant's box.
      expect(await box2.requestsReceived()).toBeGreaterThan(0); // the counter counts
      expect(await other.requestsReceived()).toBe(0);
      console.log(`failover e2e (${runtime}): 200 after ${tookMs} ms (T1 ${T1} ms, first box given ${DEADLINE_MS / 2} ms)`);
    });
  });
});

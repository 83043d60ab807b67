// edgectl rollback-check against a running gateway: real gateway + worker + store, the Kamailio stand-in
// registrar, sipp phones. Tenant A's phones register fine (401, then 200); tenant B's use a wrong password
// (401, then the registrar's 403). Within one window rollback-check reports tenant B over the 5 %
// registration-failure threshold and exits 7; tenant A is fine.
// Addresses: this file owns 127.0.29.x (gateway .1:5060, registrars .11/.12:5080, phones of A .21:5070 and
// of B .22:5070, contacts .121/.122; the gateway's metrics on 127.0.0.1, a free port).
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../cli/edgectl";
import { startUpstream, TENANT_A_DOMAIN as A, TENANT_B_DOMAIN as B, type Upstream } from "../support/kamailio-upstream";
import { scenarioPath } from "../support/paths";
import { createTempDir, removeTempDir, stopAllStartedProcesses } from "../support/processes";
import { runSipp } from "../support/sipp";
import { startTestStack, type TestStack } from "../support/stack";

const GW = { ip: "127.0.29.1", port: 5060 };
const CALLS = 10;
const WINDOW_S = 8;
let work: string;
let baselineDir: string;
let upstream: Upstream;
let stack: TestStack;

beforeAll(async () => {
  work = await createTempDir("rollback-check");
  baselineDir = await mkdtemp(join(tmpdir(), "edge-rollback-check-"));
  upstream = await startUpstream({ addrA: "127.0.29.11", addrB: "127.0.29.12", port: 5080 });
  stack = await startTestStack(work, GW, { metricsPort: 0 });
  await stack.addTenant(A, `sip:${upstream.addrA}:${upstream.port}`);
  await stack.addTenant(B, `sip:${upstream.addrB}:${upstream.port}`);
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await upstream?.stop();
  await stopAllStartedProcesses();
  await removeTempDir(work);
  if (baselineDir) await rm(baselineDir, { recursive: true, force: true });
});

function phones(domain: string, ext: string, from: string, contact: string, password: string, scenario: string) {
  return runSipp({
    scenario: scenarioPath(scenario),
    target: `${GW.ip}:${GW.port}`,
    bindIp: from,
    bindPort: 5070,
    service: ext,
    calls: CALLS,
    keys: { domain, contact: `${contact}:5070`, expires: "300" },
    auth: { user: ext, pass: password, uri: domain },
    workDir: work,
    timeoutSec: 30,
  });
}

/** Runs edgectl in-process, with the real fetch and the real clock. */
async function edgectl(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env: {} });
  return { code, stdout, stderr };
}

interface JsonRow {
  tenant: string;
  registrationFailures: { pct: number | null; failed: number; total: number; fired: boolean };
  addedLatencyP99: { ms: number | null };
}

describe("edgectl rollback-check against a running gateway", () => {
  it("tenant B's 403s fire the registration trigger (exit 7); tenant A is within it", async () => {
    const url = `${stack.gateway.metricsUrl!}/metrics`;
    const baseline = join(baselineDir, "baseline.json");
    const json = edgectl(["rollback-check", "--metrics", url, "--window", String(WINDOW_S), "--json", "--save-baseline", baseline]);
    const text = edgectl(["rollback-check", "--metrics", url, "--window", String(WINDOW_S)]);
    // The first samples are taken at once; the traffic comes after them and ends well within the window.
    await new Promise((r) => setTimeout(r, 1000));
    const started = Date.now();
    await Promise.all([
      phones(A, "231", "127.0.29.21", "127.0.29.121", "secret", "phone-register-digest-200.xml"),
      phones(B, "232", "127.0.29.22", "127.0.29.122", "wrong", "phone-register-wrong-password-403.xml"),
    ]);
    expect(Date.now() - started).toBeLessThan((WINDOW_S - 2) * 1000);

    const j = await json;
    expect(j.code).toBe(7);
    const report = JSON.parse(j.stdout) as { fired: boolean; triggers: string[]; tenants: JsonRow[] };
    const row = (tenant: string) => report.tenants.find((t) => t.tenant === tenant);
    expect(report.fired).toBe(true);
    expect(row(A)?.registrationFailures).toEqual({ pct: 0, failed: 0, total: CALLS, thresholdPct: 5, fired: false });
    expect(row(B)?.registrationFailures).toEqual({ pct: 100, failed: CALLS, total: CALLS, thresholdPct: 5, fired: true });
    expect(row("all")?.registrationFailures).toMatchObject({ pct: 50, fired: true });
    expect(report.triggers).toEqual(["overall: registration failures 50.0 % > 5 %", `tenant ${B}: registration failures 100.0 % > 5 %`]);
    // Every REGISTER was relayed twice (the challenged one and the one with credentials): 2 * CALLS timed.
    expect(row(A)?.addedLatencyP99.ms).toBeGreaterThan(0);
    const saved = JSON.parse(await readFile(baseline, "utf8")) as { p99Ms: { all: number; tenants: Record<string, number> } };
    expect(Object.keys(saved.p99Ms.tenants).sort()).toEqual([A, B]);
    expect(saved.p99Ms.all).toBeGreaterThan(0);

    const t = await text;
    expect(t.code).toBe(7);
    expect(t.stdout).toMatch(new RegExp(`^${A.replace(/\./g, "\\.")} +0\\.0 % \\(0/${CALLS}\\) +ok `, "m"));
    expect(t.stdout).toMatch(new RegExp(`^${B.replace(/\./g, "\\.")} +100\\.0 % \\(${CALLS}/${CALLS}\\) +FIRED `, "m"));
    expect(t.stdout).toContain("ROLLBACK TRIGGERS FIRED:");

    // The gateway's own counters agree: the challenges are counted, apart.
    const metrics = await (await fetch(url)).text();
    expect(metrics).toContain(`edge_gateway_register_outcomes_total{tenant="${A}",outcome="challenged"} ${CALLS}`);
    expect(metrics).toContain(`edge_gateway_register_outcomes_total{tenant="${B}",outcome="failed"} ${CALLS}`);
    expect(metrics).toContain(`edge_gateway_added_latency_seconds_count{tenant="${A}"} ${2 * CALLS}`);
  }, 60_000);

  it("a quiet window fires nothing and exits 0; the saved baseline is compared", async () => {
    const url = `${stack.gateway.metricsUrl!}/metrics`;
    const r = await edgectl(["rollback-check", "--metrics", url, "--window", "1", "--baseline", join(baselineDir, "baseline.json")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("no rollback trigger fired");
    expect(r.stdout).toMatch(/^all +n\/a \(0\/0\) +- /m);
  });
});

// Graceful shutdown of a real gateway process (`node edge-gateway/src/main.ts`, as systemd runs it) on
// SIGTERM: /ready turns 503, a new REGISTER gets 503 + Retry-After, a call in progress is answered and
// hung up through it, and the process exits 0 well within SHUTDOWN_GRACE_MS; a call still ringing at the
// bound is CANCELled downstream and answered 503 upstream. LOG_LEVEL reaches the pino logger of the process.
// Addresses: this file owns 127.0.24.x (see test/e2e/README.md):
//   .1:5060        the local stack's in-process gateway (unused here)
//   .2:5060        the gateway process under test; its /metrics, /health, /ready on .2:9060 (TCP)
//   .11:5080       the tenant's PBX (sipp)
//   .21:5070       the phone placing calls (sipp); .121:5070 what its Contact says
//   .31:5090       a phone registering during the drain (a raw UDP socket)
import dgram from "node:dgram";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, scenarioPath } from "../support/paths";
import { createTempDir, removeTempDir, startProcess, stopAllStartedProcesses, TIMED_OUT, waitAtMost, waitForUdpPort, waitForUdpPortFree, type ManagedProcess } from "../support/processes";
import { runSipp, startSippUas, type SippUas } from "../support/sipp";
import { startTestStack, type TestStack } from "../support/stack";

const DOMAIN = "drain.example";
const GW = { ip: "127.0.24.2", port: 5060 };
const GW_TARGET = `${GW.ip}:${GW.port}`;
const READY_URL = `http://${GW.ip}:9060/ready`;
const PBX = { ip: "127.0.24.11", port: 5080 };
const PHONE = { ip: "127.0.24.21", port: 5070, contact: "127.0.24.121:5070" };
const REGISTERING = { ip: "127.0.24.31", port: 5090 };

let work: string;
let stack: TestStack;

beforeAll(async () => {
  work = await createTempDir("shutdown");
  stack = await startTestStack(work, { ip: "127.0.24.1", port: 5060 });
  await stack.addTenant(DOMAIN, `sip:${PBX.ip}:${PBX.port}`);
});

afterAll(async () => {
  await stack?.close();
  await stopAllStartedProcesses();
  await removeTempDir(work);
});

/** The gateway as a process of its own, configured only by environment variables (the unit's EnvironmentFile). */
async function startGatewayProcess(name: string, env: Record<string, string>): Promise<ManagedProcess> {
  await waitForUdpPortFree(GW.ip, GW.port, { timeoutMs: 5000 });
  const proc = startProcess({
    name,
    command: process.execPath,
    args: ["--import", "tsx", path.join(REPO_ROOT, "edge-gateway/src/main.ts")],
    logDir: work,
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      GATEWAY_SECRET: "dev-gateway-secret-0123456789",
      WORKER_URL: stack.workerUrl,
      SIP_LISTEN: GW_TARGET,
      METRICS_LISTEN: `${GW.ip}:9060`,
      ...env,
    },
  });
  await waitForUdpPort(GW.ip, GW.port, { timeoutMs: 20_000, process: proc });
  return proc;
}

async function ready(): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(READY_URL);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The PBX got the INVITE: the call is in progress at the gateway. */
/** The phone calls 202 through the gateway with the given scenario. */
function phoneCalls202(scenario: string): ReturnType<typeof runSipp> {
  return runSipp({
    scenario: scenarioPath(scenario),
    target: GW_TARGET,
    bindIp: PHONE.ip,
    bindPort: PHONE.port,
    service: "201",
    keys: { domain: DOMAIN, contact: PHONE.contact, dial: "202" },
    workDir: work,
    timeoutSec: 20,
  });
}

function inviteReached(pbx: SippUas): Promise<true> {
  return until("the INVITE at the PBX", async () => ((await pbx.requests()).some((l) => l.startsWith("INVITE")) ? true : undefined), 10_000);
}

/** One REGISTER from a fresh socket; resolves with the first response's text. */
async function registerOnce(): Promise<string> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(REGISTERING.port, REGISTERING.ip, resolve));
  try {
    const answer = new Promise<string>((resolve) => socket.once("message", (m) => resolve(m.toString("utf8"))));
    const msg = [
      `REGISTER sip:${DOMAIN} SIP/2.0`,
      `Via: SIP/2.0/UDP ${REGISTERING.ip}:${REGISTERING.port};rport;branch=z9hG4bK-drain-${Date.now()}`,
      "Max-Forwards: 70",
      `From: <sip:301@${DOMAIN}>;tag=drain-1`,
      `To: <sip:301@${DOMAIN}>`,
      `Call-ID: drain-register-${Date.now()}@${REGISTERING.ip}`,
      "CSeq: 1 REGISTER",
      `Contact: <sip:301@${REGISTERING.ip}:${REGISTERING.port}>`,
      "Expires: 300",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    socket.send(msg, GW.port, GW.ip);
    const got = await waitAtMost(answer, 3000);
    if (got === TIMED_OUT) throw new Error("no answer to the REGISTER");
    return got;
  } finally {
    socket.close();
  }
}

/** The pino lines of a gateway process, parsed. */
async function logLines(proc: ManagedProcess): Promise<{ level: number | string; msg: string; [k: string]: unknown }[]> {
  const text = await readFile(proc.stdoutPath, "utf8");
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { level: number | string; msg: string });
}

describe("SIGTERM: the gateway drains, then exits 0", () => {
  it("a call in progress finishes, a new REGISTER gets 503 + Retry-After, /ready is 503, exit 0 within the bound", async () => {
    const GRACE_MS = 15_000;
    const gw = await startGatewayProcess("gateway-drain", { SHUTDOWN_GRACE_MS: String(GRACE_MS), LOG_LEVEL: "info", RETRY_AFTER_S: "4" });
    // Ready without any SIP traffic: the probe reached the worker (and its store).
    const before = await until("/ready 200", async () => {
      const r = await ready();
      return r.status === 200 ? r : undefined;
    }, 15_000);
    expect(before.body).toMatchObject({ status: "ready", sockets: true, worker: true, draining: false });

    const pbx = await startSippUas({ scenario: scenarioPath("pbx-uas-rings-then-answers.xml"), bindIp: PBX.ip, bindPort: PBX.port, service: "202", calls: 1, timeoutSec: 30, extraArgs: ["-d", "2500"], workDir: work });
    const call = phoneCalls202("phone-uac-invite-to-pbx.xml");
    await inviteReached(pbx);

    const signalledAt = Date.now();
    process.kill(gw.pid, "SIGTERM");
    const during = await until("/ready 503", async () => {
      const r = await ready();
      return r.status === 503 ? r : undefined;
    }, 2000);
    expect(during.body).toMatchObject({ status: "not_ready", draining: true, worker: true });

    // RFC 3261 21.5.4 / RFC 3263 4.3: 503 with Retry-After, so that the phone tries its next server.
    const answer = await registerOnce();
    expect(answer).toMatch(/^SIP\/2\.0 503 Service Unavailable\r\n/);
    expect(answer).toMatch(/\r\nRetry-After: [4-8]\r\n/);

    // The call that was ringing is answered and hung up through the draining gateway.
    const result = await call;
    expect(result.log).toContain(`ANSWERED-BY ${PBX.ip}:${PBX.port}`);
    expect(result.log).toContain("BYE answered SIP/2.0 200 OK");
    expect((await pbx.done).log).toEqual(expect.arrayContaining([expect.stringMatching(/^got ACK /), expect.stringMatching(/^got BYE /)]));

    const exit = await waitAtMost(gw.exited, GRACE_MS + 5000);
    const tookMs = Date.now() - signalledAt;
    expect(exit).toEqual({ code: 0, signal: null });
    // Nothing was left at the bound: it exited once the call was answered (plus the 2*T1 linger).
    expect(tookMs).toBeLessThan(GRACE_MS);
    const lines = await logLines(gw);
    expect(lines.find((l) => l.msg === "drained")).toMatchObject({ ended: 0 });
    expect(lines.some((l) => l.msg === "gateway listening")).toBe(true);
  });

  it("at the bound a call still ringing is CANCELled towards the PBX and answered 503 to the phone; LOG_LEVEL=warn hides info lines", async () => {
    const GRACE_MS = 1500;
    const gw = await startGatewayProcess("gateway-bound", { SHUTDOWN_GRACE_MS: String(GRACE_MS), LOG_LEVEL: "warn" });
    await until("/ready 200", async () => ((await ready()).status === 200 ? true : undefined), 15_000);
    const pbx = await startSippUas({ scenario: scenarioPath("pbx-uas-trying-only-until-cancelled.xml"), bindIp: PBX.ip, bindPort: PBX.port, service: "202", calls: 1, timeoutSec: 30, workDir: work });
    const call = phoneCalls202("phone-uac-invite-expect-503.xml");
    await inviteReached(pbx);
    const signalledAt = Date.now();
    process.kill(gw.pid, "SIGTERM");

    const result = await call;
    expect(result.log.find((l) => l.startsWith("GOT 503"))).toMatch(/^GOT 503 retry-after=\d+$/);
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
    // 9.1: the PBX got the CANCEL (its scenario fails without one).
    expect((await pbx.done).log).toEqual(expect.arrayContaining([expect.stringMatching(/^got CANCEL /)]));

    const exit = await waitAtMost(gw.exited, GRACE_MS + 5000);
    expect(exit).toEqual({ code: 0, signal: null });
    const lines = await logLines(gw);
    expect(lines.find((l) => l.msg === "drain bound reached: transactions ended with 503")).toMatchObject({ ended: 1 });
    // LOG_LEVEL=warn: the info lines ("gateway listening", "draining") are not written.
    expect(lines.some((l) => l.msg === "gateway listening" || l.msg === "draining")).toBe(false);
  });
});

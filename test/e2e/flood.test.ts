// A flood end to end over real UDP: one source sends thousands of scanner OPTIONS per second at the gateway
// while a real phone (sipp) keeps registering through the Kamailio stand-in registrar and answering calls from
// its tenant's Asterisk (a sipp PBX). The phone loses nothing; the flooder is blocked, gets no answers once
// blocked, and /metrics says so. Then a scanner's User-Agent is dropped without an answer.
// Addresses: this file owns 127.0.19.x (see test/e2e/README.md):
//   .1:5060          the gateway
//   .11 / .12:5080   the stand-in registrar (tenant-a / tenant-b); .11:5071 tenant-a's Asterisk placing calls
//   .21:5070         the phone (NAT public side); .121:5070 what its Contact says
//   .41:5071         the flooder; .42:5071 a scanner with a known User-Agent
// Both runtimes (workers, then node), one after the other on the same addresses.
import dgram from "node:dgram";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, TENANT_A_DOMAIN as A, TENANT_B_DOMAIN as B, UPSTREAM_PASSWORD, type Upstream } from "../support/kamailio-upstream";
import { REPO_ROOT, scenarioPath } from "../support/paths";
import { createTempDir, removeTempDir, startProcess, stopAllStartedProcesses, TIMED_OUT, waitAtMost } from "../support/processes";
import { registerWithDigest, runSipp, startSippUas } from "../support/sipp";
import { RUNTIMES, startTestStack, type TestStack } from "../support/stack";

const GW = { ip: "127.0.19.1", port: 5060 };
const GW_TARGET = `${GW.ip}:${GW.port}`;
const PHONE = { ip: "127.0.19.21", port: 5070, contact: "127.0.19.121:5070" };
const ASTERISK_CALLS = { ip: "127.0.19.11", port: 5071 };
const FLOODER = { ip: "127.0.19.41", port: 5071 };
const SCANNER = { ip: "127.0.19.42", port: 5071 };
/** The flood: 4000 OPTIONS per second for 5 seconds, from one address. */
const FLOOD_RATE = 4000;
const FLOOD_SECONDS = 5;

describe.each(RUNTIMES)("%s runtime", (runtime) => {
  let work: string;
  let upstream: Upstream;
  let stack: TestStack;

  beforeAll(async () => {
    work = await createTempDir(`flood-${runtime}`);
    upstream = await startUpstream({ addrA: "127.0.19.11", addrB: "127.0.19.12", port: 5080 });
    // The gateway's defaults (no flood option): what production runs.
    stack = await startTestStack(work, GW, { runtime, metricsPort: 0 });
    await stack.addTenant(A, `sip:${upstream.addrA}:${upstream.port}`);
    await stack.addTenant(B, `sip:${upstream.addrB}:${upstream.port}`);
  });

  afterAll(async () => {
    await stack?.close();
    await upstream?.stop();
    await stopAllStartedProcesses();
    await removeTempDir(work);
  });

  async function metrics(): Promise<string> {
    const res = await fetch(`${stack.gateway.metricsUrl!}/metrics`);
    return res.text();
  }

  function series(text: string, name: string): number {
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
  }

  /** The phone registers (REGISTER, 401, REGISTER with credentials, 200); runSipp rejects on anything else. */
  async function register(): Promise<void> {
    await registerWithDigest({ target: GW_TARGET, phone: PHONE, domain: A, password: UPSTREAM_PASSWORD, workDir: work, timeoutSec: 15 });
  }

  /** Tenant-a's Asterisk calls the phone, which answers; the Asterisk hangs up. Both sides must complete. */
  async function call(): Promise<void> {
    const phone = await startSippUas({
      scenario: scenarioPath("phone-uas-invite-answers.xml"),
      bindIp: PHONE.ip,
      bindPort: PHONE.port,
      service: "201",
      keys: { contact: PHONE.contact },
      calls: 1,
      timeoutSec: 20,
      workDir: work,
    });
    const pbx = await runSipp({
      scenario: scenarioPath("pbx-invite-answered-then-bye.xml"),
      target: GW_TARGET,
      bindIp: ASTERISK_CALLS.ip,
      bindPort: ASTERISK_CALLS.port,
      service: "201",
      workDir: work,
      timeoutSec: 15,
    });
    expect(pbx.log.some((l) => l.includes(`ANSWERED-BY ${PHONE.ip}:${PHONE.port}`)), pbx.log.join("\n")).toBe(true);
    const answered = await waitAtMost(phone.done, 10_000);
    if (answered === TIMED_OUT) {
      await phone.stop();
      throw new Error("the phone did not finish its call");
    }
    expect(answered.exitCode, answered.errors).toBe(0);
  }

  describe("a flood from one source", () => {
    it("blocks the flooder while a phone keeps registering and answering its Asterisk's calls", async () => {
      await register();
      await call();
      const before = await metrics();
      expect(series(before, "edge_gateway_ingress_blocks_total")).toBe(0);

      const flooder = startProcess({
        name: "udp-flooder",
        command: process.execPath,
        args: ["--import", "tsx", path.join(REPO_ROOT, "test/support/udp-flooder.ts"), GW_TARGET, `${FLOODER.ip}:${FLOODER.port}`, String(FLOOD_RATE), String(FLOOD_SECONDS)],
        logDir: work,
        cwd: REPO_ROOT,
      });
      // Give the flood a head start, so that every exchange below happens under it.
      await new Promise((r) => setTimeout(r, 500));
      let cycles = 0;
      while (flooder.running) {
        await register();
        await call();
        if (flooder.running) cycles++;
      }
      const exit = await waitAtMost(flooder.exited, 15_000);
      expect(exit, await flooder.output()).toMatchObject({ code: 0 });
      const report = JSON.parse((await flooder.output()).trim().split("\n").find((l) => l.startsWith("{")) ?? "{}") as { sent: number; received: number };

      // The phone lost nothing: every REGISTER got its 200, every call was answered (runSipp and call() throw
      // otherwise), in at least two full rounds while the flood went on.
      expect(cycles).toBeGreaterThanOrEqual(2);
      expect(report.sent).toBe(FLOOD_RATE * FLOOD_SECONDS);

      const after = await metrics();
      const dropped = series(after, 'edge_gateway_ingress_dropped_total{reason="rate"}');
      // The flooder got through up to the density (200 per 2 s) and was then blocked for good: everything else
      // was dropped before parsing, and never answered.
      expect(series(after, "edge_gateway_ingress_blocks_total")).toBe(1);
      expect(series(after, "edge_gateway_ingress_blocked_sources")).toBe(1);
      expect(dropped).toBeGreaterThanOrEqual(report.sent - 250);
      expect(report.received).toBeLessThanOrEqual(2 * 250);
      // The Asterisk's address was learned from the REGISTER relays (never limited); nothing else was blocked.
      expect(stack.gateway.ingress.isExempt(upstream.addrA)).toBe(true);
    }, 120_000);

    it("a known scanner's User-Agent is dropped without an answer", async () => {
      const socket = dgram.createSocket("udp4");
      await new Promise<void>((r) => socket.bind(SCANNER.port, SCANNER.ip, () => r()));
      const answers: string[] = [];
      socket.on("message", (m) => answers.push(m.toString("utf8").split("\r\n")[0] ?? ""));
      const register = [
        `REGISTER sip:${A} SIP/2.0`,
        `Via: SIP/2.0/UDP ${SCANNER.ip}:${SCANNER.port};branch=z9hG4bK-sv-1;rport`,
        "Max-Forwards: 70",
        `From: "100" <sip:100@${A}>;tag=sv1`,
        `To: "100" <sip:100@${A}>`,
        "Call-ID: sv-1@e2e",
        "CSeq: 1 REGISTER",
        `Contact: <sip:100@${SCANNER.ip}:${SCANNER.port}>`,
        "User-Agent: friendly-scanner",
        "Expires: 3600",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
      socket.send(register, GW.port, GW.ip);
      await new Promise((r) => setTimeout(r, 1500));
      socket.close();
      expect(answers).toEqual([]);
      expect(series(await metrics(), 'edge_gateway_ingress_dropped_total{reason="user-agent"}')).toBe(1);
    });
  });
});

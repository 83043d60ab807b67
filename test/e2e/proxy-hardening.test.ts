// The proxy core's hardening against real peers over UDP (sipp): a callee that sends only 100 Trying and is
// then CANCELled, and a stranger trying to use the gateway as an open relay.
// Addresses: this file owns 127.0.17.x (see test/e2e/README.md):
//   .1:5060        the gateway
//   .11:5080       tenant-a's PBX (sipp server)
//   .21:5070       a phone (sipp client); .121:5070 what its Contact says
//   .31:5070       a stranger (sipp client)
//   .41:5090       a spoofer (raw UDP socket)
//   .66:5060       the strangers' intended victim (must receive nothing)
// Both runtimes (workers, then node), one after the other on the same addresses.
import { createSocket, type Socket } from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scenarioPath } from "../support/paths";
import { createTempDir, removeTempDir, stopAllStartedProcesses, TIMED_OUT, waitAtMost } from "../support/processes";
import { receivedRequestLines, runSipp, startSippUas } from "../support/sipp";
import { RUNTIMES, startTestStack, type TestStack } from "../support/stack";

const DOMAIN = "tenant-a.example";
const GW = { ip: "127.0.17.1", port: 5060 };
const GW_TARGET = `${GW.ip}:${GW.port}`;
const PBX = { ip: "127.0.17.11", port: 5080 };

describe.each(RUNTIMES)("%s runtime", (runtime) => {
  let work: string;
  let stack: TestStack;

  beforeAll(async () => {
    work = await createTempDir(`proxy-hardening-${runtime}`);
    stack = await startTestStack(work, GW, { runtime, timers: { t1: 100 } });
    await stack.addTenant(DOMAIN, `sip:${PBX.ip}:${PBX.port}`);
  });

  afterAll(async () => {
    await stack?.close();
    await stopAllStartedProcesses();
    if (work) await removeTempDir(work);
  });

  describe("CANCEL after only 100 Trying (RFC 3261 9.1, 16.10)", () => {
    it("the callee that sent only 100 gets the CANCEL at once, and the caller ends with 487 in well under Timer C", async () => {
      // Old core: the CANCEL was held for a non-100 provisional that never came; the PBX never got it and
      // the caller waited for Timer C's 408 (181 s), so this run timed out.
      const pbx = await startSippUas({
        scenario: scenarioPath("pbx-uas-trying-only-until-cancelled.xml"),
        bindIp: PBX.ip,
        bindPort: PBX.port,
        service: "202",
        calls: 1,
        timeoutSec: 20,
        workDir: work,
      });
      const started = Date.now();
      const call = await runSipp({
        scenario: scenarioPath("phone-uac-invite-cancel-after-trying.xml"),
        target: GW_TARGET,
        bindIp: "127.0.17.21",
        bindPort: 5070,
        service: "201",
        keys: { domain: DOMAIN, contact: "127.0.17.121:5070", dial: "202" },
        workDir: work,
        timeoutSec: 15,
      });
      expect(call.log).toEqual(["CANCEL answered SIP/2.0 200 OK", "INVITE answered SIP/2.0 487 Request Terminated"]);
      expect(Date.now() - started).toBeLessThan(10_000);
      const done = await waitAtMost(pbx.done, 10_000);
      if (done === TIMED_OUT) throw new Error(`the PBX was never CANCELled; it received: ${receivedRequestLines((await pbx.stop()).messages).join(" | ")}`);
      expect(done.exitCode).toBe(0);
      expect(done.log).toEqual([`got INVITE sip:202@${DOMAIN}`, `got CANCEL sip:202@${DOMAIN}`]);
    });
  });

  describe("no open relay", () => {
    it("a stranger's BYE with a To tag and a Route naming the gateway, but no dialog proof, gets 403 and reaches nobody", async () => {
      // Old core: relayed to the Request-URI's host, the victim.
      const victim = await startSippUas({
        scenario: scenarioPath("phone-uas-options-200.xml"),
        bindIp: "127.0.17.66",
        bindPort: 5060,
        service: "201",
        keys: { contact: "127.0.17.66:5060" },
        timeoutSec: 20,
        workDir: work,
      });
      const before = stack.gateway.metrics.get("edge_gateway_rejections_total", { reason: "dialog_proof" });
      const r = await runSipp({
        scenario: scenarioPath("stranger-bye-expect-403.xml"),
        target: GW_TARGET,
        bindIp: "127.0.17.31",
        bindPort: 5070,
        service: "201",
        keys: { victim: "127.0.17.66:5060", gw: GW_TARGET },
        workDir: work,
        timeoutSec: 10,
      });
      expect(r.log).toEqual(["BYE answered SIP/2.0 403 Not A Dialog Of This Proxy"]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(receivedRequestLines((await victim.stop()).messages)).toEqual([]);
      expect(stack.gateway.metrics.get("edge_gateway_rejections_total", { reason: "dialog_proof" })).toBe(before + 1);
    });
  });

  /** A UDP socket bound on a loopback address that records every datagram's first line. */
  async function udpPeer(ip: string, port: number): Promise<{ socket: Socket; lines: string[] }> {
    const socket = createSocket("udp4");
    const lines: string[] = [];
    socket.on("message", (msg) => lines.push(msg.toString("utf8").split("\r\n")[0] ?? ""));
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, ip, () => resolve());
    });
    return { socket, lines };
  }

  describe("no reflection, no amplification", () => {
    it("a spoofed INVITE naming a victim in received/rport costs one 403 to its real source, nothing to the victim", async () => {
      // Old core: the 100 and the 403 went to the victim named in `received`, and the 403 was retransmitted by
      // Timer G until Timer H (with T1 = 100 ms: about ten more datagrams in these 3 s). Then a 100 and a 403:
      // the 100 is now held while the worker decides, and a rejection decided within 200 ms goes alone.
      const spoofer = await udpPeer("127.0.17.41", 5090);
      const victim = await udpPeer("127.0.17.66", 5060);
      try {
        const invite = [
          "INVITE sip:999@nobody.example SIP/2.0",
          "Via: SIP/2.0/UDP 127.0.17.41:5090;branch=z9hG4bK-spoof-1;received=127.0.17.66;rport=5060",
          "Max-Forwards: 70",
          "From: <sip:spoofer@nobody.example>;tag=s1",
          "To: <sip:999@nobody.example>",
          "Call-ID: spoof-1@127.0.17.41",
          "CSeq: 1 INVITE",
          "Content-Length: 0",
          "",
          "",
        ].join("\r\n");
        spoofer.socket.send(invite, GW.port, GW.ip);
        await new Promise((resolve) => setTimeout(resolve, 3000));
        expect(spoofer.lines).toEqual(["SIP/2.0 403 Forbidden"]);
        expect(victim.lines).toEqual([]);
      } finally {
        spoofer.socket.close();
        victim.socket.close();
      }
    });
  });
});

// Interop with a real user agent: baresip (headless, driven over ctrl_tcp) registers through our gateway to
// the Kamailio stand-in registrar with digest auth, auto-answers a call from its tenant's PBX (a sipp UAC on
// the PBX's address), and un-registers when stopped with SIGTERM; in both runtimes (workers, then node), one
// after the other on the same addresses.
// Addresses: this file owns 127.0.12.x (see test/e2e/README.md).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBaresipTrace, startBaresip, type Baresip } from "../support/baresip";
import { startUpstream, TENANT_A_DOMAIN as A, TENANT_B_DOMAIN as B, type Upstream } from "../support/kamailio-upstream";
import { scenarioPath } from "../support/paths";
import { createTempDir, removeTempDir, runningStartedPids, stopAllStartedProcesses } from "../support/processes";
import { parseSippTrace, runSipp } from "../support/sipp";
import { RUNTIMES, startTestStack, type TestStack } from "../support/stack";

const GW = { ip: "127.0.12.1", port: 5060 };
const PHONE = { ip: "127.0.12.21", sipPort: 5070, ctrlPort: 5079 };
/** The tenant's Asterisk address (its dispatcher destination); the calling sipp binds it on its own port. */
const PBX = { ip: "127.0.12.11", port: 5071 };
const AOR = `201@${A}`;
const ACCOUNT = `<sip:201@${A};transport=udp>;auth_pass=secret;outbound="sip:${GW.ip}:${GW.port};transport=udp";answermode=auto;regint=600`;

/** The Contact baresip put in its REGISTERs (its user part, `201-0x...`, changes every run). */
async function ownContact(b: Baresip): Promise<string> {
  const reg = parseBaresipTrace(await b.trace()).find((m) => m.to === `${GW.ip}:${GW.port}` && m.firstLine.startsWith("REGISTER "));
  const contact = reg && /^Contact:\s*<([^>]+)>/im.exec(reg.text)?.[1];
  if (!contact) throw new Error(`no REGISTER with a Contact in baresip's trace (${b.dir})`);
  return contact;
}

async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() >= deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(RUNTIMES)("baresip through the gateway, %s runtime", (runtime) => {
  let work: string;
  let upstream: Upstream;
  let stack: TestStack;
  let phone: Baresip | undefined;
  /** Settles once the phone is registered (test 1); the call and SIGTERM tests build on it. */
  let registered: Promise<Baresip>;

  beforeAll(async () => {
    work = await createTempDir(`interop-baresip-${runtime}`);
    upstream = await startUpstream({ addrA: "127.0.12.11", addrB: "127.0.12.12", port: 5080 });
    stack = await startTestStack(work, GW, { runtime });
    await stack.addTenant(A, `sip:${upstream.addrA}:${upstream.port}`);
    await stack.addTenant(B, `sip:${upstream.addrB}:${upstream.port}`);
    registered = startBaresip({
      name: "baresip-201",
      ip: PHONE.ip,
      sipPort: PHONE.sipPort,
      ctrlPort: PHONE.ctrlPort,
      rtpPorts: [10000, 10019],
      deadDnsServer: "127.0.12.49:53",
      account: ACCOUNT,
      workDir: work,
    }).then(async (b) => {
      phone = b;
      await b.waitForEvent("REGISTER_OK", { timeoutMs: 10_000 });
      return b;
    });
    // Failures are reported by the tests that await it.
    registered.catch(() => undefined);
  });

  afterAll(async () => {
    // Test 3 stops it; this is for a run that failed earlier.
    if (phone?.process.running) await phone.stop();
    await stack?.close();
    await upstream?.stop();
    await stopAllStartedProcesses();
    expect(runningStartedPids()).toEqual([]);
    await removeTempDir(work);
  });

    it("registers with digest auth (401, then 200): REGISTER_OK, its own contact in our store, the gateway's at the registrar", async () => {
      const b = await registered;
      const ok = b.waitForEvent("REGISTER_OK");
      expect((await ok).accountaor).toBe(`sip:${AOR}`);
      expect(b.events.some((e) => e.type === "REGISTER_FAIL")).toBe(false);

      // The digest flow as baresip saw it: a 401 challenge, then a 200.
      const statuses = parseBaresipTrace(await b.trace())
        .filter((m) => m.from === `${GW.ip}:${GW.port}` && /^SIP\/2\.0 \d{3}/.test(m.firstLine) && /^CSeq:\s*\d+ REGISTER/im.test(m.text))
        .map((m) => m.firstLine.split(" ")[1]);
      expect(statuses.filter((s) => s !== "100")).toEqual(["401", "200"]);
      const info = await b.reginfo();
      expect(info.ok).toBe(true);
      expect(info.data).toMatch(/OK/);

      const contact = await ownContact(b);
      expect(contact).toMatch(/^sip:201-0x[0-9a-f]+@127\.0\.12\.21:5070$/);
      const bs = await stack.bindings(AOR);
      expect(bs).toHaveLength(1);
      // baresip writes its real address in Contact (no NAT), so there is no separate `received`.
      expect(bs[0]).toMatchObject({ contact, received: null });
      expect(bs[0]!.userAgent).toMatch(/^baresip/);
      expect(bs[0]!.expires - Math.floor(Date.now() / 1000)).toBeGreaterThan(590);

      const up = await upstream.lookup(AOR);
      expect(up).toHaveLength(1);
      // The gateway's contact: the AoR's user at the gateway, with the binding token; never baresip's address.
      expect(up[0]!.address).toMatch(/^sip:201@127\.0\.12\.1:5060;erb=[0-9a-f]{20}$/);
    });

    it("auto-answers a PBX call with PCMU, and the PBX's BYE closes it", async () => {
      const b = await registered;
      const from = b.events.length;
      // baresip 1.0 answers an `answermode=auto` call without a CALL_INCOMING event (it pushes that one only
      // for calls left to ring); the call shows up as remote offer, local answer, established, closed.
      const established = b.waitForEvent("CALL_ESTABLISHED", { from, timeoutMs: 15_000 });
      const closed = b.waitForEvent("CALL_CLOSED", { from, timeoutMs: 15_000 });
      const call = await runSipp({
        scenario: scenarioPath("pbx-invite-sdp-answered-then-bye.xml"),
        target: `${GW.ip}:${GW.port}`,
        bindIp: PBX.ip,
        bindPort: PBX.port,
        service: "201",
        timeoutSec: 15,
        workDir: work,
      });
      // The 200 came from baresip through the gateway: its SDP answer is PCMU on baresip's own address.
      const answered = call.log.find((l) => l.startsWith("ANSWERED "));
      expect(answered).toMatch(/ c=IN IP4 127\.0\.12\.21 m=audio (1000\d|1001\d) RTP\/AVP 0$/);
      expect(answered).toMatch(/contact=<sip:201-0x[0-9a-f]+@127\.0\.12\.21:5070>/);
      expect(call.log).toContain("BYE-200");
      const callId = parseSippTrace(call.messages)
        .find((m) => m.direction === "sent" && m.firstLine.startsWith("INVITE "))
        ?.text.match(/^Call-ID:\s*(\S+)/im)?.[1];
      expect(callId).toBeTruthy();

      const est = await established;
      const end = await closed;
      expect(est).toMatchObject({ direction: "incoming", peeruri: `sip:pbx@${PBX.ip}:${PBX.port}`, id: callId });
      expect(end).toMatchObject({ direction: "incoming", id: callId });
      const callEvents = b.events.slice(from).filter((e) => e.id === callId);
      expect(callEvents.filter((e) => e.class === "call").map((e) => e.type)).toEqual(["CALL_ESTABLISHED", "CALL_CLOSED"]);
      expect(callEvents.find((e) => e.type === "CALL_LOCAL_SDP")?.param).toBe("answer");
      // The pause between ACK and BYE: the call was up for a while, not torn down at once.
      expect(end.at - est.at).toBeGreaterThanOrEqual(400);

      // baresip got the INVITE, the ACK and the BYE from the gateway (the INVITE Record-Routed through it)
      // and answered the BYE with 200.
      const trace = parseBaresipTrace(await b.trace());
      const fromGw = trace.filter((m) => m.from === `${GW.ip}:${GW.port}`);
      const invite = fromGw.find((m) => m.firstLine.startsWith("INVITE "));
      expect(invite?.text).toMatch(/^Record-Route:\s*<sip:127\.0\.12\.1:5060;lr;dp=[0-9a-f]{24}>/im);
      expect(fromGw.some((m) => m.firstLine.startsWith("ACK "))).toBe(true);
      expect(fromGw.some((m) => m.firstLine.startsWith("BYE "))).toBe(true);
      const byeAnswer = trace.find((m) => m.to === `${GW.ip}:${GW.port}` && /^CSeq:\s*2 BYE/im.test(m.text));
      expect(byeAnswer?.firstLine).toBe("SIP/2.0 200 OK");
    });

    it("un-registers on SIGTERM: the binding leaves our store and the registrar", async () => {
      const b = await registered;
      expect(await stack.bindings(AOR)).toHaveLength(1);
      const exit = await b.stop();
      // baresip handles SIGTERM: it un-registers, then exits by itself (no SIGKILL was needed).
      expect(exit).toEqual({ code: 0, signal: null });
      const unregister = parseBaresipTrace(await b.trace()).filter(
        (m) => m.to === `${GW.ip}:${GW.port}` && m.firstLine.startsWith("REGISTER ") && /expires=0|^Expires:\s*0/im.test(m.text),
      );
      expect(unregister.length).toBeGreaterThan(0);
      const bs = await eventually(() => stack.bindings(AOR), (v) => v.length === 0, 3000);
      expect(bs).toEqual([]);
      expect(await upstream.lookup(AOR)).toEqual([]);
    });
});

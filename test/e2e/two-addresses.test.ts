// A gateway with two addresses: the phones' side on IPv6 (::1) and the Asterisk side on IPv4. Each side
// sees only its own address (Via, Contact, Record-Route), and a call crossing the gateway is double
// Record-Routed so in-dialog requests come back through the right address in each direction.
// Addresses: this file owns 127.0.15.x and [::1]:15060-15099 (see test/e2e/README.md).
// Both runtimes (workers, then node), one after the other on the same addresses.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, TENANT_A_DOMAIN as A, type Upstream } from "../support/kamailio-upstream";
import { scenarioPath } from "../support/paths";
import { createTempDir, removeTempDir, stopAllStartedProcesses, TIMED_OUT, waitAtMost } from "../support/processes";
import { registerWithDigest, runSipp, startSippUas } from "../support/sipp";
import { RUNTIMES, startTestStack, type TestStack } from "../support/stack";

const PHONES_SIDE = { ip: "::1", port: 15060 };
const PBX_SIDE = { ip: "127.0.15.2", port: 5060 };
/** Both Record-Route entries, the phone-side one first, as two header lines or one comma list. */
const DOUBLE_RR = /Record-Route: <sip:\[::1\]:15060;lr;dp=([0-9a-f]{24})>(?:,\s*|\r?\nRecord-Route: )<sip:127\.0\.15\.2:5060;lr;dp=\1>/;
const PHONE = { ip: "::1", port: 15070, contact: "[::1]:15099" };
describe.each(RUNTIMES)("%s runtime", (runtime) => {
  let work: string;
  let upstream: Upstream;
  let stack: TestStack;

  beforeAll(async () => {
    work = await createTempDir(`two-addresses-${runtime}`);
    upstream = await startUpstream({ addrA: "127.0.15.11", addrB: "127.0.15.12", port: 5080 });
    stack = await startTestStack(work, PHONES_SIDE, { runtime, sipListenPbx: PBX_SIDE });
    await stack.addTenant(A, `sip:${upstream.addrA}:${upstream.port}`);
    await registerWithDigest({ target: `[${PHONES_SIDE.ip}]:${PHONES_SIDE.port}`, phone: PHONE, domain: A, password: "secret", workDir: work });
  });

  afterAll(async () => {
    await stack?.close();
    await upstream?.stop();
    await stopAllStartedProcesses();
    await removeTempDir(work);
  });

  describe("a gateway with one address per side", () => {
    it("a phone registers over IPv6; the Asterisk stores a contact on the gateway's Asterisk-side address", async () => {
      const bs = await stack.bindings(`201@${A}`);
      expect(bs.map((b) => [b.contact, b.received])).toEqual([["sip:201@[::1]:15099", "sip:[::1]:15070"]]);
      const up = await upstream.lookup(`201@${A}`);
      expect(up.map((b) => b.address)).toEqual([expect.stringMatching(/^sip:201@127\.0\.15\.2:5060;erb=[0-9a-f]{20}$/)]);
    });

    it("a call from the Asterisk crosses to the phone double Record-Routed, and ACK and BYE follow the route back", async () => {
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
      const call = await runSipp({
        scenario: scenarioPath("pbx-invite-answered-then-bye.xml"),
        target: `${PBX_SIDE.ip}:${PBX_SIDE.port}`,
        bindIp: upstream.addrA,
        bindPort: 5071,
        service: "201",
        workDir: work,
        timeoutSec: 20,
      });
      expect(call.log).toContain("BYE answered SIP/2.0 200 OK");
      const done = await waitAtMost(phone.done, 10_000);
      if (done === TIMED_OUT) throw new Error("the phone did not finish its call");
      expect(done.log.map((l) => l.split(" ")[1])).toEqual(["INVITE", "ACK", "BYE"]);
      // What the phone received: the gateway's phone-side address in Via; both Record-Route entries, the
      // phone-side one on top (the phone's route set starts there).
      const invite = done.messages.split(/\n(?=INVITE )/)[1] ?? "";
      expect(invite).toMatch(/^Via: SIP\/2\.0\/UDP \[::1\]:15060;/m);
      expect(invite).toMatch(DOUBLE_RR);
      // What the Asterisk received: the same two entries, so its route set starts at the Asterisk-side address.
      expect(call.messages).toMatch(DOUBLE_RR);
    });
  });
});

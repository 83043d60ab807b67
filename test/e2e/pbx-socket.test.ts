// Who counts as a tenant's Asterisk on a gateway with a separate Asterisk-side socket: a call from the
// Asterisk's own address rings the tenant's phone when it arrives on the PBX socket, and is refused when the
// same address (spoofed, or misrouted) sends it to the phones' socket (docs/security.md).
// Addresses: this file owns 127.0.28.x (see test/e2e/README.md):
//   .1:5060            the gateway's phones' socket        .2:5060   its Asterisk-side socket
//   .11 / .12:5080     the stand-in registrars (tenant-a / tenant-b); .11:5071 tenant-a's Asterisk calling
//   .21:5070           the phone (real address); .121:5070 what its Contact says
// Both runtimes (workers, then node), one after the other on the same addresses.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, TENANT_A_DOMAIN as A, UPSTREAM_PASSWORD, type Upstream } from "../support/kamailio-upstream";
import { scenarioPath } from "../support/paths";
import { createTempDir, removeTempDir, stopAllStartedProcesses, TIMED_OUT, waitAtMost } from "../support/processes";
import { receivedRequestLines, registerWithDigest, runSipp, startSippUas } from "../support/sipp";
import { RUNTIMES, startTestStack, type TestStack } from "../support/stack";

const PHONES_SIDE = { ip: "127.0.28.1", port: 5060 };
const PBX_SIDE = { ip: "127.0.28.2", port: 5060 };
const PHONE = { ip: "127.0.28.21", port: 5070, contact: "127.0.28.121:5070" };
const ASTERISK_CALLER = { ip: "127.0.28.11", port: 5071 };

describe.each(RUNTIMES)("%s runtime", (runtime) => {
  let work: string;
  let upstream: Upstream;
  let stack: TestStack;

  beforeAll(async () => {
    work = await createTempDir(`pbx-socket-${runtime}`);
    [upstream, stack] = await Promise.all([
      startUpstream({ addrA: "127.0.28.11", addrB: "127.0.28.12", port: 5080 }),
      startTestStack(work, PHONES_SIDE, { runtime, sipListenPbx: PBX_SIDE }),
    ]);
    await stack.addTenant(A, `sip:${upstream.addrA}:${upstream.port}`);
    await registerWithDigest({ target: `${PHONES_SIDE.ip}:${PHONES_SIDE.port}`, phone: PHONE, domain: A, password: UPSTREAM_PASSWORD, workDir: work });
  });

  afterAll(async () => {
    await stack?.close();
    await upstream?.stop();
    await stopAllStartedProcesses();
    await removeTempDir(work);
  });

  function startPhone() {
    return startSippUas({
      scenario: scenarioPath("phone-uas-invite-answers.xml"),
      bindIp: PHONE.ip,
      bindPort: PHONE.port,
      service: "201",
      keys: { contact: PHONE.contact },
      calls: 1,
      timeoutSec: 20,
      workDir: work,
    });
  }

  describe("a gateway with a separate Asterisk-side socket", () => {
    it("the Asterisk's address on the phones' socket is no Asterisk: 403, the phone never rings", async () => {
      const phone = await startPhone();
      let received: string[] = [];
      try {
        const call = await runSipp({
          scenario: scenarioPath("pbx-invite-expect-403.xml"),
          target: `${PHONES_SIDE.ip}:${PHONES_SIDE.port}`,
          bindIp: ASTERISK_CALLER.ip,
          bindPort: ASTERISK_CALLER.port,
          service: "201",
          workDir: work,
          timeoutSec: 20,
        });
        expect(call.log).toEqual(["INVITE answered SIP/2.0 403 Forbidden"]);
      } finally {
        // Stopped whatever happened, so the next test has the phone's address.
        received = receivedRequestLines((await phone.stop()).messages);
      }
      expect(received).toEqual([]);
    });

    it("the same call on the Asterisk-side socket rings the tenant's phone", async () => {
      const phone = await startPhone();
      const call = await runSipp({
        scenario: scenarioPath("pbx-invite-answered-then-bye.xml"),
        target: `${PBX_SIDE.ip}:${PBX_SIDE.port}`,
        bindIp: ASTERISK_CALLER.ip,
        bindPort: ASTERISK_CALLER.port,
        service: "201",
        workDir: work,
        timeoutSec: 20,
      });
      expect(call.log).toContain(`ANSWERED-BY ${PHONE.ip}:${PHONE.port}`);
      const done = await waitAtMost(phone.done, 10_000);
      if (done === TIMED_OUT) throw new Error("the phone did not finish its call");
      expect(done.log.map((l) => l.split(" ")[1])).toEqual(["INVITE", "ACK", "BYE"]);
    });
  });
});

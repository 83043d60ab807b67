// Binding identity end to end (RFC 3261 10.3, RFC 5626): two phones behind different NATs that both say
// `Contact: <sip:201@127.0.27.121:5070>` (the same private address) register the same AoR through the
// gateway. Both must keep their binding, the tenant's registrar (Kamailio) must hold two upstream contacts,
// and a call from the tenant's Asterisk must ring both.
// Addresses: this file owns 127.0.27.x (see test/e2e/README.md):
//   .1:5060            the gateway
//   .11 / .12:5080     the stand-in registrars (tenant-a / tenant-b); .11:5071 tenant-a's Asterisk calling
//   .21 / .22:5070     the two phones' real (NAT public) addresses
//   .121:5070          the private address both Contacts say (nothing listens there)
// Both runtimes (workers, then node), one after the other on the same addresses.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, TENANT_A_DOMAIN as A, UPSTREAM_PASSWORD, type Upstream } from "../support/kamailio-upstream";
import { scenarioPath } from "../support/paths";
import { createTempDir, removeTempDir, stopAllStartedProcesses, TIMED_OUT, waitAtMost } from "../support/processes";
import { receivedRequestLines, registerWithDigest, runSipp, type SippUas, startSippUas } from "../support/sipp";
import { RUNTIMES, startTestStack, type TestStack } from "../support/stack";

const GW = { ip: "127.0.27.1", port: 5060 };
const PRIVATE_CONTACT = "127.0.27.121:5070";
const PHONES = [
  { ip: "127.0.27.21", port: 5070 },
  { ip: "127.0.27.22", port: 5070 },
] as const;
const ASTERISK_CALLER = { ip: "127.0.27.11", port: 5071 };

describe.each(RUNTIMES)("%s runtime", (runtime) => {
  let work: string;
  let upstream: Upstream;
  let stack: TestStack;

  beforeAll(async () => {
    work = await createTempDir(`binding-identity-${runtime}`);
    [upstream, stack] = await Promise.all([
      startUpstream({ addrA: "127.0.27.11", addrB: "127.0.27.12", port: 5080 }),
      startTestStack(work, GW, { runtime }),
    ]);
    await stack.addTenant(A, `sip:${upstream.addrA}:${upstream.port}`);
    for (const phone of PHONES) {
      await registerWithDigest({ target: `${GW.ip}:${GW.port}`, phone: { ...phone, contact: PRIVATE_CONTACT }, domain: A, password: UPSTREAM_PASSWORD, workDir: work });
    }
  });

  afterAll(async () => {
    await stack?.close();
    await upstream?.stop();
    await stopAllStartedProcesses();
    await removeTempDir(work);
  });

  describe("two phones with the same private Contact behind different NATs", () => {
    it("keep two bindings, told apart by their NAT source, and the registrar holds two upstream contacts", async () => {
      const bindings = await stack.bindings(`201@${A}`);
      expect(bindings.map((b) => [b.contact, b.received]).sort()).toEqual([
        [`sip:201@${PRIVATE_CONTACT}`, `sip:${PHONES[0].ip}:${PHONES[0].port}`],
        [`sip:201@${PRIVATE_CONTACT}`, `sip:${PHONES[1].ip}:${PHONES[1].port}`],
      ]);
      const held = (await upstream.lookup(`201@${A}`)).map((b) => b.address);
      expect(held).toHaveLength(2);
      expect(held.every((a) => /^sip:201@127\.0\.27\.1:5060;erb=[0-9a-f]{20}$/.test(a))).toBe(true);
      expect(new Set(held).size).toBe(2);
    });

    it("both ring when the tenant's Asterisk calls the extension", async () => {
      const phones: SippUas[] = [];
      for (const phone of PHONES) {
        phones.push(
          await startSippUas({
            scenario: scenarioPath("phone-uas-invite-rings-until-cancelled.xml"),
            bindIp: phone.ip,
            bindPort: phone.port,
            service: "201",
            keys: { contact: PRIVATE_CONTACT },
            calls: 1,
            timeoutSec: 20,
            workDir: work,
          }),
        );
      }
      // The Asterisk (a sipp client on its own address) calls 201, hears ringing and gives up: CANCEL.
      const caller = await runSipp({
        scenario: scenarioPath("pbx-invite-cancel-before-answer.xml"),
        target: `${GW.ip}:${GW.port}`,
        bindIp: ASTERISK_CALLER.ip,
        bindPort: ASTERISK_CALLER.port,
        service: "201",
        workDir: work,
        timeoutSec: 20,
      });
      expect(caller.log).toContain("INVITE answered SIP/2.0 487 Request Terminated");
      for (const uas of phones) {
        const r = await waitAtMost(uas.done, 10_000);
        if (r === TIMED_OUT) {
          const stopped = await uas.stop();
          throw new Error(`${stopped.name} did not finish; received: ${receivedRequestLines(stopped.messages).join(" | ")}`);
        }
        expect(r.exitCode, `${r.name}: ${r.errors}`).toBe(0);
        expect(r.log).toContain(`got INVITE sip:201@${PRIVATE_CONTACT}`);
      }
    });
  });
});

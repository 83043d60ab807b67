// Tenant-scoped routing end to end over real UDP (issue "Tenant-scoped routing"): three tenants that all
// have extension 201, their phones registered through the gateway, their Asterisk boxes played by sipp.
// A request from an Asterisk must reach that tenant's phone and nobody else's. Every case runs in both
// runtimes (workers, then node), one after the other on the same addresses.
// Addresses: this file owns 127.0.11.x (see test/e2e/README.md):
//   .1:5060            the gateway
//   .11 / .12 / .13    the Asterisk hosts of tenant-a / tenant-b / tenant-c: their registrar on :5080
//                      (Kamailio: stand-in-registrar.cfg on .11/.12 for tenant-a/b; our any-domain
//                      registrar config on .13 (and .19, unused) for tenant-c), their calls from :5071
//   .110 / .120        a second Asterisk of tenant-b / tenant-a: the prefix trap next to .11 / .12
//   .14:5071 / :5072   one host shared by a tenant-a and a tenant-b Asterisk (the port decides: both
//                      destinations require their port, or the admin API would refuse the second)
//   .111               a source that is nobody's Asterisk (tenant-a's .11 is a string prefix of it)
//   .21-.25:5070       phones' real (NAT public) addresses; .121-.125:5070 what their Contacts say (nothing
//                      listens there)
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ANY_DOMAIN_REGISTRAR_CFG, startUpstream, TENANT_A_DOMAIN as A, TENANT_B_DOMAIN as B, UPSTREAM_PASSWORD, type Upstream } from "../support/kamailio-upstream";
import { scenarioPath } from "../support/paths";
import {
  createTempDir,
  removeTempDir,
  runningStartedPids,
  stopAllStartedProcesses,
  TIMED_OUT,
  waitAtMost,
} from "../support/processes";
import { parseSippTrace, receivedRequestLines, registerWithDigest, runSipp, startSippUas, type SippResult, type SippUas } from "../support/sipp";
import { RUNTIMES, startTestStack, type TestStack } from "../support/stack";

const C = "tenant-c.example";
const GW = { ip: "127.0.11.1", port: 5060 };
const GW_TARGET = `${GW.ip}:${GW.port}`;
const esc = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** The gateway's Record-Route: its address and the dialog proof (`;dp=`, 96 bits in hex). */
const RECORD_ROUTE = `<sip:${esc(GW.ip)}:${GW.port};lr;dp=[0-9a-f]{24}>`;
/** A NATed phone's Contact as the gateway rewrites it: the alias of its real address and the alias proof. */
const aliasedContact = (p: Phone): RegExp => new RegExp(`^CONTACT <${esc(contactUri(p))};alias=${esc(p.ip)}~${p.port}~1;amac=[0-9a-f]{24}>$`);
const TIMER_C_MS = 3000;

/** Where a PBX sends from. */
interface Source {
  readonly ip: string;
  readonly port: number;
}

/** A phone: real (source) address and the NAT-private address its Contact says. */
interface Phone {
  readonly ip: string;
  readonly port: number;
  readonly contact: string;
}

const phoneAt = (n: number): Phone => ({ ip: `127.0.11.${n}`, port: 5070, contact: `127.0.11.${100 + n}:5070` });
const real = (p: Phone): string => `${p.ip}:${p.port}`;
/** The Request-URI the gateway uses towards a phone's binding of `ext`: the phone's own Contact. */
const contactUri = (p: Phone, ext = "201"): string => `sip:${ext}@${p.contact}`;

interface TenantSetup {
  readonly domain: string;
  /** The tenant's main Asterisk host (registrar on :5080, calls from :5071). */
  readonly asterisk: string;
  /** Its phone with extension 201. */
  readonly phone: Phone;
}

const TA: TenantSetup = { domain: A, asterisk: "127.0.11.11", phone: phoneAt(21) };
const TB: TenantSetup = { domain: B, asterisk: "127.0.11.12", phone: phoneAt(22) };
const TC: TenantSetup = { domain: C, asterisk: "127.0.11.13", phone: phoneAt(23) };
const TENANTS = [TA, TB, TC] as const;
const pbxOf = (t: TenantSetup): Source => ({ ip: t.asterisk, port: 5071 });

/** A second Asterisk of tenant-b whose address has tenant-a's .11 as a string prefix, and vice versa. */
const B_LONG = "127.0.11.110";
const A_LONG = "127.0.11.120";
const SHARED_HOST = "127.0.11.14";
const UNKNOWN: Source = { ip: "127.0.11.111", port: 5071 };

let work: string;
let upstream: Upstream;
let registrarC: Upstream | undefined;
let stack: TestStack;
const servers = new Set<SippUas>();

// ---- helpers ---------------------------------------------------------------------------------------------

/** A phone as a background sipp server on its real address, for `calls` calls (it exits after them). */
async function phoneUas(scenario: string, phone: Phone, o: { ext?: string; calls?: number } = {}): Promise<SippUas> {
  const uas = await startSippUas({
    scenario: scenarioPath(scenario),
    bindIp: phone.ip,
    bindPort: phone.port,
    service: o.ext ?? "201",
    keys: { contact: phone.contact },
    calls: o.calls ?? 1,
    timeoutSec: 30,
    workDir: work,
  });
  servers.add(uas);
  return uas;
}

/** Waits until a server has run its calls (bounded), stopping it if it does not; returns what it did. */
async function finished(uas: SippUas, ms = 10_000): Promise<SippResult> {
  const r = await waitAtMost(uas.done, ms);
  servers.delete(uas);
  if (r === TIMED_OUT) {
    const stopped = await uas.stop();
    throw new Error(`sipp server ${stopped.name} did not finish within ${ms} ms; received: ${receivedRequestLines(stopped.messages).join(" | ") || "nothing"}; files: ${stopped.dir}`);
  }
  expect(r.exitCode, `${r.name} failed: ${r.errors}\nfiles: ${r.dir}`).toBe(0);
  return r;
}

/** Stops a server that must have received nothing, and returns the request lines it got anyway. */
async function stoppedRequests(uas: SippUas): Promise<string[]> {
  servers.delete(uas);
  return receivedRequestLines((await uas.stop()).messages);
}

/** A PBX (sipp client) sending to the gateway from `from`. */
function pbx(scenario: string, from: Source, ext = "201", extra: { recvTimeoutMs?: number } = {}): Promise<SippResult> {
  return runSipp({
    scenario: scenarioPath(scenario),
    target: GW_TARGET,
    bindIp: from.ip,
    bindPort: from.port,
    service: ext,
    workDir: work,
    timeoutSec: 20,
    ...extra,
  });
}

/** Registers `ext@domain` for `phone` with the digest scenario, through the gateway. */
async function register(phone: Phone, domain: string, ext = "201"): Promise<void> {
  await registerWithDigest({ target: GW_TARGET, phone, domain, password: UPSTREAM_PASSWORD, user: ext, expires: 600, workDir: work });
  const bs = await stack.bindings(`${ext}@${domain}`);
  if (!bs.some((b) => b.contact === contactUri(phone, ext) && b.received === `sip:${real(phone)}`)) {
    throw new Error(`binding of ${ext}@${domain} for ${real(phone)} not stored: ${JSON.stringify(bs)}`);
  }
}

async function unregister(phone: Phone, domain: string, ext = "201"): Promise<void> {
  await runSipp({
    scenario: scenarioPath("phone-unregister-200.xml"),
    target: GW_TARGET,
    bindIp: phone.ip,
    bindPort: phone.port,
    service: ext,
    keys: { domain, contact: phone.contact, expires: "0" },
    auth: { user: ext, pass: UPSTREAM_PASSWORD, uri: domain },
    workDir: work,
  });
}

/** The messages of a sipp trace in one direction whose first line starts with `start`. */
function traced(r: SippResult, direction: "sent" | "received", start: string): string[] {
  return parseSippTrace(r.messages)
    .filter((e) => e.direction === direction && e.firstLine.startsWith(start))
    .map((e) => e.text);
}

/** The first Via header value of a message text. */
function topVia(text: string): string | undefined {
  return /^(?:Via|v)\s*:\s*([^\r\n,]+)/im.exec(text)?.[1];
}

async function createTenant(domain: string, destinations: (string | { uri: string; priority?: number; requirePort?: boolean })[]): Promise<void> {
  const r = await stack.admin("POST", "/tenants", { domain, destinations });
  if (r.status !== 201) throw new Error(`tenant ${domain}: ${r.status} ${JSON.stringify(r.json)}`);
}

describe.each(RUNTIMES)("%s runtime", (runtime) => {
  // ---- set-up ----------------------------------------------------------------------------------------------

  beforeAll(async () => {
    work = await createTempDir(`routing-${runtime}`);
    [upstream, registrarC, stack] = await Promise.all([
      startUpstream({ addrA: TA.asterisk, addrB: TB.asterisk, port: 5080 }),
      startUpstream({ addrA: TC.asterisk, addrB: "127.0.11.19", port: 5080, config: ANY_DOMAIN_REGISTRAR_CFG }),
      startTestStack(work, GW, { runtime, timers: { t1: 100, timerC: TIMER_C_MS } }),
    ]);
    // The registrar (priority 1) takes the REGISTERs; the other destinations only identify sources.
    // Configuration order: tenant-a first, so .11 (short) comes before .110 (long) and .120 (long) before .12.
  await createTenant(A, [{ uri: `sip:${TA.asterisk}:5080`, priority: 1 }, `sip:${A_LONG}:5080`, { uri: `sip:${SHARED_HOST}:5071`, requirePort: true }]);
  await createTenant(B, [{ uri: `sip:${TB.asterisk}:5080`, priority: 1 }, `sip:${B_LONG}:5080`, { uri: `sip:${SHARED_HOST}:5072`, requirePort: true }]);
    await createTenant(C, [{ uri: `sip:${TC.asterisk}:5080`, priority: 1 }]);
    await Promise.all(TENANTS.map((t) => register(t.phone, t.domain)));
  });

  afterEach(async () => {
    // A failed test may leave servers behind; later tests need their addresses.
    await Promise.allSettled([...servers].map((s) => s.stop()));
    servers.clear();
  });

  afterAll(async () => {
    await Promise.allSettled([stack?.close(), upstream?.stop(), registrarC?.stop()]);
    await stopAllStartedProcesses();
    expect(runningStartedPids()).toEqual([]);
    await removeTempDir(work);
  });

  // ---- tests -----------------------------------------------------------------------------------------------

  describe("requests from a tenant's Asterisk reach that tenant's phone, and no other", () => {
    it("an INVITE from each tenant's Asterisk is answered by that tenant's phone; ACK and the Asterisk's BYE complete", async () => {
      const phones = await Promise.all(TENANTS.map((t) => phoneUas("phone-uas-invite-answers.xml", t.phone)));
      const calls = await Promise.all(TENANTS.map((t) => pbx("pbx-invite-answered-then-bye.xml", pbxOf(t))));
      for (const [i, t] of TENANTS.entries()) {
        const call = calls[i]!;
        expect(call.log).toContain(`ANSWERED-BY ${real(t.phone)}`);
        expect(call.log).toContain("BYE answered SIP/2.0 200 OK");
        // The dialog stays on the gateway: the 200 the Asterisk got is Record-Routed by it.
        const ok = traced(call, "received", "SIP/2.0 200")[0] ?? "";
      expect(ok).toMatch(new RegExp(`Record-Route: ${RECORD_ROUTE}`));
        const phone = await finished(phones[i]!);
        expect(phone.log).toEqual([`got INVITE ${contactUri(t.phone)}`, `got ACK ${contactUri(t.phone)}`, `got BYE ${contactUri(t.phone)}`]);
      }
    });

    it("the phone hangs up: its BYE reaches the Asterisk through the gateway and the 200 comes back", async () => {
      const phones = await Promise.all(TENANTS.map((t) => phoneUas("phone-uas-invite-answers-then-hangs-up.xml", t.phone)));
      const calls = await Promise.all(TENANTS.map((t) => pbx("pbx-invite-answered-phone-hangs-up.xml", pbxOf(t))));
      for (const [i, t] of TENANTS.entries()) {
        const call = calls[i]!;
        expect(call.log).toEqual([`ANSWERED-BY ${real(t.phone)}`, `got BYE sip:pbx@${t.asterisk}:5071`]);
        const bye = traced(call, "received", "BYE ")[0] ?? "";
        expect(topVia(bye)).toMatch(/^SIP\/2\.0\/UDP 127\.0\.11\.1:5060;/);
        const phone = await finished(phones[i]!);
        expect(phone.log).toEqual([`got INVITE ${contactUri(t.phone)}`, "BYE answered SIP/2.0 200 OK"]);
      }
    });

    it("OPTIONS and NOTIFY from each tenant's Asterisk reach that tenant's phone", async () => {
      let phones = await Promise.all(TENANTS.map((t) => phoneUas("phone-uas-options-200.xml", t.phone)));
      let asks = await Promise.all(TENANTS.map((t) => pbx("pbx-options-200.xml", pbxOf(t))));
      for (const [i, t] of TENANTS.entries()) {
        expect(asks[i]!.log).toEqual([`ANSWERED-BY ${real(t.phone)}`]);
        expect((await finished(phones[i]!)).log).toEqual([`got OPTIONS ${contactUri(t.phone)}`]);
      }
      phones = await Promise.all(TENANTS.map((t) => phoneUas("phone-uas-notify-200.xml", t.phone)));
      asks = await Promise.all(TENANTS.map((t) => pbx("pbx-notify-200.xml", pbxOf(t))));
      for (const [i, t] of TENANTS.entries()) {
        expect(asks[i]!.log).toEqual([`ANSWERED-BY ${real(t.phone)}`]);
        expect((await finished(phones[i]!)).log).toEqual([`got NOTIFY ${contactUri(t.phone)} event=message-summary`]);
      }
    });

    it("an extension the Asterisk's tenant does not have gets 404, although another tenant has it registered", async () => {
      const b202 = phoneAt(24);
      await register(b202, B, "202");
      const phone = await phoneUas("phone-uas-invite-answers.xml", b202, { ext: "202" });
      for (const t of [TA, TC]) {
        const r = await pbx("pbx-invite-expect-404.xml", pbxOf(t), "202");
        expect(r.log).toEqual(["INVITE answered SIP/2.0 404 Not Found"]);
      }
      // The binding is real: tenant-b's own Asterisk reaches it, and that is the only INVITE the phone saw.
      const own = await pbx("pbx-invite-answered-then-bye.xml", pbxOf(TB), "202");
      expect(own.log).toContain(`ANSWERED-BY ${real(b202)}`);
      expect((await finished(phone)).log.filter((l) => l.startsWith("got INVITE"))).toEqual([`got INVITE ${contactUri(b202, "202")}`]);
    });

    it("the prefix trap: .11 vs .110 and .120 vs .12, short or long address configured first, each source finds its own tenant", async () => {
      const pa = await phoneUas("phone-uas-invite-answers.xml", TA.phone, { calls: 2 });
      const pb = await phoneUas("phone-uas-invite-answers.xml", TB.phone, { calls: 2 });
      const [fromA, fromBLong, fromB, fromALong] = await Promise.all([
        pbx("pbx-invite-answered-then-bye.xml", { ip: TA.asterisk, port: 5071 }),
        pbx("pbx-invite-answered-then-bye.xml", { ip: B_LONG, port: 5071 }),
        pbx("pbx-invite-answered-then-bye.xml", { ip: TB.asterisk, port: 5071 }),
        pbx("pbx-invite-answered-then-bye.xml", { ip: A_LONG, port: 5071 }),
      ]);
      expect(fromA.log).toContain(`ANSWERED-BY ${real(TA.phone)}`);
      expect(fromBLong.log).toContain(`ANSWERED-BY ${real(TB.phone)}`);
      expect(fromB.log).toContain(`ANSWERED-BY ${real(TB.phone)}`);
      expect(fromALong.log).toContain(`ANSWERED-BY ${real(TA.phone)}`);
      for (const uas of [pa, pb]) expect((await finished(uas)).log.filter((l) => l.startsWith("got INVITE"))).toHaveLength(2);
    });

    it("two tenants' Asterisks on one IP: the source port decides, and a port of neither is refused", async () => {
      const pa = await phoneUas("phone-uas-invite-answers.xml", TA.phone);
      const pb = await phoneUas("phone-uas-invite-answers.xml", TB.phone);
      const [onA, onB] = await Promise.all([
        pbx("pbx-invite-answered-then-bye.xml", { ip: SHARED_HOST, port: 5071 }),
        pbx("pbx-invite-answered-then-bye.xml", { ip: SHARED_HOST, port: 5072 }),
      ]);
      expect(onA.log).toContain(`ANSWERED-BY ${real(TA.phone)}`);
      expect(onB.log).toContain(`ANSWERED-BY ${real(TB.phone)}`);
      await finished(pa);
      await finished(pb);
    // Same host, a port that is neither tenant's: no tenant's Asterisk (both require their port), and no
    // tenant's domain in the request: refused, nothing relayed.
      const pa2 = await phoneUas("phone-uas-invite-answers.xml", TA.phone);
      const pb2 = await phoneUas("phone-uas-invite-answers.xml", TB.phone);
      const neither = await pbx("pbx-invite-expect-403.xml", { ip: SHARED_HOST, port: 5073 });
    expect(neither.log).toEqual(["INVITE answered SIP/2.0 403 Forbidden"]);
      expect(await stoppedRequests(pa2)).toEqual([]);
      expect(await stoppedRequests(pb2)).toEqual([]);
    });

    it("a source that is nobody's Asterisk gets 403 and nothing is relayed to any phone", async () => {
      const phones = await Promise.all(TENANTS.map((t) => phoneUas("phone-uas-invite-answers.xml", t.phone)));
      const r = await pbx("pbx-invite-expect-403.xml", UNKNOWN);
      expect(r.log).toEqual(["INVITE answered SIP/2.0 403 Forbidden"]);
      for (const uas of phones) expect(await stoppedRequests(uas)).toEqual([]);
    });
  });

  describe("forking, CANCEL and calls that are not answered", () => {
    it("two devices on one extension both ring at their own NAT addresses; the first 200 wins and the other is CANCELled", async () => {
      const second = phoneAt(25);
      await register(second, A);
      try {
        expect((await stack.bindings(`201@${A}`)).map((b) => b.received).sort()).toEqual([`sip:${real(TA.phone)}`, `sip:${real(second)}`]);
        const winner = await phoneUas("phone-uas-invite-answers.xml", TA.phone);
        const loser = await phoneUas("phone-uas-invite-rings-until-cancelled.xml", second);
        const others = await Promise.all([TB, TC].map((t) => phoneUas("phone-uas-invite-answers.xml", t.phone)));
        const call = await pbx("pbx-invite-answered-then-bye.xml", pbxOf(TA));
        expect(call.log).toContain(`ANSWERED-BY ${real(TA.phone)}`);
        expect(call.statusLines.filter((l) => l.startsWith("SIP/2.0 2") || l.startsWith("SIP/2.0 4"))).toEqual([
          "SIP/2.0 200 OK", // the INVITE
          "SIP/2.0 200 OK", // the BYE
        ]);
        expect((await finished(winner)).log).toEqual([`got INVITE ${contactUri(TA.phone)}`, `got ACK ${contactUri(TA.phone)}`, `got BYE ${contactUri(TA.phone)}`]);
        expect((await finished(loser)).log).toEqual([
          `got INVITE ${contactUri(second)}`,
          `got CANCEL ${contactUri(second)} reason=SIP;cause=200;text="Call completed elsewhere"`,
        ]);
        for (const uas of others) expect(await stoppedRequests(uas)).toEqual([]);
      } finally {
        await unregister(second, A);
      }
      expect((await stack.bindings(`201@${A}`)).map((b) => b.received)).toEqual([`sip:${real(TA.phone)}`]);
    });

    it("CANCEL before answer: the Asterisk gets 200 for the CANCEL and 487 for the INVITE, the phone is CANCELled", async () => {
      const phone = await phoneUas("phone-uas-invite-rings-until-cancelled.xml", TB.phone);
      const r = await pbx("pbx-invite-cancel-before-answer.xml", pbxOf(TB));
      expect(r.log).toEqual(["CANCEL answered SIP/2.0 200 OK", "INVITE answered SIP/2.0 487 Request Terminated"]);
      expect((await finished(phone)).log).toEqual([`got INVITE ${contactUri(TB.phone)}`, `got CANCEL ${contactUri(TB.phone)} reason=`]);
    });

    it("486 Busy Here from the phone reaches the Asterisk", async () => {
      const phone = await phoneUas("phone-uas-invite-busy-486.xml", TC.phone);
      const r = await pbx("pbx-invite-busy-486.xml", pbxOf(TC));
      expect(r.log).toEqual(["INVITE answered SIP/2.0 486 Busy Here"]);
      // The phone's scenario ends only with the gateway's ACK for the 486.
      expect((await finished(phone)).log).toEqual([`got INVITE ${contactUri(TC.phone)}`]);
    });

    it("a phone that rings and never answers: after Timer C it is CANCELled and the Asterisk gets 408/480, not 487", async () => {
      const phone = await phoneUas("phone-uas-invite-rings-until-cancelled.xml", TA.phone);
      const started = Date.now();
      const r = await pbx("pbx-invite-no-answer-408-or-480.xml", pbxOf(TA), "201", { recvTimeoutMs: TIMER_C_MS + 5000 });
      const elapsed = Date.now() - started;
      expect(r.log).toHaveLength(1);
      expect(r.log[0]).toMatch(/^INVITE answered SIP\/2\.0 (408|480) /);
      expect(r.statusLines).toContain("SIP/2.0 180 Ringing");
      expect(elapsed).toBeGreaterThanOrEqual(TIMER_C_MS - 100);
      expect(elapsed).toBeLessThan(TIMER_C_MS + 3000);
      // Timer C's CANCEL carries no Reason (nobody answered elsewhere).
      expect((await finished(phone)).log).toEqual([`got INVITE ${contactUri(TA.phone)}`, `got CANCEL ${contactUri(TA.phone)} reason=`]);
    });
  });

  describe("phones behind NAT", () => {
    it("a phone whose Contact says another address is called at its real one, answers, and both sides can hang up", async () => {
      const p = TC.phone;
      expect((await stack.bindings(`201@${C}`)).map((b) => [b.contact, b.received])).toEqual([[contactUri(p), `sip:${real(p)}`]]);

      // The Asterisk hangs up: its ACK and BYE target the phone's Contact with the gateway's alias.
      let phone = await phoneUas("phone-uas-invite-answers.xml", p);
      const call = await pbx("pbx-invite-answered-then-bye.xml", pbxOf(TC));
    expect(call.log).toContainEqual(expect.stringMatching(aliasedContact(p)));
      expect(traced(call, "sent", "BYE ")[0]).toMatch(new RegExp(`^BYE ${contactUri(p).replace(/\./g, "\\.")};alias=`));
      // ... and the gateway sent them to the real address (where the phone listens) without the alias.
      expect((await finished(phone)).log).toEqual([`got INVITE ${contactUri(p)}`, `got ACK ${contactUri(p)}`, `got BYE ${contactUri(p)}`]);

      // The phone hangs up.
      phone = await phoneUas("phone-uas-invite-answers-then-hangs-up.xml", p);
      const call2 = await pbx("pbx-invite-answered-phone-hangs-up.xml", pbxOf(TC));
      expect(call2.log).toEqual([`ANSWERED-BY ${real(p)}`, `got BYE sip:pbx@${TC.asterisk}:5071`]);
      expect((await finished(phone)).log).toContain("BYE answered SIP/2.0 200 OK");
    });
  });

  describe("calls from phones", () => {
    it("an outgoing call reaches the phone's own tenant's Asterisk, Record-Routed, and completes with ACK and BYE", async () => {
      // tenant-c's Asterisk host: its registrar is done (the phones registered in beforeAll); sipp now plays
      // the same Asterisk answering calls on that address.
      await registrarC?.stop();
      registrarC = undefined;
      const p = TC.phone;
      const asterisk = await startSippUas({
        scenario: scenarioPath("pbx-uas-answers.xml"),
        bindIp: TC.asterisk,
        bindPort: 5080,
        service: "202",
        calls: 1,
        timeoutSec: 30,
        workDir: work,
      });
      servers.add(asterisk);
      const call = await runSipp({
        scenario: scenarioPath("phone-uac-invite-to-pbx.xml"),
        target: GW_TARGET,
        bindIp: p.ip,
        bindPort: p.port,
        service: "201",
        keys: { domain: C, contact: p.contact, dial: "202" },
        workDir: work,
        timeoutSec: 20,
      });
    expect(call.log).toEqual([`ANSWERED-BY ${TC.asterisk}:5080`, expect.stringMatching(new RegExp(`^RR ${RECORD_ROUTE}$`)), "BYE answered SIP/2.0 200 OK"]);
      const pbxSide = await finished(asterisk);
      expect(pbxSide.log).toEqual([
        `got INVITE sip:202@${C}`,
      expect.stringMatching(new RegExp(`^RR ${RECORD_ROUTE}$`)),
      // The phone's NAT-private Contact, with the alias of its real address (and the alias proof).
      expect.stringMatching(aliasedContact(p)),
        `got ACK sip:202@${TC.asterisk}:5080`,
        `got BYE sip:202@${TC.asterisk}:5080`,
      ]);
      // ACK and BYE came through the gateway (its Via on top), not straight from the phone.
      for (const m of ["ACK ", "BYE "]) expect(topVia(traced(pbxSide, "received", m)[0] ?? "")).toMatch(/^SIP\/2\.0\/UDP 127\.0\.11\.1:5060;/);
    });
  });
});

// Proves the end-to-end harness itself, without our gateway: sipp phones register straight to the
// Kamailio stand-in registrar (stand-in-registrar.cfg), and the registrar's usrloc is read back with kamcmd.
// Addresses: this file owns 127.0.9.x (see test/e2e/README.md).
import dgram from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, TENANT_A_DOMAIN, TENANT_B_DOMAIN, UPSTREAM_PASSWORD } from "../support/kamailio-upstream";
import type { Upstream } from "../support/kamailio-upstream";
import { scenarioPath } from "../support/paths";
import {
  createTempDir,
  isUdpPortBound,
  removeTempDir,
  runningStartedPids,
  stopAllStartedProcesses,
} from "../support/processes";
import { runSipp, SippError, startSippUas } from "../support/sipp";
import type { SippResult } from "../support/sipp";

const A = TENANT_A_DOMAIN;
const B = TENANT_B_DOMAIN;
const PHONE_PORT = 5070;

let work: string;
let upstream: Upstream;
let upstream2: Upstream;

interface PhoneOptions {
  readonly target: string;
  readonly ext?: string;
  readonly domain?: string;
  /** The phone's real (source) address. */
  readonly from?: string;
  /** The NAT-private host:port the phone writes in its Contact; nothing listens there. */
  readonly contact?: string;
  readonly expires?: number;
  readonly password?: string;
  readonly allowFailedCalls?: boolean;
}

/** One sipp phone run of `scenario` (a file in test/e2e/scenarios). */
function phone(scenario: string, o: PhoneOptions): Promise<SippResult> {
  const ext = o.ext ?? "201";
  const domain = o.domain ?? A;
  return runSipp({
    scenario: scenarioPath(scenario),
    target: o.target,
    bindIp: o.from ?? "127.0.9.21",
    bindPort: PHONE_PORT,
    service: ext,
    keys: { domain, contact: o.contact ?? "127.0.9.121:5070", expires: String(o.expires ?? 300) },
    ...(o.password === undefined ? {} : { auth: { user: ext, pass: o.password, uri: domain } }),
    ...(o.allowFailedCalls ? { allowFailedCalls: true } : {}),
    workDir: work,
  });
}

function targetA(up: Upstream): string {
  return `${up.addrA}:${up.port}`;
}

function targetB(up: Upstream): string {
  return `${up.addrB}:${up.port}`;
}

function sentCallId(result: SippResult): string | undefined {
  return /^Call-ID:\s*(\S+)/im.exec(result.messages)?.[1];
}

beforeAll(async () => {
  work = await createTempDir("harness");
  [upstream, upstream2] = await Promise.all([
    startUpstream({ addrA: "127.0.9.11", addrB: "127.0.9.12", port: 5080 }),
    startUpstream({ addrA: "127.0.9.13", addrB: "127.0.9.14", port: 5090 }),
  ]);
});

afterAll(async () => {
  await Promise.allSettled([upstream?.stop(), upstream2?.stop()]);
  await stopAllStartedProcesses();
  expect(runningStartedPids()).toEqual([]);
  await removeTempDir(work);
});

describe("phone against the stand-in registrar (no gateway)", () => {
  it("a REGISTER answered 401 leaves no binding", async () => {
    const r = await phone("phone-register-401-only", { target: targetA(upstream) });
    expect(r.exitCode).toBe(0);
    expect(r.statusLines).toEqual(["SIP/2.0 401 Unauthorized"]);
    expect(r.log).toEqual([`401 realm=${A} (WWW-Authenticate: Digest realm="${A}")`]);
    expect(await upstream.lookup(`201@${A}`)).toEqual([]);
  });

  it("a wrong password gets 401 then 403 and leaves no binding", async () => {
    const r = await phone("phone-register-wrong-password-403", { target: targetA(upstream), password: "wrong" });
    expect(r.statusLines).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 403 Forbidden"]);
    expect(await upstream.lookup(`201@${A}`)).toEqual([]);
  });

  it("a digest REGISTER gets 200 listing the phone's own contact; the registrar holds it with the granted expiry", async () => {
    const r = await phone("phone-register-digest-200", { target: targetA(upstream), password: UPSTREAM_PASSWORD });
    expect(r.statusLines).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 200 OK"]);
    expect(r.log.some((line) => line.startsWith("200 contact=<sip:201@127.0.9.121:5070> expires=300 "))).toBe(true);

    const bindings = await upstream.lookup(`201@${A}`);
    expect(bindings).toHaveLength(1);
    const [b] = bindings;
    expect(b).toMatchObject({
      aor: `201@${A}`,
      address: "sip:201@127.0.9.121:5070",
      callId: sentCallId(r),
      cseq: 2,
      userAgent: "sipp-phone",
      socket: "udp:127.0.9.11:5080",
    });
    expect(b?.received).toBeUndefined();
    expect(b?.expires).toBeGreaterThan(290);
    expect(b?.expires).toBeLessThanOrEqual(300);
    // Nothing leaked to the other tenant's socket or the other instance.
    expect(await upstream.lookup(`201@${B}`)).toEqual([]);
    expect(await upstream2.lookup(`201@${A}`)).toEqual([]);
  });

  it("a domain the registrar socket does not serve is refused 403 without a challenge", async () => {
    const r = await phone("phone-register-unknown-domain-403", { target: targetA(upstream), domain: B });
    expect(r.statusLines).toEqual(["SIP/2.0 403 Not this PBX's tenant"]);
    expect(r.log).toEqual(["403 SIP/2.0 403 Not this PBX's tenant"]);
    expect(await upstream.lookup(`201@${B}`)).toEqual([]);
  });

  it("Expires 0 removes only the phone's own contact", async () => {
    await phone("phone-register-digest-200", {
      target: targetA(upstream),
      from: "127.0.9.22",
      contact: "127.0.9.122:5070",
      password: UPSTREAM_PASSWORD,
    });
    expect((await upstream.lookup(`201@${A}`)).map((b) => b.address).sort()).toEqual([
      "sip:201@127.0.9.121:5070",
      "sip:201@127.0.9.122:5070",
    ]);

    const r = await phone("phone-unregister-200", { target: targetA(upstream), password: UPSTREAM_PASSWORD });
    expect(r.statusLines).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 200 OK"]);
    expect(r.log[0]).toMatch(/^200 unregistered contact=<sip:201@127\.0\.9\.121:5070> remaining=.*127\.0\.9\.122:5070/);
    expect((await upstream.lookup(`201@${A}`)).map((b) => b.address)).toEqual(["sip:201@127.0.9.122:5070"]);
  });

  it("Contact * with Expires 0 removes every binding of the AoR", async () => {
    await phone("phone-register-digest-200", { target: targetA(upstream), password: UPSTREAM_PASSWORD });
    expect(await upstream.lookup(`201@${A}`)).toHaveLength(2);

    const r = await phone("phone-unregister-all-200", { target: targetA(upstream), password: UPSTREAM_PASSWORD });
    expect(r.statusLines).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 200 OK"]);
    expect(r.log).toEqual([`200 unregistered all of 201@${A}`]);
    expect(await upstream.lookup(`201@${A}`)).toEqual([]);
    expect((await upstream.dump())[`201@${A}`] ?? []).toEqual([]);
  });

  it("two registrar instances run side by side and keep their bindings apart", async () => {
    const [r1, r2, r3] = await Promise.all([
      phone("phone-register-digest-200", {
        target: targetA(upstream),
        ext: "202",
        from: "127.0.9.23",
        contact: "127.0.9.123:5070",
        password: UPSTREAM_PASSWORD,
      }),
      phone("phone-register-digest-200", {
        target: targetA(upstream2),
        ext: "202",
        from: "127.0.9.24",
        contact: "127.0.9.124:5070",
        password: UPSTREAM_PASSWORD,
      }),
      phone("phone-register-digest-200", {
        target: targetB(upstream2),
        ext: "203",
        domain: B,
        from: "127.0.9.25",
        contact: "127.0.9.125:5070",
        expires: 120,
        password: UPSTREAM_PASSWORD,
      }),
    ]);
    for (const r of [r1, r2, r3]) expect(r.statusLines).toEqual(["SIP/2.0 401 Unauthorized", "SIP/2.0 200 OK"]);
    expect(r3.log.some((line) => line.startsWith("200 contact=<sip:203@127.0.9.125:5070> expires=120 "))).toBe(true);

    expect((await upstream.lookup(`202@${A}`)).map((b) => b.address)).toEqual(["sip:202@127.0.9.123:5070"]);
    expect((await upstream2.lookup(`202@${A}`)).map((b) => b.address)).toEqual(["sip:202@127.0.9.124:5070"]);
    const [b203] = await upstream2.lookup(`203@${B}`);
    expect(b203).toMatchObject({ address: "sip:203@127.0.9.125:5070", socket: "udp:127.0.9.14:5090" });
    expect(b203?.expires).toBeGreaterThan(110);
    expect(b203?.expires).toBeLessThanOrEqual(120);
    expect(await upstream.lookup(`203@${B}`)).toEqual([]);
    expect(Object.keys(await upstream2.dump()).sort()).toEqual([`202@${A}`, `203@${B}`]);
  });
});

describe("sipp helpers report failures instead of hiding them", () => {
  it("a scenario that gets another answer than it expects rejects with what it received", async () => {
    // The unknown-domain scenario expects 403 but the registrar serves tenant-a here and challenges.
    const attempt = phone("phone-register-unknown-domain-403", { target: targetA(upstream) });
    await expect(attempt).rejects.toBeInstanceOf(SippError);
    const error = (await attempt.catch((e: unknown) => e)) as SippError;
    expect(error.kind).toBe("calls-failed");
    expect(error.result.exitCode).toBe(1);
    expect(error.message).toContain("received: SIP/2.0 401 Unauthorized");

    const tolerated = await phone("phone-register-unknown-domain-403", {
      target: targetA(upstream),
      allowFailedCalls: true,
    });
    expect(tolerated.exitCode).toBe(1);
    expect(tolerated.errors).toMatch(/unexpected message|Aborting call/i);
  });

  it("the digest scenario fails unless the 200 lists the phone's own contact with an expires", async () => {
    const registrar = await fakeRegistrar("127.0.9.40", 5080);
    try {
      // Own contact present, but in a second Contact header, compact form, with other parameters first.
      registrar.contactLines = [
        "Contact: <sip:201@10.9.9.9:5060>;expires=100",
        "m: <sip:201@127.0.9.121:5070>;q=0.5;EXPIRES=299",
      ];
      const ok = await phone("phone-register-digest-200", { target: "127.0.9.40:5080", password: "any" });
      expect(ok.log.some((line) => line.startsWith("200 contact=<sip:201@127.0.9.121:5070> expires=299 "))).toBe(
        true,
      );

      // Only a look-alike (port 50701 starts with 5070) and another device: not the phone's own contact.
      registrar.contactLines = ["Contact: <sip:201@127.0.9.121:50701>;expires=300, <sip:201@10.9.9.9:5060>;expires=300"];
      const lookAlike = await phone("phone-register-digest-200", {
        target: "127.0.9.40:5080",
        password: "any",
        allowFailedCalls: true,
      });
      expect(lookAlike.exitCode).toBe(1);
      expect(lookAlike.errors).toContain("Failed regexp match");

      // Own contact without an expires parameter.
      registrar.contactLines = ["Contact: <sip:201@127.0.9.121:5070>"];
      const noExpires = await phone("phone-register-digest-200", {
        target: "127.0.9.40:5080",
        password: "any",
        allowFailedCalls: true,
      });
      expect(noExpires.exitCode).toBe(1);

      // De-registration answered with the contact still bound: both unregister scenarios must fail.
      registrar.contactLines = ["Contact: <sip:201@127.0.9.121:5070>;expires=300"];
      const notRemoved = await phone("phone-unregister-200", {
        target: "127.0.9.40:5080",
        password: "any",
        allowFailedCalls: true,
      });
      expect(notRemoved.exitCode).toBe(1);
      expect(notRemoved.errors).toContain("Regexp matched but should not");
      const notAllRemoved = await phone("phone-unregister-all-200", {
        target: "127.0.9.40:5080",
        password: "any",
        allowFailedCalls: true,
      });
      expect(notAllRemoved.exitCode).toBe(1);

      // ... and pass when the 200 lists the contact with expires=0 or only other devices.
      registrar.contactLines = ["Contact: <sip:201@127.0.9.121:5070>;expires=0, <sip:201@10.9.9.9:5060>;expires=30"];
      const removed = await phone("phone-unregister-200", { target: "127.0.9.40:5080", password: "any" });
      expect(removed.exitCode).toBe(0);
    } finally {
      await registrar.close();
    }
  });

  it("a background phone answers, records what it received, and is stopped by its PID", async () => {
    const uas = await startSippUas({
      scenario: scenarioPath("phone-uas-options-200"),
      bindIp: "127.0.9.26",
      bindPort: PHONE_PORT,
      service: "204",
      keys: { contact: "127.0.9.126:5070" },
      workDir: work,
    });
    try {
      const pbx = await runSipp({
        scenario: scenarioPath("pbx-options-200"),
        target: "127.0.9.26:5070",
        bindIp: "127.0.9.31",
        bindPort: 5071,
        service: "204",
        workDir: work,
      });
      expect(pbx.log).toEqual(["ANSWERED-BY 127.0.9.26:5070"]);
      expect(await uas.requests()).toEqual(["OPTIONS sip:204@127.0.9.26:5070 SIP/2.0"]);
    } finally {
      const done = await uas.stop();
      expect(done.log).toEqual(["got OPTIONS sip:204@127.0.9.26:5070"]);
    }
    expect(await isUdpPortBound("127.0.9.26", PHONE_PORT)).toBe(false);
    expect(() => process.kill(uas.pid, 0)).toThrow();
  });
});

describe("upstream lifecycle", () => {
  it("stop() frees both sockets and leaves none of its processes", async () => {
    const up = await startUpstream({ addrA: "127.0.9.15", addrB: "127.0.9.16", port: 5080 });
    const pid = up.process.pid;
    expect(await isUdpPortBound("127.0.9.15", 5080)).toBe(true);
    await up.stop();
    expect(await isUdpPortBound("127.0.9.15", 5080)).toBe(false);
    expect(await isUdpPortBound("127.0.9.16", 5080)).toBe(false);
    // Neither the main process nor any forked worker of its process group is left.
    expect(() => process.kill(pid, 0)).toThrow();
    expect(() => process.kill(-pid, 0)).toThrow();
  });
});

/** A UDP "registrar" that challenges CSeq 1 and answers CSeq 2 with 200 carrying `contactLines`. */
async function fakeRegistrar(ip: string, port: number) {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, ip, () => resolve());
  });
  const state = {
    contactLines: [] as string[],
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on("message", (data, peer) => {
    const lines = data.toString("utf8").split("\r\n");
    const copied = lines.filter((line) => /^(via|from|to|call-id|cseq)\s*:/i.test(line));
    const challenge = lines.some((line) => /^cseq\s*:\s*1\s/i.test(line));
    const response = challenge
      ? ["SIP/2.0 401 Unauthorized", ...copied, `WWW-Authenticate: Digest realm="${A}", nonce="harness"`]
      : ["SIP/2.0 200 OK", ...copied, ...state.contactLines];
    socket.send(`${response.join("\r\n")}\r\nContent-Length: 0\r\n\r\n`, peer.port, peer.address);
  });
  return state;
}

// Registration through the gateway, end to end over real UDP: sipp phones, our gateway + worker + store,
// and the Kamailio stand-in registrar as the tenants' Asterisk (digest: 401, 403, 200). Every case runs in
// both runtimes (workers, then node), one after the other on the same addresses.
// Addresses: this file owns 127.0.10.x (see test/e2e/README.md).
import dgram from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../edge-gateway/src/gateway";
import { startUpstream, TENANT_A_DOMAIN as A, TENANT_B_DOMAIN as B, type Upstream } from "../support/kamailio-upstream";
import { scenarioPath } from "../support/paths";
import { createTempDir, removeTempDir, stopAllStartedProcesses } from "../support/processes";
import { runSipp, type SippResult } from "../support/sipp";
import { RUNTIMES, startExtraGateway, startTestStack, type TestStack } from "../support/stack";
import { startNodeRuntime, type NodeRuntime } from "../../node-runtime/runtime";

const GW = { ip: "127.0.10.1", port: 5060 };
const GW_TARGET = `${GW.ip}:${GW.port}`;
let work: string;
let upstream: Upstream;
let stack: TestStack;

interface PhoneRun {
  ext?: string;
  domain?: string;
  /** The phone's real source address (its NAT public side). */
  from?: string;
  port?: number;
  /** What the phone writes in Contact (its private address; nothing listens there). */
  contact?: string;
  expires?: number;
  password?: string;
}

function phone(scenario: string, o: PhoneRun = {}): Promise<SippResult> {
  const ext = o.ext ?? "201";
  const domain = o.domain ?? A;
  return runSipp({
    scenario: scenarioPath(scenario),
    target: GW_TARGET,
    bindIp: o.from ?? "127.0.10.21",
    bindPort: o.port ?? 5070,
    service: ext,
    keys: { domain, contact: o.contact ?? "127.0.10.121:5070", expires: String(o.expires ?? 300) },
    ...(o.password === undefined ? {} : { auth: { user: ext, pass: o.password, uri: domain } }),
    workDir: work,
  });
}

/** Sends one datagram from `bind` to `to` and returns the first answer (or undefined after `ms`). */
function exchange(bind: { ip: string; port: number }, to: { ip: string; port: number }, text: string, ms = 3000): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    const timer = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, ms);
    s.on("message", (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m.toString("utf8"));
    });
    s.on("error", reject);
    s.bind(bind.port, bind.ip, () => s.send(text.replace(/\n/g, "\r\n"), to.port, to.ip));
  });
}

function register(user: string, branch: string): string {
  return `REGISTER sip:${A} SIP/2.0
Via: SIP/2.0/UDP 127.0.10.40:5071;branch=${branch};rport
Max-Forwards: 70
From: <sip:${user}@${A}>;tag=t1
To: <sip:${user}@${A}>
Call-ID: ${branch}@e2e
CSeq: 1 REGISTER
Contact: <sip:${user}@127.0.10.140:5071>
Expires: 60
Content-Length: 0

`;
}

describe.each(RUNTIMES)("%s runtime", (runtime) => {
  beforeAll(async () => {
    work = await createTempDir(`registration-${runtime}`);
    upstream = await startUpstream({ addrA: "127.0.10.11", addrB: "127.0.10.12", port: 5080 });
    stack = await startTestStack(work, GW, { runtime });
    await stack.addTenant(A, `sip:${upstream.addrA}:${upstream.port}`);
    await stack.addTenant(B, `sip:${upstream.addrB}:${upstream.port}`);
  });

  afterAll(async () => {
    await stack?.close();
    await upstream?.stop();
    await stopAllStartedProcesses();
    await removeTempDir(work);
  });

  describe("registration through the gateway", () => {
    it("a 401 challenge reaches the phone and nothing is stored", async () => {
      const r = await phone("phone-register-401-only.xml", { ext: "211" });
      expect(r.statusLines.some((l) => l.startsWith("SIP/2.0 401"))).toBe(true);
      expect(await stack.bindings(`211@${A}`)).toEqual([]);
      expect(await upstream.lookup(`211@${A}`)).toEqual([]);
    });

    it("a wrong password (401 then 403) stores nothing", async () => {
      await phone("phone-register-wrong-password-403.xml", { ext: "212", password: "wrong" });
      expect(await stack.bindings(`212@${A}`)).toEqual([]);
    });

    it("a 200 stores the binding once, with the registrar's expiry and the phone's NAT source as received", async () => {
      const before = Math.floor(Date.now() / 1000);
      const r = await phone("phone-register-digest-200.xml", { ext: "213", expires: 300, password: "secret", from: "127.0.10.23", contact: "127.0.10.123:5070" });
      // The phone saw its own contact in the 200 (the scenario asserts it), never the gateway's.
      expect(r.messages).not.toMatch(/;erb=/);
      const bs = await stack.bindings(`213@${A}`);
      expect(bs).toHaveLength(1);
      expect(bs[0]).toMatchObject({ contact: "sip:213@127.0.10.123:5070", received: "sip:127.0.10.23:5070", userAgent: "sipp-phone", cseq: 2 });
      expect(bs[0]!.expires).toBeGreaterThanOrEqual(before + 299);
      expect(bs[0]!.expires).toBeLessThanOrEqual(before + 301 + 2);
      // The registrar holds the gateway's contact with the binding token.
      const up = await upstream.lookup(`213@${A}`);
      expect(up).toHaveLength(1);
      expect(up[0]!.address).toMatch(/^sip:213@127\.0\.10\.1:5060;erb=[0-9a-f]{20}$/);
    });

    it("a phone behind NAT that does not ask for rport still gets its answers and is reachable (force_rport)", async () => {
      await phone("phone-register-behind-nat-no-rport-200.xml", { ext: "223", password: "secret", from: "127.0.10.32", contact: "127.0.10.132:5099" });
      const bs = await stack.bindings(`223@${A}`);
      expect(bs.map((b) => [b.contact, b.received])).toEqual([["sip:223@127.0.10.132:5099", "sip:127.0.10.32:5070"]]);
    });

    it("a refresh keeps a single binding", async () => {
      await phone("phone-register-digest-200.xml", { ext: "214", password: "secret", from: "127.0.10.24", contact: "127.0.10.124:5070" });
      await phone("phone-register-digest-200.xml", { ext: "214", password: "secret", from: "127.0.10.24", contact: "127.0.10.124:5070", expires: 600 });
      const bs = await stack.bindings(`214@${A}`);
      expect(bs).toHaveLength(1);
      expect(bs[0]!.expires - Math.floor(Date.now() / 1000)).toBeGreaterThan(590);
      expect(await upstream.lookup(`214@${A}`)).toHaveLength(1);
    });

    it("Expires: 0 accepted by the registrar removes the binding", async () => {
      await phone("phone-register-digest-200.xml", { ext: "215", password: "secret", from: "127.0.10.25", contact: "127.0.10.125:5070" });
      expect(await stack.bindings(`215@${A}`)).toHaveLength(1);
      await phone("phone-unregister-200.xml", { ext: "215", password: "secret", from: "127.0.10.25", contact: "127.0.10.125:5070", expires: 0 });
      expect(await stack.bindings(`215@${A}`)).toEqual([]);
      expect(await upstream.lookup(`215@${A}`)).toEqual([]);
    });

    it("a 200 that lists another device's contact stores only this device's, each with its own NAT source", async () => {
      await phone("phone-register-digest-200.xml", { ext: "216", password: "secret", from: "127.0.10.26", contact: "127.0.10.126:5070" });
      const second = await phone("phone-register-digest-200.xml", { ext: "216", password: "secret", from: "127.0.10.27", contact: "127.0.10.127:5070" });
      // The registrar's 200 to the second device lists both bindings.
      expect(await upstream.lookup(`216@${A}`)).toHaveLength(2);
      const bs = await stack.bindings(`216@${A}`);
      expect(bs.map((b) => [b.contact, b.received]).sort()).toEqual([
        ["sip:216@127.0.10.126:5070", "sip:127.0.10.26:5070"],
        ["sip:216@127.0.10.127:5070", "sip:127.0.10.27:5070"],
      ]);
      // The first device's row still has its own Call-ID: the second device's 200 did not rewrite it.
      const callIds = new Set(bs.map((b) => b.callid));
      expect(callIds.size).toBe(2);
      expect(second.messages).not.toMatch(/;erb=/);
    });

    it("Contact: * with Expires: 0 removes every binding of the AoR", async () => {
      await phone("phone-register-digest-200.xml", { ext: "217", password: "secret", from: "127.0.10.28", contact: "127.0.10.128:5070" });
      await phone("phone-register-digest-200.xml", { ext: "217", password: "secret", from: "127.0.10.29", contact: "127.0.10.129:5070" });
      expect(await stack.bindings(`217@${A}`)).toHaveLength(2);
      await phone("phone-unregister-all-200.xml", { ext: "217", password: "secret", from: "127.0.10.28", expires: 0 });
      expect(await stack.bindings(`217@${A}`)).toEqual([]);
    });

    it("the same extension in two tenants gives two separate bindings, each at its tenant's registrar", async () => {
      await phone("phone-register-digest-200.xml", { ext: "218", domain: A, password: "secret", from: "127.0.10.30", contact: "127.0.10.130:5070" });
      await phone("phone-register-digest-200.xml", { ext: "218", domain: B, password: "secret", from: "127.0.10.31", contact: "127.0.10.131:5070" });
      expect((await stack.bindings(`218@${A}`)).map((b) => b.received)).toEqual(["sip:127.0.10.30:5070"]);
      expect((await stack.bindings(`218@${B}`)).map((b) => b.received)).toEqual(["sip:127.0.10.31:5070"]);
      expect(await upstream.lookup(`218@${A}`)).toHaveLength(1);
      expect(await upstream.lookup(`218@${B}`)).toHaveLength(1);
    });

    it("RFC 3327: the Path a proxy in front of the phone added comes back in the 200, and the binding is stored", async () => {
      // The stand-in registrar does not challenge users starting with 9, nor echo a Path itself: the gateway does.
      const text = register("9311", "z9hG4bK-path-1").replace("Contact:", "Path: <sip:127.0.10.45:5073;lr>\nContact:");
      const answer = await exchange({ ip: "127.0.10.40", port: 5071 }, GW, text);
      expect(answer).toMatch(/^SIP\/2\.0 200 /);
      expect(answer).toMatch(/\r\nPath: <sip:127\.0\.10\.45:5073;lr>\r\n/);
      expect(await stack.bindings(`9311@${A}`)).toHaveLength(1);
    });

    it("a REGISTER for a domain that is no tenant gets 403 from the gateway and reaches no registrar", async () => {
      await phone("phone-register-unknown-domain-403.xml", { ext: "219", domain: "nobody.example" });
      expect(await upstream.lookup("219@nobody.example")).toEqual([]);
    });
  });

  describe("bad input and a worker that is down", () => {
    it("a malformed request gets 400 with a reason, and the gateway keeps serving", async () => {
      const bad = register("220", "z9hG4bKbad1").replace(/^Call-ID:.*\n/m, "");
      const answer = await exchange({ ip: "127.0.10.40", port: 5071 }, GW, bad);
      expect(answer).toMatch(/^SIP\/2\.0 400 Missing Call-ID/);
      const garbage = await exchange({ ip: "127.0.10.40", port: 5071 }, GW, "\u0000\u0001 not sip at all", 500);
      expect(garbage).toBeUndefined();
      await phone("phone-register-401-only.xml", { ext: "221" });
    });

    if (runtime === "workers") {
      it("answers 503 with Retry-After when the worker cannot be reached", async () => {
        let gw: Gateway | undefined;
        try {
          gw = await startExtraGateway({ ip: "127.0.10.2", port: 5060 }, "http://127.0.10.2:9", {
            workerTimeoutMs: 500,
            workerConnections: 2,
            retryAfterS: 7,
            metricsListen: { ip: "127.0.10.2", port: 0 },
          });
          const started = Date.now();
          const answer = await exchange({ ip: "127.0.10.40", port: 5072 }, { ip: "127.0.10.2", port: 5060 }, register("222", "z9hG4bKdown1"));
          expect(answer).toMatch(/^SIP\/2\.0 503 /);
          expect(answer).toMatch(/\r\nRetry-After: 7\r\n/);
          expect(Date.now() - started).toBeLessThan(2000);
          // One failed call does not make the gateway degraded (worker-health.ts: a run of failures does).
          expect((await fetch(`${gw.metricsUrl}/health`)).status).toBe(200);
          for (const branch of ["z9hG4bKdown1b", "z9hG4bKdown1c"]) {
            expect(await exchange({ ip: "127.0.10.40", port: 5072 }, { ip: "127.0.10.2", port: 5060 }, register("222", branch))).toMatch(/^SIP\/2\.0 503 /);
          }
          // The gateway reports itself degraded once its worker stays unreachable, and counts the failed calls.
          const health = await fetch(`${gw.metricsUrl}/health`);
          expect(health.status).toBe(503);
          expect(((await health.json()) as { worker: { lastFailure: string } }).worker.lastFailure).toMatch(/^unavailable/);
          const metrics = await (await fetch(`${gw.metricsUrl}/metrics`)).text();
          expect(metrics).toMatch(/^edge_gateway_worker_failures_total\{reason="unavailable"\} 3$/m);
          expect(metrics).toMatch(/^edge_gateway_worker_call_seconds_count\{kind="request"\} 3$/m);
        } finally {
          await gw?.close();
        }
      });
    } else {
      it("answers 503 with Retry-After when the store cannot be reached", async () => {
        // The node runtime's equivalent of an unreachable worker: its decisions cannot reach the store.
        let gw: Gateway | undefined;
        let node: NodeRuntime | undefined;
        try {
          node = await startNodeRuntime({
            env: { LIBSQL_URL: "http://127.0.10.2:9", GATEWAY_SECRET: "dev-gateway-secret-0123456789", ADMIN_TOKEN: "dev-admin-token" },
            adminListen: undefined,
            decisionTimeoutMs: 500,
            sweepIntervalMs: 0,
            log: () => undefined,
          });
          gw = await startExtraGateway({ ip: "127.0.10.2", port: 5060 }, "http://127.0.10.2:9", {
            workerTimeoutMs: 500,
            retryAfterS: 7,
            metricsListen: { ip: "127.0.10.2", port: 0 },
          }, { client: node.client, label: "in-process" });
          const started = Date.now();
          const answer = await exchange({ ip: "127.0.10.40", port: 5072 }, { ip: "127.0.10.2", port: 5060 }, register("222", "z9hG4bKdown2"));
          expect(answer).toMatch(/^SIP\/2\.0 503 /);
          expect(answer).toMatch(/\r\nRetry-After: 7\r\n/);
          expect(Date.now() - started).toBeLessThan(2000);
          // One failed call does not make the gateway degraded (worker-health.ts: a run of failures does).
          expect((await fetch(`${gw.metricsUrl}/health`)).status).toBe(200);
          for (const branch of ["z9hG4bKdown2b", "z9hG4bKdown2c"]) {
            expect(await exchange({ ip: "127.0.10.40", port: 5072 }, { ip: "127.0.10.2", port: 5060 }, register("222", branch))).toMatch(/^SIP\/2\.0 503 /);
          }
          const health = await fetch(`${gw.metricsUrl}/health`);
          expect(health.status).toBe(503);
          expect(((await health.json()) as { worker: { lastFailure: string } }).worker.lastFailure).toMatch(/^unavailable: store/);
          const metrics = await (await fetch(`${gw.metricsUrl}/metrics`)).text();
          expect(metrics).toMatch(/^edge_gateway_worker_failures_total\{reason="unavailable"\} 3$/m);
        } finally {
          await gw?.close();
          await node?.close();
        }
      });
    }
  });
});

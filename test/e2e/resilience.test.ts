// The worker keeps answering after the gateway gave up on many calls: requests that workerd cancels while
// they wait on the store must not take later requests down with them. Addresses: this file owns 127.0.16.x.
import dgram from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../edge-gateway/src/gateway";
import { DEFAULT_FLOOD_CONFIG } from "../../edge-gateway/src/ingress/ingress-guard";
import { startUpstream, TENANT_A_DOMAIN as A, type Upstream } from "../support/kamailio-upstream";
import { createTempDir, removeTempDir, stopAllStartedProcesses } from "../support/processes";
import { registerWithDigest } from "../support/sipp";
import { startExtraGateway, startTestStack, type TestStack } from "../support/stack";

let work: string;
let upstream: Upstream;
let stack: TestStack;
let impatient: Gateway;

function register(user: string, n: number): string {
  return [
    `REGISTER sip:${A} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.16.40:5071;branch=z9hG4bK-imp-${n};rport`,
    "Max-Forwards: 70",
    `From: <sip:${user}@${A}>;tag=t${n}`,
    `To: <sip:${user}@${A}>`,
    `Call-ID: imp-${n}@e2e`,
    "CSeq: 1 REGISTER",
    `Contact: <sip:${user}@127.0.16.140:5071>`,
    "Expires: 60",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

beforeAll(async () => {
  work = await createTempDir("resilience");
  upstream = await startUpstream({ addrA: "127.0.16.11", addrB: "127.0.16.12", port: 5080 });
  // Every worker call reloads the tenants from the store, so every call waits on the store.
  // The garbage sender (.41) is exempt from the flood limit: its 3000 datagrams are meant to reach the parser.
  stack = await startTestStack(work, { ip: "127.0.16.1", port: 5060 }, { flood: { ...DEFAULT_FLOOD_CONFIG, exempt: ["127.0.16.41"] } });
  await stack.addTenant(A, `sip:${upstream.addrA}:${upstream.port}`);
  // A second gateway on the same worker that gives up on every call almost at once.
  impatient = await startExtraGateway({ ip: "127.0.16.2", port: 5060 }, stack.workerUrl, {
    workerTimeoutMs: 50,
    workerConnections: 64,
    retryAfterS: 1,
  });
});

afterAll(async () => {
  await impatient?.close();
  await stack?.close();
  await upstream?.stop();
  await stopAllStartedProcesses();
  await removeTempDir(work);
});

describe("after the gateway gave up on many worker calls", () => {
  it("the worker still answers, and a phone still registers", async () => {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((r) => socket.bind(5071, "127.0.16.40", () => r()));
    const statuses: string[] = [];
    socket.on("message", (m) => statuses.push(m.toString("utf8").slice(8, 11)));
    // 120 REGISTERs in bursts: most worker calls are abandoned by the impatient gateway mid-flight.
    for (let burst = 0; burst < 6; burst++) {
      for (let i = 0; i < 20; i++) socket.send(register("300", burst * 20 + i), 5060, "127.0.16.2");
      await new Promise((r) => setTimeout(r, 40));
    }
    await new Promise((r) => setTimeout(r, 1500));
    socket.close();
    // A worker slower than the gateway's bound: the phone gets 503 (with Retry-After), never silence or a
    // guess; the few calls that beat the bound got the registrar's 401.
    expect(statuses.length).toBeGreaterThan(20);
    expect(new Set(statuses)).toContain("503");
    expect([...new Set(statuses)].filter((s) => s !== "503" && s !== "401")).toEqual([]);
    expect(impatient.metrics.get("edge_gateway_worker_failures_total", { reason: "timeout" })).toBeGreaterThan(20);

    // The worker answers its admin API and a real phone registers through the patient gateway.
    expect((await stack.admin("GET", "/health")).status).toBe(200);
    await registerWithDigest({ target: "127.0.16.1:5060", phone: { ip: "127.0.16.21", port: 5070, contact: "127.0.16.121:5070" }, domain: A, password: "secret", workDir: work, timeoutSec: 15 });
    expect(await stack.bindings(`201@${A}`)).toHaveLength(1);
  });
});

describe("garbage on the wire", () => {
  it("thousands of random and mutated datagrams never crash the gateway, and it keeps serving", async () => {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((r) => socket.bind(5072, "127.0.16.41", () => r()));
    const valid = Buffer.from(register("301", 9999).replace("127.0.16.40:5071", "127.0.16.41:5072"));
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 3000; i++) {
      let bytes: Buffer;
      if (i % 3 === 0) {
        bytes = Buffer.alloc(1 + rand(1500));
        for (let j = 0; j < bytes.length; j++) bytes[j] = rand(256);
      } else {
        bytes = Buffer.from(valid);
        for (let k = 0; k < 1 + rand(8); k++) bytes[rand(bytes.length)] = rand(256);
        if (i % 3 === 2) bytes = bytes.subarray(0, rand(bytes.length));
      }
      socket.send(bytes, 5060, "127.0.16.1");
      if (i % 200 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 1000));
    socket.close();
    expect(stack.gateway.metrics.get("edge_gateway_internal_errors_total")).toBe(0);
    expect(stack.gateway.metrics.get("edge_gateway_bad_messages_total", { status: 400 })).toBeGreaterThan(100);
    await registerWithDigest({ target: "127.0.16.1:5060", phone: { ip: "127.0.16.22", port: 5070, contact: "127.0.16.122:5070" }, domain: A, password: "secret", user: "202", workDir: work, timeoutSec: 15 });
    expect(await stack.bindings(`202@${A}`)).toHaveLength(1);
  });
});

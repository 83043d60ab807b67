// Several gateways, one store (issue "Several gateways, one store"; docs/routing.md, "Several gateways"):
// a phone registers through gateway A from its own "NAT" address; an Asterisk calls it through gateway B.
// The call must reach the phone from A (the only gateway its NAT pinhole would let in), never from B, and
// complete (ACK, BYE). Three deployments, one after the other on the same addresses:
// - workers: both gateways front one worker over one store (the stack's gateway is A; B is a second
//   gateway in this process on the same worker URL and secret);
// - node, one libSQL server: two EDGE_RUNTIME=node gateways, each with the decisions in its own process,
//   on one store over HTTP (the store endpoint, Hrana over HTTP as sqld and Turso speak it): A is the
//   stack's (in this process), B a gateway process of its own (edge-gateway/src/main.ts, configured by
//   environment variables as systemd runs it);
// - node, one file: the same two, on one `file:` database (SQLite WAL; two processes on one VM).
// Addresses: this file owns 127.0.31.x (see test/e2e/README.md):
//   .1:5060        gateway A (the stack's; node: its admin API on 127.0.0.1, a free port)
//   .2:5060        gateway B; node: a process, its admin API on .2:8787, /metrics on .2:9060 (TCP)
//   .11 / .12      the stand-in registrar (tenant-a / tenant-b) on :5080; tenant-a's Asterisk calls from .11:5071
//   .21:5070       the phone's real (NAT public) address; .121:5070 what its Contact says (nothing listens)
//   .41:5071       a stranger writing its own peer Route; .66:5060 the victim it names
import dgram from "node:dgram";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../migrations/apply";
import { startStoreServerThread } from "../../scripts/store-server-thread";
import type { StoreServer } from "../../store-server/src/server";
import { startUpstream, TENANT_A_DOMAIN as A, UPSTREAM_PASSWORD, type Upstream } from "../support/kamailio-upstream";
import { REPO_ROOT, scenarioPath } from "../support/paths";
import {
  createTempDir,
  removeTempDir,
  runningStartedPids,
  startProcess,
  stopAllStartedProcesses,
  TIMED_OUT,
  waitAtMost,
  waitForUdpPort,
  waitForUdpPortFree,
  type ManagedProcess,
} from "../support/processes";
import { parseSippTrace, receivedRequestLines, registerWithDigest, runSipp, startSippUas } from "../support/sipp";
import { startExtraGateway, startTestStack, type StackBinding, type TestStack } from "../support/stack";

const GW_A = { ip: "127.0.31.1", port: 5060 };
const GW_B = { ip: "127.0.31.2", port: 5060 };
const B_ADMIN = `http://${GW_B.ip}:8787`;
const B_METRICS = `http://${GW_B.ip}:9060`;
const ASTERISK = { ip: "127.0.31.11", port: 5071 };
const PHONE = { ip: "127.0.31.21", port: 5070, contact: "127.0.31.121:5070" };
const CONTACT_URI = `sip:201@${PHONE.contact}`;
const SECRET = "dev-gateway-secret-0123456789";
const ADMIN_TOKEN = "multi-gateway-admin-token";
const STORE_TOKEN = "multi-gateway-store-token";

type Deployment = "workers" | "node, one libSQL server over HTTP" | "node, one file";
const DEPLOYMENTS: readonly Deployment[] = ["workers", "node, one libSQL server over HTTP", "node, one file"];

/** Gateway B, whichever runtime: how many request decisions it asked for, its admin API if any, how to stop it. */
interface GatewayB {
  requestDecisions(): Promise<number>;
  /** The bindings of `aor` through B's own admin API (node runtime), undefined when B serves none. */
  bindings(aor: string): Promise<StackBinding[] | undefined>;
  close(): Promise<void>;
}

/** The value of one Prometheus sample (`name{labels} value`) in a /metrics text; 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** Gateway B as its own process in the node runtime, on the store `libsqlUrl`, configured as systemd would. */
async function startNodeGatewayProcess(work: string, libsqlUrl: string, authToken: string | undefined): Promise<GatewayB> {
  await waitForUdpPortFree(GW_B.ip, GW_B.port, { timeoutMs: 5000 });
  const proc: ManagedProcess = startProcess({
    name: "gateway-b",
    command: process.execPath,
    args: ["--import", "tsx", path.join(REPO_ROOT, "edge-gateway/src/main.ts")],
    logDir: work,
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      EDGE_RUNTIME: "node",
      LIBSQL_URL: libsqlUrl,
      ...(authToken ? { LIBSQL_AUTH_TOKEN: authToken } : {}),
      GATEWAY_SECRET: SECRET,
      ADMIN_TOKEN,
      // Concrete addresses of its own: never the other gateway's admin or metrics port.
      SIP_LISTEN: `${GW_B.ip}:${GW_B.port}`,
      ADMIN_LISTEN: `${GW_B.ip}:8787`,
      METRICS_LISTEN: `${GW_B.ip}:9060`,
      SIP_T1_MS: "100",
      // Its sweep runs every second beside the call (the stack's gateway A sweeps on demand): sweeps of
      // several gateways on one store delete bounded batches of expired rows only.
      SWEEP_INTERVAL_S: "1",
      TENANT_CACHE_TTL_MS: "0",
      LOG_LEVEL: "warn",
    },
  });
  await waitForUdpPort(GW_B.ip, GW_B.port, { timeoutMs: 20_000, process: proc });
  return {
    async requestDecisions() {
      const text = await (await fetch(`${B_METRICS}/metrics`)).text();
      return sample(text, 'edge_gateway_worker_calls_total{kind="request"}');
    },
    async bindings(aor) {
      const res = await fetch(`${B_ADMIN}/admin/v1/bindings?aor=${encodeURIComponent(aor)}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      if (res.status !== 200) throw new Error(`B's admin API: ${res.status}`);
      return ((await res.json()) as { bindings: StackBinding[] }).bindings;
    },
    async close() {
      const exit = await proc.stop();
      // SIGTERM drains it and it exits 0 (docs/operations.md): anything else is a failure of B.
      expect(exit, await proc.output()).toEqual({ code: 0, signal: null });
    },
  };
}

/** The Via header values of a traced message, top first (sipp keeps one header line per value here). */
function vias(text: string): string[] {
  return [...text.matchAll(/^(?:Via|v)\s*:\s*([^\r\n]+)/gim)].map((m) => m[1]!.trim());
}

describe.each(DEPLOYMENTS)("two gateways on one store (%s)", (deployment) => {
  let work: string;
  let upstream: Upstream;
  let store: StoreServer | undefined;
  let stack: TestStack;
  let gatewayB: GatewayB;

  beforeAll(async () => {
    work = await createTempDir(`multi-gateway-${deployment.split(",")[0]}`);
    const runtime = deployment === "workers" ? "workers" : "node";
    const stackOptions = { runtime, timers: { t1: 100 }, adminToken: ADMIN_TOKEN, gatewaySecret: SECRET } as const;
    if (deployment === "node, one libSQL server over HTTP") {
      // The shared store: a libSQL server over HTTP, migrated once, before any gateway starts.
      store = await startStoreServerThread({ file: path.join(work, "shared.db"), host: "127.0.0.1", port: 0, authToken: STORE_TOKEN });
      await applyMigrations({ url: store.url, authToken: STORE_TOKEN });
    }
    [upstream, stack] = await Promise.all([
      startUpstream({ addrA: "127.0.31.11", addrB: "127.0.31.12", port: 5080 }),
      startTestStack(work, GW_A, store ? { ...stackOptions, libsql: { url: store.url, authToken: STORE_TOKEN } } : stackOptions),
    ]);
    // The registrar (priority 1) takes REGISTERs; the Asterisk's calling address identifies the tenant.
    await stack.addTenant(A, `sip:127.0.31.11:5080`);
    if (deployment === "workers") {
      const b = await startExtraGateway(GW_B, stack.workerUrl, { t1: 100 });
      gatewayB = {
        requestDecisions: () => Promise.resolve(b.metrics.get("edge_gateway_worker_calls_total", { kind: "request" })),
        bindings: () => Promise.resolve(undefined),
        close: () => b.close(),
      };
    } else if (store) {
      gatewayB = await startNodeGatewayProcess(work, store.url, STORE_TOKEN);
    } else {
      // The stack's gateway A owns the file (migrated at its start); B opens the same file.
      gatewayB = await startNodeGatewayProcess(work, stack.storeUrl, undefined);
    }
    await registerWithDigest({ target: `${GW_A.ip}:${GW_A.port}`, phone: PHONE, domain: A, password: UPSTREAM_PASSWORD, expires: 600, workDir: work });
  });

  afterAll(async () => {
    const closed = await Promise.allSettled([gatewayB?.close(), stack?.close(), upstream?.stop()]);
    await store?.close();
    await stopAllStartedProcesses();
    expect(runningStartedPids()).toEqual([]);
    await removeTempDir(work);
    for (const c of closed) if (c.status === "rejected") throw c.reason;
  });

  it("the binding remembers gateway A's socket and the phone's NAT address", async () => {
    const [b] = await stack.bindings(`201@${A}`);
    expect(b?.received).toBe(`sip:${PHONE.ip}:${PHONE.port}`);
    const rows = (await stack.admin("GET", `/bindings?aor=${encodeURIComponent(`201@${A}`)}`)).json as { bindings: { socket?: string }[] };
    expect(rows.bindings[0]?.socket).toBe(`udp:${GW_A.ip}:${GW_A.port}`);
    // Node runtime: B's own admin API reads the same store, so it lists the binding A saved.
    const atB = await gatewayB.bindings(`201@${A}`);
    if (deployment !== "workers") expect(atB?.map((x) => [x.contact, x.received])).toEqual([[b?.contact, b?.received]]);
  });

  it("an Asterisk's INVITE to gateway B reaches the phone from gateway A only; ACK and BYE complete", async () => {
    const decisionsAtA = stack.gateway.metrics.get("edge_gateway_worker_calls_total", { kind: "request" });
    const phone = await startSippUas({
      scenario: scenarioPath("phone-uas-invite-answers.xml"),
      bindIp: PHONE.ip,
      bindPort: PHONE.port,
      service: "201",
      keys: { contact: PHONE.contact },
      calls: 1,
      timeoutSec: 30,
      workDir: work,
    });
    const call = await runSipp({
      scenario: scenarioPath("pbx-invite-answered-then-bye.xml"),
      target: `${GW_B.ip}:${GW_B.port}`,
      bindIp: ASTERISK.ip,
      bindPort: ASTERISK.port,
      service: "201",
      workDir: work,
      timeoutSec: 20,
    });
    expect(call.log).toContain(`ANSWERED-BY ${PHONE.ip}:${PHONE.port}`);
    expect(call.log).toContain("BYE answered SIP/2.0 200 OK");
    // The 200 the Asterisk got is Record-Routed by B (its first hop) and by A (the phone's gateway), so the
    // ACK and BYE go Asterisk -> B -> A -> phone.
    const ok = parseSippTrace(call.messages).find((e) => e.direction === "received" && e.firstLine.startsWith("SIP/2.0 200"))?.text ?? "";
    const rr = [...ok.matchAll(/^Record-Route\s*:\s*([^\r\n]+)/gim)].flatMap((m) => m[1]!.split(/,\s*(?=<)/));
    expect(rr.map((r) => /^<sip:([^;>]+)/.exec(r.trim())?.[1])).toEqual([`${GW_A.ip}:${GW_A.port}`, `${GW_B.ip}:${GW_B.port}`]);

    const done = await waitAtMost(phone.done, 10_000);
    if (done === TIMED_OUT) {
      const stopped = await phone.stop();
      throw new Error(`phone did not finish; received: ${receivedRequestLines(stopped.messages).join(" | ")}; files: ${stopped.dir}`);
    }
    expect(done.exitCode, `${done.errors}\nfiles: ${done.dir}`).toBe(0);
    expect(done.log).toEqual([`got INVITE ${CONTACT_URI}`, `got ACK ${CONTACT_URI}`, `got BYE ${CONTACT_URI}`]);
    // Where each packet came from: sipp's trace does not print the source address, but a gateway sends from
    // the socket whose address it writes in its top Via (RFC 3261 16.6 step 8), and the phone answers to the
    // source of the request (its responses reached A: the call completed). Every packet the phone received
    // has A on top; B appears only below A, as the hop before it.
    const received = parseSippTrace(done.messages).filter((e) => e.direction === "received");
    expect(received.map((e) => e.firstLine.split(" ")[0])).toEqual(["INVITE", "ACK", "BYE"]);
    for (const e of received) {
      const [top, second] = vias(e.text);
      expect(top, e.firstLine).toMatch(new RegExp(`^SIP/2\\.0/UDP ${GW_A.ip.replace(/\./g, "\\.")}:${GW_A.port};`));
      expect(second, e.firstLine).toMatch(new RegExp(`^SIP/2\\.0/UDP ${GW_B.ip.replace(/\./g, "\\.")}:${GW_B.port};`));
    }
    // B asked its worker once (the INVITE); the ACK and BYE followed the proven Route set, no decision.
    expect(await gatewayB.requestDecisions()).toBe(1);
    // A relayed the INVITE by the proof in B's peer Route (`pgw=...;pmac=...`), with no decision of its own.
    expect(stack.gateway.metrics.get("edge_gateway_worker_calls_total", { kind: "request" })).toBe(decisionsAtA);
  });

  it("a stranger's peer Route with a made-up proof gets 403 from A, and A sends nothing to the address it names", async () => {
    const stranger = dgram.createSocket("udp4");
    const victim = dgram.createSocket("udp4");
    await Promise.all([
      new Promise<void>((r) => stranger.bind(5071, "127.0.31.41", () => r())),
      new Promise<void>((r) => victim.bind(5060, "127.0.31.66", () => r())),
    ]);
    const atVictim: string[] = [];
    const answers: string[] = [];
    victim.on("message", (m) => atVictim.push(m.toString("utf8").split("\r\n", 1)[0] ?? ""));
    stranger.on("message", (m) => answers.push(m.toString("utf8").split("\r\n", 1)[0] ?? ""));
    const invite = [
      `INVITE sip:201@127.0.31.66:5060 SIP/2.0`,
      "Via: SIP/2.0/UDP 127.0.31.41:5071;rport;branch=z9hG4bK-forged-peer-1",
      `Route: <sip:${GW_A.ip}:${GW_A.port};lr;pgw=127.0.31.66~5060~1;pmac=0123456789abcdef01234567>`,
      "Max-Forwards: 70",
      "From: <sip:stranger@127.0.31.41>;tag=s1",
      "To: <sip:201@127.0.31.66>",
      "Call-ID: forged-peer-1@e2e",
      "CSeq: 1 INVITE",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    stranger.send(invite, GW_A.port, GW_A.ip);
    await new Promise((r) => setTimeout(r, 500));
    stranger.close();
    victim.close();
    expect(answers).toEqual(["SIP/2.0 403 Forged Peer Route"]);
    expect(atVictim).toEqual([]);
  });
});

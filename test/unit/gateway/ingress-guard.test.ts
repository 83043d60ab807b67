// The ingress guard as the gateway wires it: per-datagram admission in front of a real ProxyCore (fake
// listeners recording what is sent), the User-Agent screen through ProxyCore's screen hook, exemptions, and
// the metrics the /metrics endpoint shows.
import { describe, expect, it } from "vitest";
import type { RequestDecisionInput } from "../../../contract/v1";
import { DEFAULT_FLOOD_CONFIG, IngressGuard, type FloodConfig } from "../../../edge-gateway/src/ingress/ingress-guard";
import type { Logger } from "../../../edge-gateway/src/observability/logger";
import { Metrics } from "../../../edge-gateway/src/observability/metrics";
import { ProxyCore } from "../../../edge-gateway/src/proxy/proxy-core";
import { ManualClock } from "../../../edge-gateway/src/transaction/clock";
import type { TransportAddress } from "../../../edge-gateway/src/transport/transport";
import { decide, FakeListener, flush, ScriptedWorker, SECRET, type Sent } from "../proxy/core-harness";
import { addr, wire } from "../proxy/support";

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function options(msg: string, from: TransportAddress, ua = "Yealink SIP-T46U 108.86.0.20", n = 1): Uint8Array {
  return wire([
    `OPTIONS sip:100@192.0.2.1 SIP/2.0`,
    `Via: SIP/2.0/UDP ${from.ip.includes(":") ? `[${from.ip}]` : from.ip}:${from.port};branch=z9hG4bK-${msg}-${n};rport`,
    "Max-Forwards: 70",
    `From: <sip:100@192.0.2.1>;tag=f${n}`,
    "To: <sip:100@192.0.2.1>",
    `Call-ID: ${msg}-${n}@test`,
    `CSeq: ${n} OPTIONS`,
    `User-Agent: ${ua}`,
    "Content-Length: 0",
  ]);
}

interface Rig {
  readonly guard: IngressGuard;
  readonly metrics: Metrics;
  readonly worker: ScriptedWorker;
  readonly phones: FakeListener;
  readonly pbx: FakeListener;
  /** Milliseconds on the guard's clock. */
  time: number;
  /** A datagram through the guard and, when admitted, the core; what the gateway sent in answer. */
  deliver(bytes: Uint8Array, source: TransportAddress, on?: "phones" | "pbx"): Promise<Sent[]>;
}

function rig(config: Partial<FloodConfig> = {}, twoSockets = false): Rig {
  const wireLog: Sent[] = [];
  const phones = new FakeListener("phones", addr("192.0.2.1", 5060), wireLog);
  const pbx = twoSockets ? new FakeListener("pbx", addr("198.51.100.1", 5060), wireLog) : phones;
  const metrics = new Metrics();
  const worker = new ScriptedWorker();
  // Every request is answered 404 by the worker: the reply shows whether a datagram reached the core.
  worker.onRequest = () => decide({ action: "reply", status: 404, reason: "Not Found" });
  const r: Rig = {
    time: 0,
    metrics,
    worker,
    phones,
    pbx,
    guard: undefined as unknown as IngressGuard,
    async deliver(bytes, source, on = "phones") {
      const listener = on === "phones" ? phones : pbx;
      if (r.guard.admit(source, listener)) core.onDatagram(bytes, source, listener);
      await flush();
      return wireLog.splice(0, wireLog.length);
    },
  };
  const guard = new IngressGuard({
    config: { ...DEFAULT_FLOOD_CONFIG, windowMs: 2000, density: 5, blockMs: 60_000, ...config },
    metrics,
    log: quiet,
    exemptListeners: twoSockets ? [pbx] : [],
    now: () => r.time,
  });
  (r as { guard: IngressGuard }).guard = guard;
  const core = new ProxyCore({
    phones,
    pbx,
    worker: guard.learnFrom(worker),
    log: quiet,
    metrics,
    clock: new ManualClock(),
    secret: SECRET,
    screen: (req, source, listener) => guard.screen(req, source, listener),
  });
  return r;
}

/** Sends `n` OPTIONS from `from`, 10 ms apart; returns how many got an answer. */
async function burst(r: Rig, from: TransportAddress, n: number, on: "phones" | "pbx" = "phones", tag = "b"): Promise<number> {
  let answered = 0;
  for (let i = 0; i < n; i++) {
    r.time += 10;
    if ((await r.deliver(options(tag, from, undefined, i + 1), from, on)).length > 0) answered++;
  }
  return answered;
}

const FLOODER = addr("203.0.113.66", 5060);
const PHONE = addr("203.0.113.50", 40000);

describe("IngressGuard: per-source limit in front of the parser", () => {
  it("a source over the density is answered no more: blocked, counted, and other sources are served", async () => {
    const r = rig();
    expect(await burst(r, FLOODER, 50)).toBe(5);
    expect(await burst(r, PHONE, 3, "phones", "p")).toBe(3);
    expect(r.worker.requests).toHaveLength(8);
    const text = await r.metrics.render();
    expect(text).toMatch(/^edge_gateway_ingress_dropped_total\{reason="rate"\} 45$/m);
    expect(text).toMatch(/^edge_gateway_ingress_blocks_total 1$/m);
    expect(text).toMatch(/^edge_gateway_ingress_blocked_sources 1$/m);
    expect(text).toMatch(/^edge_gateway_ingress_dropped_total\{reason="user-agent"\} 0$/m);
    // After the block time of quiet, the source is served again.
    r.time += 61_000;
    expect(r.metrics.value("edge_gateway_ingress_blocked_sources")).toBe(0);
    expect(await burst(r, FLOODER, 1, "phones", "later")).toBe(1);
  });

  it("FLOOD_LIMIT=off lets everything through", async () => {
    const r = rig({ limit: false });
    expect(await burst(r, FLOODER, 50)).toBe(50);
    expect(r.metrics.value("edge_gateway_ingress_dropped_total", { reason: "rate" })).toBe(0);
  });

  it("IPv6 sources of one /64 share one count", async () => {
    const r = rig();
    let answered = 0;
    for (let i = 1; i <= 20; i++) {
      r.time += 10;
      const from = addr(`2001:db8:5:6::${i.toString(16)}`, 5060);
      if ((await r.deliver(options("v6", from, undefined, i), from)).length > 0) answered++;
    }
    expect(answered).toBe(5);
  });
});

describe("IngressGuard: the tenants' Asterisk boxes are exempt", () => {
  it("traffic on a distinct PBX-facing socket is never limited", async () => {
    const r = rig({}, true);
    expect(await burst(r, FLOODER, 50, "pbx")).toBe(50);
    expect(r.guard.stats().trackedSources).toBe(0);
  });

  it("FLOOD_EXEMPT addresses and CIDRs, IPv4 and IPv6, are never blocked", async () => {
    const r = rig({ exempt: ["198.51.100.0/24", "2001:db8:aa::/48", "203.0.113.7"] });
    expect(await burst(r, addr("198.51.100.200", 5060), 50)).toBe(50);
    expect(await burst(r, addr("2001:db8:aa:1::9", 5060), 50)).toBe(50);
    expect(await burst(r, addr("203.0.113.7", 5060), 50)).toBe(50);
    expect(await burst(r, addr("203.0.113.8", 5060), 50)).toBe(5);
    expect(r.metrics.value("edge_gateway_ingress_exempted_total")).toBeGreaterThan(0);
    expect(r.guard.stats().blockedSources).toBe(1);
  });

  it("an address the gateway relayed to on the PBX side is learned from the decision, also when it was blocked, and forgotten after the ttl", async () => {
    const r = rig({ learnedTtlMs: 600_000 });
    const asterisk = addr("198.51.100.10", 5060);
    // The Asterisk floods (a burst of NOTIFYs, say) before anything was relayed to it: blocked like anyone.
    expect(await burst(r, asterisk, 20, "phones", "early")).toBe(5);
    // A phone registers; the worker relays the REGISTER to that Asterisk (side "pbx").
    const relay: RequestDecisionInput = {
      action: "relay",
      targets: [{ requestUri: "sip:tenant-a.example", nextHop: { ip: asterisk.ip, port: asterisk.port }, side: "pbx" }],
      wantResponse: "2xx",
      context: "c",
    };
    r.worker.onRequest = () => decide(relay);
    const reg = wire([
      "REGISTER sip:tenant-a.example SIP/2.0",
      `Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK-reg-1`,
      "Max-Forwards: 70",
      "From: <sip:401@tenant-a.example>;tag=r1",
      "To: <sip:401@tenant-a.example>",
      "Call-ID: reg-1@10.0.0.5",
      "CSeq: 1 REGISTER",
      "Contact: <sip:401@10.0.0.5:5060>",
      "Content-Length: 0",
    ]);
    r.time += 10;
    const out = await r.deliver(reg, PHONE);
    expect(out.map((s) => `${s.message.kind} -> ${s.to.ip}`)).toContain(`request -> ${asterisk.ip}`);
    expect(r.guard.isExempt(asterisk.ip)).toBe(true);
    // Now the Asterisk is let in, however much it sends.
    r.worker.onRequest = () => decide({ action: "reply", status: 404, reason: "Not Found" });
    expect(await burst(r, asterisk, 50, "phones", "late")).toBe(50);
    // A relay towards the phones' side teaches nothing.
    expect(r.guard.isExempt(PHONE.ip)).toBe(false);
    // Ten minutes without a relay to it: limited again.
    r.time += 601_000;
    expect(r.guard.isExempt(asterisk.ip)).toBe(false);
    expect(await burst(r, asterisk, 20, "phones", "after")).toBe(5);
  });
});

describe("IngressGuard: User-Agent deny list (through ProxyCore's screen hook)", () => {
  it("an out-of-dialog request from a known scanner gets no answer and costs no worker call", async () => {
    const r = rig();
    for (const ua of ["friendly-scanner", "sipvicious 0.3.4", "SIPCLI/v1.0", "VaxSIPUserAgent/3.1", "FRIENDLY-SCANNER"]) {
      r.time += 1000;
      expect(await r.deliver(options("scan", addr("203.0.113.90", 5060), ua), addr("203.0.113.90", 5060)), ua).toEqual([]);
    }
    expect(r.worker.requests).toHaveLength(0);
    expect(r.metrics.value("edge_gateway_ingress_dropped_total", { reason: "user-agent" })).toBe(5);
    // A phone's User-Agent is served.
    expect((await r.deliver(options("ok", PHONE), PHONE)).length).toBe(1);
  });

  it("UA_DENY=off (an empty list) serves scanners' User-Agents; a custom list replaces the default", async () => {
    const off = rig({ uaDeny: [] });
    expect((await off.deliver(options("s", PHONE, "friendly-scanner"), PHONE)).length).toBe(1);
    const custom = rig({ uaDeny: ["EvilDialer"] });
    expect((await custom.deliver(options("s", PHONE, "friendly-scanner"), PHONE)).length).toBe(1);
    expect(await custom.deliver(options("e", PHONE, "evildialer/2"), PHONE)).toEqual([]);
  });

  it("in-dialog requests are not screened (they have a To tag)", async () => {
    const r = rig();
    const bye = wire([
      "BYE sip:100@192.0.2.1 SIP/2.0",
      "Via: SIP/2.0/UDP 203.0.113.50:40000;branch=z9hG4bK-bye-1;rport",
      "Max-Forwards: 70",
      "From: <sip:100@192.0.2.1>;tag=a",
      "To: <sip:200@192.0.2.1>;tag=b",
      "Call-ID: bye-1@test",
      "CSeq: 2 BYE",
      "User-Agent: friendly-scanner",
      "Content-Length: 0",
    ]);
    // Reaches the core, which answers it (404: no Route of ours), instead of a silent drop.
    const out = await r.deliver(bye, PHONE);
    expect(out.map((s) => (s.message.kind === "response" ? s.message.status : 0))).toEqual([404]);
    expect(r.metrics.value("edge_gateway_ingress_dropped_total", { reason: "user-agent" })).toBe(0);
  });
});

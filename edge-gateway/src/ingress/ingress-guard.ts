/**
 * The gateway's first line against floods and scanners, in front of the SIP parser:
 *
 * - `admit` runs for every datagram before it is parsed: per-source rate limiting (rate-limiter.ts). A
 *   dropped datagram gets no answer, so a blocked source (or a victim whose address a flooder spoofs) is sent
 *   nothing: the gateway reflects nothing.
 * - `screen` runs once per out-of-dialog request after parsing (ProxyCore's screen hook): a User-Agent deny
 *   list for known scanning tools, dropped silently as well.
 *
 * Tenants' Asterisk boxes are never limited: traffic on a distinct PBX-facing socket, addresses the gateway
 * has relayed to on the PBX side (learned from the worker's decisions), and the operator's FLOOD_EXEMPT list.
 */
import type { RequestDecision } from "../../../contract/v1";
import { headerValue, type SipRequest } from "../../../sip/message";
import type { Logger } from "../observability/logger";
import type { Metrics } from "../observability/metrics";
import type { Listener, TransportAddress } from "../transport/transport";
import type { WorkerClient } from "../worker-client/worker-client";
import { AddressList, sourceKey } from "./ip-address";
import { LearnedPeers } from "./learned-peers";
import { SourceRateLimiter } from "./rate-limiter";

export interface FloodConfig {
  /** FLOOD_LIMIT: false turns the per-source limit off (a benchmark's single load generator, say). */
  readonly limit: boolean;
  /** FLOOD_WINDOW_S, in ms: the sampling window. */
  readonly windowMs: number;
  /** FLOOD_DENSITY: datagrams per window and source before the source is blocked. */
  readonly density: number;
  /** FLOOD_BLOCK_S, in ms: how long a source stays blocked once it went over the density. */
  readonly blockMs: number;
  /** FLOOD_MAX_SOURCES: sources tracked at most (memory bound under spoofed-source floods). */
  readonly maxSources: number;
  /** FLOOD_EXEMPT: addresses and CIDR prefixes (IPv4, IPv6) never limited. */
  readonly exempt: readonly string[];
  /** How long an address the gateway relayed to on the PBX side stays exempt (ms). */
  readonly learnedTtlMs: number;
  /** UA_DENY: case-insensitive User-Agent substrings whose out-of-dialog requests are dropped; empty = off. */
  readonly uaDeny: readonly string[];
}

/** Known scanning tools' User-Agent strings (SIPVicious's svmap/svwar/svcrack, sipcli, VaxSIP, SIPScan ...). */
export const DEFAULT_UA_DENY: readonly string[] = ["friendly-scanner", "sipvicious", "sipcli", "VaxSIPUserAgent", "sundayddr", "iWar", "sip-scan"];

/**
 * Defaults (justified in docs/security.md, "Floods"): a phone's worst burst stays far below 200 datagrams
 * in 2 s, a scanner sending hundreds per second goes over it within a second and stays out for 2 minutes.
 */
export const DEFAULT_FLOOD_CONFIG: FloodConfig = {
  limit: true,
  windowMs: 2000,
  density: 200,
  blockMs: 120_000,
  maxSources: 100_000,
  exempt: [],
  learnedTtlMs: 3_600_000,
  uaDeny: DEFAULT_UA_DENY,
};

/** Learned PBX addresses kept at most (tenants' Asterisk boxes: a few per tenant). */
const MAX_LEARNED = 10_000;

export type DropReason = "rate" | "user-agent";

export interface IngressGuardOptions {
  readonly config: FloodConfig;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Listeners whose traffic is never limited: the PBX-facing socket when it is a socket of its own. */
  readonly exemptListeners?: readonly Listener[];
  /** Monotonic milliseconds. */
  readonly now?: () => number;
}

export class IngressGuard {
  private readonly limiter: SourceRateLimiter;
  private readonly exempt: AddressList;
  private readonly learned: LearnedPeers;
  private readonly uaDeny: readonly string[];
  private readonly exemptListeners: ReadonlySet<Listener>;
  private readonly now: () => number;
  /** Plain numbers, read by the metrics endpoint at scrape time. */
  private readonly dropped: Record<DropReason, number> = { rate: 0, "user-agent": 0 };
  private blocks = 0;
  private exempted = 0;

  constructor(private readonly o: IngressGuardOptions) {
    const c = o.config;
    this.limiter = new SourceRateLimiter({ windowMs: c.windowMs, density: c.density, blockMs: c.blockMs, maxSources: c.maxSources });
    this.exempt = AddressList.parse(c.exempt.join(","));
    this.learned = new LearnedPeers(c.learnedTtlMs, MAX_LEARNED);
    this.uaDeny = c.uaDeny.map((s) => s.toLowerCase()).filter((s) => s !== "");
    this.exemptListeners = new Set(o.exemptListeners ?? []);
    this.now = o.now ?? (() => performance.now());
    const m = o.metrics;
    for (const reason of ["rate", "user-agent"] as const) {
      m.gauge("edge_gateway_ingress_dropped_total", () => this.dropped[reason], { reason });
    }
    m.gauge("edge_gateway_ingress_blocks_total", () => this.blocks);
    m.gauge("edge_gateway_ingress_exempted_total", () => this.exempted);
    m.gauge("edge_gateway_ingress_blocked_sources", () => this.limiter.blockedCount(this.now()));
    m.gauge("edge_gateway_ingress_tracked_sources", () => this.limiter.size);
  }

  /** Per datagram, before parsing: false drops it (nothing is answered). */
  admit(source: TransportAddress, listener: Listener): boolean {
    if (!this.o.config.limit || this.exemptListeners.has(listener)) return true;
    const key = sourceKey(source.ip);
    const now = this.now();
    const verdict = this.limiter.hit(key, now);
    if (verdict === "ok") return true;
    if (verdict === "over") {
      // Exemptions are looked up only here, when a source first goes over the density: the common path
      // (within the density) costs no list walk.
      if (this.isExempt(source.ip, now)) {
        this.limiter.release(key);
        this.exempted++;
        return true;
      }
      this.limiter.block(key, now);
      this.blocks++;
      this.o.log.warn("flood: source blocked", {
        source: key,
        density: this.o.config.density,
        windowS: this.o.config.windowMs / 1000,
        blockS: this.o.config.blockMs / 1000,
      });
    }
    this.dropped.rate++;
    return false;
  }

  /** ProxyCore's screen hook, once per out-of-dialog request: false drops it silently. */
  screen(req: SipRequest, source: TransportAddress, listener: Listener): boolean {
    if (this.uaDeny.length === 0) return true;
    const ua = headerValue(req, "User-Agent");
    if (ua === undefined) return true;
    const lower = ua.toLowerCase();
    if (!this.uaDeny.some((s) => lower.includes(s))) return true;
    if (this.exemptListeners.has(listener) || this.isExempt(source.ip, this.now())) return true;
    this.dropped["user-agent"]++;
    this.o.log.info("scanner dropped", { source: source.ip, method: req.method, userAgent: ua.slice(0, 80) });
    return false;
  }

  /** Remembers an address the gateway relays to on the PBX side; it is let in again if it was blocked. */
  learnPbx(ip: string): void {
    this.learned.learn(ip, this.now());
    this.limiter.release(sourceKey(ip));
  }

  /** Wraps a worker client so that every relay decision towards the PBX side teaches the guard its address. */
  learnFrom(client: WorkerClient): WorkerClient {
    const learn = (decision: RequestDecision): void => {
      if (decision.action !== "relay") return;
      for (const t of decision.targets) if (t.side === "pbx" && t.nextHop) this.learnPbx(t.nextHop.ip);
    };
    return {
      request: (ev) =>
        client.request(ev).then((answer) => {
          if (answer.ok) learn(answer.decision);
          return answer;
        }),
      response: (ev) => client.response(ev),
      close: () => client.close(),
    };
  }

  /** Whether `ip` is exempt: in FLOOD_EXEMPT or relayed to on the PBX side within the ttl. */
  isExempt(ip: string, now = this.now()): boolean {
    return this.learned.has(ip, now) || this.exempt.has(ip);
  }

  /** Counters for tests and logs. */
  stats(): { dropped: Readonly<Record<DropReason, number>>; blocks: number; exempted: number; blockedSources: number; trackedSources: number } {
    return {
      dropped: { ...this.dropped },
      blocks: this.blocks,
      exempted: this.exempted,
      blockedSources: this.limiter.blockedCount(this.now()),
      trackedSources: this.limiter.size,
    };
  }
}

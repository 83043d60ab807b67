/**
 * The dispatcher prober: sends OPTIONS to every destination the worker lists (probing enabled, not
 * disabled), decides from consecutive results whether each is up or down, and reports what it concluded
 * to the worker, which stores it (docs/operations.md, "Dispatcher probing").
 *
 * It is its own small UAC, beside the proxy core, not through it: each probe is an OPTIONS (RFC 3261 11)
 * with its own Via branch (probe prefix + random), Call-ID, From tag, CSeq and Max-Forwards 70 (8.1.1),
 * sent from the Asterisk-side socket and retransmitted as a non-INVITE client transaction over UDP does
 * (17.1.2.2: Timer E from T1 doubling to T2, T2 once a provisional response came). The gateway hands it
 * every datagram first (`intercept`); responses whose top Via branch carries the probe prefix are its
 * own and never reach the proxy core (17.1.3 matches a response by that branch).
 *
 * What is reported, so that several gateways probing one destination do not flap its state: a gateway
 * reports `inactive` whenever its own view is down and the stored state is active (again at each list
 * refresh), and `active` only when its view turns up (from down, or from unknown at start) while the stored
 * state is inactive. Two gateways that disagree thus settle on inactive ("down wins") instead of
 * overwriting each other at every round; the worker never lets a report touch a `disabled` destination.
 */
import { randomBytes } from "node:crypto";
import type { DestinationStateAnswer, DestinationStateReport, ProbeTarget, ProbeTargetsAnswer, ProbeTargetsRequest } from "../../../contract/destinations";
import { normalizeHost } from "../../../sip/host";
import { EMPTY_BODY, headerValue } from "../../../sip/message";
import { parseMessage } from "../../../sip/parser";
import { serializeMessage } from "../../../sip/serializer";
import { hostPort } from "../proxy/local-address";
import type { Logger } from "../observability/logger";
import type { Metrics } from "../observability/metrics";
import type { Clock, TimerHandle } from "../transaction/clock";
import type { Listener, TransportAddress } from "../transport/transport";
import type { WorkerAnswer } from "../worker-client/worker-client";
import { replyCountsAsAlive, type ProbeSettings } from "./probe-settings";

/** Every probe's Via branch starts with this (the RFC 3261 cookie, then a mark no proxy branch uses). */
export const PROBE_BRANCH_PREFIX = "z9hG4bK-edgeprobe-";

/** The worker calls the prober makes (optional methods of the gateway's WorkerClient). */
export interface ProbeWorker {
  probeTargets(req: ProbeTargetsRequest): Promise<WorkerAnswer<ProbeTargetsAnswer>>;
  reportDestinationStates(report: DestinationStateReport): Promise<WorkerAnswer<DestinationStateAnswer>>;
}

export interface ProberDeps {
  /** The Asterisk-side socket: probes leave from it, and its address is the probe's Via. */
  readonly listener: Listener;
  readonly worker: ProbeWorker;
  readonly settings: ProbeSettings;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** RFC 3261 T1 and T2 for the retransmissions. */
  readonly t1: number;
  readonly t2: number;
  /** Random token source (tests make it deterministic). */
  readonly token?: () => string;
}

type View = "unknown" | "up" | "down";

interface Probe {
  readonly branch: string;
  readonly bytes: Uint8Array;
  interval: number;
  retransmit: TimerHandle | undefined;
  timeout: TimerHandle | undefined;
}

interface Target {
  readonly key: string;
  readonly address: TransportAddress;
  /** Request-URI of the probe: the first listed row's URI. */
  uri: string;
  /** The rows at this address, with the stored state as last known. */
  rows: Map<number, { uri: string; state: "active" | "inactive" }>;
  view: View;
  successes: number;
  failures: number;
  probe: Probe | undefined;
}

const PREFIX_BYTES = Buffer.from(`branch=${PROBE_BRANCH_PREFIX}`);

/** Byte search without decoding (a view, no copy): most datagrams are not probe responses. */
function contains(hay: Uint8Array, needle: Buffer): boolean {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).includes(needle);
}

export class Prober {
  private readonly targets = new Map<string, Target>();
  private readonly byBranch = new Map<string, Target>();
  /** Row id -> the state to report (and the URI to report it with). */
  private readonly pending = new Map<number, { uri: string; state: "active" | "inactive" }>();
  private reporting = false;
  private refreshing = false;
  private closed = false;
  private tickTimer: TimerHandle | undefined;
  private refreshTimer: TimerHandle | undefined;
  private cseq = 0;
  private readonly token: () => string;

  /** The socket the probes go out from, and their responses come back to. */
  get listener(): Listener {
    return this.deps.listener;
  }

  constructor(private readonly deps: ProberDeps) {
    this.token = deps.token ?? (() => randomBytes(8).toString("hex"));
    deps.metrics.gauge("edge_gateway_probe_targets", () => this.targets.size);
    deps.metrics.gauge("edge_gateway_probe_targets_down", () => [...this.targets.values()].filter((t) => t.view === "down").length);
  }

  /** Fetches the list, then probes every interval and refreshes the list every refresh period. */
  start(): void {
    const refreshLoop = () => {
      void this.refresh().finally(() => {
        if (!this.closed) this.refreshTimer = this.deps.clock.setTimer(this.deps.settings.refreshMs, refreshLoop);
      });
    };
    const tickLoop = () => {
      this.tick();
      if (!this.closed) this.tickTimer = this.deps.clock.setTimer(this.deps.settings.intervalMs, tickLoop);
    };
    void this.refresh().finally(() => {
      if (this.closed) return;
      this.refreshTimer = this.deps.clock.setTimer(this.deps.settings.refreshMs, refreshLoop);
      tickLoop();
    });
  }

  close(): void {
    this.closed = true;
    if (this.tickTimer) this.deps.clock.clearTimer(this.tickTimer);
    if (this.refreshTimer) this.deps.clock.clearTimer(this.refreshTimer);
    for (const t of this.targets.values()) this.endProbe(t);
  }

  /** The view of a destination address (tests, logs). */
  viewOf(ip: string, port: number): View | undefined {
    return this.targets.get(Prober.key(ip, port))?.view;
  }

  /**
   * Takes a datagram before the proxy core: true when it is a response to a probe (this gateway's probe
   * prefix in the top Via branch), consumed here, late or duplicate ones included.
   */
  intercept(bytes: Uint8Array, _source: TransportAddress, _listener: Listener): boolean {
    // "SIP/2.0 " starts every response; requests never carry our branch as their top Via.
    if (bytes.length < 12 || bytes[0] !== 0x53 || bytes[1] !== 0x49 || bytes[2] !== 0x50 || bytes[7] !== 0x20) return false;
    if (!contains(bytes, PREFIX_BYTES)) return false;
    const parsed = parseMessage(bytes);
    if (!parsed.ok || parsed.message.kind !== "response") return false;
    const branch = parsed.topVia.branch;
    if (!branch?.startsWith(PROBE_BRANCH_PREFIX)) return false;
    const target = this.byBranch.get(branch);
    const probe = target?.probe;
    if (!target || !probe || probe.branch !== branch) return true;
    // RFC 3261 17.1.3: the branch and the CSeq method identify the transaction.
    if (!/\bOPTIONS\s*$/i.test(headerValue(parsed.message, "CSeq") ?? "")) return true;
    const status = parsed.message.status;
    if (status < 200) {
      // 17.1.2.2: in Proceeding, retransmit every T2.
      probe.interval = this.deps.t2;
      return true;
    }
    this.endProbe(target);
    const alive = replyCountsAsAlive(status, this.deps.settings.replyCodes);
    this.deps.metrics.inc("edge_gateway_probes_total", { result: alive ? "alive" : "refused" });
    this.result(target, alive, alive ? undefined : `answered ${status}`);
    return true;
  }

  /** One round: a probe to every destination that has none outstanding. */
  tick(): void {
    for (const t of this.targets.values()) if (!t.probe) this.sendProbe(t);
    this.flushReports();
  }

  /** Fetches the destination list; applies the stored states; re-asserts "down" views (see the file header). */
  async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      const answer = await this.deps.worker.probeTargets({ gateway: this.deps.settings.gatewayId });
      if (!answer.ok) {
        this.deps.metrics.inc("edge_gateway_probe_target_fetches_total", { result: "failed" });
        this.deps.log.warn("probe targets unavailable", { reason: answer.reason, detail: answer.detail });
        return;
      }
      this.deps.metrics.inc("edge_gateway_probe_target_fetches_total", { result: "ok" });
      this.applyTargets(answer.decision.targets);
    } finally {
      this.refreshing = false;
    }
    this.flushReports();
  }

  private applyTargets(list: readonly ProbeTarget[]): void {
    if (this.closed) return;
    const seen = new Set<string>();
    const rowIds = new Set<number>();
    for (const row of list) {
      const key = Prober.key(row.ip, row.port);
      let t = this.targets.get(key);
      if (!seen.has(key)) {
        seen.add(key);
        if (!t) {
          t = {
            key,
            address: { ip: row.ip, port: row.port, transport: "udp" },
            uri: row.uri,
            rows: new Map(),
            view: "unknown",
            successes: 0,
            failures: 0,
            probe: undefined,
          };
          this.targets.set(key, t);
        } else {
          t.rows = new Map();
          t.uri = row.uri;
        }
      }
      t!.rows.set(row.id, { uri: row.uri, state: row.state });
      rowIds.add(row.id);
    }
    for (const [key, t] of this.targets) {
      if (seen.has(key)) continue;
      // No longer probed (probing off, disabled, removed): forget the view; it starts unknown if it returns.
      this.endProbe(t);
      this.targets.delete(key);
    }
    for (const id of this.pending.keys()) if (!rowIds.has(id)) this.pending.delete(id);
    for (const t of this.targets.values()) if (t.view === "down") this.queue(t, "inactive");
  }

  private sendProbe(t: Target): void {
    const { listener } = this.deps;
    const branch = PROBE_BRANCH_PREFIX + this.token();
    const local = hostPort(listener.advertised.host, listener.advertised.port);
    this.cseq = (this.cseq % 0x7fffffff) + 1;
    const bytes = serializeMessage({
      kind: "request",
      method: "OPTIONS",
      uri: t.uri,
      headers: [
        // rport (RFC 3581) so that the answer comes back to this socket even through a NAT.
        { name: "Via", value: `SIP/2.0/UDP ${local};branch=${branch};rport` },
        { name: "Max-Forwards", value: "70" },
        { name: "From", value: `<sip:edge-probe@${local}>;tag=${this.token()}` },
        { name: "To", value: `<${t.uri}>` },
        { name: "Call-ID", value: `${this.token()}@${listener.advertised.host.replace(/[[\]]/g, "")}` },
        { name: "CSeq", value: `${this.cseq} OPTIONS` },
        { name: "Accept", value: "application/sdp" },
        { name: "User-Agent", value: "edge-registrar probe" },
      ],
      body: EMPTY_BODY,
    });
    const probe: Probe = { branch, bytes, interval: this.deps.t1, retransmit: undefined, timeout: undefined };
    t.probe = probe;
    this.byBranch.set(branch, t);
    const send = () => listener.send(bytes, t.address);
    const retransmit = () => {
      send();
      probe.interval = Math.min(probe.interval * 2, this.deps.t2);
      probe.retransmit = this.deps.clock.setTimer(probe.interval, retransmit);
    };
    send();
    if (t.probe !== probe) return; // answered synchronously (an in-process transport)
    probe.retransmit = this.deps.clock.setTimer(probe.interval, retransmit);
    probe.timeout = this.deps.clock.setTimer(this.deps.settings.timeoutMs, () => {
      this.endProbe(t);
      this.deps.metrics.inc("edge_gateway_probes_total", { result: "timeout" });
      this.result(t, false, `no answer within ${this.deps.settings.timeoutMs} ms`);
    });
  }

  private endProbe(t: Target): void {
    const p = t.probe;
    if (!p) return;
    if (p.retransmit) this.deps.clock.clearTimer(p.retransmit);
    if (p.timeout) this.deps.clock.clearTimer(p.timeout);
    this.byBranch.delete(p.branch);
    t.probe = undefined;
  }

  private result(t: Target, alive: boolean, why: string | undefined): void {
    if (alive) {
      t.failures = 0;
      t.successes++;
      if (t.view !== "up" && t.successes >= this.deps.settings.successThreshold) this.turn(t, "up", why);
    } else {
      t.successes = 0;
      t.failures++;
      if (t.view !== "down" && t.failures >= this.deps.settings.failureThreshold) this.turn(t, "down", why);
    }
  }

  private turn(t: Target, view: "up" | "down", why: string | undefined): void {
    const was = t.view;
    t.view = view;
    const state = view === "up" ? "active" : "inactive";
    this.deps.metrics.inc("edge_gateway_probe_state_changes_total", { state });
    const fields = {
      destination: t.uri,
      address: hostPort(t.address.ip, t.address.port),
      from: was,
      to: state,
      ...(why ? { reason: why } : {}),
    };
    if (view === "down") this.deps.log.warn("destination fails probes", fields);
    else this.deps.log.info("destination answers probes", fields);
    this.queue(t, state);
    this.flushReports();
  }

  /** Queues a report for the rows of `t` whose stored state differs from `state`. */
  private queue(t: Target, state: "active" | "inactive"): void {
    for (const [id, row] of t.rows) {
      if (row.state !== state) this.pending.set(id, { uri: row.uri, state });
      else this.pending.delete(id);
    }
  }

  private flushReports(): void {
    if (this.reporting || this.pending.size === 0 || this.closed) return;
    this.reporting = true;
    const sent = new Map(this.pending);
    const changes = [...sent].map(([id, ch]) => ({ id, uri: ch.uri, state: ch.state }));
    void this.deps.worker
      .reportDestinationStates({ gateway: this.deps.settings.gatewayId, changes })
      .then((answer) => {
        if (!answer.ok) {
          this.deps.metrics.inc("edge_gateway_destination_state_reports_total", { result: "failed" });
          this.deps.log.warn("destination state report failed; retried next round", { reason: answer.reason, detail: answer.detail });
          return;
        }
        this.deps.metrics.inc("edge_gateway_destination_state_reports_total", { result: "ok" });
        for (const r of answer.decision.results) {
          const mine = sent.get(r.id);
          if (mine && this.pending.get(r.id) === mine) this.pending.delete(r.id);
          for (const t of this.targets.values()) {
            const row = t.rows.get(r.id);
            if (!row) continue;
            if (r.state === "active" || r.state === "inactive") row.state = r.state;
            else t.rows.delete(r.id);
          }
          if (r.changed) this.deps.log.info("destination state stored", { id: r.id, state: r.state });
        }
      })
      .finally(() => {
        this.reporting = false;
      });
  }

  private static key(ip: string, port: number): string {
    return `${normalizeHost(ip)}|${port}`;
  }
}
